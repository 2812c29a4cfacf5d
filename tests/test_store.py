"""The state store: one contract for `MemoryStore` and `RedisStore` (a real redis-server), single flight across
threads, across store clients and across OS processes, and Redis going away mid-way."""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import pytest
import redis

from bot.store import FlightResult, FlightTimeout, LeaderFailed, MemoryStore, Role, SingleFlight, Store, open_store
from bot.store.redis import RedisStore
from bot.store.single_flight import flight_key, version_key
from tests.support.redis_server import RedisServer, running_redis

ROOT = Path(__file__).resolve().parent.parent


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


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
    assert wait_until(lambda: store.get("short") is None and store.get("claimed") is None)
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
    waiting = threading.Event()
    got: list[tuple[bytes | None, float]] = []

    def waiter() -> None:
        waiting.set()
        value = store.wait_for("k", 10)
        got.append((value, time.monotonic()))

    thread = threading.Thread(target=waiter)
    thread.start()
    assert waiting.wait(5)
    time.sleep(0.05)  # let the waiter get into wait_for: the result does not depend on it
    set_at = time.monotonic()
    store.set("k", b"hello", 30)
    thread.join(10)
    [(value, woke_at)] = got
    assert value == b"hello"
    assert woke_at - set_at < 0.5  # Redis polls at most every 0.1 s; memory wakes on a condition


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
    SingleFlight(store).run("c", lambda: b"3", ttl_seconds=20, deadline=time.monotonic() + 5)
    assert raw_redis.get(f"{prefix}a") == b"1"
    assert raw_redis.get("a") is None
    keys = [key.decode() for key in raw_redis.scan_iter(match=f"{prefix}*")]
    assert {f"{prefix}a", f"{prefix}b", f"{prefix}c"} <= set(keys)
    assert any("#done:" in key for key in keys)
    for key in keys:
        assert 0 < raw_redis.pttl(key) <= 30_000, key
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


# --- single flight -------------------------------------------------------------------------------------------


@dataclass
class Observed:
    """A store wrapper that counts cache misses on one key and waits for flight markers."""

    inner: Store
    key: str
    misses: int = 0
    marker_waits: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, key: str) -> bytes | None:
        value = self.inner.get(key)
        if key == self.key and value is None:
            with self.lock:
                self.misses += 1
        return value

    def set(self, key: str, value: bytes, ttl_seconds: float) -> None:
        self.inner.set(key, value, ttl_seconds)

    def add(self, key: str, value: bytes, ttl_seconds: float) -> bool:
        return self.inner.add(key, value, ttl_seconds)

    def delete(self, key: str) -> None:
        self.inner.delete(key)

    def wait_for(self, key: str, timeout: float) -> bytes | None:
        if "#done:" in key:
            with self.lock:
                self.marker_waits += 1
        return self.inner.wait_for(key, timeout)

    def close(self) -> None:
        self.inner.close()


class Producer:
    """Counts its calls; each call holds on until `ready()` is true (bounded), then answers or raises."""

    def __init__(self, ready: Callable[[], bool], value: bytes = b"value", error: Exception | None = None) -> None:
        self.ready = ready
        self.value = value
        self.error = error
        self.calls = 0
        self.lock = threading.Lock()

    def __call__(self) -> bytes:
        with self.lock:
            self.calls += 1
        assert wait_until(self.ready, timeout=10), "the other callers never arrived"
        if self.error is not None:
            raise self.error
        return self.value


def run_threads(count: int, target: Callable[[int], object]) -> list[object]:
    """Runs `target(i)` in `count` threads released together; the results, or the exceptions raised."""
    results: list[object] = [None] * count
    barrier = threading.Barrier(count)

    def worker(i: int) -> None:
        barrier.wait()
        try:
            results[i] = target(i)
        except Exception as error:
            results[i] = error

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_forty_threads_one_producer(subject: Subject) -> None:
    store = Observed(subject.store, "lookup")
    flight = SingleFlight(store)
    produce = Producer(ready=lambda: store.misses >= 40)  # everyone has missed the cache and joined
    results = run_threads(40, lambda _i: flight.run("lookup", produce, ttl_seconds=30, deadline=time.monotonic() + 10))
    assert produce.calls == 1
    assert [r.value for r in results] == [b"value"] * 40  # type: ignore[attr-defined]
    roles = sorted(r.role.value for r in results)  # type: ignore[attr-defined]
    assert roles == ["followed"] * 39 + ["led"]
    assert subject.store.get("lookup") == b"value"
    assert flight.run("lookup", produce, ttl_seconds=30, deadline=time.monotonic() + 1).role is Role.CACHED


