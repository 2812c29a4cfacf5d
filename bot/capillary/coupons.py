"""`GET /v2/customers/{customerId}/coupons`: one customer's coupons."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from pydantic import ValidationError

from bot.capillary.envelope import ApiErrors, error_for_failure, error_from_codes, looks_like_html, mentions
from bot.capillary.http import CapillaryHttp
from bot.domain.coupon import CodeCase, Coupon, Model
from bot.errors import CapillaryBadResponse, CapillaryReportedError


@dataclass(frozen=True)
class FetchResult:
    coupons: tuple[Coupon, ...]
    attempts: int
    upstream_ms: int


class CouponsResponse(Model):
    """The envelope: `{"entity": [...], "warnings": [], "errors": [], "success": true}`."""

    entity: list[Coupon] | None = None
    errors: ApiErrors = None
    success: bool | None = None


def fetch_coupons(http: CapillaryHttp, customer_id: int, case: CodeCase) -> FetchResult:
    fetched = http.get(f"v2/customers/{customer_id}/coupons", {"coupon_code_case": case.value}, interpret_response)
    return FetchResult(fetched.value, fetched.attempts, fetched.upstream_ms)


def interpret_response(status: int, headers: httpx.Headers, content: bytes) -> tuple[Coupon, ...]:
    """Turn one HTTP answer into coupons or one of our errors. Always reads `errors`, whatever the status."""
    if 200 <= status < 300:
        if looks_like_html(headers, content):
            raise CapillaryBadResponse("Capillary answered with a web page instead of data", status=status)
        try:
            envelope = CouponsResponse.model_validate_json(content)
        except ValidationError as exc:
            is_json = not any(e["type"] == "json_invalid" for e in exc.errors())
            reason = "data in an unexpected shape" if is_json else "something that is not JSON"
            raise CapillaryBadResponse(f"Capillary answered with {reason}", status=status) from None
        if envelope.errors:
            raise error_from_codes(status, envelope.errors)
        if envelope.success is False:
            raise CapillaryReportedError("Capillary reported a failure without details", status=status)
        return tuple(envelope.entity or ())
    if status == 404 and mentions(content, "NO_COUPONS_FOUND"):
        return ()
    raise error_for_failure(status, content)
