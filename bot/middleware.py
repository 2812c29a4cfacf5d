"""Global Bolt middleware: one answer per event, and the access check. Both run before the ack, so neither
touches the network: refusals are delivered after the ack."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import BoltContext, BoltResponse

from bot.access import AccessPolicy
from bot.audit_log import write_audit
from bot.delivery import Delivery, ReplyTo, in_the_ack
from bot.domain.errors import AccessDenied
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
        in_ack = in_the_ack(body, message)  # a command's or a form's: the ack itself carries the refusal
        if in_ack is None:
            to = ReplyTo.of(context, body)
            delivery.after_ack(lambda: delivery.reply(to, message))
        return BoltResponse(status=200, body=in_ack or "")

    return check
