"""`SingleFlight`: N concurrent identical computations, in one process or in several sharing a store → one producer.

The protocol, for a result key K (the cache key):

1. Unless the caller wants a fresh value, a value already under K is returned (`Role.CACHED`).
2. Threads of one process that ask for K while one of them is busy with it wait for that one in memory
   (`Role.FOLLOWED`); they get its value, or the very exception it raised.
3. That one thread then claims the flight key `K#flight` with `add` (value: a random token; TTL: the time left
   to the caller's deadline, so the claim of a leader that died vanishes on its own).
   - If the claim is won (`Role.LED`), it runs `produce()`, stores the bytes under K with the caller's TTL, writes
     the marker `K#done:<token>` = b"ok", and then releases the claim. If `produce()` raises, it releases the
     claim, then writes the marker b"failed", and re-raises.
   - If another process holds the claim, it waits on the store for that flight's marker, checking every
     `check_interval_seconds` that the claim still stands. On b"ok" it reads K (`Role.FOLLOWED`).

What a follower in another process does when the claim vanishes without a value (the leader failed, died, or
its value was evicted): it **takes over** — tries to claim the flight itself and, if it wins, produces the
value; if someone else wins, it follows them. It takes over at most `takeovers` times (default 1) and then
raises `LeaderFailed`. Taking over errs toward doing the work twice rather than never, like a store that is
down, and it hands the caller a real error from its own attempt rather than a second-hand one (an exception
cannot travel between processes). In-process followers never take over: they share their leader's outcome.

No caller ever waits past its own `deadline` (a `time.monotonic()` value): a follower whose deadline passes
raises `FlightTimeout`. A leader's `produce()` is not interrupted; bounding it is the caller's job.

Releasing a claim is a get-then-delete, not atomic: a leader that overran its deadline may delete a newer
leader's claim, which at worst lets a third caller produce too.
"""

from __future__ import annotations

import enum
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.store.base import Store

_OK = b"ok"
_FAILED = b"failed"


class Role(enum.Enum):
    LED = "led"  # this caller ran produce()
    FOLLOWED = "followed"  # another caller ran it, for this flight
    CACHED = "cached"  # the value was already stored


@dataclass(frozen=True)
class FlightResult:
    value: bytes
    role: Role

    @property
    def led(self) -> bool:
        return self.role is Role.LED


class FlightTimeout(TimeoutError):
    """The caller's deadline passed while it waited for another caller's value."""


class LeaderFailed(RuntimeError):
    """Another process's leader failed or vanished, and this caller used up its takeovers."""


@dataclass
class _LocalFlight:
    done: threading.Event = field(default_factory=threading.Event)
    result: FlightResult | None = None
    error: BaseException | None = None


class SingleFlight:
    def __init__(
        self,
        store: Store,
        *,
        check_interval_seconds: float = 0.25,
        marker_ttl_seconds: float = 30.0,
        takeovers: int = 1,
    ) -> None:
        self._store = store
        self._check_interval = check_interval_seconds
        self._marker_ttl = marker_ttl_seconds
        self._takeovers = takeovers
        self._lock = threading.Lock()
        self._local: dict[str, _LocalFlight] = {}

    def run(
        self,
        key: str,
        produce: Callable[[], bytes],
        *,
        ttl_seconds: float,
        deadline: float,
        fresh: bool = False,
    ) -> FlightResult:
        """The value for `key`: stored, or produced once for every concurrent caller; see the module doc.

        `ttl_seconds` is how long the produced value stays under `key`; `deadline` (time.monotonic()) is when
        this caller stops waiting; `fresh` skips step 1 (a value stored before this call is not good enough).
        """
        if not fresh:
            cached = self._store.get(key)
            if cached is not None:
                return FlightResult(cached, Role.CACHED)
        with self._lock:
            local = self._local.get(key)
            leading = local is None
            if local is None:
                local = self._local[key] = _LocalFlight()
        if not leading:
            return self._follow_local(local, deadline)
        try:
            local.result = self._shared(key, produce, ttl_seconds, deadline)
            return local.result
        except BaseException as error:
            local.error = error
            raise
        finally:
            with self._lock:
                self._local.pop(key, None)
            local.done.set()

    @staticmethod
    def _follow_local(local: _LocalFlight, deadline: float) -> FlightResult:
        if not local.done.wait(max(0.0, deadline - time.monotonic())):
            raise FlightTimeout("the shared computation did not finish before the deadline")
        if local.error is not None:
            raise local.error
        assert local.result is not None
        return FlightResult(local.result.value, Role.FOLLOWED)

    def _shared(self, key: str, produce: Callable[[], bytes], ttl_seconds: float, deadline: float) -> FlightResult:
        claim_key = flight_key(key)
        token = secrets.token_hex(8).encode()
        takeovers = self._takeovers
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise FlightTimeout("no value before the deadline")
            if self._store.add(claim_key, token, remaining):
                return FlightResult(self._lead(key, claim_key, token, produce, ttl_seconds), Role.LED)
            holder = self._store.get(claim_key)
            if holder is None:  # released in between: its value may be there already
                value = self._store.get(key)
                if value is not None:
                    return FlightResult(value, Role.FOLLOWED)
                continue  # claim again (bounded by the deadline; a store that is down lets `add` win)
            if self._await_marker(key, claim_key, holder, deadline) == _OK:
                value = self._store.get(key)
                if value is not None:
                    return FlightResult(value, Role.FOLLOWED)
            if takeovers <= 0:
                raise LeaderFailed("the computation failed in another process")
            takeovers -= 1

    def _lead(self, key: str, claim_key: str, token: bytes, produce: Callable[[], bytes], ttl_seconds: float) -> bytes:
        marker_key = _marker_key(key, token)
        try:
            value = produce()
            self._store.set(key, value, ttl_seconds)
        except BaseException:
            # Claim first, then marker: a follower that reads "failed" must find the claim free to take over.
            self._release(claim_key, token)
            self._store.set(marker_key, _FAILED, self._marker_ttl)
            raise
        # Marker first, then claim: a follower that finds the claim gone must find "ok" (or it would redo the work).
        self._store.set(marker_key, _OK, self._marker_ttl)
        self._release(claim_key, token)
        return value

    def _release(self, claim_key: str, token: bytes) -> None:
        if self._store.get(claim_key) == token:
            self._store.delete(claim_key)

    def _await_marker(self, key: str, claim_key: str, holder: bytes, deadline: float) -> bytes | None:
        """The leader's marker (ok/failed), or None when its claim vanished without one."""
        marker_key = _marker_key(key, holder)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise FlightTimeout("the other process's computation did not finish before the deadline")
            marker = self._store.wait_for(marker_key, min(remaining, self._check_interval))
            if marker is not None:
                return marker
            if self._store.get(claim_key) != holder:
                return self._store.get(marker_key)


def flight_key(key: str) -> str:
    """The key a leader claims while it produces the value for `key`."""
    return f"{key}#flight"


def _marker_key(key: str, token: bytes) -> str:
    return f"{key}#done:{token.decode()}"
