"""`SingleFlight`: N concurrent identical computations, in one process or in several sharing a store → one producer.

The protocol, for a result key K (the cache key):

1. Unless the caller wants a fresh value, a value already under K is returned (`Role.CACHED`).
2. Threads of one process that ask for K while one of them is busy with it wait for that one in memory
   (`Role.FOLLOWED`); they get its value, or the very exception it raised.
3. That one thread then claims the flight key `K#flight` with `add` (value: a random token; TTL: the time left
   to the caller's deadline, so the claim of a leader that died vanishes on its own).
   - If the claim is won (`Role.LED`), it runs `produce()` and, if the claim is still its own, stores the bytes
     under K with the caller's TTL, writes the marker `K#done:<token>` = b"ok", and then releases the claim (a
     claim that ran out may have let another leader in, whose value must not be overwritten). If `produce()`
     raises, it releases the claim, then writes the marker b"failed", and re-raises.
   - If another process holds the claim, it waits on the store for that flight's marker, checking every
     `check_interval_seconds` that the claim still stands. On b"ok" it reads K (`Role.FOLLOWED`).

**Publishing behind** (`publish_behind=True`, for a store across the network): the leader hands step 3's writes
(the value, the marker, the release) to a background thread and returns its value at once, so its caller
answers without waiting for a multi-megabyte write to the store. Until those writes land, the flight stays
registered in this process, finished, and threads here that ask for K get its value from memory before looking
in the store (which may still hold an older one); other processes wait for the marker as before, or, if they
hold an older value, use it until the new one lands. At most `max_publishing` flights publish behind at a time;
past that a leader writes before it returns, so a slow store slows leaders rather than filling memory with
values waiting to be written. One thread writes them in turn: a write that waits so long that its claim runs out
is dropped (see step 3). Writes still waiting when the interpreter exits are made first (the thread pool joins
its work at exit).

**Near copies** (`near`, a store of this process's own, for a store across the network): a leader removes the
version under `K#version`, writes the value, then writes its own token there as the new version, and keeps the
value and its version in `near`. Step 1 then asks the shared store for the small version first and reads the
value from `near` when its version there is the same, so a process that produced or already read a large value
doesn't move it again. Because a version is written only after its value, a version read implies that value or
a newer one is already in the store: a near copy is never older than the version it is kept with. And because
the old version goes first, a leader that dies mid-way leaves no version rather than a stale one. The one
exception is two leaders at once (below): their writes may interleave so that a version stands beside the other
leader's value, and two processes keep copies of two answers produced moments apart, until the TTL.

What a follower in another process does when the claim vanishes without a value (the leader failed, died, or
its value was evicted): it **takes over** — tries to claim the flight itself and, if it wins, produces the
value; if someone else wins, it follows them. It takes over at most `takeovers` times (default 1) and then
raises `LeaderFailed`. Taking over errs toward doing the work twice rather than never, like a store that is
down, and it hands the caller a real error from its own attempt rather than a second-hand one (an exception
cannot travel between processes). In-process followers never take over: they share their leader's outcome.

No caller ever waits past its own `deadline` (a `time.monotonic()` value): a follower whose deadline passes
raises `FlightTimeout`. A leader's `produce()` is not interrupted; bounding it is the caller's job.

Releasing a claim, and checking it before storing, are a get and then a write, not atomic: a leader that
overran its deadline may delete a newer leader's claim, which at worst lets a third caller produce too.
"""

from __future__ import annotations

import enum
import logging
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from bot.store.base import Store

