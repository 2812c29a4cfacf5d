"""The `/coupons` slash command."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext

from bot.delivery import ReplyTo
from bot.listeners.lazy import acknowledge, guarded
from bot.lookup_answers import Ask
from bot.requester import Requester
from bot.services import Services


def register(app: App, services: Services) -> None:
    app.command("/coupons")(ack=acknowledge, lazy=[guarded(answer_command, services, action="command")])


def answer_command(services: Services, context: BoltContext, body: dict[str, Any]) -> None:
    requester = Requester.of(context)
    command = body.get("command") or "/coupons"
    ask = Ask(requester, "command", command=command, may_share=services.policy.may_share(requester))
    services.delivery.reply(ReplyTo.of(context, body), services.answerer.answer_text(body.get("text"), ask))
