"""Shared state for the bot: a small key-value `Store` with expiring keys, in memory or in Redis.

`open_store` picks the implementation: with a Redis URL every process that uses the same Redis shares one state
(cache, locks on fetches, seen events, answered jobs); without one the state is exact within this process only.
"""

from __future__ import annotations

from bot.store.base import Store
from bot.store.memory import MemoryStore

__all__ = ["MemoryStore", "Store", "open_store"]


def open_store(redis_url: str | None, *, max_bytes: int, prefix: str = "coupons-bot:") -> Store:
    """A `RedisStore` for `redis_url` (redis:// or rediss://), or a `MemoryStore` of `max_bytes` when it is empty.

    `max_bytes` bounds only the in-memory store; Redis is bounded by its own `maxmemory` setting.
    """
    if redis_url:
        from bot.store.redis import RedisStore  # noqa: PLC0415 - only a deployment with Redis needs the client

        return RedisStore(redis_url, prefix)
    return MemoryStore(max_bytes)
