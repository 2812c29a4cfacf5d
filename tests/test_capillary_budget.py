"""A request budget toward Capillary: no 60-second window holds more than CAPILLARY_MAX_REQUESTS_PER_MINUTE
requests (across processes through Redis), a 429's Retry-After stops every process until then, an agent is
told when to try again, and Redis trouble never fails a lookup."""

from __future__ import annotations

import email.utils
import logging
import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis

from blocks.errors import describe_error
from bot.capillary.auth import BasicLogin, OAuthClient
from bot.capillary.client import CapillaryClient
from bot.domain.coupon import CodeCase
from bot.domain.errors import CapillaryBudgetUsedUp, CapillaryRateLimited, CapillaryUnavailable
from bot.store.request_budget import RequestBudget
from tests.conftest import AuditLines, CapillaryStandIn, sample_bytes
from tests.support.blockkit import all_texts
from tests.support.loopback import LoopbackServer, Recorded, Reply
from tests.support.redis_server import RedisServer, free_port, running_redis
from tests.support.slack import FakeSlack, send_command

CREDENTIALS = BasicLogin("store.server", "server123")
ASHA = 565032176
SAMPLE = Reply(body=sample_bytes("lower"), headers={"Content-Type": "application/json"})


def scope() -> str:
    return uuid.uuid4().hex[:12]  # the session's one Redis: each test counts on its own


def client(capillary: CapillaryStandIn, budget: RequestBudget, **options: Any) -> CapillaryClient:
    return CapillaryClient(capillary.url, CREDENTIALS, budget=budget, **options)


def words(error: Exception) -> str:
    assert isinstance(error, CapillaryUnavailable)
    text = describe_error(error, customer_id=ASHA, contact="#help")
    return f"{text.title} {text.advice}"


@pytest.fixture
def customers(capillary: CapillaryStandIn) -> CapillaryStandIn:
    for customer in range(1, 10):
        capillary.answers[customer] = SAMPLE
    return capillary


def test_the_call_past_the_budget_is_not_made_and_the_agent_is_told_when(customers: CapillaryStandIn) -> None:
    lookups = client(customers, RequestBudget(3, scope=scope()))
    for customer in (1, 2, 3):
        lookups.fetch_coupons(customer, CodeCase.LOWER)
    started = time.monotonic()
    with pytest.raises(CapillaryBudgetUsedUp) as refused:
        lookups.fetch_coupons(4, CodeCase.LOWER)
    assert time.monotonic() - started < 1.0  # a minute's wait doesn't fit the deadline: refused at once
    assert len(customers.coupon_calls()) == 3
    assert 55 < refused.value.retry_after <= 60 and refused.value.attempts == 0
    said = words(refused.value)
    assert re.search(r"Capillary's request budget is used up; try again in about (5[5-9]|60) s\.", said), said
    assert "CAPILLARY_MAX_REQUESTS_PER_MINUTE" in said


def test_over_budget_a_call_waits_for_the_window_when_the_deadline_allows(customers: CapillaryStandIn) -> None:
    lookups = client(customers, RequestBudget(1, scope=scope(), window_seconds=1), deadline=4.0)
    lookups.fetch_coupons(1, CodeCase.LOWER)
    started = time.monotonic()
    lookups.fetch_coupons(2, CodeCase.LOWER)  # waits for the first request to leave the 1 s window
    assert 0.5 < time.monotonic() - started < 2.0
    assert [r.path for r in customers.coupon_calls()] == ["/v2/customers/1/coupons", "/v2/customers/2/coupons"]


def test_no_budget_counts_nothing(customers: CapillaryStandIn) -> None:
    lookups = client(customers, RequestBudget(0, scope=scope()))
    for _ in range(20):
        lookups.fetch_coupons(1, CodeCase.LOWER)
    assert len(customers.coupon_calls()) == 20


