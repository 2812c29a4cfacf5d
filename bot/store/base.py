"""The `Store` protocol: a small bytes key-value store in which every key expires.

Two implementations sit beside this module: `MemoryStore` (exact within one process) and `RedisStore` (shared
by every process that uses the same Redis). Code that holds state which must agree across processes (cached
lookups, in-flight lookups, seen event IDs) talks to a `Store` and does not care which one it has.
"""

from __future__ import annotations

import math
from contextlib import AbstractContextManager
from typing import Protocol, runtime_checkable


@runtime_checkable
class Store(Protocol):
    """Bytes values under str keys; every key has a TTL (seconds, > 0).

    A store is a cache, not a database: a key may disappear before its TTL (evicted, or the backend is down),
    and callers must treat a missing key as "do the work", never as an error.
    """

    @property
    def shared(self) -> bool:
        """Whether other processes see this store (and so whether using it may wait on the network)."""

    def get(self, key: str) -> bytes | None:
        """The value under `key`, or None when it is absent or expired."""

    def set(self, key: str, value: bytes, ttl_seconds: float) -> None:
        """Store `value` under `key` for `ttl_seconds`, replacing any value and TTL it had."""

    def add(self, key: str, value: bytes, ttl_seconds: float) -> bool:
        """Store `value` only if `key` is absent (SET NX EX); True when this call stored it."""

    def delete(self, key: str) -> None:
        """Remove `key` if present."""

    def incr(self, key: str, ttl_seconds: float) -> int:
        """Add 1 to the counter under `key` (absent: 0) and return the new count, atomically across everyone who
        shares the store; a counter that was absent gets `ttl_seconds`, an existing one keeps its expiry."""

    def wait_for(self, key: str, timeout: float) -> bytes | None:
        """The value under `key` once it is present, waiting up to `timeout` seconds; None if it did not appear.

        Waiting must not busy-spin: it sleeps on a condition, or polls with a bounded backoff.
        """

    def locked(self, key: str, *, ttl_seconds: float, wait_seconds: float) -> AbstractContextManager[bool]:
        """Hold the lock `key` across processes while the block runs, for at most `ttl_seconds` (a holder that
        dies frees it then). The block gets False when the lock could not be had within `wait_seconds` (held
        elsewhere, or the store is down): it goes on without it. A store no other process sees has nothing to
        lock against and always gives True."""

    def close(self) -> None:
        """Release connections or memory; the store must not be used afterwards."""


def check_ttl(ttl_seconds: float) -> float:
    """`ttl_seconds` if it is a usable TTL; ValueError otherwise (a key without an expiry is a leak)."""
    if not (ttl_seconds > 0 and math.isfinite(ttl_seconds)):
        raise ValueError(f"ttl_seconds must be a positive finite number, not {ttl_seconds!r}")
    return ttl_seconds


def check_key(key: str) -> str:
    if not isinstance(key, str) or not key:
        raise ValueError("store keys are non-empty str")
    return key


def check_value(value: bytes) -> bytes:
    if not isinstance(value, bytes):
        raise TypeError(f"store values are bytes, not {type(value).__name__}")
    return value