def test_forty_threads_in_two_store_clients_one_producer(subject: Subject, redis_server: RedisServer) -> None:
    """Two SingleFlights, each with its own store client, share the flight through the store (as two
    processes would): one leads, the other's leader waits for its marker."""
    if subject.kind == "redis":
        second: Store = RedisStore(redis_server.url, prefix=subject.store.prefix)  # type: ignore[attr-defined]
    else:
        second = subject.store
    stores = [Observed(subject.store, "lookup"), Observed(second, "lookup")]
    flights = [SingleFlight(store, check_interval_seconds=0.05) for store in stores]

    def everyone_arrived() -> bool:
        return sum(s.misses for s in stores) >= 40 and sum(s.marker_waits for s in stores) >= 1

    produce = Producer(ready=everyone_arrived)
    results = run_threads(
        40, lambda i: flights[i % 2].run("lookup", produce, ttl_seconds=30, deadline=time.monotonic() + 10)
    )
    assert produce.calls == 1
    assert sorted(r.role.value for r in results) == ["followed"] * 39 + ["led"]  # type: ignore[attr-defined]
    assert {r.value for r in results} == {b"value"}  # type: ignore[attr-defined]


def test_fresh_skips_the_cached_value(subject: Subject) -> None:
    flight = SingleFlight(subject.store)
    subject.store.set("k", b"old", 30)
    deadline = time.monotonic() + 5
    assert flight.run("k", lambda: b"new", ttl_seconds=30, deadline=deadline).value == b"old"
    result = flight.run("k", lambda: b"new", ttl_seconds=30, deadline=deadline, fresh=True)
    assert (result.value, result.role) == (b"new", Role.LED)
    assert subject.store.get("k") == b"new"


def test_followers_never_wait_past_their_own_deadline(subject: Subject, redis_server: RedisServer) -> None:
    release = threading.Event()
    produce = Producer(ready=release.is_set)
    flight = SingleFlight(subject.store, check_interval_seconds=0.05)
    if subject.kind == "redis":
        other_store: Store = RedisStore(redis_server.url, prefix=subject.store.prefix)  # type: ignore[attr-defined]
    else:
        other_store = subject.store
    other = SingleFlight(other_store, check_interval_seconds=0.05)
    leader = threading.Thread(
        target=lambda: flight.run("slow", produce, ttl_seconds=30, deadline=time.monotonic() + 10)
    )
    leader.start()
    assert wait_until(lambda: produce.calls == 1)
    try:
        for follower in (flight, other):  # in the same process, and through the store
            started = time.monotonic()
            with pytest.raises(FlightTimeout):
                follower.run("slow", produce, ttl_seconds=30, deadline=started + 0.3)
            assert 0.3 <= time.monotonic() - started < 1.3
    finally:
        release.set()
        leader.join(10)
    assert produce.calls == 1


def test_in_process_followers_get_the_leaders_exception(subject: Subject) -> None:
    store = Observed(subject.store, "k")
    flight = SingleFlight(store)
    produce = Producer(ready=lambda: store.misses >= 10, error=ValueError("upstream said no"))
    results = run_threads(10, lambda _i: flight.run("k", produce, ttl_seconds=30, deadline=time.monotonic() + 10))
    assert produce.calls == 1
    assert all(isinstance(r, ValueError) and str(r) == "upstream said no" for r in results)
    assert subject.store.get("k") is None
    assert subject.store.get(flight_key("k")) is None  # the claim was released
    # Nothing lingers: the next caller leads a new flight.
    assert flight.run("k", lambda: b"v", ttl_seconds=30, deadline=time.monotonic() + 5).role is Role.LED


def _two_clients(subject: Subject, redis_server: RedisServer) -> tuple[Observed, Observed]:
    if subject.kind == "redis":
        second: Store = RedisStore(redis_server.url, prefix=subject.store.prefix)  # type: ignore[attr-defined]
    else:
        second = subject.store
    return Observed(subject.store, "k"), Observed(second, "k")


