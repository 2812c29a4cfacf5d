"""An httpx transport that answers `GET /v2/customers/{id}/coupons`, `GET /v2/customers/{id}` and
`GET /v2/customers/lookup/customerDetails` from the demo customers.

Plugged into the real `CapillaryClient`, so a demo lookup runs the exact pipeline a real one does.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx

from bot.demo.customers import DemoError, demo_answer, demo_lookup, demo_profile
from bot.domain.coupon import CodeCase
from bot.domain.coupon_state import Clock, system_clock

DEMO_BASE_URL = "https://demo.capillary.invalid/"
_PATH = re.compile(r"/v2/customers/([0-9]+)/coupons")
_PROFILE = re.compile(r"/v2/customers/([0-9]+)")
_LOOKUP = "/v2/customers/lookup/customerDetails"


def _json(answer: DemoError | dict[str, Any] | None) -> httpx.Response:
    if answer is None:
        answer = DemoError(
            404, json.dumps({"errors": [{"status": False, "code": 8015, "message": "Customer not found"}]})
        )
    if isinstance(answer, DemoError):
        return httpx.Response(
            answer.status, content=answer.body.encode(), headers={"content-type": answer.content_type}
        )
    return httpx.Response(200, content=json.dumps(answer).encode(), headers={"content-type": "application/json"})


def demo_transport(clock: Clock = system_clock) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
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
        answer = demo_answer(int(match[1]), case, clock())
        if isinstance(answer, DemoError):
            return httpx.Response(
                answer.status, content=answer.body.encode(), headers={"content-type": answer.content_type}
            )
        return httpx.Response(200, content=json.dumps(answer).encode(), headers={"content-type": "application/json"})

    return httpx.MockTransport(handle)
