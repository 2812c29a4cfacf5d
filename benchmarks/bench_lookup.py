"""How fast is a lookup once Capillary has answered, and how many upstream calls does a burst make?

    python benchmarks/bench_lookup.py            # all sizes
    python benchmarks/bench_lookup.py --quick    # fewer repetitions

For customers of 10, 100, 1,000 and 5,000 coupons it times parse + classify + render of the response bytes
and, in the same run on the same machine, `json.loads` of the same bytes, and prints the ratio. Then N
concurrent identical lookups against a slow local Capillary show how many upstream calls they cause.
"""

from __future__ import annotations

import argparse
import json
import platform
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from blocks.summary import SummaryOptions, render_summary
from bot.capillary.auth import BasicLogin
from bot.capillary.client import CapillaryClient
from bot.capillary.coupons import read_response
from bot.coupon_service import CouponService
from bot.demo.customers import bulk_coupons
from bot.domain.coupon import CodeCase
from bot.domain.coupon_summary import CustomerCoupons, summarize
from bot.domain.view_state import ViewState, ViewStateCodec
from bot.store import MemoryStore

NOW = datetime.now(UTC)
HEADERS = httpx.Headers({"content-type": "application/json"})
CODEC = ViewStateCodec("benchmark")


def payload(count: int) -> bytes:
    return json.dumps({"entity": bulk_coupons(count, NOW), "warnings": [], "errors": [], "success": True}).encode()


def pipeline(body: bytes) -> int:
    coupons = read_response(200, HEADERS, body).entity
    summary = summarize(CustomerCoupons(1, CodeCase.LOWER, coupons, NOW), NOW)
    message = render_summary(summary, ViewState(1, CodeCase.LOWER), SummaryOptions(encode=CODEC.encode))
    return len(message.blocks)


def best_of(function, argument, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        function(argument)
        best = min(best, time.perf_counter() - started)
    return best


def time_pipeline(quick: bool) -> None:
    print(f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    print(f"{'coupons':>8} {'bytes':>10} {'json.loads':>12} {'parse+classify+render':>22} {'ratio':>7}")
    for count in (10, 100, 1000, 5000):
        body = payload(count)
        repeat = max(3, (20 if quick else 60) * 100 // max(count, 100))
        baseline = best_of(json.loads, body, repeat)
        ours = best_of(pipeline, body, repeat)
        print(f"{count:>8} {len(body):>10,} {baseline * 1000:>10.2f}ms {ours * 1000:>20.2f}ms {ours / baseline:>6.2f}×")


def single_flight(concurrent: int, delay: float) -> None:
    body = payload(100)

    class SlowCapillary(BaseHTTPRequestHandler):
        calls = 0

        def do_GET(self) -> None:
            SlowCapillary.calls += 1
            time.sleep(delay)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), SlowCapillary)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    client = CapillaryClient(f"http://127.0.0.1:{server.server_address[1]}/", BasicLogin("u", "p"))
    service = CouponService(client, MemoryStore(64 * 1024 * 1024))
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrent) as pool:
        list(pool.map(lambda _: service.lookup(565032176, CodeCase.LOWER), range(concurrent)))
    elapsed = time.perf_counter() - started
    server.shutdown()
    print(
        f"{concurrent} concurrent lookups of one customer, Capillary taking {delay:.1f}s: "
        f"{SlowCapillary.calls} upstream call(s), all answered in {elapsed:.2f}s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args()
    time_pipeline(args.quick)
    single_flight(concurrent=40, delay=1.0)


if __name__ == "__main__":
    main()
