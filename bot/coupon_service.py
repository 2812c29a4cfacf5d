"""`CouponService`: lookups through the shared store — one Capillary call for N identical lookups anywhere
(threads or processes), Capillary's answer kept for a TTL, and each process's parsed copy reused while it is
current.

What is kept, per customer and case:
- in the store, Capillary's body as sent, under a key that names its version (`…@<fetched at> <token>`), and the
  current version under the customer's key, written after the body: a version read means its body is there;
- in this process, the coupons parsed from a version (`ParsedCoupons`, bounded by the bytes of their bodies).

A cache hit or a click reads the version (a few bytes) and, when this process parsed that version already,
parses nothing: it costs a small fraction of reading the body again. A process that hasn't seen the version
reads the body once and keeps what it parsed.
"""

from __future__ import annotations

import functools
import secrets
import threading
from dataclasses import dataclass, replace
from datetime import datetime
from operator import attrgetter
from typing import Protocol

from cachetools import LRUCache

from bot.after_answer import after_answer
from bot.capillary.coupons import FetchResult, SeriesCatalog, parse_coupons, parsed_bytes
from bot.domain.coupon import CodeCase
from bot.domain.coupon_state import Clock, system_clock
from bot.domain.coupon_summary import CustomerCoupons
from bot.shared_fetch import SharedFetch
from bot.store import Store

# Part of every key: what is kept under a key changes only with new keys, so no process misreads another's.
ENTRY_FORMAT = "coupons/4"  # 4: versioned bodies, parsed copies in each process
# A version's body outlives the version's key by this much, so a version read always finds its body.
BODY_MARGIN_SECONDS = 5.0


class CouponFetcher(Protocol):
    def fetch_coupons(self, customer_id: int, case: CodeCase, *, focused: bool = False) -> FetchResult: ...


@dataclass(frozen=True)
class LookupOutcome:
    coupons: CustomerCoupons
    cache_hit: bool
    attempts: int
    upstream_ms: int


@dataclass(frozen=True)
class _Parsed:
    version: bytes
    coupons: CustomerCoupons
    focused: bool  # read with where and when each coupon was issued
    weight: int


class ParsedCoupons:
    """This process's parsed answers by key, each with the version it was parsed from; bounded by weight."""

    def __init__(self, max_bytes: int) -> None:
        self._lock = threading.Lock()
        self._cache: LRUCache[str, _Parsed] = LRUCache(maxsize=max(1, max_bytes), getsizeof=attrgetter("weight"))

    def get(self, key: str, version: bytes, *, focused: bool) -> CustomerCoupons | None:
        with self._lock:
            parsed = self._cache.get(key)
        if parsed is None or parsed.version != version or (focused and not parsed.focused):
            return None
        return parsed.coupons

    def put(self, key: str, version: bytes, coupons: CustomerCoupons, *, focused: bool, body_bytes: int) -> None:
        weight = body_bytes + parsed_bytes(len(coupons.coupons), body_bytes)  # the body is kept for series' terms
        with self._lock:
            if weight > self._cache.maxsize:
                self._cache.pop(key, None)
                return
            self._cache[key] = _Parsed(version, coupons, focused, weight)


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
        parsed_max_bytes: int = 256 * 1024 * 1024,
    ) -> None:
        self._fetcher = fetcher
        self._clock = clock
        self.demo = demo
        self._shared: SharedFetch[LookupOutcome] = SharedFetch(
            store, ttl_seconds=ttl_seconds, deadline_seconds=deadline_seconds, as_shared=_as_hit
        )
        self._parsed = ParsedCoupons(parsed_max_bytes)
        self.store = store

    def lookup(
        self, customer_id: int, case: CodeCase, *, refresh: bool = False, focused: bool = False
    ) -> LookupOutcome:
        """Cached coupons, or fresh ones (`refresh`); concurrent callers of one key share one fetch. `focused`:
        read where and when each coupon was issued too (a coupon in focus shows it)."""
        key = coupons_key(customer_id, case)
        decode = functools.partial(self._kept, key, customer_id, case, focused=focused)
        fetch = functools.partial(self._fetch, customer_id, case, key, focused=focused)
        return self._shared.get(key, fetch, decode, refresh=refresh, variant=focused)

    def _fetch(self, customer_id: int, case: CodeCase, key: str, *, focused: bool) -> tuple[LookupOutcome, bytes]:
        result = self._fetcher.fetch_coupons(customer_id, case, focused=focused)
        coupons = CustomerCoupons(
            customer_id, case, result.coupons, self._clock(), self.demo, result.series, skipped=result.skipped
        )
        version = f"{coupons.fetched_at.isoformat()} {secrets.token_hex(4)}".encode()
        if self._shared.ttl_seconds > 0:
            # The body is kept before the version (SharedFetch keeps it after this), so a version read finds it.
            body, ttl = result.body, self._shared.ttl_seconds + BODY_MARGIN_SECONDS
            after_answer(lambda: self.store.set(body_key(key, version), body, ttl))
            # Kept here at once: done after the answer, making room (freeing an older customer's objects) only
            # moved onto a repeat that came straight after (measured: a 10,000-coupon repeat 7 → 59 ms).
            self._parsed.put(key, version, coupons, focused=focused, body_bytes=len(body))
        outcome = LookupOutcome(coupons, cache_hit=False, attempts=result.attempts, upstream_ms=result.upstream_ms)
        return outcome, version

    def _kept(
        self, key: str, customer_id: int, case: CodeCase, version: bytes, *, focused: bool
    ) -> LookupOutcome | None:
        """The coupons of the kept `version`: parsed here already, or read from its body; None (fetch afresh)
        when the body is gone or can't be read."""
        coupons = self._parsed.get(key, version, focused=focused)
        if coupons is None:
            body = self.store.get(body_key(key, version))
            coupons = None if body is None else self._decode(customer_id, case, version, body, focused=focused)
            if coupons is None or body is None:
                return None
            self._parsed.put(key, version, coupons, focused=focused, body_bytes=len(body))
        return LookupOutcome(coupons, cache_hit=True, attempts=0, upstream_ms=0)

    def _decode(
        self, customer_id: int, case: CodeCase, version: bytes, body: bytes, *, focused: bool
    ) -> CustomerCoupons | None:
        try:
            fetched_at = datetime.fromisoformat(version.decode().split(" ", 1)[0])
            page = parse_coupons(body, focused=focused)  # skips the coupons it can't read, as the first reading did
        except ValueError:  # a version this release can't read, or a body (pydantic's ValidationError is one too)
            return None
        return CustomerCoupons(
            customer_id, case, page.entity, fetched_at, self.demo, SeriesCatalog(body), skipped=page.skipped
        )


def _as_hit(outcome: LookupOutcome) -> LookupOutcome:
    return replace(outcome, cache_hit=True, attempts=0, upstream_ms=0)


def coupons_key(customer_id: int, case: CodeCase) -> str:
    """Where the version of a customer's kept coupons is."""
    return f"{ENTRY_FORMAT}:{customer_id}:{case.value}"


def body_key(key: str, version: bytes) -> str:
    """Where the body (Capillary's answer, as sent) of one version is kept."""
    return f"{key}@{version.decode()}"
