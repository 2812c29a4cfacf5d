"""`CouponService`: lookups through the shared store — one Capillary call for N identical lookups anywhere
(threads or processes), and a cache of Capillary's answer as bytes, parsed again when it is drawn.

Bytes, not parsed objects: a cached 1,000-coupon customer then costs about its response body (3.4 MB) instead
of ~8 MB of objects, and the garbage collector has nothing in the cache to scan, so a full collection stays
short however full the cache is.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from pydantic import ValidationError

from bot.capillary.coupons import FetchResult, SeriesCatalog, parse_coupons
from bot.capillary.deadline import current_deadline
from bot.domain.coupon import CodeCase
from bot.domain.coupon_state import Clock, system_clock
from bot.domain.coupon_summary import CustomerCoupons
from bot.errors import CapillaryTooSlow, CapillaryUnavailable
from bot.store import FlightTimeout, LeaderFailed, SingleFlight, Store

ENTRY_VERSION = b"coupons/1"


class CouponFetcher(Protocol):
    def fetch_coupons(self, customer_id: int, case: CodeCase) -> FetchResult: ...


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
        self._ttl = ttl_seconds
        self._deadline = deadline_seconds
        self._clock = clock
        self._demo = demo
        self.store = store
        self._flights = SingleFlight(store)

    @property
    def demo(self) -> bool:
        return self._demo

    def lookup(self, customer_id: int, case: CodeCase, *, refresh: bool = False) -> LookupOutcome:
        """Cached coupons, or fresh ones (`refresh`); concurrent callers of one key share one fetch."""
        if self._ttl <= 0:  # 0 turns the cache (and so the sharing) off
            return self._fetch(customer_id, case)[0]
        fetched: list[LookupOutcome] = []

        def produce() -> bytes:
            outcome, body = self._fetch(customer_id, case)
            fetched.append(outcome)
            return encode_entry(outcome.coupons.fetched_at, body)

        key = f"coupons:{customer_id}:{case.value}"
        try:
            # Followers wait no longer than a lookup of their own could take.
            flight = self._flights.run(key, produce, ttl_seconds=self._ttl, deadline=self._limit(), fresh=refresh)
        except FlightTimeout:
            raise CapillaryTooSlow("Capillary did not answer in time") from None
        except LeaderFailed:
            raise CapillaryUnavailable("the lookup failed") from None
        if fetched:  # this caller fetched: its parsed answer is at hand
            return fetched[0]
        coupons = self._decode(customer_id, case, flight.value)
        if coupons is None:  # an entry this version cannot read: fetch afresh
            return self._fetch(customer_id, case)[0]
        # The caller used the cache, or waited for another caller's request instead of making one.
        return LookupOutcome(coupons, cache_hit=True, attempts=0, upstream_ms=0)

    def _limit(self) -> float:
        """When waiting must end: this lookup's deadline, or the one of the answer it is part of if sooner."""
        limit = time.monotonic() + self._deadline
        outer = current_deadline()
        return min(limit, time.monotonic() + outer.remaining()) if outer is not None else limit

    def _fetch(self, customer_id: int, case: CodeCase) -> tuple[LookupOutcome, bytes]:
        result = self._fetcher.fetch_coupons(customer_id, case)
        coupons = CustomerCoupons(
            customer_id, case, result.coupons, self._clock(), self._demo, result.series, skipped=result.skipped
        )
        outcome = LookupOutcome(coupons, cache_hit=False, attempts=result.attempts, upstream_ms=result.upstream_ms)
        return outcome, result.body

    def _decode(self, customer_id: int, case: CodeCase, entry: bytes) -> CustomerCoupons | None:
        decoded = decode_entry(entry)
        if decoded is None:
            return None
        fetched_at, body = decoded
        try:
            page = parse_coupons(body)  # skips the coupons it can't read, as the first reading did
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
