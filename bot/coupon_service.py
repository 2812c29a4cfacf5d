"""`CouponService`: lookups through a short-lived cache, with one upstream call per key at a time."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from cachetools import TTLCache

from bot.capillary.client import FetchResult
from bot.capillary.models import CodeCase
from bot.coupon_state import Clock, system_clock
from bot.coupon_summary import CustomerCoupons
from bot.errors import CapillaryError, CapillaryUnavailable

# Once this many coupons have been cached since the last freeze, freeze again (`settle_long_lived_objects`):
# a few hundred cached coupons are already thousands of objects every full GC pass would rescan.
FREEZE_AFTER_COUPONS = 200


def settle_long_lived_objects() -> None:
    """Take what is alive now out of the cyclic GC's sight, so its full passes stop rescanning it.

    Parsed coupons hold no reference cycles: when the cache drops them, reference counting frees them,
    frozen or not. Freezing costs next to nothing (no collection runs); the price is that cyclic garbage
    alive at that moment is never collected, which is a few small objects per large lookup at most.
    """
    gc.freeze()


class CouponFetcher(Protocol):
    def fetch_coupons(self, customer_id: int, case: CodeCase) -> FetchResult: ...


@dataclass(frozen=True)
class LookupOutcome:
    coupons: CustomerCoupons
    cache_hit: bool
    attempts: int
    upstream_ms: int


@dataclass
class _Flight:
    done: threading.Event = field(default_factory=threading.Event)
    outcome: LookupOutcome | None = None
    error: CapillaryError | None = None


class CouponService:
    def __init__(
        self,
        fetcher: CouponFetcher,
        *,
        ttl_seconds: float = 60.0,
        max_customers: int = 1000,
        clock: Clock = system_clock,
        monotonic: Callable[[], float] = time.monotonic,
        demo: bool = False,
        wait_seconds: float = 30.0,
    ) -> None:
        self._fetcher = fetcher
        self._clock = clock
        self._demo = demo
        self._wait_seconds = wait_seconds
        # cachetools is not thread-safe: every touch of the cache or of the flights holds this lock.
        self._lock = threading.Lock()
        self._cache: TTLCache[tuple[int, CodeCase], CustomerCoupons] = TTLCache(
            maxsize=max_customers, ttl=ttl_seconds, timer=monotonic
        )
        self._flights: dict[tuple[int, CodeCase], _Flight] = {}
        self._cached_since_freeze = 0

    @property
    def demo(self) -> bool:
        return self._demo

    def lookup(self, customer_id: int, case: CodeCase, *, refresh: bool = False) -> LookupOutcome:
        """Cached coupons, or fresh ones (`refresh`); concurrent callers of one key share one fetch."""
        key = (customer_id, case)
        with self._lock:
            if not refresh:
                cached = self._cache.get(key)
                if cached is not None:
                    return LookupOutcome(cached, cache_hit=True, attempts=0, upstream_ms=0)
            flight = self._flights.get(key)
            leader = flight is None
            if flight is None:
                flight = self._flights[key] = _Flight()
        if not leader:
            return self._follow(flight)
        try:
            result = self._fetcher.fetch_coupons(customer_id, case)
            coupons = CustomerCoupons(
                customer_id, case, result.coupons, self._clock(), demo=self._demo, series=result.series
            )
            flight.outcome = LookupOutcome(
                coupons, cache_hit=False, attempts=result.attempts, upstream_ms=result.upstream_ms
            )
            if self._cache.ttl > 0:  # 0 turns the cache off
                with self._lock:
                    self._cache[key] = coupons
                    self._cached_since_freeze += len(result.coupons)
                    freeze = self._cached_since_freeze >= FREEZE_AFTER_COUPONS
                    if freeze:
                        self._cached_since_freeze = 0
                if freeze:
                    settle_long_lived_objects()
            return flight.outcome
        except CapillaryError as error:
            flight.error = error
            raise
        finally:
            with self._lock:
                self._flights.pop(key, None)
            flight.done.set()

    def _follow(self, flight: _Flight) -> LookupOutcome:
        if not flight.done.wait(self._wait_seconds):
            raise CapillaryUnavailable("Capillary did not answer in time")
        if flight.error is not None:
            raise flight.error
        if flight.outcome is None:  # the leader failed with something other than a CapillaryError
            raise CapillaryUnavailable("the lookup failed")
        # The caller waited for the shared request instead of making one: a hit on the in-flight entry.
        return LookupOutcome(flight.outcome.coupons, cache_hit=True, attempts=0, upstream_ms=0)

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()
