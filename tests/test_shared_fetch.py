"""`SharedFetch`: one fetch for N identical requests — threads of a process share one, processes sharing Redis
take turns on the key's lock — and a holder that died never keeps the others from answering."""

from __future__ import annotations

import gc
import threading
import time
import types
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from typing import Any

import pytest

from bot.after_answer import answering
from bot.capillary.deadline import Deadline, within
from bot.domain.errors import CapillaryUnavailable
from bot.shared_fetch import SharedFetch
from bot.store import MemoryStore, Store
from bot.store.redis import RedisStore
from tests.support.redis_server import RedisServer


class Fetches:
    """Counts its fetches; each waits for `gate` (bounded), then answers or raises."""

    def __init__(self, error: Exception | None = None) -> None:
        self.count = 0
        self.gate = threading.Event()
        self.error = error
        self._counted = threading.Condition()

    def __call__(self) -> tuple[str, bytes]:
        with self._counted:
            self.count += 1
            self._counted.notify_all()
        self.gate.wait(5)
        if self.error is not None:
            raise self.error
        return "fetched", b"kept"

    def reach(self, count: int, timeout: float = 5.0) -> bool:
        """Until exactly `count` fetches have started."""
        with self._counted:
            return self._counted.wait_for(lambda: self.count == count, timeout)


class Waiting:
    """A store that says when a caller has asked for a lock."""

    def __init__(self, inner: RedisStore) -> None:
        self.inner = inner
        self.asked = threading.Event()

    def locked(self, key: str, *, ttl_seconds: float, wait_seconds: float) -> AbstractContextManager[bool]:
        self.asked.set()
        return self.inner.locked(key, ttl_seconds=ttl_seconds, wait_seconds=wait_seconds)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def read_back(entry: bytes) -> str:
    return "kept:" + entry.decode()


@pytest.fixture
def redis_store(redis_server: RedisServer) -> Iterator[RedisStore]:
    store = RedisStore(redis_server.url, prefix=f"sf-{uuid.uuid4().hex[:8]}:")
    yield store
    store.close()


def ask_together(fetch: SharedFetch[str], fetches: Fetches, callers: int) -> list[str]:
    with ThreadPoolExecutor(callers) as pool:
        answers = [pool.submit(fetch.get, "k", fetches, read_back) for _ in range(callers)]
        fetches.gate.set()
        return [answer.result() for answer in answers]


def test_forty_threads_one_fetch_and_every_caller_answered_from_it() -> None:
    fetch: SharedFetch[str] = SharedFetch(MemoryStore(1024), ttl_seconds=30, deadline_seconds=5)
    fetches = Fetches()
    answers = ask_together(fetch, fetches, 40)
    assert fetches.count == 1
    assert set(answers) == {"fetched"}  # the fetcher's own answer, shared
    assert fetch.get("k", fetches, read_back) == "kept:kept" and fetches.count == 1


def test_threads_waiting_on_a_failed_fetch_get_its_error_and_nothing_is_kept() -> None:
    store = MemoryStore(1024)
    fetch: SharedFetch[str] = SharedFetch(store, ttl_seconds=30, deadline_seconds=5)
    fetches = Fetches(error=CapillaryUnavailable("down"))
    with ThreadPoolExecutor(10) as pool:
        answers = [pool.submit(fetch.get, "k", fetches, read_back) for _ in range(10)]
        fetches.gate.set()
        errors = [answer.exception() for answer in answers]
    assert fetches.count == 1 and all(isinstance(error, CapillaryUnavailable) for error in errors)
    assert store.get("k") is None


