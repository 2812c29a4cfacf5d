"""`SharedFetch`: a Capillary fetch through the shared store — one call for N identical requests anywhere
(threads or processes), its answer kept as bytes for a TTL. `CouponService` and `CustomerService` both use it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from bot.capillary.deadline import current_deadline
from bot.errors import CapillaryTooSlow, CapillaryUnavailable
from bot.store import FlightTimeout, LeaderFailed, SingleFlight, Store

T = TypeVar("T")


class SharedFetch:
    def __init__(self, store: Store, *, ttl_seconds: float, deadline_seconds: float, near: Store | None = None) -> None:
        """`near`: this process's own store for copies of large values kept in a shared `store` (see
        `SingleFlight`), so that they cross the network once per process rather than once per use."""
        self.store = store
        self.ttl_seconds = ttl_seconds
        self.deadline_seconds = deadline_seconds
        # Across the network the leader's caller answers before its value is written (publishing behind).
        self._flights = SingleFlight(store, publish_behind=store.shared, near=near)

    def get(
        self,
        key: str,
        fetch: Callable[[], tuple[T, bytes]],
        decode: Callable[[bytes], T | None],
        *,
        refresh: bool = False,
    ) -> T:
        """`fetch()` gives the answer and the bytes to keep; `decode(bytes)` reads kept bytes back (None: this
        version can't, so fetch afresh). A TTL of 0 turns caching, and so the sharing, off. Raises our errors."""
        if self.ttl_seconds <= 0:
            return fetch()[0]
        fetched: list[T] = []

        def produce() -> bytes:
            value, entry = fetch()
            fetched.append(value)
            return entry

        try:
            # Followers wait no longer than a fetch of their own could take.
            flight = self._flights.run(
                key, produce, ttl_seconds=self.ttl_seconds, deadline=self._limit(), fresh=refresh
            )
        except FlightTimeout:
            raise CapillaryTooSlow("Capillary did not answer in time") from None
        except LeaderFailed:
            raise CapillaryUnavailable("the lookup failed") from None
        if fetched:  # this caller fetched: its parsed answer is at hand
            return fetched[0]
        decoded = decode(flight.value)
        if decoded is not None:
            return decoded
        if refresh:  # even a fresh value can't be read back: answer without keeping it
            return fetch()[0]
        return self.get(key, fetch, decode, refresh=True)  # replace what is kept but can't be read

    def kept(self, key: str, decode: Callable[[bytes], T | None]) -> T | None:
        """The answer kept under `key`, read back; None when nothing readable is kept (and nothing is fetched)."""
        if self.ttl_seconds <= 0:
            return None
        value = self._flights.stored(key, self.ttl_seconds)
        return None if value is None else decode(value)

    def _limit(self) -> float:
        """When waiting must end: this fetch's deadline, or the one of the answer it is part of if sooner."""
        limit = time.monotonic() + self.deadline_seconds
        outer = current_deadline()
        return min(limit, time.monotonic() + outer.remaining()) if outer is not None else limit
