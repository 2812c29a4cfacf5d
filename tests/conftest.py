from __future__ import annotations

import copy
import json
import logging
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.domain.coupon import Coupon
from bot.settings import Settings
from bot.wiring import build_answerer, build_app
from tests.support.loopback import LoopbackServer, Recorded, Reply
from tests.support.slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack

pytest_plugins = ["tests.support.redis_server"]

DATA = Path(__file__).resolve().parent.parent / "bot" / "demo" / "data"
REFERENCE = DATA
NOW = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)


def sample_bytes(name: str = "lower") -> bytes:
    return (DATA / f"sample-response-{name}-case.json").read_bytes()


def coupon_json(**overrides: Any) -> dict[str, Any]:
    """A coupon from the lower-case sample, with fields replaced."""
    coupon = copy.deepcopy(json.loads(sample_bytes())["entity"][0])
    coupon.update(overrides)
    return coupon


def full_coupons(body: bytes | dict[str, Any]) -> list[Coupon]:
    """Every coupon of a Capillary answer with every field read (a lookup reads only what it shows:
    `parse_coupons`)."""
    entity = (json.loads(body) if isinstance(body, bytes) else body).get("entity") or []
    return [Coupon.model_validate(coupon) for coupon in entity]


def make_coupon(**overrides: Any) -> Coupon:
    return Coupon.model_validate(coupon_json(**overrides))


def envelope(coupons: list[dict[str, Any]]) -> dict[str, Any]:
    return {"entity": coupons, "warnings": [], "errors": [], "success": True}


NOT_FOUND = {"errors": [{"status": False, "code": 8015, "message": "Customer not found for the given identifiers"}]}


def customer_json(customer_id: int = 565000123, **overrides: Any) -> dict[str, Any]:
    """The reference's by-ID sample (Asha Example, Gold, 1,850 points) for `customer_id`, fields replaced."""
    body = json.loads((REFERENCE / "sample-customer-by-id.json").read_text())
    body["id"] = customer_id
    body.update(overrides)
    return body


class CapillaryStandIn:
    """A loopback Capillary.

    `answers[customer_id]`: the coupons; `profiles[customer_id]`: `GET /v2/customers/{id}`;
    `lookups[(identifierName, identifierValue)]`: `GET /v2/customers/lookup/customerDetails`. Each a Reply, or a
    list of Replies given in turn. Unknown customers and identifiers: 404 with code 8015.
    """

    def __init__(self) -> None:
        self.answers: dict[int, Reply | list[Reply]] = {}
        self.profiles: dict[int, Reply | list[Reply]] = {}
        self.lookups: dict[tuple[str, str], Reply | list[Reply]] = {}
        self.server = LoopbackServer(self._route)

    def _route(self, request: Recorded) -> Reply:
        answer: Reply | list[Reply]
        missing = Reply(404, NOT_FOUND)
        if request.path == "/v2/customers/lookup/customerDetails":
            key = (request.query.get("identifierName", [""])[0], request.query.get("identifierValue", [""])[0])
            answer = self.lookups.get(key, missing)
        elif match := re.fullmatch(r"/v2/customers/([0-9]+)/coupons", request.path):
            answer = self.answers.get(int(match[1]), missing)
        elif match := re.fullmatch(r"/v2/customers/([0-9]+)", request.path):
            answer = self.profiles.get(int(match[1]), missing)
        else:
            return Reply(404, {"errors": [{"code": 404, "message": "no such path"}]})
        if isinstance(answer, list):
            return answer.pop(0) if len(answer) > 1 else answer[0]
        return answer

    @property
    def url(self) -> str:
        return self.server.url

    def coupon_calls(self) -> list[Recorded]:
        return [r for r in self.server.matching("/v2/customers/") if r.path.endswith("/coupons")]

    def wait_coupon_calls(self, count: int, timeout: float = 10.0) -> list[Recorded]:
        """Until `count` coupon requests have arrived (each is recorded before its answer, however slow)."""
        return self.server.wait_for(
            count, path_prefix="/v2/customers/", timeout=timeout, where=lambda r: r.path.endswith("/coupons")
        )

    def profile_calls(self) -> list[Recorded]:
        return [r for r in self.server.matching("/v2/customers/") if re.fullmatch(r"/v2/customers/[0-9]+", r.path)]

    def lookup_calls(self) -> list[Recorded]:
        return self.server.matching("/v2/customers/lookup/")


@pytest.fixture
def capillary() -> Iterator[CapillaryStandIn]:
    stand_in = CapillaryStandIn()
    stand_in.answers[565032176] = Reply(body=sample_bytes("lower"), headers={"Content-Type": "application/json"})
    yield stand_in
    stand_in.server.close()


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    fake = FakeSlack()
    yield fake
    fake.close()


def bot_env(slack: FakeSlack, capillary: CapillaryStandIn, **extra: str) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
        "CAPILLARY_BASE_URL": capillary.url,
        "CAPILLARY_USERNAME": "store.server",
        "CAPILLARY_PASSWORD": "server123",
        "COUPONS_UPSTREAM_DEADLINE_SECONDS": "4",
        "COUPONS_READ_TIMEOUT_SECONDS": "3",
        **extra,
    }


@pytest.fixture
def make_app(slack: FakeSlack, capillary: CapillaryStandIn) -> Callable[..., Any]:
    """Build the real app (settings → client → answerer → Bolt) against the loopback servers."""

    def build(clock: Callable[[], datetime] = lambda: NOW, **env: str) -> Any:
        settings = Settings.from_env(bot_env(slack, capillary, **env))
        answerer = build_answerer(settings, use_demo=settings.demo, clock=clock)
        return build_app(settings, answerer)[0], answerer

    return build


class AuditLines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.raw: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.raw.append(record.getMessage())

    @property
    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.raw]


@pytest.fixture
def audit() -> Iterator[AuditLines]:
    from bot.audit_log import audit_logger

    handler = AuditLines()
    audit_logger.addHandler(handler)
    previous = audit_logger.level
    audit_logger.setLevel(logging.INFO)
    yield handler
    audit_logger.removeHandler(handler)
    audit_logger.setLevel(previous)
