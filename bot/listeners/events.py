"""Direct messages, mentions and the Home tab."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext

from blocks.home import render_home
from bot.delivery import ReplyTo
from bot.domain.view_state import Surface
from bot.listeners.lazy import acknowledge, guarded
from bot.lookup_answers import Ask
from bot.requester import is_from_a_person
from bot.services import Services
from bot.slack_text import message_text


def register(app: App, services: Services) -> None:
    app.event("message")(ack=acknowledge, lazy=[guarded(direct_message, services, action="dm")])
    app.event("app_mention")(ack=acknowledge, lazy=[guarded(mention, services, action="mention")])
    app.event("app_home_opened")(ack=acknowledge, lazy=[guarded(home_opened, services, action="home")])


def direct_message(services: Services, context: BoltContext, body: dict[str, Any], event: dict[str, Any]) -> None:
    # Edits, deletions, joins, and every bot's messages are acknowledged and left alone.
    if event.get("channel_type") != "im" or not is_from_a_person(event):
        return
    to = ReplyTo.of(context, body)  # the DM, in the thread asked from
    # `<@bot> coupons 565032176`, or only rich_text blocks: read as the text after /coupons is (`parse`).
    message = services.answerer.answer_text(message_text(event), Ask(to.requester, "dm", surface=Surface.MESSAGE))
    services.delivery.reply(to, message)


def mention(services: Services, context: BoltContext, body: dict[str, Any], event: dict[str, Any]) -> None:
    if not is_from_a_person(event):
        return
    # Private to the person who asked, in their thread if there is one: customer data stays private by default.
    to = ReplyTo.of(context, body)
    ask = Ask(to.requester, "mention", may_share=services.policy.may_share(to.requester))
    services.delivery.reply(to, services.answerer.answer_text(message_text(event), ask))


def home_opened(services: Services, context: BoltContext, body: dict[str, Any], event: dict[str, Any]) -> None:
    if event.get("tab", "home") != "home":
        return
    answerer = services.answerer
    view = render_home(
        connection=answerer.connection_label,
        allowed=bool(context.get("access_allowed", True)),
        demo=answerer.service.demo,
        contact=answerer.contact,
    )
    services.delivery.home_tab(event["user"], view)
