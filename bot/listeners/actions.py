"""Buttons on a coupons message or modal: series details, paging, check, refresh, retry, share."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import App, BoltContext
from slack_bolt.context.respond import Respond

from blocks.modal import render_answer
from bot.audit_log import write_audit
from bot.delivery import ReplyTo
from bot.domain.action_ids import (
    ACTION_CHECK,
    ACTION_PAGE,
    ACTION_REFRESH,
    ACTION_RETRY,
    ACTION_SHARE,
    ACTION_TOGGLE_SERIES,
)
from bot.domain.errors import AccessDenied, InvalidViewState, ShareNotAllowed
from bot.listeners.lazy import acknowledge, guarded
from bot.lookup_answers import Ask
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
    app.action(_REDRAW)(ack=acknowledge, lazy=[guarded(redraw, services, action="click")])
    app.action(_REFETCH)(ack=acknowledge, lazy=[guarded(redraw, services, action="refresh")])
    app.action(ACTION_SHARE)(ack=acknowledge, lazy=[guarded(share, services, action="share")])


def redraw(
    services: Services, context: BoltContext, body: dict[str, Any], action: dict[str, Any], respond: Respond
) -> None:
    """Expand/collapse a series, turn a page, or fetch again: the view comes from the button."""
    action_id = str(action.get("action_id", ""))
    requester = Requester.of(context)
    refresh = bool(_REFETCH.match(action_id))
    may_share = services.policy.may_share(requester)
    ask = Ask(requester, action_name(action_id), refresh=refresh, may_share=may_share)
    message = services.answerer.answer_click(action.get("value"), ask)
    in_view = part(body, "view")
    if in_view.get("id"):  # a button in the lookup modal: redraw the modal, unless a newer click already has
        services.delivery.update_view(str(in_view["id"]), render_answer(message), view_hash=in_view.get("hash"))
        return
    services.delivery.redraw(respond, requester, message, message_ts=part(body, "message").get("ts"))


def share(services: Services, context: BoltContext, body: dict[str, Any], action: dict[str, Any]) -> None:
    """Post the current view for the whole channel; the agent's private copy stays as it is."""
    answerer, delivery = services.answerer, services.delivery
    to = ReplyTo.of(context, body)
    # A modal has no Share button (a forged click, or a very old modal); nor has a place not allowed to share
    # (a button from elsewhere, or from before the channel list changed).
    if to.view_id or not services.policy.may_share(to.requester):
        write_audit(to.requester, action="share", outcome=AccessDenied.outcome, decision="denied")
        delivery.reply(to, answerer.refusal(ShareNotAllowed()))
        return
    ask = Ask(to.requester, "share", shared_by=to.requester.user_id)
    message = answerer.answer_click(action.get("value"), ask)
    if not message.ok:
        delivery.reply(to, message)
    elif to.respond is None or not delivery.share(to.respond, message):
        # The response_url is spent (30 minutes or 5 uses): only a fresh /coupons can be shared.
        delivery.ephemeral(to.requester, answerer.refusal(InvalidViewState("response_url expired")))
