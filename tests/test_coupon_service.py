from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from bot.capillary.client import CapillaryClient
from bot.capillary.coupons import FetchResult
from bot.coupon_service import CouponService, coupons_key, fetched_at_key
from bot.domain.coupon import CodeCase
from bot.errors import CapillaryUnavailable, CustomerNotFound
from bot.settings import BasicCredentials
from bot.store import MemoryStore
from tests.conftest import NOW, CapillaryStandIn, coupon_json, envelope, make_coupon, sample_bytes
from tests.support.loopback import Reply


class CountingFetcher:
    def __init__(self, delay: float = 0.0, error: Exception | None = None) -> None:
        self.calls: list[tuple[int, CodeCase]] = []
        self.delay, self.error = delay, error
        self._lock = threading.Lock()

    def fetch_coupons(self, customer_id: int, case: CodeCase, *, focused: bool = False) -> FetchResult:
        with self._lock:
            self.calls.append((customer_id, case))
        time.sleep(self.delay)
        if self.error is not None:
            raise self.error
        body = json.dumps(envelope([coupon_json(id=customer_id)])).encode()
        return FetchResult(
            (make_coupon(id=customer_id),), attempts=1, upstream_ms=int(self.delay * 1000), series={}, body=body
        )


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def service_for(fetcher: CountingFetcher, *, max_bytes: int = 64 * 1024 * 1024, **options: Any) -> CouponService:
    clock = options.pop("monotonic", time.monotonic)
    return CouponService(fetcher, MemoryStore(max_bytes, clock=clock), clock=lambda: NOW, **options)


def test_cache_hits_within_the_ttl_and_misses_after() -> None:
    fetcher, clock = CountingFetcher(), FakeMonotonic()
    service = service_for(fetcher, ttl_seconds=60, monotonic=clock)
    first = service.lookup(1, CodeCase.LOWER)
    second = service.lookup(1, CodeCase.LOWER)
    assert not first.cache_hit and second.cache_hit
    assert [c.code for c in second.coupons.coupons] == [c.code for c in first.coupons.coupons]
    assert second.coupons.fetched_at == NOW
    assert second.attempts == 0
    service.lookup(1, CodeCase.UPPER)  # another case is another key
    clock.now += 61
    assert not service.lookup(1, CodeCase.LOWER).cache_hit
    assert fetcher.calls == [(1, CodeCase.LOWER), (1, CodeCase.UPPER), (1, CodeCase.LOWER)]


def test_a_zero_ttl_turns_the_cache_off() -> None:
    fetcher = CountingFetcher()
    service = service_for(fetcher, ttl_seconds=0)
    assert not service.lookup(1, CodeCase.LOWER).cache_hit
    assert not service.lookup(1, CodeCase.LOWER).cache_hit
    assert len(fetcher.calls) == 2


def test_refresh_bypasses_the_cache_and_updates_it() -> None:
    fetcher = CountingFetcher()
    service = service_for(fetcher)
    service.lookup(1, CodeCase.LOWER)
    refreshed = service.lookup(1, CodeCase.LOWER, refresh=True)
    assert not refreshed.cache_hit and len(fetcher.calls) == 2
    assert service.lookup(1, CodeCase.LOWER).cache_hit and len(fetcher.calls) == 2


def test_the_body_is_kept_as_fetched_and_its_fetch_time_beside_it() -> None:
    fetcher = CountingFetcher()
    service = service_for(fetcher)
    first = service.lookup(1, CodeCase.LOWER)
    kept = service.store.get(coupons_key(1, CodeCase.LOWER))
    assert kept == fetcher.fetch_coupons(1, CodeCase.LOWER).body  # not a copy with a header in front
    assert service.store.get(fetched_at_key(coupons_key(1, CodeCase.LOWER))) == NOW.isoformat().encode()
    assert service.lookup(1, CodeCase.LOWER).coupons.fetched_at == first.coupons.fetched_at == NOW


def test_a_kept_body_without_its_fetch_time_is_fetched_again() -> None:
    fetcher = CountingFetcher()
    service = service_for(fetcher)
    service.lookup(1, CodeCase.LOWER)
    service.store.delete(fetched_at_key(coupons_key(1, CodeCase.LOWER)))  # evicted on its own, say
    service.store.set(coupons_key(1, CodeCase.LOWER), b"stale body", 60)  # so a kept copy is seen to be replaced
    again = service.lookup(1, CodeCase.LOWER)
    assert not again.cache_hit and len(fetcher.calls) == 2
    assert service.store.get(coupons_key(1, CodeCase.LOWER)) == fetcher.fetch_coupons(1, CodeCase.LOWER).body
    assert service.lookup(1, CodeCase.LOWER).cache_hit  # kept again, with its time


