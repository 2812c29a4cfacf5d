"""The writes (capillary-coupon-actions.md §4–§6), each sent once (`CapillaryHttp.write`: never retried):
`GET /v1.1/coupon/resend`, `PUT /v2/coupon/bulk/expiry` (one code), `POST /v2/coupon/issue`.

Each answer's body is read whatever the HTTP status: a refusal (a code and Capillary's message) is a result, not
an error; an answer that can't be read, a timeout or a refused connection raise as for a lookup — and then nobody
knows whether Capillary did it, which the caller must say.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from bot.capillary.coupon_checks import body_of, first_code, when_of
from bot.capillary.envelope import as_bool, as_int, dict_of, error_for_failure, list_of
from bot.capillary.http import CapillaryHttp
from bot.domain.redeemability import OK_CODE

RESEND_PATH = "v1.1/coupon/resend"
EXPIRY_PATH = "v2/coupon/bulk/expiry"
ISSUE_PATH = "v2/coupon/issue"


@dataclass(frozen=True)
class WriteResult:
    done: bool
    code: int | None = None  # Capillary's reason for a refusal (or 700)
    message: str | None = None  # Capillary's words for a refusal: may repeat personal data, masked when shown
    new_code: str | None = None  # issue: the coupon created
    valid_till: datetime | None = None  # issue: its expiry
    series_id: int | None = None


def resend(http: CapillaryHttp, code: str, identifier: tuple[str, str] | None) -> WriteResult:
    """`identifier`: (`mobile`|`email`|`external_id`, value) of the holder; never `id`, whose meaning differs by
    source (§4.1)."""
    params = {"format": "json", "code": code}
    if identifier is not None:
        params[identifier[0]] = identifier[1]
    return http.write("GET", RESEND_PATH, interpret_resend, params=params).value


def interpret_resend(status: int, headers: httpx.Headers, content: bytes) -> WriteResult:
    body = body_of(status, headers, content)
    response = dict_of(body.get("response"))
    coupons = dict_of(response.get("coupons")).get("coupon")
    item = dict_of(coupons[0] if isinstance(coupons, list) and coupons else coupons)  # an array, or one object
    item_status = dict_of(item.get("item_status"))
    code = as_int(item_status.get("code"))
    if not item_status:
        request_status = dict_of(response.get("status"))
        code = as_int(request_status.get("code"))
        if code is None or not 200 <= status < 300:
            raise error_for_failure(status, content)
        item_status = request_status
    done = code == OK_CODE and as_bool(item_status.get("success")) is not False
    message = item_status.get("message")
    return WriteResult(done, code, None if done or not isinstance(message, str) else message)


def extend(http: CapillaryHttp, series_id: int, customer_id: int, code: str, expiry: datetime) -> WriteResult:
    body = {
        "couponSeriesId": series_id,
        "customer": {"id": customer_id},
        "couponCodes": [{"couponCode": code, "expiryDate": expiry.isoformat(timespec="seconds")}],
    }
    return http.write("PUT", EXPIRY_PATH, lambda s, h, c: interpret_expiry(s, h, c, code), body=body).value


def interpret_expiry(status: int, headers: httpx.Headers, content: bytes, code: str) -> WriteResult:
    """Partial failures come with `success: true`: our code in `unprocessedCoupons` is a refusal (§5.4)."""
    body = body_of(status, headers, content)
    entity = dict_of(body.get("entity"))
    if entity:
        for entry in (dict_of(e) for e in list_of(entity.get("unprocessedCoupons"))):
            if (
                str(entry.get("couponCode", "")).casefold() == code.casefold()
                or len(list_of(entity["unprocessedCoupons"])) == 1
            ):
                message = entry.get("errorMessage")
                return WriteResult(False, as_int(entry.get("errorCode")), message if isinstance(message, str) else None)
        failed = as_int(entity.get("failedCount")) or 0
        if failed == 0 and body.get("success") is not False:
            return WriteResult(True, OK_CODE)
    reason, message = first_code(list_of(body.get("errors")))
    if reason is None:
        if not 200 <= status < 300:
            raise error_for_failure(status, content)
        return WriteResult(False, None, "Capillary reported a failure without a reason")
    return WriteResult(False, reason, message)


def issue(http: CapillaryHttp, series_id: int, customer_id: int) -> WriteResult:
    body: dict[str, Any] = {"seriesId": series_id, "customer": {"id": customer_id}}
    return http.write("POST", ISSUE_PATH, interpret_issue, body=body).value


def interpret_issue(status: int, headers: httpx.Headers, content: bytes) -> WriteResult:
    """The bare coupon (its `code` is the handle: `id` is 0 in every documented answer), or `errors[]`."""
    body = body_of(status, headers, content)
    new_code = body.get("code")
    if isinstance(new_code, str) and new_code and 200 <= status < 300 and not list_of(body.get("errors")):
        return WriteResult(
            True,
            OK_CODE,
            new_code=new_code,
            valid_till=when_of(body.get("validTill")),
            series_id=as_int(body.get("seriesId")),
        )
    reason, message = first_code(list_of(body.get("errors")))
    if reason is None:
        raise error_for_failure(status, content)
    return WriteResult(False, reason, message)