def test_a_failed_fetch_leaves_no_cycle_behind_for_its_fetcher_or_its_waiters() -> None:
    # The bot runs the collector rarely (`gc_tuning`): a frame kept in a cycle keeps its locals (a refused body).
    fetch: SharedFetch[str] = SharedFetch(MemoryStore(1024), ttl_seconds=30, deadline_seconds=5)
    fetches = Fetches()

    def failing() -> tuple[str, bytes]:
        fetches()
        raise CapillaryUnavailable("down")  # a new error, held by nothing but the fetch that raised it

    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        with ThreadPoolExecutor(10) as pool:
            answers = [pool.submit(fetch.get, "k", failing, read_back) for _ in range(10)]
            fetches.gate.set()
            failed = sum(isinstance(answer.exception(), CapillaryUnavailable) for answer in answers)
        del answers
        gc.collect()
        cyclic = [thing.f_code.co_name for thing in gc.garbage if isinstance(thing, types.FrameType)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert failed == 10 and fetches.count == 1
    assert "get" not in cyclic and "_get_or_fetch" not in cyclic


def test_a_refresh_fetches_again_and_a_zero_ttl_keeps_nothing() -> None:
    store = MemoryStore(1024)
    fetches = Fetches()
    fetches.gate.set()
    fetch: SharedFetch[str] = SharedFetch(store, ttl_seconds=30, deadline_seconds=5)
    fetch.get("k", fetches, read_back)
    assert fetch.get("k", fetches, read_back, refresh=True) == "fetched" and fetches.count == 2
    uncached: SharedFetch[str] = SharedFetch(store, ttl_seconds=0, deadline_seconds=5)
    assert uncached.get("z", fetches, read_back) == "fetched" and store.get("z") is None


def test_two_processes_sharing_redis_fetch_once(redis_server: RedisServer) -> None:
    prefix = f"two-{uuid.uuid4().hex[:8]}:"
    # Two fetchers with their own store clients, as two worker processes have.
    waiting = Waiting(RedisStore(redis_server.url, prefix=prefix))
    stores: list[Store] = [RedisStore(redis_server.url, prefix=prefix), waiting]
    fetchers: list[SharedFetch[str]] = [SharedFetch(s, ttl_seconds=30, deadline_seconds=5) for s in stores]
    fetches = Fetches()
    with ThreadPoolExecutor(20) as pool:
        answers = [pool.submit(fetchers[n % 2].get, "k", fetches, read_back) for n in range(20)]
        assert waiting.asked.wait(5)  # the second process waits on the lock while the first fetches
        fetches.gate.set()
        results = [answer.result() for answer in answers]
    assert fetches.count == 1
    assert sorted(set(results)) == ["fetched", "kept:kept"]  # one process's threads share its fetch; the other reads


def test_a_holder_that_died_keeps_no_one_waiting_past_half_their_time(redis_store: RedisStore) -> None:
    dead = redis_store.locked("k#fetch", ttl_seconds=60, wait_seconds=0)
    assert dead.__enter__()  # a process took the lock and died: it is never released
    fetch: SharedFetch[str] = SharedFetch(redis_store, ttl_seconds=30, deadline_seconds=8)
    fetches = Fetches()
    fetches.gate.set()
    started = time.monotonic()
    with within(Deadline.after(1.0)):
        assert fetch.get("k", fetches, read_back) == "fetched"
    assert 0.4 <= time.monotonic() - started < 0.9  # waited half of its second, then fetched without the lock


def test_a_listener_does_not_wait_on_a_lock_it_holds_itself(redis_store: RedisStore) -> None:
    """A lookup, then a refresh of the same customer, in one listener (an action, then its redraw): the lock the
    first took is let go after the answer, so the second must not wait for it."""
    fetch: SharedFetch[str] = SharedFetch(redis_store, ttl_seconds=30, deadline_seconds=8)
    fetches = Fetches()
    fetches.gate.set()
    with answering():
        fetch.get("k", fetches, read_back)
        started = time.monotonic()
        assert fetch.get("k", fetches, read_back, refresh=True) == "fetched"
        assert time.monotonic() - started < 1.0
    assert fetches.count == 2
    with redis_store.locked("k#fetch", ttl_seconds=5, wait_seconds=0) as free:
        assert free  # let go once the listener answered


def test_callers_share_a_fetch_only_of_the_same_variant() -> None:
    fetch: SharedFetch[str] = SharedFetch(MemoryStore(1024), ttl_seconds=30, deadline_seconds=5)
    fetches = Fetches()
    with ThreadPoolExecutor(2) as pool:
        plain = pool.submit(fetch.get, "k", fetches, read_back)
        assert fetches.reach(1)
        focused = pool.submit(fetch.get, "k", fetches, read_back, variant="focused")
        assert fetches.reach(2)  # not the plain fetch's answer: one of its own
        fetches.gate.set()
        assert plain.result() == focused.result() == "fetched"
