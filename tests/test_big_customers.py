"""Big customers on default settings: a 10,000-coupon answer (34 MB) is read; an answer refused as too large is
remembered for the cache's TTL, so asking again makes no call; and the memory a large answer used goes back to
the system once it has been answered."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from unittest import mock

import pytest

from bot import gc_tuning, shared_fetch
from bot.after_answer import answering
from bot.capillary.auth import BasicLogin
from bot.capillary.client import CapillaryClient
from bot.coupon_service import CouponService, coupons_key
from bot.demo.customers import bulk_coupons
from bot.domain.coupon import CodeCase
from bot.domain.errors import CapillaryResponseTooLarge, CustomerNotFound
from bot.settings import Settings
from bot.shared_fetch import SharedFetch
from bot.store import MemoryStore
from tests.conftest import NOW, CapillaryStandIn, bot_env
from tests.support.loopback import Reply
from tests.support.slack import FakeSlack

MB = 1024 * 1024
TOO_BIG = 7  # a customer whose answer is over the cap


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def service(capillary: CapillaryStandIn, store: Any, *, max_response_bytes: int = MB) -> CouponService:
    client = CapillaryClient(
        capillary.url, BasicLogin("u", "p"), max_response_bytes=max_response_bytes, sleep=lambda _s: None
    )
    return CouponService(client, store, ttl_seconds=60, clock=lambda: NOW)


@pytest.fixture
def too_big(capillary: CapillaryStandIn) -> CapillaryStandIn:
    capillary.answers[TOO_BIG] = Reply(body=b" " * (2 * MB), headers={"Content-Type": "application/json"})
    return capillary


def test_a_refused_answer_is_remembered_for_the_ttl_and_asking_again_makes_no_call(
    too_big: CapillaryStandIn, clock: Clock
) -> None:
    coupons = service(too_big, MemoryStore(64 * MB, clock=clock))
    with pytest.raises(CapillaryResponseTooLarge) as first:
        coupons.lookup(TOO_BIG, CodeCase.LOWER)
    with pytest.raises(CapillaryResponseTooLarge) as again:
        coupons.lookup(TOO_BIG, CodeCase.LOWER)
    assert len(too_big.coupon_calls()) == 1
    assert str(again.value) == str(first.value) == "Capillary's answer is larger than 1 MB"
    assert again.value.status == first.value.status == 200
    assert again.value.attempts == 0  # the audit line says no request was made
    clock.now += 61  # the TTL is over: Capillary is asked again
    with pytest.raises(CapillaryResponseTooLarge):
        coupons.lookup(TOO_BIG, CodeCase.LOWER)
    assert len(too_big.coupon_calls()) == 2


def test_the_refusal_is_a_small_marker_under_the_customers_key(too_big: CapillaryStandIn) -> None:
    store = MemoryStore(64 * MB)
    with pytest.raises(CapillaryResponseTooLarge):
        service(too_big, store).lookup(TOO_BIG, CodeCase.LOWER)
    kept = store.get(coupons_key(TOO_BIG, CodeCase.LOWER))
    assert kept is not None and kept.startswith(shared_fetch.REFUSED) and len(kept) < 100
    assert store.get(coupons_key(TOO_BIG, CodeCase.UPPER)) is None  # another case is another answer


def test_a_refresh_asks_again(too_big: CapillaryStandIn) -> None:
    coupons = service(too_big, MemoryStore(64 * MB))
    for refresh in (False, True):
        with pytest.raises(CapillaryResponseTooLarge):
            coupons.lookup(TOO_BIG, CodeCase.LOWER, refresh=refresh)
    assert len(too_big.coupon_calls()) == 2


def test_another_process_sharing_redis_makes_no_call_either(too_big: CapillaryStandIn, redis_server: Any) -> None:
    from bot.store.redis import RedisStore

    first, second = (service(too_big, RedisStore(redis_server.url)) for _ in range(2))
    with pytest.raises(CapillaryResponseTooLarge):
        first.lookup(TOO_BIG, CodeCase.LOWER)
    with pytest.raises(CapillaryResponseTooLarge, match="larger than 1 MB"):
        second.lookup(TOO_BIG, CodeCase.LOWER)
    assert len(too_big.coupon_calls()) == 1


def test_other_failures_are_still_not_remembered(capillary: CapillaryStandIn) -> None:
    coupons = service(capillary, MemoryStore(64 * MB))
    for _ in range(2):
        with pytest.raises(CustomerNotFound):
            coupons.lookup(9, CodeCase.LOWER)  # not a customer: 404 / 8015
    assert len(capillary.coupon_calls()) == 2


def test_a_kept_refusal_is_nothing_to_read_back_for_a_caller_that_only_peeks() -> None:
    fetch: SharedFetch[str] = SharedFetch(MemoryStore(MB), ttl_seconds=30, deadline_seconds=5)
    fetch.store.set("k", shared_fetch.REFUSED + b"200:too large", 30)
    assert fetch.kept("k", lambda entry: entry.decode()) is None  # e.g. CustomerService.profile_soon


@pytest.fixture
def ten_thousand(capillary: CapillaryStandIn) -> Iterator[bytes]:
    body = json.dumps({"entity": bulk_coupons(10_000, datetime.now(UTC)), "success": True}).encode()
    capillary.answers[10_000] = Reply(body=body, headers={"Content-Type": "application/json"})
    yield body


def test_a_ten_thousand_coupon_customer_is_answered_on_default_settings(
    capillary: CapillaryStandIn, ten_thousand: bytes
) -> None:
    slack = FakeSlack()
    try:
        settings = Settings.from_env(bot_env(slack, capillary))
    finally:
        slack.close()
    assert len(ten_thousand) > 32 * MB  # over the old default
    assert settings.max_response_bytes >= len(ten_thousand)
    coupons = service(capillary, MemoryStore(settings.cache_max_bytes), max_response_bytes=settings.max_response_bytes)
    assert len(coupons.lookup(10_000, CodeCase.LOWER).coupons.coupons) == 10_000


@pytest.fixture
def quick_return(monkeypatch: pytest.MonkeyPatch) -> mock.MagicMock:
    """Memory goes back 0.1 s after the last large answer (not 10 s); `return_memory` is recorded."""
    monkeypatch.setattr(gc_tuning, "RETURN_AFTER_QUIET_SECONDS", 0.1)
    monkeypatch.setattr(gc_tuning, "_glibc", lambda _name: lambda *_args: 1)  # as on glibc, wherever tests run
    returned = mock.MagicMock(return_value=True, side_effect=lambda: returned.at.append(time.monotonic()) or True)
    returned.at = []  # when each call came
    monkeypatch.setattr(gc_tuning, "return_memory", returned)
    return returned


def memory_returned() -> None:
    """Until the thread that returns memory once answers are quiet has done so (and ended); at once if none runs."""
    for thread in threading.enumerate():
        if thread.name == "return-memory":
            thread.join(5)
            assert not thread.is_alive()


def answered(resident: list[int]) -> None:
    """A listener's scope during which the process went from resident[0] to resident[1] bytes."""
    with mock.patch.object(gc_tuning, "resident_bytes", side_effect=resident), answering():
        pass