log = logging.getLogger(__name__)

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
        publish_behind: bool = False,
        max_publishing: int = 8,
        near: Store | None = None,
    ) -> None:
        self._store = store
        self._check_interval = check_interval_seconds
        self._marker_ttl = marker_ttl_seconds
        self._takeovers = takeovers
        self._lock = threading.Lock()
        self._local: dict[str, _LocalFlight] = {}
        # One thread: the store is one connection's worth of work away, and the writes of one flight are ordered.
        self._publisher = ThreadPoolExecutor(1, thread_name_prefix="flight-publish") if publish_behind else None
        self._publish_slots = threading.BoundedSemaphore(max_publishing)
        self._near = near
        self._near_lock = threading.Lock()  # a value and its version change together

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
        this caller stops waiting; `fresh` skips step 1: a value stored before this call is not good enough, but
        the caller still shares a computation of `key` that is under way, or that has just finished and is still
        being stored.
        """
        if not fresh:
            landing = self._landing(key)
            if landing is not None:  # newer than what the store holds until it lands there
                return FlightResult(landing, Role.FOLLOWED)
            cached = self._cached(key, ttl_seconds)
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
            result, publish = self._shared(key, produce, ttl_seconds, deadline)
            local.result = result
            behind = publish is not None and self._publish_behind(key, local, publish)
            if publish is not None and not behind:
                publish()
        except BaseException as error:
            local.error = error
            self._land(key, local)
            raise
        if not behind:
            self._land(key, local)
        return result

    def stored(self, key: str, ttl_seconds: float) -> bytes | None:
        """What `run` would answer without computing: a finished flight's value still being published, or the
        stored one; None when there is neither (nothing is started)."""
        landing = self._landing(key)
        return landing if landing is not None else self._cached(key, ttl_seconds)

    def _landing(self, key: str) -> bytes | None:
        """The value of this process's finished flight for `key` that is still being published behind."""
        with self._lock:
            local = self._local.get(key)
        if local is None or not local.done.is_set() or local.result is None:
            return None
        return local.result.value

    def _cached(self, key: str, ttl_seconds: float) -> bytes | None:
        """The value stored under `key`: from `near` when its version there is the shared store's (see above)."""
        if self._near is None:
            return self._store.get(key)
        version = self._store.get(version_key(key))
        if version is not None:
            with self._near_lock:
                kept = self._near.get(key) if self._near.get(version_key(key)) == version else None
            if kept is not None:
                return kept
        value = self._store.get(key)
        if value is not None and version is not None:  # read after its version: that value or a newer one
            self._keep_near(key, version, value, ttl_seconds)
        return value

    def _keep_near(self, key: str, version: bytes, value: bytes, ttl_seconds: float) -> None:
        if self._near is not None:
            with self._near_lock:
                self._near.set(key, value, ttl_seconds)
                self._near.set(version_key(key), version, ttl_seconds)

    @staticmethod
    def _follow_local(local: _LocalFlight, deadline: float) -> FlightResult:
        if not local.done.wait(max(0.0, deadline - time.monotonic())):
            raise FlightTimeout("the shared computation did not finish before the deadline")
        if local.error is not None:
            raise local.error
        assert local.result is not None
        return FlightResult(local.result.value, Role.FOLLOWED)

    def _land(self, key: str, local: _LocalFlight) -> None:
        """The flight is over in this process: the next caller looks in the store again."""
        with self._lock:
            if self._local.get(key) is local:
                del self._local[key]
        local.done.set()

    def _publish_behind(self, key: str, local: _LocalFlight, publish: Callable[[], None]) -> bool:
        """Hand `publish` to the background thread (see the module doc); False: the caller publishes now."""
        if self._publisher is None or not self._publish_slots.acquire(blocking=False):
            return False

        def publish_then_land() -> None:
            try:
                publish()
            except Exception:  # the store absorbs its own failures; anything else is a bug to see
                log.exception("publishing a shared value failed")
            finally:
                self._land(key, local)
                self._publish_slots.release()

        try:
            self._publisher.submit(publish_then_land)
        except RuntimeError:  # the interpreter is shutting down: no new work for threads
            self._publish_slots.release()
            return False
        local.done.set()  # followers in this process take the value from memory; the flight stays registered
        return True

    def _shared(
        self, key: str, produce: Callable[[], bytes], ttl_seconds: float, deadline: float
    ) -> tuple[FlightResult, Callable[[], None] | None]:
        """The flight's result, and for a leader the writes that publish it (None for a follower)."""
        claim_key = flight_key(key)
        token = secrets.token_hex(8).encode()
        takeovers = self._takeovers
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise FlightTimeout("no value before the deadline")
            if self._store.add(claim_key, token, remaining):
                produced = self._lead(key, claim_key, token, produce, ttl_seconds)
                publish = self._publication(key, claim_key, token, produced, ttl_seconds)
                return FlightResult(produced, Role.LED), publish
            holder = self._store.get(claim_key)
            if holder is None:  # released in between: its value may be there already
                value = self._store.get(key)
                if value is not None:
                    return FlightResult(value, Role.FOLLOWED), None
                continue  # claim again (bounded by the deadline; a store that is down lets `add` win)
            if self._await_marker(key, claim_key, holder, deadline) == _OK:
                value = self._store.get(key)
                if value is not None:
                    self._keep_near(key, holder, value, ttl_seconds)  # the holder's token is its version
                    return FlightResult(value, Role.FOLLOWED), None
            if takeovers <= 0:
                raise LeaderFailed("the computation failed in another process")
            takeovers -= 1

    def _lead(self, key: str, claim_key: str, token: bytes, produce: Callable[[], bytes], ttl_seconds: float) -> bytes:
        try:
            value = produce()
            self._keep_near(key, token, value, ttl_seconds)
        except BaseException:
            # Claim first, then marker: a follower that reads "failed" must find the claim free to take over.
            self._release(claim_key, token)
            self._store.set(_marker_key(key, token), _FAILED, self._marker_ttl)
            raise
        return value

    def _publication(
        self, key: str, claim_key: str, token: bytes, value: bytes, ttl_seconds: float
    ) -> Callable[[], None]:
        marker_key = _marker_key(key, token)

        def publish() -> None:
            if self._store.get(claim_key) != token:
                # The claim ran out (a publish that waited too long): another leader may have written since.
                log.info("a shared value was not stored: its claim ran out before it could be")
                return
            try:
                if self._near is not None:  # no version while the value changes, this one after it: "Near copies"
                    self._store.delete(version_key(key))
                self._store.set(key, value, ttl_seconds)
                if self._near is not None:
                    self._store.set(version_key(key), token, ttl_seconds)
            except BaseException:
                self._release(claim_key, token)
                self._store.set(marker_key, _FAILED, self._marker_ttl)
                raise
            # Marker first, then claim: a follower that finds the claim gone must find "ok" (or it would redo
            # the work).
            self._store.set(marker_key, _OK, self._marker_ttl)
            self._release(claim_key, token)

        return publish

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


def version_key(key: str) -> str:
    """Where the version of the value under `key` is kept (with near copies)."""
    return f"{key}#version"


def _marker_key(key: str, token: bytes) -> str:
    return f"{key}#done:{token.decode()}"
