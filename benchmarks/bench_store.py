"""What a large cached value costs in each store, and what holding many costs the garbage collector.

    python benchmarks/bench_store.py                       # starts a throwaway redis-server on 127.0.0.1
    python benchmarks/bench_store.py --redis-url redis://127.0.0.1:6379/0

Prints: the bytes MemoryStore holds for one 3.4 MB value (its own accounting, and what tracemalloc sees
Python allocate for it); Redis's `MEMORY USAGE` of the same value; and the time of a full `gc.collect()` with
an empty MemoryStore, with one holding 100 such values, and, for contrast, with 10 parsed JSON documents of
the same size held as Python objects.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import statistics
import sys
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent))  # `python -m benchmarks.bench_store` works too
from standins import redis_server

from bot.store.memory import MemoryStore
from bot.store.redis import RedisStore

VALUE_BYTES = 3_400_000
KEY = "coupons:565032176:lower"


@contextlib.contextmanager
def redis_url(given: str | None) -> Iterator[str]:
    if given:
        yield given
        return
    with redis_server() as url:
        yield url


def gc_seconds(repeat: int = 7) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        gc.collect()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def json_document(size: int) -> bytes:
    coupon = {"id": 1, "code": "H306ORH2", "seriesId": 12345, "discountValue": 10.0, "redeemed": False,
              "validTill": "2026-11-30T23:59:59Z", "redemptions": [{"date": "2026-11-23", "store": "S1"}]}  # fmt: skip
    one = len(json.dumps(coupon)) + 2
    return json.dumps({"entity": [dict(coupon, id=i) for i in range(size // one)]}).encode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--redis-url")
    args = parser.parse_args()
    value = os.urandom(VALUE_BYTES)

    store = MemoryStore(max_bytes=512 * 1024 * 1024)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    store.set(KEY, bytes(bytearray(value)), 60)  # a copy made while tracing: the store holds the only reference
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    print(f"value: {VALUE_BYTES} bytes")
    print(f"MemoryStore accounting (key + value): {store.bytes_used} bytes")
    print(f"MemoryStore, Python allocation for it (tracemalloc): {held} bytes")

    with redis_url(args.redis_url) as url:
        redis_store = RedisStore(url, timeout_seconds=5)
        redis_store.set(KEY, value, 60)
        raw = redis.Redis.from_url(url)
        print(f"Redis MEMORY USAGE (key {redis_store.prefix}{KEY}): {raw.memory_usage(redis_store.prefix + KEY)} bytes")
        redis_store.delete(KEY)
        raw.close()
        redis_store.close()

    store.close()
    gc.collect()
    print(f"gc.collect(), empty store: {gc_seconds() * 1000:.3f} ms")
    for i in range(100):
        store.set(f"{KEY}:{i}", os.urandom(VALUE_BYTES), 60)
    holding = f"MemoryStore holding {len(store)} values ({store.bytes_used} bytes)"
    print(f"gc.collect(), {holding}: {gc_seconds() * 1000:.3f} ms")
    store.close()

    document = json_document(VALUE_BYTES)
    parsed = [json.loads(document) for _ in range(10)]
    print(f"gc.collect(), for contrast 10 parsed {len(document)}-byte JSON documents: {gc_seconds() * 1000:.3f} ms")
    del parsed


if __name__ == "__main__":
    main()