def test_threads_share_two_malloc_arenas_unless_the_operator_set_them(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[int, ...]] = []
    monkeypatch.setattr(
        gc_tuning, "_glibc", lambda name: (lambda *args: calls.append(args) or 1) if name == "mallopt" else None
    )
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    assert gc_tuning.limit_malloc_arenas()
    assert calls == [(-8, 2)]  # M_ARENA_MAX, 2
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert not gc_tuning.limit_malloc_arenas()
    assert calls == [(-8, 2)]


def test_memory_goes_back_once_large_answers_stop(quick_return: mock.MagicMock) -> None:
    answered([100 * MB, 140 * MB])
    time.sleep(0.05)  # the time between two answers, under the quiet 0.1 s: the behaviour under test
    last = time.monotonic()
    answered([140 * MB, 180 * MB])  # another large customer, right after: it reuses that memory
    memory_returned()
    assert quick_return.call_count == 1  # once,
    assert quick_return.at[0] - last >= 0.1  # 0.1 s after the last, not the first


def test_a_small_answer_returns_nothing(quick_return: mock.MagicMock) -> None:
    answered([100 * MB, 101 * MB])
    memory_returned()
    assert quick_return.call_count == 0


def test_returning_memory_shrinks_the_process_after_a_large_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    """For real (glibc): what a large answer built on a listener thread and freed no longer counts as resident,
    though what outlives the answer (as a cache's entry does) was allocated after it."""
    if not gc_tuning.return_memory():
        pytest.skip("no malloc_trim here")
    monkeypatch.setattr(gc_tuning, "RETURN_AFTER_QUIET_SECONDS", 0.05)
    body = json.dumps({"entity": bulk_coupons(3000, datetime.now(UTC)), "success": True}).encode()
    measured: list[int] = []
    kept: list[bytes] = []

    def answer() -> None:
        with answering():
            measured.append(gc_tuning.resident_bytes())
            parsed = []
            for _ in range(4):  # about 100 MB
                parsed.append(json.loads(body))
                kept.append(bytes(2000))
            measured.append(gc_tuning.resident_bytes())
            del parsed

    thread = threading.Thread(target=answer)  # a listener thread: its own malloc arena
    thread.start()
    thread.join()
    before, grown = measured
    assert grown - before >= gc_tuning.TRIM_AFTER_GROWTH_BYTES
    memory_returned()
    assert gc_tuning.resident_bytes() - before < (grown - before) / 4  # without returning it: about 40% stays
