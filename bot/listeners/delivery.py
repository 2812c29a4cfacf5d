"""Getting a rendered message to the user, with the fallbacks Slack's response URLs need."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.context.respond import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from blocks.message import Message
from bot.slack_request import requester_of

logger = logging.getLogger(__name__)


def _sent(respond: Respond, message: Message, **options: Any) -> bool:
    try:
        response = respond(text=message.text, blocks=message.blocks, **options)
    except Exception:
        logger.warning("response_url request failed", exc_info=True)
        return False
    if response.status_code != 200:
        # Slack answers 404 once a response_url has expired (30 minutes) or been used 5 times.
        logger.warning("response_url refused the message: HTTP %s %s", response.status_code, response.body[:100])
        return False
    return True


def respond_privately(respond: Respond, message: Message) -> bool:
    return _sent(respond, message, response_type="ephemeral")


def share_in_channel(respond: Respond, message: Message) -> bool:
    return _sent(respond, message, response_type="in_channel", replace_original=False)


def replace_clicked_message(respond: Respond, client: WebClient, body: dict[str, Any], message: Message) -> None:
    """Redraw the message whose button was clicked; if its response_url is spent, answer another way."""
    if _sent(respond, message, replace_original=True):
        return
    original = body.get("message") or {}
    if original.get("ts"):  # a normal message (a DM): the bot may edit its own message
        channel = requester_of(body).channel_id
        _call(client.chat_update, channel=channel, ts=original["ts"], text=message.text, blocks=message.blocks)
    else:
        tell_clicker(client, body, message)


def tell_clicker(client: WebClient, body: dict[str, Any], message: Message) -> None:
    """A private message to whoever clicked, through the Web API: it works when the response_url does not."""
    clicker = requester_of(body)
    if clicker.channel_id and clicker.user_id:
        _call(
            client.chat_postEphemeral,
            channel=clicker.channel_id,
            user=clicker.user_id,
            text=message.text,
            blocks=message.blocks,
        )


def _call(method: Any, **arguments: Any) -> None:
    try:
        method(**arguments)
    except SlackApiError as error:
        logger.warning("fallback delivery failed: %s", error.response.get("error"))
