"""Global Bolt middleware: one answer per event, and the access check. Both run before the ack, so neither
touches the network: refusals are delivered after the ack."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import BoltContext, BoltResponse

from blocks.modal import render_answer
from bot.access import AccessPolicy
from bot.audit_log import write_audit
from bot.delivery import Delivery
from bot.errors import AccessDenied
from bot.lookup_answers import LookupAnswerer
from bot.replays import Replays
from bot.requester import Requester, asks_as_a_person, part

Next = Callable[[], None]
# Events that are not someone asking the bot: their listener reads `access_allowed` and answers nobody with a refusal.
_DECIDED_BY_THE_LISTENER = frozenset({"app_home_opened", "link_shared"})
Middleware = Callable[..., BoltResponse | None]


def answer_once(replays: Replays) -> Middleware:
    """A request this process has answered already gets an empty 200 (see `bot.replays`)."""

    def once(body: dict[str, Any], next: Next) -> BoltResponse | None:
        if not replays.first_here(body):
            return BoltResponse(status=200, body="")
        next()
        return None

    return once


def check_access(policy: AccessPolicy, answerer: LookupAnswerer, delivery: Delivery) -> Middleware:
    """Every entry point passes here. A refused person gets a private answer and Capillary is not called."""

    def check(body: dict[str, Any], context: BoltContext, next: Next) -> BoltResponse | None:
        requester = Requester.of(context)
        if not asks_as_a_person(body) or not requester.user_id or policy.allows(requester):
            context["access_allowed"] = True
            next()
            return None
        context["access_allowed"] = False
        event = part(body, "event")
        if event.get("type") in _DECIDED_BY_THE_LISTENER:
            next()  # the Home tab opens saying so; a link posted by someone refused stays as it is, quietly
            return None
        kind = event.get("type") or body.get("type") or ("command" if "command" in body else "unknown")
        write_audit(requester, action=kind, outcome=AccessDenied.outcome, decision="denied")
        message = answerer.refusal(AccessDenied())
        if "command" in body:  # the ack itself carries the answer
            return BoltResponse(
                status=200, body={"response_type": "ephemeral", "text": message.text, "blocks": message.blocks}
            )
        in_view = part(body, "view")
        if kind == "view_submission":  # the ack turns the form into the refusal
            return BoltResponse(status=200, body={"response_action": "update", "view": render_answer(message)})
        if kind in {"shortcut", "message_action"}:  # the refusal opens where the form would have
            trigger_id = body.get("trigger_id")
            delivery.after_ack(lambda: delivery.open_view(trigger_id, render_answer(message), requester, message))
            return BoltResponse(status=200, body="")
        if in_view.get("id"):  # a button in a modal: the refusal replaces it
            view_id = str(in_view["id"])
            delivery.after_ack(lambda: delivery.update_view(view_id, render_answer(message)))
            return BoltResponse(status=200, body="")
        respond = context.respond if body.get("response_url") else None
        thread_ts = event.get("thread_ts")
        delivery.after_ack(lambda: delivery.privately(requester, message, respond=respond, thread_ts=thread_ts))
        return BoltResponse(status=200, body="")

    return check
