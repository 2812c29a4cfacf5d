"""The `/coupons` slash command."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext
from slack_bolt.context.respond import Respond

from bot.domain.view_state import Surface
from bot.listeners.lazy import acknowledge, guarded
from bot.requester import Requester
from bot.services import Services


def register(app: App, services: Services) -> None:
    def answer_command(context: BoltContext, body: dict[str, Any], respond: Respond) -> None:
        requester = Requester.of(context)
        message = services.answerer.answer_text(
            body.get("text"),
            requester,
            surface=Surface.EPHEMERAL,
            action="command",
            command=body.get("command") or "/coupons",
            may_share=services.policy.may_share(requester),
        )
        services.delivery.privately(requester, message, respond=respond)

    app.command("/coupons")(ack=acknowledge, lazy=[guarded(answer_command, services, action="command")])
