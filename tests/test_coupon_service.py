from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from bot.capillary.auth import BasicLogin
from bot.capillary.client import CapillaryClient
from bot.capillary.coupons import FetchResult, parsed_bytes
from bot.coupon_service import CouponService, body_key, coupons_key
from bot.domain.coupon import CodeCase
from bot.domain.errors import CapillaryUnavailable, CustomerNotFound
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


def test_the_body_is_kept_as_fetched_under_its_version() -> None:
    fetcher = CountingFetcher()
    service = service_for(fetcher)
    first = service.lookup(1, CodeCase.LOWER)
    version = service.store.get(coupons_key(1, CodeCase.LOWER))
    assert version is not None and version.startswith(NOW.isoformat().encode())
    kept = service.store.get(body_key(coupons_key(1, CodeCase.LOWER), version))
    assert kept == fetcher.fetch_coupons(1, CodeCase.LOWER).body  # not a copy with a header in front
    assert service.lookup(1, CodeCase.LOWER).coupons.fetched_at == first.coupons.fetched_at == NOW


def test_a_hit_reuses_what_this_process_parsed_and_another_process_reads_the_body_once() -> None:
    fetcher = CountingFetcher()
    store = MemoryStore(64 * 1024 * 1024)
    here, elsewhere = (CouponService(fetcher, store, clock=lambda: NOW) for _ in range(2))
    first = here.lookup(1, CodeCase.LOWER)
    assert here.lookup(1, CodeCase.LOWER).coupons is first.coupons  # nothing parsed again
    read = elsewhere.lookup(1, CodeCase.LOWER)  # another process sharing the store: parses the body once
    assert read.cache_hit and read.coupons is not first.coupons
    assert elsewhere.lookup(1, CodeCase.LOWER).coupons is read.coupons
    assert len(fetcher.calls) == 1


def test_a_refresh_elsewhere_is_seen_at_the_next_hit() -> None:
    fetcher = CountingFetcher()
    store = MemoryStore(64 * 1024 * 1024)
    here, elsewhere = (CouponService(fetcher, store, clock=lambda: NOW) for _ in range(2))
    before = here.lookup(1, CodeCase.LOWER)
    refreshed = elsewhere.lookup(1, CodeCase.LOWER, refresh=True)
    after = here.lookup(1, CodeCase.LOWER)
    assert after.cache_hit and after.coupons is not before.coupons
    assert [c.id for c in after.coupons.coupons] == [c.id for c in refreshed.coupons.coupons]
    assert len(fetcher.calls) == 2


def test_a_version_whose_body_is_gone_is_fetched_again() -> None:
    fetcher = CountingFetcher()
    store = MemoryStore(64 * 1024 * 1024)
    here, elsewhere = (CouponService(fetcher, store, clock=lambda: NOW) for _ in range(2))
    here.lookup(1, CodeCase.LOWER)
    version = store.get(coupons_key(1, CodeCase.LOWER))
    assert version is not None
    store.delete(body_key(coupons_key(1, CodeCase.LOWER), version))  # evicted on its own, say
    again = elsewhere.lookup(1, CodeCase.LOWER)
    assert not again.cache_hit and len(fetcher.calls) == 2
    assert elsewhere.lookup(1, CodeCase.LOWER).cache_hit  # kept again


def test_the_cache_is_bounded_in_bytes() -> None:
    fetcher = CountingFetcher()
    entry = len(fetcher.fetch_coupons(1, CodeCase.LOWER).body) + 200
    fetcher.calls.clear()
    # Room for two customers' answers in the store, and no parsed copies: the store's bound is the one at work.
    service = service_for(fetcher, max_bytes=2 * entry, parsed_max_bytes=1)
    for customer in (1, 2, 3):
        service.lookup(customer, CodeCase.LOWER)
    service.lookup(1, CodeCase.LOWER)
    assert len(fetcher.calls) == 4  # customer 1 was evicted


def test_parsed_copies_are_bounded_by_what_they_and_their_bodies_take() -> None:
    fetcher = CountingFetcher()
    fetched = fetcher.fetch_coupons(1, CodeCase.LOWER)
    body = len(fetched.body)
    service = service_for(fetcher, parsed_max_bytes=2 * (body + parsed_bytes(len(fetched.coupons), body)))
    first = [service.lookup(customer, CodeCase.LOWER).coupons for customer in (1, 2, 3)]
    assert service.lookup(3, CodeCase.LOWER).coupons is first[2]
    again = service.lookup(1, CodeCase.LOWER)  # its copy made room for customer 3's: read from the store again
    assert again.cache_hit and again.coupons is not first[0]


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
    client = CapillaryClient(capillary.url, BasicLogin("u", "p"))
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
        CouponService(CapillaryClient(capillary.url, BasicLogin("u", "p")), RedisStore(redis_server.url))
        for _ in range(2)
    ]
    with ThreadPoolExecutor(40) as pool:
        outcomes = list(pool.map(lambda n: services[n % 2].lookup(6, CodeCase.LOWER), range(40)))
    assert len(capillary.coupon_calls()) == 1
    assert [o.cache_hit for o in outcomes].count(False) == 1
    assert all(len(o.coupons.coupons) == 7 for o in outcomes)
    assert services[1].lookup(6, CodeCase.LOWER).cache_hit and len(capillary.coupon_calls()) == 1


def test_a_fetched_answer_is_kept_in_the_store_once_answered_and_parsed_here_at_once() -> None:
    """The store's copy waits for the answer; this process's parsed copy serves the next lookup either way."""
    from bot.after_answer import answering

    fetcher = CountingFetcher()
    service = service_for(fetcher)
    with answering():
        first = service.lookup(1, CodeCase.LOWER)
        version = service.store.get(coupons_key(1, CodeCase.LOWER))
        assert version is None  # nothing kept before the answer has gone
    again = service.lookup(1, CodeCase.LOWER)
    assert again.cache_hit and again.coupons is first.coupons
