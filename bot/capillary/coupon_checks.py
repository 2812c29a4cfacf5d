"""Can this customer use this code now: `GET /v2/coupon/is_redeemable`, and `GET /v1.1/coupon/isredeemable` when
v2 refuses without a reason code (capillary-coupon-actions.md §2.4, §3.4, §10.4).

The body is read whatever the HTTP status (Capillary doesn't document which status a refusal comes with); an
empty or HTML body on a failure is a transport failure, as everywhere else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import httpx

from bot.capillary.envelope import as_bool, as_int, dict_of, error_for_failure, list_of, looks_like_html
from bot.capillary.http import CapillaryHttp
from bot.domain.errors import CapillaryBadResponse, CouponsBotError
from bot.domain.redeemability import OK_CODE, REASONS, Redeemability

V2_PATH = "v2/coupon/is_redeemable"
V11_PATH = "v1.1/coupon/isredeemable"


@dataclass(frozen=True)
class CheckFetch:
    check: Redeemability
    attempts: int
    upstream_ms: int


def check_redeemable(http: CapillaryHttp, customer_id: int, code: str) -> CheckFetch:
    """One code for one customer (by ID, which both versions take as `id`)."""
    first = http.get(V2_PATH, {"id": str(customer_id), "code": code, "details": "true"}, interpret_v2)
    check, attempts, upstream_ms = first.value, first.attempts, first.upstream_ms
    if check is not None and (check.usable or check.code is not None):
        return CheckFetch(check, attempts, upstream_ms)
    # v2 said no without a code (or said nothing readable): v1.1 carries the reason in `item_status`.
    params = {"format": "json", "id": str(customer_id), "code": code, "details": "true"}
    try:
        second = http.get(V11_PATH, params, interpret_v11)
    except CouponsBotError:
        if check is None:
            raise
        return CheckFetch(check, attempts, upstream_ms)  # v2's "no", without a reason
    fallback = second.value
    if check is not None and fallback.code is None:
        fallback = check  # neither gave a reason: v2's answer, "no reason given"
    elif check is not None:
        left = fallback.redemptions_left if fallback.redemptions_left is not None else check.redemptions_left
        fallback = replace(fallback, redemptions_left=left, valid_till=fallback.valid_till or check.valid_till)
    return CheckFetch(fallback, attempts + second.attempts, upstream_ms + second.upstream_ms)


def body_of(status: int, headers: httpx.Headers, content: bytes) -> dict[str, Any]:
    if looks_like_html(headers, content):
        if 200 <= status < 300:
            raise CapillaryBadResponse("Capillary answered with a web page instead of data", status=status)
        raise error_for_failure(status, content)
    try:
        body = json.loads(content)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than Python reads
        if 200 <= status < 300:
            raise CapillaryBadResponse("Capillary answered with something that is not JSON", status=status) from None
        raise error_for_failure(status, content) from None
    if not isinstance(body, dict):
        raise CapillaryBadResponse("Capillary answered with data in an unexpected shape", status=status)
    return body


def when_of(value: object) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None


def first_code(entries: list[Any]) -> tuple[int | None, str | None]:
    for raw in entries:
        entry = dict_of(raw)
        code = as_int(entry.get("code"))
        if code is not None and code != OK_CODE:
            return code, entry.get("message") if isinstance(entry.get("message"), str) else None
    return None, None


def interpret_v2(status: int, headers: httpx.Headers, content: bytes) -> Redeemability | None:
    """The v2 answer; None when it has no item and no reason (the caller asks v1.1)."""
    body = body_of(status, headers, content)
    items = [dict_of(i) for i in list_of(body.get("redemption"))]
    overall = dict_of(body.get("redemptionStatus"))
    if not items:
        code, message = first_code(list_of(body.get("errors")))
        # On a failed HTTP call only a coupon code is a refusal; anything else (a 404 path, a 500) is a failure.
        if code is None or not (200 <= status < 300 or code in REASONS):
            if not 200 <= status < 300:
                raise error_for_failure(status, content)
            return None
        return Redeemability(False, code, message)
    item = items[0]
    usable = as_bool(item.get("isRedeemable"))
    left = as_int(item.get("redemptionsLeft"))
    valid_till = when_of(dict_of(item.get("couponseries")).get("validTillDate"))
    if usable:
        return Redeemability(True, OK_CODE, None, left, valid_till)
    code, message = first_code(list_of(item.get("warnings")))
    if code is None:  # a single-code call: the overall status is this code's
        code = as_int(overall.get("code"))
        message = overall.get("message") if isinstance(overall.get("message"), str) else None
        if code == OK_CODE:
            code, message = None, None
    if code is None and isinstance(item.get("appendedErrorMessage"), str) and item["appendedErrorMessage"]:
        message = item["appendedErrorMessage"]
    return Redeemability(False, code, message, left, valid_till)


def interpret_v11(status: int, headers: httpx.Headers, content: bytes) -> Redeemability:
    """The v1.1 answer: refused when `is_redeemable` is false or `item_status.code` isn't 700 (§3.4)."""
    body = body_of(status, headers, content)
    response = dict_of(body.get("response"))
    item = dict_of(dict_of(response.get("coupons")).get("redeemable"))
    if not item:
        request_status = dict_of(response.get("status"))
        code = as_int(request_status.get("code"))
        if not 200 <= status < 300 and code not in REASONS:
            raise error_for_failure(status, content)
        message = request_status.get("message")
        return Redeemability(False, code, message if isinstance(message, str) else None, source="v1.1")
    item_status = dict_of(item.get("item_status"))
    code = as_int(item_status.get("code"))
    usable = as_bool(item.get("is_redeemable")) is True and code in (None, OK_CODE)
    message = item_status.get("message")
    left = as_int(item.get("redemptions_left"))
    valid_till = when_of(dict_of(item.get("series_info")).get("valid_till"))
    return Redeemability(
        usable,
        OK_CODE if usable else (code if code != OK_CODE else None),
        None if usable or not isinstance(message, str) else message,
        left,
        valid_till,
        source="v1.1",
    )
