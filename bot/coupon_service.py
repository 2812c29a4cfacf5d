"""`CouponService`: lookups through the shared store — one Capillary call for N identical lookups anywhere
(threads or processes), and a cache of Capillary's answer as bytes, parsed again when it is drawn.

Bytes, not parsed objects: a cached 1,000-coupon customer then costs about its response body (3.4 MB) instead
of ~8 MB of objects, and the garbage collector has nothing in the cache to scan, so a full collection stays
short however full the cache is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from pydantic import ValidationError

from bot.capillary.coupons import FetchResult, SeriesCatalog, parse_coupons
from bot.domain.coupon import CodeCase
from bot.domain.coupon_state import Clock, system_clock
from bot.domain.coupon_summary import CustomerCoupons
from bot.shared_fetch import SharedFetch
from bot.store import Store

ENTRY_VERSION = b"coupons/1"


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
    ) -> None:
        self._fetcher = fetcher
        self._clock = clock
        self._demo = demo
        self._shared = SharedFetch(store, ttl_seconds=ttl_seconds, deadline_seconds=deadline_seconds)
        self.store = store

    @property
    def demo(self) -> bool:
        return self._demo

    def lookup(
        self, customer_id: int, case: CodeCase, *, refresh: bool = False, focused: bool = False
    ) -> LookupOutcome:
        """Cached coupons, or fresh ones (`refresh`); concurrent callers of one key share one fetch. `focused`:
        read where and when each coupon was issued too (a coupon in focus shows it; the same bytes are kept)."""

        def decode(entry: bytes) -> LookupOutcome | None:
            # The caller used the cache, or waited for another caller's request instead of making one.
            coupons = self._decode(customer_id, case, entry, focused=focused)
            return None if coupons is None else LookupOutcome(coupons, cache_hit=True, attempts=0, upstream_ms=0)

        return self._shared.get(
            f"coupons:{customer_id}:{case.value}",
            lambda: self._fetch(customer_id, case, focused=focused),
            decode,
            refresh=refresh,
        )

    def _fetch(self, customer_id: int, case: CodeCase, *, focused: bool) -> tuple[LookupOutcome, bytes]:
        result = self._fetcher.fetch_coupons(customer_id, case, focused=focused)
        coupons = CustomerCoupons(
            customer_id, case, result.coupons, self._clock(), self._demo, result.series, skipped=result.skipped
        )
        outcome = LookupOutcome(coupons, cache_hit=False, attempts=result.attempts, upstream_ms=result.upstream_ms)
        return outcome, encode_entry(coupons.fetched_at, result.body)

    def _decode(self, customer_id: int, case: CodeCase, entry: bytes, *, focused: bool) -> CustomerCoupons | None:
        decoded = decode_entry(entry)
        if decoded is None:
            return None
        fetched_at, body = decoded
        try:
            page = parse_coupons(body, focused=focused)  # skips the coupons it can't read, as the first reading did
        except ValidationError:
            return None
        return CustomerCoupons(
            customer_id, case, page.entity, fetched_at, self._demo, SeriesCatalog(body), skipped=page.skipped
        )


def encode_entry(fetched_at: datetime, body: bytes) -> bytes:
    return b"%s %s\n%s" % (ENTRY_VERSION, fetched_at.isoformat().encode(), body)


def decode_entry(entry: bytes) -> tuple[datetime, bytes] | None:
    head, _, body = entry.partition(b"\n")
    version, _, stamp = head.partition(b" ")
    if version != ENTRY_VERSION:
        return None
    try:
        return datetime.fromisoformat(stamp.decode()), body
    except ValueError:
        return None
