"""`MemoryStore`: a thread-safe in-process `Store`, bounded by the bytes it holds."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NamedTuple

from cachetools import TLRUCache

from bot.store.base import check_key, check_ttl, check_value


class _Entry(NamedTuple):
    value: bytes
    expires: float
    size: int


def _expires(_key: str, entry: _Entry, _now: float) -> float:
    return entry.expires


def _size(entry: _Entry) -> int:
    return entry.size


class MemoryStore:
    """Exact for one process (threads share it); another process has its own.

    The bound is on bytes, not on entries: an entry costs the UTF-8 length of its key plus the length of its
    value (Python's fixed per-object overhead, about 100 bytes an entry, is not counted). When a new entry does
    not fit, expired entries go first, then the least recently used ones. A value that alone exceeds
    `max_bytes` is not stored (`set` drops it and the key's old value; `add` reports True so that the caller does
    the work rather than waiting for a value that will never appear).

    Values are `bytes`, which the garbage collector does not track, so even a large store adds nothing to the
    time of a collection.

    `clock` (seconds, monotonic) decides expiry and can be replaced in tests; `wait_for` always waits in real time.
    """

    shared = False

    def __init__(self, max_bytes: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        if max_bytes < 1:
            raise ValueError("max_bytes must be positive")
        self._clock = clock
        # cachetools is not thread-safe: every touch of the cache holds this lock, and waiters sleep on it.
        self._changed = threading.Condition(threading.Lock())
        self._cache: TLRUCache[str, _Entry] = TLRUCache(maxsize=max_bytes, ttu=_expires, timer=clock, getsizeof=_size)

    @property
    def max_bytes(self) -> int:
        return int(self._cache.maxsize)

    @property
    def bytes_used(self) -> int:
        """Bytes counted against `max_bytes` (expired entries not yet swept included)."""
        with self._changed:
            return int(self._cache.currsize)

    def __len__(self) -> int:
        with self._changed:
            return len(self._cache)

    def get(self, key: str) -> bytes | None:
        check_key(key)
        with self._changed:
            entry = self._cache.get(key)
            return None if entry is None else entry.value

    def set(self, key: str, value: bytes, ttl_seconds: float) -> None:
        entry = self._entry(key, value, ttl_seconds)
        with self._changed:
            self._put(key, entry)

    def add(self, key: str, value: bytes, ttl_seconds: float) -> bool:
        entry = self._entry(key, value, ttl_seconds)
        with self._changed:
            if key in self._cache:  # `in` is False for an expired entry
                return False
            self._put(key, entry)
            return True

    def incr(self, key: str, ttl_seconds: float) -> int:
        entry = self._entry(key, b"1", ttl_seconds)
        with self._changed:
            current = self._cache.get(key)
            if current is None:
                self._put(key, entry)
                return 1
            count = int(current.value or b"0") + 1
            value = str(count).encode()
            self._put(key, _Entry(value, current.expires, len(key.encode()) + len(value)))
            return count

    def delete(self, key: str) -> None:
        check_key(key)
        with self._changed:
            self._cache.pop(key, None)

    def wait_for(self, key: str, timeout: float) -> bytes | None:
        check_key(key)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                entry = self._cache.get(key)
                if entry is not None:
                    return entry.value
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._changed.wait(remaining)  # woken by every set/add

    @contextmanager
    def locked(self, key: str, *, ttl_seconds: float, wait_seconds: float) -> Iterator[bool]:
        """Always True: threads of this process share one fetch before they get here (`SharedFetch`)."""
        yield True

    def close(self) -> None:
        with self._changed:
            self._cache.clear()
            self._changed.notify_all()

    def _entry(self, key: str, value: bytes, ttl_seconds: float) -> _Entry:
        check_key(key)
        check_value(value)
        expires = self._clock() + check_ttl(ttl_seconds)
        return _Entry(value, expires, len(key.encode()) + len(value))

    def _put(self, key: str, entry: _Entry) -> None:
        """Store `entry` (lock held); a too-large one only removes the key's old value."""
        if entry.size > self._cache.maxsize:
            self._cache.pop(key, None)
            return
        self._cache[key] = entry
        self._changed.notify_all()
