"""One JSON line per lookup, click and refusal: who asked for which customer, and what came of it.

The line carries Slack IDs, the customer ID, the kind of identifier the agent typed (never its value), the
outcome, counts and timings. It never carries a coupon code (except the one an action changed), a token, a
password, a header or a `response_url`: callers pass only the fields named here.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from bot.log_queue import plain_report
from bot.requester import Requester

audit_logger = logging.getLogger("coupons.audit")


def write_audit(
    requester: Requester,
    *,
    action: str,
    outcome: str,
    decision: str = "allowed",
    customer_id: int | None = None,
    identifier_kind: str | None = None,
    case: str | None = None,
    counts: dict[str, int] | None = None,
    skipped: int | None = None,
    cache: str | None = None,
    attempts: int | None = None,
    upstream_ms: int | None = None,
    duration_ms: int | None = None,
    check: str | None = None,
    code: str | None = None,
    series_id: int | None = None,
    reason: str | None = None,
    result: str | None = None,
) -> None:
    """`check`: what a redeemability check said (`usable`, `refused:713`). For an action (issue 26) only: `code`
    (the coupon acted on), `series_id`, `reason` (already masked by the caller: `mask_reason`) and `result`."""
    if not audit_logger.isEnabledFor(logging.INFO):
        return  # no audit in this process (the terminal preview): no line to write, no request to count
    line = {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "event": "coupons." + action,
        "team": requester.team_id,
        "user": requester.user_id,
        "channel": requester.channel_id,
        "decision": decision,
        "identifier_kind": identifier_kind,  # how the agent named the customer (`mobile`, …), never the value
        "customer_id": customer_id,
        "case": case,
        "outcome": outcome,
        "counts": counts,
        "skipped": skipped,
        "cache": cache,
        "attempts": attempts,
        "upstream_ms": upstream_ms,
        "duration_ms": duration_ms,
        "check": check,
        "code": code,
        "series_id": series_id,
        "reason": reason,
        "result": result,
    }
    audit_logger.info(json.dumps({k: v for k, v in line.items() if v is not None}, separators=(",", ":")))
    from bot import metrics  # noqa: PLC0415 - prometheus_client: ~12 ms of a cold start, not for the preview

    metrics.observe_audit(action, outcome, cache=cache, duration_ms=duration_ms)


def audit_drop_report(blocked: int, failed: int) -> str:
    """The audit log's own line for a gap: audit lines dropped (stdout blocked) or not written (stdout broken)."""
    line = {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "event": "coupons.audit_lines_dropped",
        "outcome": "dropped",
        "dropped": blocked,
        "failed": failed,
        "message": plain_report(blocked, failed).replace("log lines", "audit lines"),
    }
    return json.dumps(line, separators=(",", ":"))
