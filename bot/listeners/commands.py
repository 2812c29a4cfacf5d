"""The `/coupons` slash command."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_bolt.context.respond import Respond

from bot.listeners.delivery import respond_privately
from bot.lookup_answers import LookupAnswerer
from bot.slack_request import requester_of
from bot.view_state import Surface


def handle_coupons_command(ack: Ack, body: dict[str, Any], respond: Respond, answerer: LookupAnswerer) -> None:
    # Ack first, with no body: Slack needs it within 3 s and Capillary may take longer.
    ack()
    message = answerer.answer_text(
        body.get("text"),
        requester_of(body),
        surface=Surface.EPHEMERAL,
        action="command",
        command=body.get("command") or "/coupons",
    )
    respond_privately(respond, message)


def register(app: App) -> None:
    app.command("/coupons")(handle_coupons_command)
