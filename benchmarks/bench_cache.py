"""The coupons cache as it is now, measured with a 1,000-coupon customer (3.4 MB) at the default sizes:

- what one cached customer costs: in the store, Capillary's body under its version (`coupons/4:<id>:<case>` holds
  the version, `…@<version>` the body); in each process, the coupons it parsed from that version (ParsedCoupons);
- how many customers fit at the defaults (COUPONS_CACHE_MAX_MB = 256 for the store, and as much again for each
  process's parsed copies, counted as 3× the body) and what a full `gc.collect()` costs with them held;
- a cache hit in the process that parsed the version (it parses nothing) against one in a process that reads the
  body once (it parses), beside `json.loads` of the body in a clean process with the collector off;
- 40 identical lookups from two services sharing one Redis (as two worker processes), and the Redis memory of
  one cached customer.

    python benchmarks/bench_cache.py        # starts a throwaway redis-server (Debian: apt-get install redis-server)
"""

from __future__ import annotations

import gc
import http.server
import json
import statistics
import sys
import threading
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent))  # `python -m benchmarks.bench_cache` works too
from standins import json_loads_floor_ms, machine_line, redis_server

from bot.capillary.auth import BasicLogin
from bot.capillary.client import CapillaryClient
from bot.coupon_service import PARSED_BYTES_PER_BODY_BYTE, CouponService, body_key, coupons_key
from bot.demo.customers import bulk_coupons
from bot.domain.coupon import CodeCase
from bot.gc_tuning import settle_after_start
from bot.store import MemoryStore
from bot.store.redis import RedisStore

COUPONS = 1000
CACHE_MB = 256  # COUPONS_CACHE_MAX_MB's default: the store's bound, and each process's parsed copies'
MIB = 1024 * 1024


class Capillary(http.server.ThreadingHTTPServer):
    """Every customer has the same 1,000 coupons; `delay` seconds per answer; calls counted."""

    daemon_threads = True

    def __init__(self, body: bytes, delay: float = 0.0) -> None:
        self.body, self.delay, self.calls = body, delay, 0
        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Capillary

    def do_GET(self) -> None:
        self.server.calls += 1
        time.sleep(self.server.delay)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.server.body)))
        self.end_headers()
        self.wfile.write(self.server.body)

    def log_message(self, *_args: Any) -> None:
        pass


def median_ms(action: Any, runs: int) -> float:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def client(url: str) -> CapillaryClient:
    return CapillaryClient(url, BasicLogin("u", "p"))


def main() -> None:
    body = json.dumps({"entity": bulk_coupons(COUPONS, datetime.now(UTC)), "success": True}).encode()
    capillary = Capillary(body)
    print(machine_line())
    print(f"{COUPONS:,}-coupon customer: response body {len(body) / 1e6:.2f} MB")

    # One cached customer, in-process store: what is kept, and what the lookup left allocated.
    warm_up = CouponService(client(capillary.url), MemoryStore(CACHE_MB * MIB), ttl_seconds=3600)
    warm_up.lookup(0, CodeCase.UPPER)  # what the first lookup imports and builds once
    del warm_up
    gc.collect()
    settle_after_start()  # as the bot's processes do once started: what exists now is frozen
    store = MemoryStore(CACHE_MB * MIB)
    service = CouponService(client(capillary.url), store, ttl_seconds=3600, parsed_max_bytes=CACHE_MB * MIB)
    empty_gc = median_ms(gc.collect, 5)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    service.lookup(1, CodeCase.UPPER)
    gc.collect()
    left = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    key = coupons_key(1, CodeCase.UPPER)
    version = store.get(key) or b""
    kept = len(store.get(body_key(key, version)) or b"") + len(version)
    print(
        f"in the store: {kept / 1e6:.2f} MB ({kept / len(body):.3f}× the body: the body as received, and its"
        f" version); the whole lookup left {left / 1e6:.2f} MB allocated ({left / len(body):.2f}×), so this"
        f" process's parsed copy is about {(left - kept) / 1e6:.2f} MB ({(left - kept) / len(body):.2f}×; counted"
        f" as {PARSED_BYTES_PER_BODY_BYTE}× against its bound)"
    )

    # A hit where the version was parsed already, and in a process that has only the store (reads the body once).
    here = median_ms(lambda: service.lookup(1, CodeCase.UPPER), 50)

    others = [CouponService(client(capillary.url), store, ttl_seconds=3600) for _ in range(21)]  # own copies each

    def elsewhere() -> None:
        assert others.pop().lookup(1, CodeCase.UPPER).cache_hit

    there = median_ms(elsewhere, 21)
    floor = json_loads_floor_ms(body)
    print(
        f"cache hit, this process parsed the version: {here:.2f} ms; another process reading the body once:"
        f" {there:.1f} ms; json.loads of the body (fresh process, collector off): {floor:.1f} ms"
    )

    # Fill both to their bounds.
    customers = 1
    while store.bytes_used + kept <= store.max_bytes:
        customers += 1
        service.lookup(customers, CodeCase.UPPER)
    parsed_fit = CACHE_MB * MIB // (len(body) * PARSED_BYTES_PER_BODY_BYTE)
    full_gc = median_ms(gc.collect, 5)
    print(
        f"at the defaults ({CACHE_MB} MiB each): {store.bytes_used // kept} customers in the store"
        f" ({store.bytes_used / 1e6:.0f} MB), the last {parsed_fit} of them parsed in this process"
    )
    print(
        f"full gc.collect() (the start-up frozen, as in the bot): {empty_gc:.1f} ms with nothing cached,"
        f" {full_gc:.1f} ms with both full (the parsed copies are objects the collector walks; the bodies are not)"
    )

    sharing_redis(capillary, body)
    capillary.shutdown()


def sharing_redis(capillary: Capillary, body: bytes) -> None:
    """40 identical lookups from two services sharing one Redis, and what one customer takes there."""
    capillary.delay = 0.5
    with redis_server() as url:
        services = [CouponService(client(capillary.url), RedisStore(url)) for _ in range(2)]
        calls_before = capillary.calls
        with ThreadPoolExecutor(40) as pool:
            list(pool.map(lambda n: services[n % 2].lookup(777, CodeCase.UPPER), range(40)))
        calls = capillary.calls - calls_before
        shared = services[0].store
        assert isinstance(shared, RedisStore)
        key = coupons_key(777, CodeCase.UPPER)
        time.sleep(0.2)  # the body is written after the answer
        version = shared.get(key) or b""
        raw = redis.Redis.from_url(url)
        memory = sum(raw.memory_usage(shared.prefix + k) or 0 for k in (key, body_key(key, version)))
        raw.close()
    print(f"40 identical lookups from 2 services sharing Redis: {calls} Capillary call(s)")
    print(f"Redis memory of one cached customer: {memory / 1e6:.2f} MB ({memory / len(body):.2f}× the body)")


if __name__ == "__main__":
    main()
