"""One JSON line per lookup, click and refusal: who asked for which customer, and what came of it.

The line carries Slack IDs, the customer ID, the outcome, counts and timings. It never carries a coupon
code, a token, a password, a header or a `response_url`: callers pass only the fields named here.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.errors import (
    AccessDenied,
    CapillaryAuthError,
    CapillaryBadResponse,
    CapillaryForbidden,
    CapillaryUnavailable,
    CouponsBotError,
    CustomerNotFound,
    InvalidCommand,
    InvalidCustomerId,
    InvalidViewState,
)

audit_logger = logging.getLogger("coupons.audit")

_OUTCOMES: tuple[tuple[type[CouponsBotError], str], ...] = (
    (InvalidCommand, "invalid_input"),
    (InvalidViewState, "stale_button"),
    (AccessDenied, "denied"),
    (InvalidCustomerId, "invalid_customer_id"),
    (CustomerNotFound, "not_found"),
    (CapillaryAuthError, "auth_error"),
    (CapillaryForbidden, "forbidden"),
    (CapillaryUnavailable, "upstream_unavailable"),
    (CapillaryBadResponse, "bad_response"),
)


def outcome_of(error: CouponsBotError) -> str:
    return next((name for kind, name in _OUTCOMES if isinstance(error, kind)), "upstream_error")


@dataclass(frozen=True)
class Requester:
    """Who asked, from where: Slack IDs only."""

    team_id: str | None = None
    user_id: str | None = None
    channel_id: str | None = None


def write_audit(
    requester: Requester,
    *,
    action: str,
    outcome: str,
    decision: str = "allowed",
    customer_id: int | None = None,
    case: str | None = None,
    counts: dict[str, int] | None = None,
    cache: str | None = None,
    attempts: int | None = None,
    upstream_ms: int | None = None,
    duration_ms: int | None = None,
) -> None:
    line = {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "event": "coupons." + action,
        "team": requester.team_id,
        "user": requester.user_id,
        "channel": requester.channel_id,
        "decision": decision,
        "customer_id": customer_id,
        "case": case,
        "outcome": outcome,
        "counts": counts,
        "cache": cache,
        "attempts": attempts,
        "upstream_ms": upstream_ms,
        "duration_ms": duration_ms,
    }
    audit_logger.info(json.dumps({k: v for k, v in line.items() if v is not None}, separators=(",", ":")))
