"""The state store: one contract for `MemoryStore` and `RedisStore` (a real redis-server), locks across store
clients, and Redis going away mid-way."""

from __future__ import annotations

import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from bot.store import MemoryStore, Store, open_store
from bot.store.redis import RedisStore
from tests.support.redis_server import RedisServer, running_redis

ROOT = Path(__file__).resolve().parent.parent


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Subject:
    kind: str
    store: Store
    let_time_pass: Callable[[float], None]  # memory: moves its clock; Redis: lets real time pass


@pytest.fixture(params=["memory", "redis"])
def subject(request: pytest.FixtureRequest) -> Iterator[Subject]:
    if request.param == "memory":
        clock = FakeClock()
        yield Subject("memory", MemoryStore(max_bytes=16 * 1024 * 1024, clock=clock), clock.advance)
        return
    server: RedisServer = request.getfixturevalue("redis_server")
    store = RedisStore(server.url, prefix=f"test-{uuid.uuid4().hex[:8]}:")
    yield Subject("redis", store, time.sleep)
    store.close()


@pytest.fixture
def raw_redis(redis_server: RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_server.url)
    yield client
    client.close()


# --- the contract, for both stores ---------------------------------------------------------------------------


def test_get_set_delete(subject: Subject) -> None:
    store = subject.store
    assert store.get("absent") is None
    store.set("k", b"one", 30)
    assert store.get("k") == b"one"
    store.set("k", b"two", 30)
    assert store.get("k") == b"two"
    store.delete("k")
    assert store.get("k") is None
    store.delete("k")  # deleting an absent key is fine


def test_values_are_bytes_of_any_kind_and_keys_any_text(subject: Subject) -> None:
    store = subject.store
    every_byte = bytes(range(256))
    store.set("bytes", every_byte, 30)
    store.set("empty", b"", 30)
    store.set("ключ 🎟", b"x", 30)
    assert store.get("bytes") == every_byte
    assert store.get("empty") == b""
    assert store.get("ключ 🎟") == b"x"
    big = bytes(range(256)) * (3_400_000 // 256)
    store.set("big", big, 30)
    assert store.get("big") == big


def test_add_sets_only_an_absent_key(subject: Subject) -> None:
    store = subject.store
    assert store.add("k", b"first", 30) is True
    assert store.add("k", b"second", 30) is False
    assert store.get("k") == b"first"
    store.delete("k")
    assert store.add("k", b"third", 30) is True
    assert store.get("k") == b"third"


def test_keys_expire(subject: Subject) -> None:
    store = subject.store
    store.set("short", b"v", 0.2)
    assert store.add("claimed", b"v", 0.2) is True
    store.set("long", b"v", 30)
    assert store.get("short") == b"v"
    subject.let_time_pass(0.25)
    assert store.get("short") is None and store.get("claimed") is None  # Redis expires a key when it is read
    assert store.get("long") == b"v"
    assert store.add("claimed", b"again", 30) is True  # an expired key is absent for add too


def test_set_replaces_the_ttl(subject: Subject) -> None:
    store = subject.store
    store.set("k", b"v", 0.2)
    store.set("k", b"v", 30)
    subject.let_time_pass(0.25)  # past the first TTL
    assert store.get("k") == b"v"


def test_bad_ttls_and_values_are_refused(subject: Subject) -> None:
    store = subject.store
    for ttl in (0, -1, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="ttl_seconds"):
            store.set("k", b"v", ttl)
        with pytest.raises(ValueError, match="ttl_seconds"):
            store.add("k", b"v", ttl)
    with pytest.raises(TypeError):
        store.set("k", "text", 30)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="key"):
        store.get("")


def test_wait_for_a_present_key_answers_at_once(subject: Subject) -> None:
    subject.store.set("k", b"v", 30)
    started = time.monotonic()
    assert subject.store.wait_for("k", 5) == b"v"
    assert time.monotonic() - started < 0.5


def test_wait_for_an_absent_key_gives_up_at_its_timeout(subject: Subject) -> None:
    started = time.monotonic()
    assert subject.store.wait_for("never", 0.2) is None
    assert 0.2 <= time.monotonic() - started < 1.0


def test_wait_for_wakes_promptly_when_another_thread_sets_the_key(subject: Subject) -> None:
    store = subject.store
    got: list[tuple[bytes | None, float]] = []

    def waiter() -> None:
        value = store.wait_for("k", 10)
        got.append((value, time.monotonic()))

    looked = first_look_found_nothing(store)
    thread = threading.Thread(target=waiter)
    thread.start()
    assert looked.wait(5)  # the waiter is waiting now: what follows is a wake-up
    set_at = time.monotonic()
    store.set("k", b"hello", 30)
    thread.join(10)
    [(value, woke_at)] = got
    assert value == b"hello"
    assert woke_at - set_at < 0.5  # Redis polls at most every 0.1 s; memory wakes on a condition