def test_a_429_retry_after_is_remembered_and_no_call_is_made_until_then(customers: CapillaryStandIn) -> None:
    customers.answers[1] = Reply(429, "<html>Too many</html>", {"Retry-After": "3600", "Content-Type": "text/html"})
    lookups = client(customers, RequestBudget(300, scope=scope()))
    with pytest.raises(CapillaryRateLimited) as first:
        lookups.fetch_coupons(1, CodeCase.LOWER)
    assert first.value.attempts == 1 and first.value.status == 429
    assert "Capillary asked the bot to slow down; try again in about 1 h." in words(first.value)
    for customer in range(2, 12):  # ten more lookups: not one call
        with pytest.raises(CapillaryRateLimited) as later:
            lookups.fetch_coupons(customer, CodeCase.LOWER)
        assert later.value.attempts == 0 and 3590 < later.value.retry_after <= 3600
    assert len(customers.coupon_calls()) == 1


def test_a_retry_after_as_an_http_date_is_remembered(customers: CapillaryStandIn) -> None:
    when = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=125), usegmt=True)
    customers.answers[1] = Reply(429, "", {"Retry-After": when})
    lookups = client(customers, RequestBudget(0, scope=scope()))
    with pytest.raises(CapillaryRateLimited):
        lookups.fetch_coupons(1, CodeCase.LOWER)
    with pytest.raises(CapillaryRateLimited) as later:
        lookups.fetch_coupons(2, CodeCase.LOWER)
    assert "try again in about 2 min." in words(later.value)
    assert len(customers.coupon_calls()) == 1


def test_a_short_retry_after_is_waited_out_by_the_next_lookup(customers: CapillaryStandIn) -> None:
    customers.answers[1] = Reply(429, "", {"Retry-After": "1"})
    budget = RequestBudget(0, scope=scope())
    hasty, patient = client(customers, budget, deadline=0.8), client(customers, budget, deadline=4.0)
    with pytest.raises(CapillaryRateLimited):  # a 1 s wait doesn't fit a 0.8 s deadline
        hasty.fetch_coupons(1, CodeCase.LOWER)
    started = time.monotonic()
    patient.fetch_coupons(2, CodeCase.LOWER)  # waits out the rest of the second, then calls
    assert 0.5 < time.monotonic() - started < 2.0
    assert len(customers.coupon_calls()) == 2


# --- shared through Redis -------------------------------------------------------------------------------------


def test_the_budget_and_a_429_are_shared_by_every_process(
    customers: CapillaryStandIn, redis_server: RedisServer
) -> None:
    shared = scope()
    budget = RequestBudget(3, redis_url=redis_server.url, scope=shared)
    one = client(customers, budget)
    other = client(customers, RequestBudget(3, redis_url=redis_server.url, scope=shared))
    one.fetch_coupons(1, CodeCase.LOWER)
    one.fetch_coupons(2, CodeCase.LOWER)
    other.fetch_coupons(3, CodeCase.LOWER)
    with pytest.raises(CapillaryBudgetUsedUp):
        other.fetch_coupons(4, CodeCase.LOWER)
    with pytest.raises(CapillaryBudgetUsedUp):
        one.fetch_coupons(5, CodeCase.LOWER)
    assert len(customers.coupon_calls()) == 3

    keys = redis.Redis.from_url(redis_server.url)
    # The moving window: a list of request times, expiring a window after the last.
    window_key = f"coupons-bot:budget:LIMITER/capillary/{shared}/3/60/second"
    assert 0 < keys.ttl(window_key) <= 60 and keys.llen(window_key) == 3


def test_a_429_seen_by_one_process_stops_the_others(customers: CapillaryStandIn, redis_server: RedisServer) -> None:
    shared = scope()
    customers.answers[1] = Reply(429, "", {"Retry-After": "3600"})
    one = client(customers, RequestBudget(300, redis_url=redis_server.url, scope=shared))
    other = client(customers, RequestBudget(300, redis_url=redis_server.url, scope=shared))
    with pytest.raises(CapillaryRateLimited):
        one.fetch_coupons(1, CodeCase.LOWER)
    with pytest.raises(CapillaryRateLimited) as later:
        other.fetch_coupons(2, CodeCase.LOWER)
    assert later.value.attempts == 0 and 3590 < later.value.retry_after <= 3600
    assert len(customers.coupon_calls()) == 1
    ttl = redis.Redis.from_url(redis_server.url).pttl(f"coupons-bot:capillary-not-before:{shared}")
    assert 3_590_000 < ttl <= 3_600_000


