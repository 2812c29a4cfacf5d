"""The coupons cache, measured: memory per cached customer, the full-GC pause with the cache full, and Capillary
calls for 40 identical lookups from two services sharing one Redis (as two worker processes do).

    python -m benchmarks.bench_cache            # from the repository root; starts a throwaway redis-server

Side by side in one run: the cache as it is (Capillary's bytes in the store) and, for contrast, the same
customers held as parsed objects (what the cache held before).
"""

from __future__ import annotations

import gc
import http.server
import json
import statistics
import threading
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import redis

from bot.capillary.client import CapillaryClient
from bot.capillary.coupons import parse_coupons
from bot.coupon_service import CouponService, coupons_key, fetched_at_key
from bot.demo.customers import bulk_coupons
from bot.domain.coupon import CodeCase
from bot.settings import BasicCredentials
from bot.store import MemoryStore
from bot.store.redis import RedisStore
from tests.support.redis_server import running_redis

COUPONS = 1000
CACHE_MB = 256


class Capillary(http.server.ThreadingHTTPServer):
    """Every customer has the same 1,000 coupons; `delay` seconds per answer; calls counted."""

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


def full_gc_ms(runs: int = 5) -> float:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        gc.collect()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def main() -> None:
    body = json.dumps({"entity": bulk_coupons(COUPONS, datetime.now(UTC)), "success": True}).encode()
    capillary = Capillary(body)
    client = CapillaryClient(capillary.url, BasicCredentials("u", "p"), max_response_bytes=64 * 1024 * 1024)
    print(f"{COUPONS:,}-coupon customer: response body {len(body) / 1e6:.2f} MB")

    store = MemoryStore(CACHE_MB * 1024 * 1024)
    service = CouponService(client, store, ttl_seconds=3600)
    gc.collect()
    baseline_gc = full_gc_ms()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    service.lookup(1, CodeCase.UPPER)
    gc.collect()
    one = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    entry = len(store.get(coupons_key(1, CodeCase.UPPER)) or b"")
    customers = 1
    while store.bytes_used + entry <= store.max_bytes:  # fill it to the brim
        customers += 1
        service.lookup(customers, CodeCase.UPPER)
    print(
        f"memory per cached customer (bytes cache): entry {entry / 1e6:.2f} MB ({entry / len(body):.3f}× the "
        f"body); all the lookup left allocated {one / 1e6:.2f} MB ({one / len(body):.2f}×)"
    )
    print(f"cache of {CACHE_MB} MiB full: {store.bytes_used // entry} customers, {store.bytes_used / 1e6:.0f} MB")
    print(f"full gc.collect(): {baseline_gc:.1f} ms before, {full_gc_ms():.1f} ms with the cache full")

    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    held = [tuple(parse_coupons(body).entity or ())]
    as_objects = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    held += [tuple(parse_coupons(body).entity or ()) for _ in range(min(customers, 30) - 1)]
    print(
        f"for contrast, as parsed objects: {as_objects / 1e6:.2f} MB per customer; full gc.collect() with "
        f"{len(held)} held: {full_gc_ms(3):.1f} ms"
    )
    del held

    capillary.delay = 0.5
    with running_redis() as server:
        workers = [
            CouponService(CapillaryClient(capillary.url, BasicCredentials("u", "p")), RedisStore(server.url))
            for _ in range(2)
        ]
        calls_before = capillary.calls
        with ThreadPoolExecutor(40) as pool:
            list(pool.map(lambda n: workers[n % 2].lookup(777, CodeCase.UPPER), range(40)))
        stored = workers[0].store
        assert isinstance(stored, RedisStore)
        kept = coupons_key(777, CodeCase.UPPER)
        memory = sum(
            redis.Redis.from_url(server.url).memory_usage(stored.prefix + key) or 0
            for key in (kept, fetched_at_key(kept))
        )
    print(f"40 identical lookups from 2 services sharing Redis: {capillary.calls - calls_before} Capillary call(s)")
    print(f"Redis memory for one cached customer: {memory / 1e6:.2f} MB ({memory / len(body):.2f}× the body)")
    capillary.shutdown()


if __name__ == "__main__":
    main()