def first_look_found_nothing(store: Store) -> threading.Event:
    """Set once `store.wait_for` has looked for its key and not found it: then it waits, on a condition (memory)
    or by asking again (Redis)."""
    looked = threading.Event()
    if isinstance(store, MemoryStore):

        class Told(threading.Condition):
            def wait(self, timeout: float | None = None) -> bool:
                looked.set()  # the lock is held: the key is set only once this wait has let it go
                return super().wait(timeout)

        store._changed = Told(threading.Lock())
    else:
        assert isinstance(store, RedisStore)
        call = store._call

        def spied(command: Callable[[], object]) -> object:
            answer = call(command)
            if answer is None:  # the GET that found nothing
                looked.set()
            return answer

        store._call = spied  # type: ignore[method-assign]
    return looked


# --- memory only ---------------------------------------------------------------------------------------------


def test_memory_store_is_bounded_by_bytes_of_keys_and_values() -> None:
    store = MemoryStore(max_bytes=100)
    store.set("a", b"x" * 39, 30)  # 40 bytes
    store.set("b", b"x" * 39, 30)
    assert store.bytes_used == 80
    assert store.get("a") is not None  # "a" is now the most recently used
    store.set("c", b"x" * 39, 30)  # 120 > 100: the least recently used ("b") goes
    assert store.get("b") is None
    assert store.get("a") is not None
    assert store.get("c") is not None
    assert store.bytes_used == 80
    store.set("ключ", b"", 30)  # 8 bytes of UTF-8
    assert store.bytes_used == 88


def test_memory_store_evicts_expired_entries_before_live_ones() -> None:
    clock = FakeClock()
    store = MemoryStore(max_bytes=100, clock=clock)
    store.set("live", b"x" * 36, 30)
    store.set("dies", b"x" * 36, 1)
    store.get("live")
    store.get("dies")  # "dies" is the most recently used, "live" the least
    clock.advance(2)
    store.set("new", b"x" * 37, 30)
    assert store.get("live") is not None
    assert store.get("new") is not None
    assert store.bytes_used == 80


def test_memory_store_drops_a_value_larger_than_its_bound() -> None:
    store = MemoryStore(max_bytes=100)
    store.set("k", b"small", 30)
    store.set("k", b"x" * 200, 30)
    assert store.get("k") is None  # not the stale small value
    assert store.add("other", b"x" * 200, 30) is True  # the caller does the work
    assert store.get("other") is None
    assert store.bytes_used == 0


def test_memory_store_is_thread_safe_under_concurrent_writers() -> None:
    store = MemoryStore(max_bytes=10_000)
    wins: list[int] = []
    churned = threading.Barrier(16)

    def writer(n: int) -> None:
        for i in range(300):  # enough to keep evicting
            store.set(f"k{n}-{i % 50}", b"x" * (i % 40), 30)
            store.get(f"k{(n + 1) % 16}-{i % 50}")
        churned.wait()
        if store.add("once", str(n).encode(), 30):
            wins.append(n)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.bytes_used <= 10_000
    assert len(wins) == 1
    assert store.get("once") == str(wins[0]).encode()


# --- Redis only ----------------------------------------------------------------------------------------------


def test_redis_keys_are_prefixed_and_all_expire(redis_server: RedisServer, raw_redis: redis.Redis) -> None:
    prefix = f"p-{uuid.uuid4().hex[:8]}:"
    store = RedisStore(redis_server.url, prefix=prefix)
    store.set("a", b"1", 30)
    store.add("b", b"2", 5)
    with store.locked("c", ttl_seconds=20, wait_seconds=0):
        keys = [key.decode() for key in raw_redis.scan_iter(match=f"{prefix}*")]
        ttls = {key: raw_redis.pttl(key) for key in keys}
    assert raw_redis.get(f"{prefix}a") == b"1"
    assert raw_redis.get("a") is None
    assert {f"{prefix}a", f"{prefix}b", f"{prefix}c"} <= set(keys)
    for key in keys:
        assert 0 < ttls[key] <= 30_000, key
    store.close()


def test_default_prefix_and_url_schemes(redis_server: RedisServer) -> None:
    store = RedisStore(redis_server.url)
    assert store.prefix == "coupons-bot:"
    store.close()
    with pytest.raises(ValueError, match="redis://") as raised:
        RedisStore("http://user:hunter2@example.invalid")
    assert "hunter2" not in str(raised.value)


def test_open_store_picks_the_implementation(redis_server: RedisServer) -> None:
    assert isinstance(open_store(None, max_bytes=1000), MemoryStore)
    assert isinstance(open_store("", max_bytes=1000), MemoryStore)
    store = open_store(redis_server.url, max_bytes=1000)
    assert isinstance(store, RedisStore)
    store.set("open-store", b"v", 5)
    assert store.get("open-store") == b"v"
    store.close()


# --- locks -----------------------------------------------------------------------------------------------------


def test_a_store_no_other_process_sees_always_grants_its_lock() -> None:
    store = MemoryStore(1024)
    with (
        store.locked("k", ttl_seconds=5, wait_seconds=0) as first,
        store.locked("k", ttl_seconds=5, wait_seconds=0) as second,
    ):
        assert first and second  # threads of one process share their fetch before they get here