def test_without_redis_the_budget_counts_in_process(
    customers: CapillaryStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.store.request_budget")
    unreachable = f"redis://:budget-secret@127.0.0.1:{free_port()}/0"
    lookups = client(customers, RequestBudget(2, redis_url=unreachable, scope=scope()))
    lookups.fetch_coupons(1, CodeCase.LOWER)
    lookups.fetch_coupons(2, CodeCase.LOWER)
    with pytest.raises(CapillaryBudgetUsedUp):
        lookups.fetch_coupons(3, CodeCase.LOWER)
    assert len(customers.coupon_calls()) == 2
    warnings = [r.getMessage() for r in caplog.records if r.name == "bot.store.request_budget"]
    assert len(warnings) == 1 and "in this process only" in warnings[0]
    assert "budget-secret" not in warnings[0]


def test_redis_stopping_mid_way_never_fails_a_lookup(customers: CapillaryStandIn) -> None:
    with running_redis(password="mid-way") as server:
        budget = RequestBudget(300, redis_url=server.url, scope=scope())
        lookups = client(customers, budget)
        lookups.fetch_coupons(1, CodeCase.LOWER)
        server.stop()
        lookups.fetch_coupons(2, CodeCase.LOWER)
        customers.answers[3] = Reply(429, "", {"Retry-After": "600"})
        with pytest.raises(CapillaryRateLimited):
            lookups.fetch_coupons(3, CodeCase.LOWER)
        with pytest.raises(CapillaryRateLimited):  # remembered in this process all the same
            lookups.fetch_coupons(4, CodeCase.LOWER)
    assert len(customers.coupon_calls()) == 3


# --- every request counts, the token's too ---------------------------------------------------------------------


@pytest.fixture
def oauth_capillary() -> Iterator[LoopbackServer]:
    def route(request: Recorded) -> Reply:
        if request.path == "/v3/oauth/token/generate":
            return Reply(200, {"data": {"accessToken": "jwt-1", "ttlSeconds": 300}, "errors": None})
        return SAMPLE

    server = LoopbackServer(route)
    yield server
    server.close()


def test_the_token_request_counts_against_the_budget(oauth_capillary: LoopbackServer) -> None:
    lookups = CapillaryClient(
        oauth_capillary.url,
        OAuthClient("client-key", "client-secret"),
        budget=RequestBudget(2, scope=scope()),
    )
    lookups.fetch_coupons(1, CodeCase.LOWER)  # the token, then the coupons
    with pytest.raises(CapillaryBudgetUsedUp):
        lookups.fetch_coupons(2, CodeCase.LOWER)
    assert [r.path for r in oauth_capillary.requests] == ["/v3/oauth/token/generate", "/v2/customers/1/coupons"]


# --- the whole bot: settings → wiring → the agent's message --------------------------------------------------


def test_the_agent_is_told_when_to_try_again(
    make_app: Any, slack: FakeSlack, customers: CapillaryStandIn, audit: AuditLines
) -> None:
    app, _ = make_app(CAPILLARY_MAX_REQUESTS_PER_MINUTE="2")
    send_command(app, "1 lower", response_url=slack.response_url("first"))  # the coupons and the profile
    slack.wait_responses(1, name="first")
    send_command(app, "2 lower", response_url=slack.response_url("second"))
    [answer] = slack.wait_responses(1, name="second")
    text = " ".join(all_texts(answer["blocks"]))
    assert re.search(r"Capillary's request budget is used up; try again in about (5[5-9]|60) s\.", text), text
    assert not [r for r in customers.server.requests if "/2" in r.path]
    assert [line["outcome"] for line in audit.lines][-1] == "budget_used_up"