def test_the_cache_is_bounded_in_bytes() -> None:
    fetcher = CountingFetcher()
    entry = len(fetcher.fetch_coupons(1, CodeCase.LOWER).body) + 200
    fetcher.calls.clear()
    service = service_for(fetcher, max_bytes=2 * entry)  # room for two customers' answers
    for customer in (1, 2, 3):
        service.lookup(customer, CodeCase.LOWER)
    service.lookup(1, CodeCase.LOWER)
    assert len(fetcher.calls) == 4  # customer 1 was evicted


def test_failures_are_not_cached() -> None:
    fetcher = CountingFetcher(error=CustomerNotFound("no"))
    service = service_for(fetcher)
    for _ in range(2):
        with pytest.raises(CustomerNotFound):
            service.lookup(1, CodeCase.LOWER)
    assert len(fetcher.calls) == 2


def test_forty_concurrent_lookups_of_one_customer_make_one_call() -> None:
    fetcher = CountingFetcher(delay=0.3)
    service = service_for(fetcher)
    barrier = threading.Barrier(40)

    def look() -> bool:
        barrier.wait()
        return service.lookup(565032176, CodeCase.LOWER).cache_hit

    with ThreadPoolExecutor(40) as pool:
        hits = list(pool.map(lambda _: look(), range(40)))
    assert len(fetcher.calls) == 1
    assert hits.count(False) == 1


def test_followers_of_a_failed_flight_get_the_same_error() -> None:
    fetcher = CountingFetcher(delay=0.2, error=CapillaryUnavailable("down"))
    service = service_for(fetcher)
    errors: list[Exception] = []

    def look() -> None:
        try:
            service.lookup(1, CodeCase.UPPER)
        except CapillaryUnavailable as error:
            errors.append(error)

    threads = [threading.Thread(target=look) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(errors) == 10 and len(fetcher.calls) == 1


def test_single_flight_against_a_slow_real_capillary(capillary: CapillaryStandIn) -> None:
    capillary.answers[5] = Reply(body=sample_bytes("lower"), delay=1.0)
    client = CapillaryClient(capillary.url, BasicCredentials("u", "p"))
    service = CouponService(client, MemoryStore(64 * 1024 * 1024), clock=lambda: NOW)
    with ThreadPoolExecutor(20) as pool:
        outcomes = list(pool.map(lambda _: service.lookup(5, CodeCase.LOWER), range(20)))
    assert len(capillary.coupon_calls()) == 1
    assert all(len(o.coupons.coupons) == 7 for o in outcomes)


def test_two_processes_sharing_redis_make_one_call_and_share_the_cache(
    capillary: CapillaryStandIn, redis_server: Any
) -> None:
    from bot.store.redis import RedisStore

    capillary.answers[6] = Reply(body=sample_bytes("lower"), delay=0.5)
    # Two services with their own clients and stores, as two worker processes have, sharing one Redis.
    services = [
        CouponService(CapillaryClient(capillary.url, BasicCredentials("u", "p")), RedisStore(redis_server.url))
        for _ in range(2)
    ]
    with ThreadPoolExecutor(40) as pool:
        outcomes = list(pool.map(lambda n: services[n % 2].lookup(6, CodeCase.LOWER), range(40)))
    assert len(capillary.coupon_calls()) == 1
    assert [o.cache_hit for o in outcomes].count(False) == 1
    assert all(len(o.coupons.coupons) == 7 for o in outcomes)
    assert services[1].lookup(6, CodeCase.LOWER).cache_hit and len(capillary.coupon_calls()) == 1


class HeldSharedStore:
    """A shared store whose write of one key waits until `release` is set, as a multi-megabyte write to Redis
    takes its time; every other call goes straight through."""

    shared = True

    def __init__(self, inner: Any, key: str) -> None:
        self.inner, self.key = inner, key
        self.release, self.writing, self.written = threading.Event(), threading.Event(), threading.Event()

    def set(self, key: str, value: bytes, ttl_seconds: float) -> None:
        if key == self.key:
            self.writing.set()
            assert self.release.wait(10), "the test never released the write"
        self.inner.set(key, value, ttl_seconds)
        if key == self.key:
            self.written.set()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_with_a_shared_store_the_answer_does_not_wait_for_the_cache_write(redis_server: Any) -> None:
    from bot.store.redis import RedisStore

    redis_store = RedisStore(redis_server.url, prefix="held-write:")
    store = HeldSharedStore(redis_store, coupons_key(7, CodeCase.LOWER))
    fetcher = CountingFetcher()
    service = CouponService(fetcher, store, clock=lambda: NOW)
    try:
        first = service.lookup(7, CodeCase.LOWER)
        assert not first.cache_hit and [c.id for c in first.coupons.coupons] == [7]
        assert store.writing.wait(5) and redis_store.get(store.key) is None  # answered; the body is on its way
        again = service.lookup(7, CodeCase.LOWER)  # this process has the body in hand meanwhile
        assert again.cache_hit and fetcher.calls == [(7, CodeCase.LOWER)]
    finally:
        store.release.set()
    assert store.written.wait(5)
    assert redis_store.get(store.key) == json.dumps(envelope([coupon_json(id=7)])).encode()
    redis_store.close()