def _lead_and_record(flight: SingleFlight, produce: Producer, raised: list[BaseException]) -> None:
    try:
        flight.run("k", produce, ttl_seconds=30, deadline=time.monotonic() + 10)
    except ValueError as error:
        raised.append(error)


def test_a_follower_elsewhere_takes_over_when_the_leader_fails(subject: Subject, redis_server: RedisServer) -> None:
    a_store, b_store = _two_clients(subject, redis_server)
    a, b = SingleFlight(a_store, check_interval_seconds=0.05), SingleFlight(b_store, check_interval_seconds=0.05)
    failing = Producer(ready=lambda: b_store.marker_waits >= 1, error=ValueError("boom"))
    working = Producer(ready=lambda: True, value=b"second try")
    leader_raised: list[BaseException] = []
    leader = threading.Thread(target=_lead_and_record, args=(a, failing, leader_raised))
    leader.start()
    assert wait_until(lambda: failing.calls == 1)
    result = b.run("k", working, ttl_seconds=30, deadline=time.monotonic() + 10)
    leader.join(10)
    assert [str(e) for e in leader_raised] == ["boom"]
    assert (result.value, result.role) == (b"second try", Role.LED)
    assert (failing.calls, working.calls) == (1, 1)


def test_without_takeovers_a_follower_elsewhere_raises(subject: Subject, redis_server: RedisServer) -> None:
    a_store, b_store = _two_clients(subject, redis_server)
    a, b = SingleFlight(a_store), SingleFlight(b_store, takeovers=0, check_interval_seconds=0.05)
    failing = Producer(ready=lambda: b_store.marker_waits >= 1, error=ValueError("boom"))
    leader_raised: list[BaseException] = []
    leader = threading.Thread(target=_lead_and_record, args=(a, failing, leader_raised))
    leader.start()
    assert wait_until(lambda: failing.calls == 1)
    with pytest.raises(LeaderFailed):
        b.run("k", lambda: b"never", ttl_seconds=30, deadline=time.monotonic() + 10)
    leader.join(10)
    assert [str(e) for e in leader_raised] == ["boom"]


def test_a_follower_takes_over_when_the_leaders_claim_vanishes(subject: Subject) -> None:
    """A leader that died leaves a claim and no marker; once the claim is gone the follower produces."""
    store = Observed(subject.store, "k")
    subject.store.add(flight_key("k"), b"0123456789abcdef", 30)  # the dead leader's claim
    flight = SingleFlight(store, check_interval_seconds=0.05)
    produce = Producer(ready=lambda: True, value=b"mine")
    remover = threading.Thread(
        target=lambda: wait_until(lambda: store.marker_waits >= 1) and subject.store.delete(flight_key("k"))
    )
    remover.start()
    started = time.monotonic()
    result = flight.run("k", produce, ttl_seconds=30, deadline=started + 10)
    remover.join(10)
    assert (result.value, result.role, produce.calls) == (b"mine", Role.LED, 1)
    assert time.monotonic() - started < 2


class HeldValueWrites(Observed):
    """`Observed` whose writes of the value under its key wait for `release` (bounded), as a slow store's would."""

    def __init__(self, inner: Store, key: str) -> None:
        super().__init__(inner, key)
        self.release = threading.Event()
        self.writing = threading.Event()

    def set(self, key: str, value: bytes, ttl_seconds: float) -> None:
        if key == self.key:
            self.writing.set()
            assert self.release.wait(10), "the test never released the write"
        super().set(key, value, ttl_seconds)


class CountedValueReads(Observed):
    """`Observed` that also counts reads that found the value under its key (a large value moving over the network)."""

    value_reads: int = 0

    def get(self, key: str) -> bytes | None:
        value = super().get(key)
        if key == self.key and value is not None:
            with self.lock:
                self.value_reads += 1
        return value


