"""Global Bolt middleware: one answer per event, and the access check. Both run before the ack, so neither
touches the network: refusals are delivered after the ack."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from cachetools import TTLCache
from slack_bolt import BoltContext, BoltResponse
from slack_bolt.request import BoltRequest

from bot.access import AccessPolicy
from bot.audit_log import write_audit
from bot.delivery import Delivery
from bot.errors import AccessDenied
from bot.lookup_answers import LookupAnswerer
from bot.requester import Requester, asks_as_a_person, part

Next = Callable[[], None]
Middleware = Callable[..., BoltResponse | None]


def drop_redelivered_events(seen_ttl_seconds: float = 600.0) -> Middleware:
    """Slack redelivers an event it thinks went unanswered; answer each `event_id` once."""
    seen: TTLCache[str, bool] = TTLCache(maxsize=10_000, ttl=seen_ttl_seconds)
    lock = threading.Lock()

    def drop(body: dict[str, Any], request: BoltRequest, next: Next) -> BoltResponse | None:
        if body.get("type") != "event_callback":
            next()
            return None
        event_id = body.get("event_id")
        # A retry for a timeout means the first delivery reached a worker, maybe not this one.
        timed_out = (request.headers.get("x-slack-retry-reason") or [""])[0] == "http_timeout"
        with lock:
            duplicate = timed_out or (isinstance(event_id, str) and event_id in seen)
            if isinstance(event_id, str):
                seen[event_id] = True
        if duplicate:
            return BoltResponse(status=200, body="")
        next()
        return None

    return drop


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
        if event.get("type") == "app_home_opened":
            next()  # the Home tab still opens; it tells the user they have no access
            return None
        kind = event.get("type") or body.get("type") or ("command" if "command" in body else "unknown")
        write_audit(requester, action=kind, outcome=AccessDenied.outcome, decision="denied")
        message = answerer.refusal(AccessDenied())
        if "command" in body:  # the ack itself carries the answer
            return BoltResponse(
                status=200, body={"response_type": "ephemeral", "text": message.text, "blocks": message.blocks}
            )
        respond = context.respond if body.get("response_url") else None
        thread_ts = event.get("thread_ts")
        delivery.after_ack(lambda: delivery.privately(requester, message, respond=respond, thread_ts=thread_ts))
        return BoltResponse(status=200, body="")

    return check