def test_a_redis_lock_is_held_once_and_freed_on_release(redis_server: RedisServer) -> None:
    a, b = RedisStore(redis_server.url, prefix="locks:"), RedisStore(redis_server.url, prefix="locks:")
    with a.locked("k", ttl_seconds=5, wait_seconds=0) as held:
        assert held
        started = time.monotonic()
        with b.locked("k", ttl_seconds=5, wait_seconds=0.2) as other:
            assert not other  # held elsewhere: given up after the wait
        assert 0.15 <= time.monotonic() - started < 1.0
    with b.locked("k", ttl_seconds=5, wait_seconds=0) as other:
        assert other  # released


def test_a_dead_holders_lock_runs_out(redis_server: RedisServer, raw_redis: redis.Redis) -> None:
    a, b = RedisStore(redis_server.url, prefix="dead:"), RedisStore(redis_server.url, prefix="dead:")
    held = a.locked("k", ttl_seconds=0.3, wait_seconds=0)
    assert held.__enter__()  # and never leaves: its process died
    started = time.monotonic()
    with b.locked("k", ttl_seconds=5, wait_seconds=3) as taken:
        assert taken
    assert time.monotonic() - started < 1.0
    held.__exit__(None, None, None)  # the late holder's release leaves the new holder's lock alone
    assert raw_redis.get("dead:k") is None  # b released its own


# --- Redis going away ----------------------------------------------------------------------------------------


def _warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "bot.store.redis" and r.levelno == logging.WARNING]


def test_redis_stopped_mid_way_degrades_and_warns_rarely(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bot.store.redis")
    clock = FakeClock()
    with running_redis(password="mid-way-secret") as server:
        store = RedisStore(server.url, monotonic=clock)
        store.set("k", b"v", 30)
        assert store.get("k") == b"v"
        server.stop()

        started = time.monotonic()
        assert store.get("k") is None
        store.set("k", b"w", 30)
        assert store.add("k", b"w", 30) is True  # errs toward doing the work
        store.delete("k")
        assert store.wait_for("k", 5) is None
        with store.locked("f", ttl_seconds=30, wait_seconds=5) as held:
            assert held is False  # no lock to be had: the caller goes on without it, at once
        assert time.monotonic() - started < 1.0

        assert len(_warnings(caplog)) == 1
        clock.advance(30)
        for _ in range(5):
            assert store.get("k") is None
        assert len(_warnings(caplog)) == 1
        clock.advance(31)
        assert store.get("k") is None
        assert len(_warnings(caplog)) == 2
        text = "\n".join(r.getMessage() for r in caplog.records)
        assert "mid-way-secret" not in text
        assert str(server.port) not in text
        assert "failed operations since the last warning" in text

        server.start()  # same port; the store finds it again once its retry interval has passed
        clock.advance(6)
        store.set("k", b"back", 30)
        assert store.get("k") == b"back"
        assert any("reachable again" in r.getMessage() for r in caplog.records)
        store.close()


def test_an_unresponsive_redis_costs_one_short_timeout_per_interval() -> None:
    """A peer that accepts connections and never answers: an operation gives up after ~0.5 s, and the ones that
    follow within the retry interval do not touch the network."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        store = RedisStore(f"redis://:pw@127.0.0.1:{port}/0")
        started = time.monotonic()
        assert store.get("k") is None
        first = time.monotonic() - started
        assert 0.4 <= first < 1.5
        started = time.monotonic()
        assert store.add("k", b"v", 30) is True
        assert store.wait_for("k", 5) is None
        assert time.monotonic() - started < 0.25
        store.close()


def test_a_redis_lock_taken_on_one_thread_is_let_go_on_another(
    redis_server: RedisServer, raw_redis: redis.Redis
) -> None:
    """A profile's lock is taken on a pool thread and let go by the listener's thread once it has answered."""
    store = RedisStore(redis_server.url, prefix="across:")
    held = store.locked("k", ttl_seconds=30, wait_seconds=0)
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(held.__enter__).result()
    assert raw_redis.get("across:k") is not None
    held.__exit__(None, None, None)
    assert raw_redis.get("across:k") is None


def test_a_full_redis_is_reported_once_not_once_a_command(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bot.store.redis")
    with running_redis() as server:
        raw = redis.Redis.from_url(server.url)
        raw.config_set("maxmemory-policy", "noeviction")
        raw.set("coupons-bot:ballast", b"x" * 2_000_000)
        raw.config_set("maxmemory", "1mb")  # full: every write is refused, every read answered
        store = RedisStore(server.url)
        for n in range(100):
            store.set(f"k{n}", b"v", 30)  # OOM
            assert store.get("ballast") is not None
            assert store.add(f"a{n}", b"1", 30) is True  # errs toward doing the work, as when Redis is down
        messages = [r.getMessage() for r in caplog.records if r.name == "bot.store.redis"]
        assert len([m for m in messages if "unavailable" in m]) == 1
        assert len([m for m in messages if "reachable again" in m]) <= 1
        store.close()
        raw.close()