def test_publishing_behind_answers_before_the_value_is_in_the_store(
    subject: Subject, redis_server: RedisServer
) -> None:
    a_store, b_store = _two_clients(subject, redis_server)
    held, b_reads = HeldValueWrites(a_store.inner, "k"), CountedValueReads(b_store.inner, "k")
    a = SingleFlight(held, publish_behind=True, near=MemoryStore(1_000_000))
    b = SingleFlight(b_reads, check_interval_seconds=0.05, near=MemoryStore(1_000_000))  # another process
    produce = Producer(ready=lambda: True, value=b"fresh")
    deadline = time.monotonic() + 10

    led = a.run("k", produce, ttl_seconds=30, deadline=deadline)
    assert (led.value, led.role) == (b"fresh", Role.LED)
    assert held.writing.wait(5) and subject.store.get("k") is None  # answered while the write waits
    # Here: the finished flight answers from memory. Elsewhere: the claim stands, so wait for the marker.
    assert a.run("k", produce, ttl_seconds=30, deadline=deadline) == FlightResult(b"fresh", Role.FOLLOWED)
    elsewhere: list[FlightResult] = []
    follower = threading.Thread(target=lambda: elsewhere.append(b.run("k", produce, ttl_seconds=30, deadline=deadline)))
    follower.start()
    assert wait_until(lambda: b_reads.marker_waits >= 1)
    held.release.set()
    follower.join(10)

    assert elsewhere == [FlightResult(b"fresh", Role.FOLLOWED)]
    assert produce.calls == 1
    assert wait_until(lambda: subject.store.get(flight_key("k")) is None)  # released once published
    assert wait_until(lambda: a.run("k", produce, ttl_seconds=30, deadline=deadline).role is Role.CACHED)
    # The follower elsewhere kept a copy under the leader's version: the value crossed over once.
    assert b.run("k", produce, ttl_seconds=30, deadline=deadline) == FlightResult(b"fresh", Role.CACHED)
    assert b_reads.value_reads == 1


def test_publishing_behind_is_bounded_then_leaders_write_first(subject: Subject) -> None:
    held = HeldValueWrites(subject.store, "first")
    flight = SingleFlight(held, publish_behind=True, max_publishing=1)
    deadline = time.monotonic() + 10
    try:
        assert flight.run("first", lambda: b"1", ttl_seconds=30, deadline=deadline).role is Role.LED
        assert held.writing.wait(5)
        # The one slot is taken: this leader's value is in the store before it returns.
        assert flight.run("second", lambda: b"2", ttl_seconds=30, deadline=deadline).role is Role.LED
        assert subject.store.get("second") == b"2"
        assert subject.store.get(flight_key("second")) is None
    finally:
        held.release.set()
    assert wait_until(lambda: subject.store.get("first") == b"1")


def test_a_failed_leader_publishing_behind_leaves_nothing_behind(subject: Subject) -> None:
    store = Observed(subject.store, "k")
    flight = SingleFlight(store, publish_behind=True)
    produce = Producer(ready=lambda: True, error=ValueError("upstream said no"))
    with pytest.raises(ValueError, match="upstream said no"):
        flight.run("k", produce, ttl_seconds=30, deadline=time.monotonic() + 5)
    assert subject.store.get(flight_key("k")) is None
    assert flight.run("k", lambda: b"v", ttl_seconds=30, deadline=time.monotonic() + 5).role is Role.LED


def test_near_copies_move_a_value_once_per_process_and_follow_new_versions(
    subject: Subject, redis_server: RedisServer
) -> None:
    a_store, b_store = _two_clients(subject, redis_server)
    a_reads, b_reads = CountedValueReads(a_store.inner, "k"), CountedValueReads(b_store.inner, "k")
    a = SingleFlight(a_reads, near=MemoryStore(1_000_000))
    b = SingleFlight(b_reads, near=MemoryStore(1_000_000))  # another process, with copies of its own
    deadline = time.monotonic() + 10

    def run(flight: SingleFlight, value: bytes = b"never", *, fresh: bool = False) -> FlightResult:
        return flight.run("k", lambda: value, ttl_seconds=30, deadline=deadline, fresh=fresh)

    assert run(a, b"v1").role is Role.LED
    assert [run(a).value for _ in range(3)] == [b"v1"] * 3  # the leader kept what it produced
    assert a_reads.value_reads == 0
    assert [run(b).value for _ in range(3)] == [b"v1"] * 3  # read once, then from its copy
    assert b_reads.value_reads == 1

    assert run(a, b"v2", fresh=True).value == b"v2"  # a refresh elsewhere: a new version
    assert [run(b).value for _ in range(2)] == [b"v2"] * 2
    assert b_reads.value_reads == 2
    # Without a version in the shared store (expired, or written by a process without copies): no copy is used.
    subject.store.delete(version_key("k"))
    subject.store.set("k", b"v3", 30)
    assert run(b).value == b"v3"


