"""`SharedFetch`: a Capillary fetch through the shared store — one call for N identical requests anywhere
(threads or processes), its answer kept as bytes for a TTL. `CouponService` and `CustomerService` both use it.

Threads of one process asking for the same key share one fetch and its parsed answer (or its exception).
Processes take turns on the key with the store's lock (redis-py's `Lock` with Redis): the one that holds it
fetches and keeps the bytes; the others, once they get the lock, find them kept and only read them. A holder
that dies frees the lock when its TTL (the fetch's deadline) runs out; a waiter never waits more than half its
own time left for the lock, and then fetches without it — twice rather than never. What was fetched is kept, and
the lock let go, after the answer has gone (`after_answer`): writing a large body must not delay it.

An answer refused as too large is remembered for the TTL too, as a small marker under the key: asking again
(anywhere) raises the same error without calling Capillary (a Refresh asks again).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Generic, TypeVar

from bot.after_answer import after_answer, held, holds
from bot.capillary.deadline import current_deadline
from bot.domain.errors import CapillaryResponseTooLarge, CapillaryTooSlow
from bot.store import Store

T = TypeVar("T")
REFUSED = b"refused:"  # what is kept under a key whose answer was refused: `refused:<status>:<message>`


class SharedFetch(Generic[T]):
    def __init__(
        self, store: Store, *, ttl_seconds: float, deadline_seconds: float, as_shared: Callable[[T], T] | None = None
    ) -> None:
        """`as_shared(answer)`: the answer as a caller that shared another's fetch gets it (a cache hit)."""
        self.store = store
        self._as_shared = as_shared or (lambda answer: answer)
        self.ttl_seconds = ttl_seconds
        self.deadline_seconds = deadline_seconds
        self._mutex = threading.Lock()
        self._fetching: dict[tuple[str, bool, Hashable], Future[T]] = {}

    def get(
        self,
        key: str,
        fetch: Callable[[], tuple[T, bytes]],
        decode: Callable[[bytes], T | None],
        *,
        refresh: bool = False,
        variant: Hashable = None,
    ) -> T:
        """`fetch()` gives the answer and the bytes to keep; `decode(bytes)` reads kept bytes back (None: this
        version can't, so fetch afresh). A TTL of 0 turns caching, and so the sharing, off. Raises our errors.
        `variant`: threads share a fetch only when they ask for the same one (a coupon in focus reads more)."""
        if self.ttl_seconds <= 0:
            return fetch()[0]
        flight_key = (key, refresh, variant)
        with self._mutex:
            shared = self._fetching.get(flight_key)
            if shared is None:
                mine: Future[T] = Future()
                self._fetching[flight_key] = mine
        if shared is not None:  # another thread here is on it: its answer (or its error) is ours
            try:
                fetched = shared.result(timeout=self._time_left())
            except FutureTimeout:
                raise CapillaryTooSlow("Capillary did not answer in time") from None
            finally:
                del shared  # the fetch's error, raised here, holds this frame: no cycle back through the future
            return self._as_shared(fetched)
        flight = contextlib.ExitStack()  # what ends this fetch: letting go of the lock, forgetting it here
        flight.callback(self._forget, flight_key)
        try:
            value = self._get_or_fetch(key, fetch, decode, flight, refresh=refresh)
        except BaseException as error:
            mine.set_exception(error)
            # The future keeps the error, whose traceback holds this frame: without this, the frame would hold the
            # future back, a cycle keeping every frame's locals (a refused body among them) until a full collection.
            del mine
            raise
        mine.set_result(value)
        if refresh:  # a refresh asked for later must fetch again, not take this one's answer
            self._forget(flight_key)
        return value

    def kept(self, key: str, decode: Callable[[bytes], T | None]) -> T | None:
        """The answer kept under `key`, read back; None when nothing readable is kept (and nothing is fetched)."""
        if self.ttl_seconds <= 0:
            return None
        value = self.store.get(key)
        return None if value is None or value.startswith(REFUSED) else decode(value)

    def _kept_or_refused(self, key: str, decode: Callable[[bytes], T | None]) -> T | None:
        """`kept`, but an answer remembered as refused raises its error again (no call made)."""
        value = self.store.get(key)
        if value is not None and value.startswith(REFUSED):
            status, _, message = value.removeprefix(REFUSED).decode(errors="replace").partition(":")
            refused = CapillaryResponseTooLarge(
                message, status=int(status) if status.isdigit() and status != "0" else None
            )
            refused.attempts = 0
            raise refused
        return None if value is None else decode(value)

    def _get_or_fetch(
        self,
        key: str,
        fetch: Callable[[], tuple[T, bytes]],
        decode: Callable[[bytes], T | None],
        flight: contextlib.ExitStack,
        *,
        refresh: bool,
    ) -> T:
        with flight:
            if not refresh and (found := self._kept_or_refused(key, decode)) is not None:
                return found
            lock = key + "#fetch"
            if not holds(lock):  # this listener may hold it already (a lookup, then a refresh): not waited on
                wait = self._time_left() / 2
                flight.enter_context(self.store.locked(lock, ttl_seconds=self.deadline_seconds, wait_seconds=wait))
                held(lock, now=True)
                flight.callback(held, lock, now=False)
            # Whoever held the lock before us may have kept a fresh answer meanwhile.
            if not refresh and (found := self._kept_or_refused(key, decode)) is not None:
                return found
            try:
                value, entry = fetch()
            except CapillaryResponseTooLarge as refused:  # the same answer would be refused again: remember it
                marker = b"%s%d:%s" % (REFUSED, refused.status or 0, str(refused).encode())
                self.store.set(key, marker, self.ttl_seconds)
                raise
            # Kept once the answer has gone; until then threads here share this fetch and others wait on the lock.
            ending = flight.pop_all()
            after_answer(lambda: self._keep(key, entry, ending))
            return value

    def _keep(self, key: str, entry: bytes, flight: contextlib.ExitStack) -> None:
        with flight:
            self.store.set(key, entry, self.ttl_seconds)

    def _forget(self, flight: tuple[str, bool, Hashable]) -> None:
        with self._mutex:
            self._fetching.pop(flight, None)

    def _time_left(self) -> float:
        """This fetch's deadline, or the one of the answer it is part of if sooner."""
        outer = current_deadline()
        return min(self.deadline_seconds, outer.remaining()) if outer is not None else self.deadline_seconds
