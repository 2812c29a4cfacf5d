"""`RedisStore`: a `Store` shared by every process that uses the same Redis, and that never breaks a lookup."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar, cast

import redis as redis_client
from redis.backoff import NoBackoff
from redis.exceptions import LockError
from redis.retry import Retry

from bot.store.base import check_key, check_ttl, check_value

log = logging.getLogger(__name__)

T = TypeVar("T")


class _Failed:
    """What an operation returns when Redis could not be asked."""


_FAILED = _Failed()
UNKNOWN_COUNT = 2**62  # `incr` when Redis is down: over any limit
TIMEOUT_SECONDS = 0.5  # connecting, and each operation
RETRY_AFTER_SECONDS = 5.0  # after a connection failure, Redis is not tried again for this long
WARN_EVERY_SECONDS = 60.0
POLL_MIN_SECONDS, POLL_MAX_SECONDS = 0.005, 0.1  # `wait_for`'s backoff


class RedisStore:
    """Keys live in Redis as `prefix + key`, always with an expiry (SET … PX; `add` is SET … NX PX).

    `url` is `redis://[[user]:password@]host[:port][/db]` or `rediss://…` for TLS; the password stays in the
    client and never reaches a log line.

    Every call is bounded by short socket timeouts (`TIMEOUT_SECONDS`; no retries inside the client). When Redis
    is down, unreachable or refuses an operation, the store degrades rather than failing the caller: `get` answers
    None, `set` and `delete` do nothing, `add` answers True (the caller does the work, so a lookup may be done twice
    but is never left waiting), `wait_for` answers None at once; `RedisHealth` says when to try Redis again and
    what to log. `wait_for` polls GET with a doubling backoff.
    """

    def __init__(
        self,
        url: str,
        prefix: str = "coupons-bot:",
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not url.startswith(("redis://", "rediss://")):
            raise ValueError("the Redis URL must start with redis:// or rediss://")
        self._prefix = prefix
        self._client = quick_client(url)
        self._health = RedisHealth("Redis store", "working without shared state", logger=log, monotonic=monotonic)

    @property
    def prefix(self) -> str:
        return self._prefix

    @property
    def shared(self) -> bool:
        return True

    def get(self, key: str) -> bytes | None:
        value = self._call(lambda: self._client.get(self._key(key)))
        return None if isinstance(value, _Failed) else cast("bytes | None", value)

    def set(self, key: str, value: bytes, ttl_seconds: float) -> None:
        name, ms = self._key(key), _milliseconds(ttl_seconds)
        check_value(value)
        self._call(lambda: self._client.set(name, value, px=ms))

    def add(self, key: str, value: bytes, ttl_seconds: float) -> bool:
        name, ms = self._key(key), _milliseconds(ttl_seconds)
        check_value(value)
        stored = self._call(lambda: self._client.set(name, value, px=ms, nx=True))
        return True if isinstance(stored, _Failed) else bool(stored)

    def incr(self, key: str, ttl_seconds: float) -> int:
        """SET 0 NX PX (only an absent counter gets the TTL), then INCR (which keeps it), in one MULTI. When Redis
        can't be asked the count is unknown: it answers a count no limit allows (an unknown count must not let a
        write through)."""
        name, ms = self._key(key), _milliseconds(ttl_seconds)

        def increment() -> int:
            pipe = self._client.pipeline(transaction=True)
            pipe.set(name, 0, px=ms, nx=True)
            pipe.incr(name)
            return int(pipe.execute()[1])

        count = self._call(increment)
        return UNKNOWN_COUNT if isinstance(count, _Failed) else count

    def delete(self, key: str) -> None:
        name = self._key(key)
        self._call(lambda: self._client.delete(name))

    def wait_for(self, key: str, timeout: float) -> bytes | None:
        name = self._key(key)
        deadline = time.monotonic() + timeout
        delay = POLL_MIN_SECONDS
        while True:
            value = self._call(lambda: self._client.get(name))
            if isinstance(value, _Failed):
                return None
            if value is not None:
                return cast(bytes, value)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, POLL_MAX_SECONDS)

    @contextmanager
    def locked(self, key: str, *, ttl_seconds: float, wait_seconds: float) -> Iterator[bool]:
        """redis-py's `Lock`: SET NX PX to take it, a compare-and-delete script to release it, so a holder whose
        lock ran out never frees another's."""
        lock = self._client.lock(
            self._key(key),
            timeout=check_ttl(ttl_seconds),
            sleep=0.01,
            blocking_timeout=max(0.0, wait_seconds),
            thread_local=False,  # taken on a profile's thread, let go on the listener's once it has answered
        )
        acquired = self._call(lock.acquire)
        held = acquired is True
        try:
            yield held
        finally:
            if held:
                try:
                    lock.release()
                except LockError:  # it ran out and may be another's now: leave it be
                    pass
                except (redis_client.RedisError, OSError) as error:
                    self._health.failed(error, unreachable=False)

    def close(self) -> None:
        self._client.close()

    def _key(self, key: str) -> str:
        return self._prefix + check_key(key)

    def _call(self, operation: Callable[[], T]) -> T | _Failed:
        if not self._health.usable():
            self._health.failed(None)
            return _FAILED
        try:
            result = operation()
        except (redis_client.ConnectionError, redis_client.TimeoutError, OSError) as error:
            self._health.failed(error)
            return _FAILED
        except redis_client.RedisError as error:  # e.g. authentication, out of memory, read-only replica
            self._health.failed(error, unreachable=False)
            return _FAILED
        self._health.ok()
        return result