def test_while_a_value_is_replaced_it_has_no_version(subject: Subject) -> None:
    """A leader that died between the value and its version must not leave the old version standing."""
    deadline = time.monotonic() + 10
    SingleFlight(subject.store, near=MemoryStore(1_000_000)).run("k", lambda: b"v1", ttl_seconds=30, deadline=deadline)
    first_version = subject.store.get(version_key("k"))
    assert first_version is not None

    held = HeldValueWrites(subject.store, "k")
    flight = SingleFlight(held, publish_behind=True, near=MemoryStore(1_000_000))
    assert flight.run("k", lambda: b"v2", ttl_seconds=30, deadline=deadline, fresh=True).value == b"v2"
    assert held.writing.wait(5)
    assert (subject.store.get(version_key("k")), subject.store.get("k")) == (None, b"v1")
    held.release.set()
    assert wait_until(lambda: subject.store.get(version_key("k")) not in (None, first_version))
    assert subject.store.get("k") == b"v2"


def test_after_a_refresh_this_process_answers_with_it_while_it_is_being_stored(subject: Subject) -> None:
    held = HeldValueWrites(subject.store, "k")
    flight = SingleFlight(held, publish_behind=True)
    deadline = time.monotonic() + 10
    subject.store.set("k", b"old", 30)
    try:
        assert flight.run("k", lambda: b"new", ttl_seconds=30, deadline=deadline, fresh=True).value == b"new"
        assert held.writing.wait(5) and subject.store.get("k") == b"old"
        assert flight.run("k", lambda: b"never", ttl_seconds=30, deadline=deadline) == FlightResult(
            b"new", Role.FOLLOWED
        )
    finally:
        held.release.set()
    assert wait_until(lambda: subject.store.get("k") == b"new")


def test_a_value_whose_claim_ran_out_before_it_was_stored_is_dropped(subject: Subject) -> None:
    """Its claim gone, another leader may have stored a newer value since: this one must not overwrite it."""
    flight = SingleFlight(subject.store)

    def produce() -> bytes:
        subject.store.delete(flight_key("k"))  # the claim runs out while the value is being produced
        subject.store.set("k", b"newer", 30)  # and another leader stores its value
        return b"older"

    assert flight.run("k", produce, ttl_seconds=30, deadline=time.monotonic() + 10).value == b"older"
    assert subject.store.get("k") == b"newer"


def test_a_near_copy_that_cannot_be_kept_fails_the_leader_and_frees_the_claim(subject: Subject) -> None:
    flight = SingleFlight(subject.store, near=MemoryStore(1_000_000))
    with pytest.raises(TypeError):
        flight.run("k", lambda: cast(bytes, "not bytes"), ttl_seconds=30, deadline=time.monotonic() + 5)
    assert subject.store.get(flight_key("k")) is None


def test_two_processes_sharing_redis_produce_once(redis_server: RedisServer, raw_redis: redis.Redis) -> None:
    prefix = f"proc-{uuid.uuid4().hex[:8]}:"
    command = [sys.executable, "-m", "tests.support.flight_worker", redis_server.url, prefix, "lookup", "8"]
    processes = [
        subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)
    ]
    outputs = []
    for process in processes:
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        outputs.append(json.loads(out))
    assert raw_redis.get(f"{prefix}test:produced") == b"1"
    assert all(output["errors"] == [] for output in outputs)
    roles = [role for output in outputs for role in output["roles"]]
    assert roles.count("led") == 1
    assert len(roles) == 16
    assert {value for output in outputs for value in output["values"]} == {"the value"}
    follower_process = next(output for output in outputs if "led" not in output["roles"])
    assert "followed" in follower_process["roles"]  # its leader waited for the other process


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
        produced = SingleFlight(store).run("f", lambda: b"done", ttl_seconds=30, deadline=time.monotonic() + 5)
        assert (produced.value, produced.role) == (b"done", Role.LED)
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
