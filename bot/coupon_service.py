"""`CouponService`: lookups through the shared store — one Capillary call for N identical lookups anywhere
(threads or processes), and a cache of Capillary's answer as bytes, parsed again when it is drawn.

Bytes, not parsed objects: a cached 1,000-coupon customer then costs about its response body (3.4 MB) instead
of ~8 MB of objects, and the garbage collector has nothing in the cache to scan, so a full collection stays
short however full the cache is.

The body is kept as Capillary sent it, the very bytes object that was received and parsed; when it was fetched
goes in a small key of its own beside it. A header in front of the body would mean copying it on every miss and
on every hit, into memory no cache of the processor holds (about 0.4 ms for 3.4 MB on a shared machine).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.capillary.coupons import FetchResult, SeriesCatalog, parse_coupons
from bot.domain.coupon import CodeCase
from bot.domain.coupon_state import Clock, system_clock
from bot.domain.coupon_summary import CustomerCoupons
from bot.shared_fetch import SharedFetch
from bot.store import Store

# Part of every key: what is kept under a key changes only with new keys, so no process misreads another's.
ENTRY_FORMAT = "coupons/3"  # 3: a version beside each body (near copies)
# The fetch time outlives its body by this much, so a body still in the store always finds it.
FETCHED_AT_MARGIN_SECONDS = 5.0


class CouponFetcher(Protocol):
    def fetch_coupons(self, customer_id: int, case: CodeCase, *, focused: bool = False) -> FetchResult: ...


@dataclass(frozen=True)
class LookupOutcome:
    coupons: CustomerCoupons
    cache_hit: bool
    attempts: int
    upstream_ms: int


class CouponService:
    def __init__(
        self,
        fetcher: CouponFetcher,
        store: Store,
        *,
        ttl_seconds: float = 60.0,
        deadline_seconds: float = 8.0,
        clock: Clock = system_clock,
        demo: bool = False,
        near: Store | None = None,
    ) -> None:
        """`near`: with a shared `store`, this process's own copies of the bodies it fetched or read (`SharedFetch`)."""
        self._fetcher = fetcher
        self._clock = clock
        self._demo = demo
        self._shared = SharedFetch(store, ttl_seconds=ttl_seconds, deadline_seconds=deadline_seconds, near=near)
        self.store = store

    @property
    def demo(self) -> bool:
        return self._demo

    def lookup(
        self, customer_id: int, case: CodeCase, *, refresh: bool = False, focused: bool = False
    ) -> LookupOutcome:
        """Cached coupons, or fresh ones (`refresh`); concurrent callers of one key share one fetch. `focused`:
        read where and when each coupon was issued too (a coupon in focus shows it; the same bytes are kept)."""
        key = coupons_key(customer_id, case)

        def decode(body: bytes) -> LookupOutcome | None:
            # The caller used the cache, or waited for another caller's request instead of making one.
            stamp = self.store.get(fetched_at_key(key))
            coupons = self._decode(customer_id, case, body, stamp, focused=focused)
            return None if coupons is None else LookupOutcome(coupons, cache_hit=True, attempts=0, upstream_ms=0)

        fetch = functools.partial(self._fetch, customer_id, case, key, focused=focused)
        return self._shared.get(key, fetch, decode, refresh=refresh)

    def _fetch(self, customer_id: int, case: CodeCase, key: str, *, focused: bool) -> tuple[LookupOutcome, bytes]:
        result = self._fetcher.fetch_coupons(customer_id, case, focused=focused)
        coupons = CustomerCoupons(
            customer_id, case, result.coupons, self._clock(), self._demo, result.series, skipped=result.skipped
        )
        if self._shared.ttl_seconds > 0:  # before the body is stored (SharedFetch does that): it finds this
            stamp = coupons.fetched_at.isoformat().encode()
            self.store.set(fetched_at_key(key), stamp, self._shared.ttl_seconds + FETCHED_AT_MARGIN_SECONDS)
        outcome = LookupOutcome(coupons, cache_hit=False, attempts=result.attempts, upstream_ms=result.upstream_ms)
        return outcome, result.body

    def _decode(
        self, customer_id: int, case: CodeCase, body: bytes, stamp: bytes | None, *, focused: bool
    ) -> CustomerCoupons | None:
        """Kept bytes → coupons; None (fetch afresh) when the fetch time is gone or either can't be read."""
        if not stamp:
            return None
        try:
            fetched_at = datetime.fromisoformat(stamp.decode())
            page = parse_coupons(body, focused=focused)  # skips the coupons it can't read, as the first reading did
        except ValueError:  # a stamp this version can't read, or a body (pydantic's ValidationError is one too)
            return None
        return CustomerCoupons(
            customer_id, case, page.entity, fetched_at, self._demo, SeriesCatalog(body), skipped=page.skipped
        )


def coupons_key(customer_id: int, case: CodeCase) -> str:
    """Where a customer's coupons (Capillary's body, as sent) are kept."""
    return f"{ENTRY_FORMAT}:{customer_id}:{case.value}"


def fetched_at_key(key: str) -> str:
    """Where the time the body under `key` was fetched is kept."""
    return f"{key}:fetched-at"
