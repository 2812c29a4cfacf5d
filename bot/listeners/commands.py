"""The `/coupons` slash command."""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from slack_bolt.context.respond import Respond

from bot.listeners.acknowledge import acknowledge
from bot.listeners.delivery import respond_privately
from bot.lookup_answers import LookupAnswerer
from bot.slack_request import requester_of
from bot.view_state import Surface


def handle_coupons_command(body: dict[str, Any], respond: Respond, answerer: LookupAnswerer) -> None:
    message = answerer.answer_text(
        body.get("text"),
        requester_of(body),
        surface=Surface.EPHEMERAL,
        action="command",
        command=body.get("command") or "/coupons",
    )
    respond_privately(respond, message)


def register(app: App) -> None:
    app.command("/coupons")(ack=acknowledge, lazy=[handle_coupons_command])
