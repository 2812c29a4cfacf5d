"""Buttons on a coupons message or modal: series details, paging, check, refresh, retry, share."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import App, BoltContext
from slack_bolt.context.respond import Respond

from blocks.modal import render_answer
from bot.audit_log import write_audit
from bot.domain.action_ids import (
    ACTION_CHECK,
    ACTION_PAGE,
    ACTION_REFRESH,
    ACTION_RETRY,
    ACTION_SHARE,
    ACTION_TOGGLE_SERIES,
)
from bot.errors import AccessDenied, InvalidViewState, ShareNotAllowed
from bot.listeners.lazy import acknowledge, guarded
from bot.requester import Requester, part
from bot.services import Services

# Check puts its coupon in focus: the redraw shows whether it can be used now.
_REDRAW = re.compile(rf"^({ACTION_TOGGLE_SERIES}|{ACTION_PAGE}|{ACTION_CHECK})(:.*)?$")
_REFETCH = re.compile(rf"^({ACTION_REFRESH}|{ACTION_RETRY})$")


def action_name(action_id: str) -> str:
    """`coupons_page:active:next` → `page`; Refresh and Try again are both a `refresh`."""
    if _REFETCH.match(action_id):
        return "refresh"
    return action_id.split(":", maxsplit=1)[0].removeprefix("coupons_")


def register(app: App, services: Services) -> None:
    answerer, delivery, policy = services.answerer, services.delivery, services.policy

    def redraw(context: BoltContext, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        """Expand/collapse a series, turn a page, or fetch again: the view comes from the button."""
        action_id = str(action.get("action_id", ""))
        requester = Requester.of(context)
        message = answerer.answer_click(
            action.get("value"),
            requester,
            action=action_name(action_id),
            refresh=bool(_REFETCH.match(action_id)),
            may_share=policy.may_share(requester),
        )
        in_view = part(body, "view")
        if in_view.get("id"):  # a button in the lookup modal: redraw the modal
            delivery.update_view(str(in_view["id"]), render_answer(message), view_hash=in_view.get("hash"))
            return
        original = part(body, "message")
        delivery.redraw(respond, requester, message, message_ts=original.get("ts"))

    def share(context: BoltContext, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        """Post the current view for the whole channel; the agent's private copy stays as it is."""
        requester = Requester.of(context)
        in_view = part(body, "view")
        if in_view.get("id"):  # a modal has no Share button: a forged click, or a very old modal
            write_audit(requester, action="share", outcome=AccessDenied.outcome, decision="denied")
            delivery.update_view(str(in_view["id"]), render_answer(answerer.refusal(ShareNotAllowed())))
            return
        if not policy.may_share(requester):  # a button from elsewhere, or from before the channel list changed
            write_audit(requester, action="share", outcome=AccessDenied.outcome, decision="denied")
            delivery.privately(requester, answerer.refusal(ShareNotAllowed()), respond=respond)
            return
        message = answerer.answer_click(action.get("value"), requester, action="share", shared_by=requester.user_id)
        if not message.ok:
            delivery.privately(requester, message, respond=respond)
        elif not delivery.share(respond, message):
            # The response_url is spent (30 minutes or 5 uses): only a fresh /coupons can be shared.
            delivery.ephemeral(requester, answerer.refusal(InvalidViewState("response_url expired")))

    app.action(_REDRAW)(ack=acknowledge, lazy=[guarded(redraw, services, action="click")])
    app.action(_REFETCH)(ack=acknowledge, lazy=[guarded(redraw, services, action="refresh")])
    app.action(ACTION_SHARE)(ack=acknowledge, lazy=[guarded(share, services, action="share")])
