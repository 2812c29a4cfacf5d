"""Direct messages, mentions and the Home tab."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import App, BoltContext
from slack_bolt.context.say import Say
from slack_sdk import WebClient

from blocks.home import render_home
from bot.listeners.acknowledge import acknowledge
from bot.lookup_answers import LookupAnswerer
from bot.slack_request import is_from_a_person, requester_of
from bot.view_state import Surface

_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>", re.ASCII)
_COMMAND_WORD = re.compile(r"^\s*/?coupons\b", re.IGNORECASE)


def lookup_text(text: str | None) -> str:
    """`<@bot> 565032176`, `coupons 565032176`, `/coupons 565032176` → `565032176`."""
    text = _MENTION.sub(" ", text or "")
    return _COMMAND_WORD.sub("", text, count=1).strip()


def handle_message(event: dict[str, Any], body: dict[str, Any], say: Say, answerer: LookupAnswerer) -> None:
    # Edits, deletions, joins, and every bot's messages are acknowledged and left alone.
    if event.get("channel_type") != "im" or not is_from_a_person(event):
        return
    message = answerer.answer_text(
        lookup_text(event.get("text")), requester_of(body), surface=Surface.MESSAGE, action="dm"
    )
    say(text=message.text, blocks=message.blocks, thread_ts=event.get("thread_ts"))


def handle_app_mention(
    event: dict[str, Any], body: dict[str, Any], client: WebClient, answerer: LookupAnswerer
) -> None:
    if not is_from_a_person(event):
        return
    message = answerer.answer_text(
        lookup_text(event.get("text")), requester_of(body), surface=Surface.EPHEMERAL, action="mention"
    )
    # Private to the person who asked, in their thread if there is one: customer data stays private by default.
    client.chat_postEphemeral(
        channel=event["channel"],
        user=event["user"],
        thread_ts=event.get("thread_ts"),
        text=message.text,
        blocks=message.blocks,
    )


def handle_app_home_opened(
    event: dict[str, Any], client: WebClient, context: BoltContext, answerer: LookupAnswerer
) -> None:
    if event.get("tab", "home") != "home":
        return
    view = render_home(
        connection=answerer.connection_label,
        allowed=bool(context.get("access_allowed", True)),
        demo=answerer.service.demo,
        contact=answerer.contact,
    )
    client.views_publish(user_id=event["user"], view=view)


def register(app: App) -> None:
    app.event("message")(ack=acknowledge, lazy=[handle_message])
    app.event("app_mention")(ack=acknowledge, lazy=[handle_app_mention])
    app.event("app_home_opened")(ack=acknowledge, lazy=[handle_app_home_opened])
