"""An httpx transport that answers `GET /v2/customers/{id}/coupons`, `GET /v2/customers/{id}` and
`GET /v2/customers/lookup/customerDetails` from the demo customers, and the coupon checks and actions
(`bot/demo/actions.py`: actions change the demo customers in memory).

Plugged into the real `CapillaryClient`, so a demo lookup runs the exact pipeline a real one does.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx

from bot.demo.actions import DemoState
from bot.demo.customers import DEMO_CUSTOMERS, DemoError, demo_lookup, demo_profile, lookup_error
from bot.domain.coupon import CodeCase
from bot.domain.coupon_state import Clock, system_clock

DEMO_BASE_URL = "https://demo.capillary.invalid/"
_PATH = re.compile(r"/v2/customers/([0-9]+)/coupons")
_PROFILE = re.compile(r"/v2/customers/([0-9]+)")
_LOOKUP = "/v2/customers/lookup/customerDetails"
_CHECK = "/v2/coupon/is_redeemable"
_RESEND = "/v1.1/coupon/resend"
_EXPIRY = "/v2/coupon/bulk/expiry"
_ISSUE = "/v2/coupon/issue"


def _json(answer: DemoError | dict[str, Any] | None) -> httpx.Response:
    if answer is None:  # not a demo customer
        answer = lookup_error(404, 8015, "Customer not found")
    if not isinstance(answer, DemoError):
        answer = DemoError(200, json.dumps(answer))
    return httpx.Response(answer.status, content=answer.body.encode(), headers={"content-type": answer.content_type})


def _number(text: object) -> int:
    return int(text) if isinstance(text, int) or (isinstance(text, str) and text.isdigit()) else 0


def _actions(state: DemoState, request: httpx.Request, clock: Clock) -> httpx.Response | None:
    """A check or an action, or None for any other request."""
    params, path = request.url.params, request.url.path
    if request.method == "GET" and path == _CHECK:
        return _json(state.is_redeemable(_number(params.get("id", "")), params.get("code", ""), clock()))
    if request.method == "GET" and path == _RESEND:
        code = params.get("code", "")
        # The demo's resend finds the coupon's holder itself, as Capillary's server code does (§4.1).
        holder = next(
            (c for c in DEMO_CUSTOMERS if state.is_redeemable(c, code, clock())["redemptionStatus"]["code"] != 719), 0
        )
        return _json(state.resend(holder, code, clock()))
    if request.method in ("PUT", "POST") and path in (_EXPIRY, _ISSUE):
        body = json.loads(request.content or b"{}")
        customer_id = _number(str(body.get("customer", {}).get("id", "")))
        if path == _EXPIRY:
            return _json(state.extend(customer_id, body, clock()))
        return _json(state.issue(customer_id, _number(body.get("seriesId")), clock()))
    return None


def demo_transport(clock: Clock = system_clock, state: DemoState | None = None) -> httpx.MockTransport:
    state = state or DemoState()  # what actions change lives as long as the transport (one per process)

    def handle(request: httpx.Request) -> httpx.Response:
        acted = _actions(state, request, clock)
        if acted is not None:
            return acted
        if request.method == "GET" and request.url.path == _LOOKUP:
            params = request.url.params
            return _json(demo_lookup(params.get("identifierName", ""), params.get("identifierValue", "")))
        profile = _PROFILE.fullmatch(request.url.path)
        if request.method == "GET" and profile is not None:
            return _json(demo_profile(int(profile[1])))
        match = _PATH.fullmatch(request.url.path)
        if request.method != "GET" or match is None:
            return httpx.Response(404, json={"errors": [{"code": 404, "message": "not found"}]})
        raw_case = request.url.params.get("coupon_code_case", "UPPER").upper()
        case = CodeCase(raw_case) if raw_case in CodeCase.__members__.values() else CodeCase.UPPER
        return _json(state.answer(int(match[1]), case, clock()))

    return httpx.MockTransport(handle)
