"""`RequestBudget`: how many requests the bot may send Capillary, shared by every process and host.

Capillary limits requests per API key (100 a minute on demo clusters, up to 1,000 elsewhere). Without a budget,
a burst of new customers from a few processes sends hundreds a second. Here:

* no 60-second window ever holds more than `per_minute` requests: the `limits` library's moving window, in Redis
  when a URL is given (every process and host counts against one budget), else in this process's memory;
* a `429` with `Retry-After` is remembered (`hold_off`) — in Redis and in memory — and until then no request is
  sent at all;
* a request over budget waits for the window to free up if that fits in the lookup's deadline, else fails at
  once with an error that says when to try again;
* Redis trouble never fails a lookup: the budget falls back to this process's memory, tries Redis again after
  a few seconds, and warns at most once a minute (never with the URL), as the store does (`RedisHealth`).
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable
from typing import TypeVar

import redis
from limits import RateLimitItem, RateLimitItemPerSecond
from limits.errors import StorageError
from limits.storage import MemoryStorage, RedisStorage
from limits.strategies import MovingWindowRateLimiter

from bot.domain.errors import CapillaryBudgetUsedUp, CapillaryHeldBack, CapillaryRateLimited
from bot.store.redis import RedisHealth, quick_client

log = logging.getLogger(__name__)
T = TypeVar("T")

KEY_PREFIX = "coupons-bot:"
# A wrong or hostile Retry-After can't keep the bot from Capillary for longer than this.
MAX_HOLD_OFF_SECONDS = 3600.0
# Over budget, look again no sooner than this (many waiters wake at once; one of them gets the slot).
MIN_WAIT_SECONDS = 0.05

# Keep the later of two "not before" times (two processes may be told different Retry-Afters).
_HOLD_OFF_SCRIPT = """
local current = tonumber(redis.call('get', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then
    redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
"""


class RequestBudget:
    """`spend(seconds_left)` before each request to Capillary; `hold_off(seconds)` when Capillary answers 429.

    `per_minute` 0 means no budget (a 429's Retry-After is still remembered). `scope` names the Capillary
    account the budget is for (processes of the same bot share it; another bot on the same Redis doesn't).
    """

    def __init__(
        self,
        per_minute: int,
        *,
        redis_url: str | None = None,
        scope: str = "capillary",
        window_seconds: int = 60,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_minute < 0:
            raise ValueError("per_minute must be 0 (no budget) or more")
        self.per_minute = per_minute
        self._item = RateLimitItemPerSecond(per_minute, window_seconds) if per_minute else None
        self._scope = scope
        self._sleep = sleep
        self._local = MovingWindowRateLimiter(MemoryStorage())
        self._not_before = 0.0  # wall-clock time before which no request goes (this process's copy)
        self._not_before_key = f"{KEY_PREFIX}capillary-not-before:{scope}"
        self._health = RedisHealth(
            "Redis for the Capillary request budget", "counting in this process only", logger=log, monotonic=monotonic
        )
        self._redis: redis.Redis | None = None
        self._shared: MovingWindowRateLimiter | None = None
        self._redis_errors = (StorageError, OSError, redis.RedisError)
        if redis_url is not None:
            self._redis = quick_client(redis_url)  # as the store's: a lookup never waits on Redis
            storage = RedisStorage(
                redis_url, connection_pool=self._redis.connection_pool, key_prefix=KEY_PREFIX + "budget"
            )
            self._shared = MovingWindowRateLimiter(storage)
            self._hold_off_script = self._redis.register_script(_HOLD_OFF_SCRIPT)

    def spend(self, seconds_left: Callable[[], float], *, margin: float = 0.0) -> None:
        """Count one request against the budget, waiting while that leaves `margin` of `seconds_left()` for it;
        else raise `CapillaryRateLimited` (a 429 is being honoured) or `CapillaryBudgetUsedUp`, and send nothing."""
        while True:
            refusal = self._refusal()
            if refusal is None:
                return
            if refusal.retry_after + margin > seconds_left():
                raise refusal
            self._sleep(refusal.retry_after)

    def hold_off(self, seconds: float) -> None:
        """Capillary said `Retry-After: seconds`: no request, from any process, until then."""
        seconds = min(seconds, MAX_HOLD_OFF_SECONDS)
        if seconds <= 0:
            return
        until = time.time() + seconds
        self._not_before = max(self._not_before, until)
        args: list[str | int] = [repr(until), math.ceil(seconds * 1000)]
        self._in_redis(lambda _redis: self._hold_off_script(keys=[self._not_before_key], args=args), None)

    def close(self) -> None:
        if self._redis is not None:
            self._redis.close()

    def _refusal(self) -> CapillaryHeldBack | None:
        now = time.time()
        not_before = max(self._not_before, self._shared_not_before())
        if not_before > now:
            wait = not_before - now
            return CapillaryRateLimited(f"Capillary asked for no request for {wait:.0f} s more", retry_after=wait)
        if self._item is None:
            return None
        item, shared = self._item, self._shared
        # Counted in this process while Redis can't be asked.
        hit = self._in_redis(lambda _redis: (self._hit(shared, item),), None) if shared is not None else None
        window_ends = hit[0] if hit is not None else self._hit(self._local, item)
        if window_ends is None:
            return None
        wait = max(MIN_WAIT_SECONDS, window_ends - time.time())
        return CapillaryBudgetUsedUp(
            f"{self.per_minute} requests went to Capillary in the last minute, the most allowed", retry_after=wait
        )

    def _hit(self, limiter: MovingWindowRateLimiter, item: RateLimitItem) -> float | None:
        """None if a request was counted; else when the oldest request in the window leaves it (wall clock)."""
        if limiter.hit(item, "capillary", self._scope):
            return None
        return limiter.get_window_stats(item, "capillary", self._scope).reset_time

    def _shared_not_before(self) -> float:
        value = self._in_redis(lambda client: client.get(self._not_before_key), None)
        try:
            return float(value) if isinstance(value, bytes) else 0.0
        except ValueError:
            return 0.0

    def _in_redis(self, operation: Callable[[redis.Redis], T], fallback: T) -> T:
        """`operation` on the shared Redis, or `fallback` without one, while it rests or when it fails."""
        if self._redis is None or not self._health.usable():
            return fallback
        try:
            result = operation(self._redis)
        except self._redis_errors as error:
            self._health.failed(error)
            return fallback
        self._health.ok()
        return result


def account_scope(base_url: str, user: str) -> str:
    """The budget's scope for a Capillary account. Capillary counts per API key: processes using the same host and
    user share one budget (hashed: no user name in a Redis key)."""
    return hashlib.sha256(f"{base_url} {user}".encode()).hexdigest()[:16]
