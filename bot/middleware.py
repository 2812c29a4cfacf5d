"""Global Bolt middleware: services into the context, one answer per event, and the access check."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from cachetools import TTLCache
from slack_bolt import BoltContext, BoltResponse
from slack_bolt.request import BoltRequest
from slack_sdk import WebClient

from bot.access import AccessPolicy
from bot.audit_log import write_audit
from bot.errors import AccessDenied
from bot.lookup_answers import LookupAnswerer
from bot.slack_request import access_subject_of, requester_of

Next = Callable[[], None]
logger = logging.getLogger(__name__)


def attach_services(answerer: LookupAnswerer, policy: AccessPolicy) -> Callable[..., Any]:
    def attach(context: BoltContext, next: Next) -> None:
        context["answerer"] = answerer
        context["access_policy"] = policy
        next()

    return attach


def drop_redelivered_events(seen_ttl_seconds: float = 600.0) -> Callable[..., Any]:
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


def check_access(body: dict[str, Any], context: BoltContext, client: WebClient, next: Next) -> BoltResponse | None:
    """Every entry point passes here. A refused person gets a private answer and Capillary is not called."""
    policy: AccessPolicy = context["access_policy"]
    subject = access_subject_of(body)
    event = body.get("event") if isinstance(body.get("event"), dict) else {}
    if subject is None or policy.allows(subject, client):
        context["access_allowed"] = True
        next()
        return None
    context["access_allowed"] = False
    if event.get("type") == "app_home_opened":
        next()  # the Home tab still opens; it tells the user they have no access
        return None
    answerer: LookupAnswerer = context["answerer"]
    requester = requester_of(body)
    kind = event.get("type") or body.get("type") or ("command" if "command" in body else "unknown")
    write_audit(requester, action=kind, outcome="denied", decision="denied")
    message = answerer.refusal(AccessDenied())
    reply = {"text": message.text, "blocks": message.blocks}
    if "command" in body:
        return BoltResponse(status=200, body={"response_type": "ephemeral", **reply})
    try:
        if context.respond is not None and body.get("response_url"):
            context.respond(response_type="ephemeral", replace_original=False, **reply)
        elif event.get("channel_type") == "im":
            client.chat_postMessage(channel=event["channel"], **reply)
        elif subject.channel_id:
            client.chat_postEphemeral(
                channel=subject.channel_id, user=subject.user_id, thread_ts=event.get("thread_ts"), **reply
            )
    except Exception:  # the refusal stands even if telling the user failed
        logger.warning("could not deliver an access refusal", exc_info=True)
    return BoltResponse(status=200, body="")