def quick_client(url: str) -> redis_client.Redis:
    """A client whose every call is bounded by short socket timeouts, with no retries inside it."""
    return redis_client.Redis.from_url(
        url,
        socket_timeout=TIMEOUT_SECONDS,
        socket_connect_timeout=TIMEOUT_SECONDS,
        retry=Retry(NoBackoff(), 0),
        health_check_interval=0,
    )


class RedisHealth:
    """Whether to ask Redis now, and what to say when it fails: after a failure that says it is unreachable, Redis
    is not asked again for `RETRY_AFTER_SECONDS` (one timeout per interval, not one per operation); a warning on
    the first failure and then at most once per `WARN_EVERY_SECONDS`, with the error's type and the number of
    failures since the last warning — never the URL; "reachable again" once after each warning, so a Redis that
    fails every other command (full, say) is reported once a minute, not once a command."""

    def __init__(self, what: str, meanwhile: str, logger: logging.Logger, monotonic: Callable[[], float]) -> None:
        self._what = what  # "Redis store"
        self._meanwhile = meanwhile  # what the caller does without Redis
        self._log = logger
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._down_until = -math.inf
        self._failing = False
        self._last_warning = -math.inf
        self._failures_since_warning = 0
        self._recovery_said = True

    def usable(self) -> bool:
        return self._monotonic() >= self._down_until

    def ok(self) -> None:
        if not self._failing:
            return
        with self._lock:
            if self._failing:
                self._failing = False
                if not self._recovery_said:
                    self._recovery_said = True
                    self._log.info("%s reachable again", self._what)

    def failed(self, error: BaseException | None, *, unreachable: bool = True) -> None:
        """`error` None: Redis was not asked (it is resting after a failure)."""
        now = self._monotonic()
        with self._lock:
            self._failing = True
            if unreachable and error is not None:
                self._down_until = now + RETRY_AFTER_SECONDS
            self._failures_since_warning += 1
            if now - self._last_warning < WARN_EVERY_SECONDS:
                return
            count, self._failures_since_warning = self._failures_since_warning, 0
            self._last_warning = now
            self._recovery_said = False
        reason = type(error).__name__ if error is not None else "still unavailable"
        said = "%s unavailable (%s); %s (%d failed operations since the last warning)"
        self._log.warning(said, self._what, reason, self._meanwhile, count)


def _milliseconds(ttl_seconds: float) -> int:
    return max(1, math.ceil(check_ttl(ttl_seconds) * 1000))
