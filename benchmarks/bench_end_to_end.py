"""What an agent feels: from Slack's POST to the reply arriving at the `response_url`, through the real server.

    python benchmarks/bench_end_to_end.py            # 100, 1,000 and 10,000 coupons (about three minutes)
    python benchmarks/bench_end_to_end.py --quick    # fewer rounds
    python benchmarks/bench_end_to_end.py --sizes 1000 --rounds 40
    python benchmarks/bench_end_to_end.py --redis --workers 2   # as scaled out: two processes, the cache in Redis
    python benchmarks/bench_end_to_end.py --redis --workers 2 --redis-link-mbit 1000   # Redis as if on another machine

It starts the Procfile's `web` command (the line as written, `$PORT` substituted, run through `sh -c`), a
loopback Capillary serving customers of 100, 1,000 and 10,000 coupons (`bulk_coupons`) and their profile, and a
loopback Slack (Web API + `response_url` recorder). The Capillary runs in a process of its own (the real one is
another machine) and answers from bytes built in advance, in one write, so that its own time is next to nothing
and what is timed is the bot. For each round it sends a signed
`/coupons` for a customer ID never asked for before (a cache miss: coupons and profile both fetched), the same
command again (a hit), then clicks the reply's "Series details" and "Next ▶" buttons (clicks served from the
cache). Requests go one at a time over one kept-alive connection, so a round's follow-ups normally reach the
worker that holds the cache; the audit line of each request says whether it really was a hit, and the sample is
filed under what it was.

After each round, `json.loads` of the same bytes is timed in this process (a burst of 5; the first, slower with
cold caches, is not counted), and each of the round's replies is divided by that round's figure: a shared
machine's speed drifts over a run, and this way a reply is only ever compared with the yardstick of its moment.
Printed per size and kind: the `json.loads` median over the run, the reply's median and p99 (POST sent → reply
fully received), the median and p99 of the replies' ratios to `json.loads`, and the median of what each reply
took beyond it (the measure for small answers, whose cost is mostly fixed).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import multiprocessing
import os
import platform
import queue
import secrets
import socket
import socketserver
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from slack_sdk.signature import SignatureVerifier
from standins import PacedLink, QuietHandler, Server, Workers, command, redis_server

from bot.demo.customers import bulk_coupons

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-signing-secret-0123456789abcdef"
SIZES = (100, 1000, 10000)
ID_BLOCK = 10**8  # customer id // ID_BLOCK picks the size; the rest makes each id new
KINDS = ("miss", "hit", "click")
JSON_LOADS_BURST = 5  # json.loads timed after each round; the first of each is not counted


def body_for(count: int) -> bytes:
    coupons = bulk_coupons(count, datetime.now(UTC))
    return json.dumps({"entity": coupons, "warnings": [], "errors": [], "success": True}).encode()


PROFILE = (ROOT / "bot" / "demo" / "data" / "sample-customer-by-id.json").read_bytes()


class Capillary:
    """Capillary at its quickest, in a process of its own: each answer is one write of bytes built in advance, so
    its own time is next to nothing; and like the real one (another machine) it never waits for this process's
    interpreter lock, which the fake Slack holds while it reads the bot's ack."""

    def __init__(self, bodies: dict[int, bytes], *, slow_blocks: dict[int, tuple[bytes, float]] | None = None) -> None:
        """`slow_blocks`: customers of those blocks get that body after that many seconds."""
        context = multiprocessing.get_context("fork")  # started before this process has any other thread
        ours, theirs = context.Pipe()
        args = (bodies, slow_blocks or {}, theirs)
        self.process = context.Process(target=_serve_capillary, args=args, daemon=True)
        self.process.start()
        self.url = f"http://127.0.0.1:{ours.recv()}/"

    def stop(self) -> None:
        self.process.kill()
        self.process.join(5)


def _serve_capillary(bodies: dict[int, bytes], slow: dict[int, tuple[bytes, float]], pipe: Connection) -> None:
    answers = {block: _answer(body) for block, body in bodies.items()}
    answers |= {block: _answer(body) for block, (body, _) in slow.items()}
    delays = {block: delay for block, (_, delay) in slow.items()}
    profile = _answer(PROFILE)

    class Handler(socketserver.StreamRequestHandler):
        disable_nagle_algorithm = True

        def handle(self) -> None:
            while True:  # one kept-alive connection: a GET, its headers, the answer; again
                request_line = self.rfile.readline(65537)
                if not request_line:
                    return
                while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass
                # /v2/customers/{id}/coupons, and the profile the header shows, /v2/customers/{id}
                path = urllib.parse.urlsplit(request_line.split()[1].decode()).path
                customer = int(path.split("/")[3])
                time.sleep(delays.get(customer // ID_BLOCK, 0.0))
                self.wfile.write(answers[customer // ID_BLOCK] if path.endswith("/coupons") else profile)

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    pipe.send(server.server_address[1])
    server.serve_forever()


def _answer(body: bytes) -> bytes:
    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


class Recorder:
    """Fake Slack: every Web API method answers ok; a POST to /response/<key> is a reply, timed on arrival."""

    def __init__(self) -> None:
        self.replies: dict[str, tuple[float, dict[str, Any]]] = {}
        self.changed = threading.Condition()
        recorder = self

        class Slack(QuietHandler):
            def do_POST(self) -> None:
                body = self.body()
                arrived = time.perf_counter()
                path = urllib.parse.urlsplit(self.path).path
                if path.startswith("/response/"):
                    with recorder.changed:
                        recorder.replies[path.removeprefix("/response/")] = (arrived, json.loads(body))
                        recorder.changed.notify_all()
                    answer = b"ok"
                else:
                    answer = json.dumps({"ok": True, "user_id": "UBOT0001", "team_id": "T0TEAM01"}).encode()
                self.reply(200, answer)

        self.server = Server(Slack)
        self.url = self.server.url

    def wait(self, key: str, timeout: float = 30.0) -> tuple[float, dict[str, Any]]:
        deadline = time.monotonic() + timeout
        with self.changed:
            while key not in self.replies:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise RuntimeError(f"no reply for {key} within {timeout:.0f}s")
                self.changed.wait(remaining)
            return self.replies.pop(key)


def procfile_web() -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() == "web":
            return command.strip()
    raise SystemExit("no web process in the Procfile")


class Web:
    """The Procfile's `web` process; its stdout (the audit log) is read line by line."""

    def __init__(self, env: dict[str, str]) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.workdir = tempfile.TemporaryDirectory()
        bin_dir = str(Path(sys.executable).parent)
        self.process = subprocess.Popen(
            ["sh", "-c", procfile_web()],
            cwd=self.workdir.name,  # not the source tree
            env={"PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""), **env, "PORT": str(self.port)},
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.audit: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.conn: http.client.HTTPConnection | None = None
        deadline = time.monotonic() + 30
        while True:
            if self.process.poll() is not None:
                raise SystemExit(f"the web process exited with status {self.process.returncode}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise SystemExit("the web process did not start within 30s") from None
                time.sleep(0.1)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.read_audit(line)

    def read_audit(self, line: str | bytes) -> None:
        """An audit line of this deployment (from `web`, or from a worker's output)."""
        with contextlib.suppress(ValueError):
            self.audit.put(json.loads(line))

    def post(self, body: str) -> float:
        """Send one signed request on the kept-alive connection; the time it was sent."""
        ts = str(int(time.time()))
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=body),
        }
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                self.conn.connect()
            sent = time.perf_counter()
            try:
                self.conn.request("POST", "/slack/events", body=body.encode(), headers=headers)
                response = self.conn.getresponse()
                response.read()
            except (http.client.HTTPException, OSError):
                # The server closed an idle keep-alive connection: open another (maybe to the other worker).
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
                continue
            if response.status != 200:
                raise RuntimeError(f"HTTP {response.status} from the web process")
            if response.getheader("Connection", "").lower() == "close":
                self.conn.close()
                self.conn = None
            return sent
        raise AssertionError("unreachable")

    def next_audit(self, timeout: float = 30.0) -> dict[str, Any]:
        return self.audit.get(timeout=timeout)

    def stop(self) -> None:
        if self.conn is not None:
            self.conn.close()
        try:
            os.killpg(self.process.pid, 15)
            self.process.wait(15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.process.pid, 9)
        self.workdir.cleanup()


def command_body(customer_id: int, response_url: str) -> str:
    return command(f"{customer_id} lower", response_url)


def click_body(button: dict[str, Any], response_url: str) -> str:
    payload = {
        "type": "block_actions",
        "user": {"id": "U0AGENT1", "username": "agent", "team_id": "T0TEAM01"},
        "api_app_id": "A0APP",
        "token": "legacy",
        "container": {"type": "message", "channel_id": "C0SUPPORT", "is_ephemeral": True, "message_ts": "1.0"},
        "trigger_id": secrets.token_hex(8),
        "team": {"id": "T0TEAM01", "domain": "acme"},
        "channel": {"id": "C0SUPPORT", "name": "support"},
        "response_url": response_url,
        "actions": [
            {
                "block_id": "b1",
                "type": "button",
                "action_ts": "1700000001.0",
                "action_id": button["action_id"],
                "value": button["value"],
            }
        ],
    }
    return urllib.parse.urlencode({"payload": json.dumps(payload)})


def find_button(blocks: list[dict[str, Any]], text: str) -> dict[str, Any]:
    for block in blocks:
        elements = block.get("elements", []) if block["type"] == "actions" else [block.get("accessory") or {}]
        for element in elements:
            if element.get("type") == "button" and element["text"]["text"] == text:
                return element
    raise RuntimeError(f"no {text!r} button in the reply")


class Run:
    def __init__(self, web: Web, slack: Recorder, bodies: dict[int, bytes]) -> None:
        self.web, self.slack, self.bodies = web, slack, bodies
        self.samples: dict[tuple[int, str], list[float]] = {}
        self.ratios: dict[tuple[int, str], list[float]] = {}  # each reply over its round's json.loads
        self.excess: dict[tuple[int, str], list[float]] = {}  # each reply minus its round's json.loads
        self.json_loads: dict[int, list[float]] = {}
        self.keys = 0
        self.elapsed = 0.0
        self._round: list[tuple[str, float]] = []

    def timed(self, size: int, kind: str, body_of: Any) -> dict[str, Any]:
        self.keys += 1
        key = f"k{self.keys}"
        sent = self.web.post(body_of(self.slack.url + "response/" + key))
        arrived, reply = self.slack.wait(key)
        audit = self.web.next_audit()
        if audit.get("outcome") != "ok":
            raise RuntimeError(f"lookup failed: {audit}")
        # A follow-up that reached the other worker fetched again: file it as the miss it was.
        actual = "miss" if audit.get("cache") == "miss" else kind
        self.samples.setdefault((size, actual), []).append(arrived - sent)
        self._round.append((actual, arrived - sent))
        return reply

    def round(self, size: int, customer_id: int) -> None:
        self._round = []
        first = self.timed(size, "miss", lambda url: command_body(customer_id, url))
        self.timed(size, "hit", lambda url: command_body(customer_id, url))
        details = find_button(first["blocks"], "Series details")
        self.timed(size, "click", lambda url: click_body(details, url))
        following = find_button(first["blocks"], "Next ▶")
        self.timed(size, "click", lambda url: click_body(following, url))
        # The yardstick, timed right after the round's requests, so that each reply is divided by the json.loads of
        # its own moment (a shared machine's speed drifts over a run). Warm: the first of a burst is not counted.
        body = self.bodies[SIZES.index(size) + 1]
        burst = []
        for _ in range(JSON_LOADS_BURST):
            started = time.perf_counter()
            json.loads(body)
            burst.append(time.perf_counter() - started)
        yardstick = statistics.median(burst[1:])
        self.json_loads.setdefault(size, []).append(yardstick)
        for kind, elapsed in self._round:
            self.ratios.setdefault((size, kind), []).append(elapsed / yardstick)
            self.excess.setdefault((size, kind), []).append(elapsed - yardstick)


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1) + 0.5))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES), choices=SIZES)
    parser.add_argument("--rounds", type=int, default=0, help="rounds per size (default: by size)")
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument("--slowest", type=int, default=0, help="also print the N slowest replies of each row")
    parser.add_argument("--redis", action="store_true", help="keep the cache in a throwaway redis-server (REDIS_URL)")
    parser.add_argument("--workers", type=int, default=1, help="web processes (WEB_CONCURRENCY)")
    parser.add_argument("--queue-workers", type=int, default=2, help="with --redis: `worker` processes (default 2)")
    parser.add_argument(
        "--redis-link-mbit", type=float, default=0, help="with --redis: reach it through a link of this many Mbit/s"
    )
    args = parser.parse_args()
    if args.redis_link_mbit and not args.redis:
        parser.error("--redis-link-mbit paces the link to Redis: it needs --redis")
    bodies = {SIZES.index(size) + 1: body_for(size) for size in args.sizes}
    upstream = Capillary(bodies)  # first: it forks this process
    slack = Recorder()
    env = {
        "SLACK_BOT_TOKEN": "xoxb-bench-000000000000",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack.url + "api/",
        "CAPILLARY_BASE_URL": upstream.url,
        "CAPILLARY_USERNAME": "bench",
        "CAPILLARY_PASSWORD": "bench",
        "COUPONS_CACHE_TTL_SECONDS": "600",
        "COUPONS_READ_TIMEOUT_SECONDS": "20",
        "COUPONS_UPSTREAM_DEADLINE_SECONDS": "25",
        "COUPONS_LOG_LEVEL": "WARNING",
        "COUPONS_MAX_RESPONSE_MB": "64",  # the 10,000-coupon body is 34 MB, over the default cap of 32
        "WEB_CONCURRENCY": str(args.workers),
    }
    with contextlib.ExitStack() as stack:
        if args.redis:
            redis_url = stack.enter_context(redis_server())
            redis_port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
            env["REDIS_URL"] = redis_url
            if args.redis_link_mbit:
                link = PacedLink(redis_port, args.redis_link_mbit)
                stack.callback(link.stop)
                env["REDIS_URL"] = redis_url.replace(f":{redis_port}/", f":{link.port}/")
        run = measure(args, env, bodies, upstream, slack)
    cpu = platform.processor() or platform.machine()
    print(f"machine: {cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    store = "Redis (REDIS_URL)" if args.redis else "in-process"
    if args.redis_link_mbit:
        store += f" through a {args.redis_link_mbit:g} Mbit/s link"
    print(f"web: {procfile_web()}, {args.workers} process(es), cache {store}; {run.elapsed:.0f}s of requests")
    print("reply = POST sent → reply received at the response_url")
    report(args, bodies, run)


def measure(
    args: argparse.Namespace, env: dict[str, str], bodies: dict[int, bytes], upstream: Capillary, slack: Recorder
) -> Run:
    # A p99 needs a few hundred samples to be more than the slowest one: 200 rounds give 200 new customers.
    default_rounds = {100: 200, 1000: 200, 10000: 10}
    web = Web(env)
    # With Redis, web queues the work: the Procfile's workers answer, and write the audit lines.
    workers = Workers(ROOT, env, args.queue_workers, web.read_audit) if "REDIS_URL" in env else None
    run = Run(web, slack, bodies)
    started = time.monotonic()
    try:
        smallest = min(args.sizes)
        run.round(smallest, (SIZES.index(smallest) + 1) * ID_BLOCK + ID_BLOCK - 1)  # warm-up, not counted
        run.samples.clear()
        run.json_loads.clear()
        run.ratios.clear()
        run.excess.clear()
        sequence = 0
        for size in args.sizes:
            rounds = args.rounds or default_rounds[size]
            if args.quick:
                rounds = max(3, rounds // 3)
            for _ in range(rounds):
                sequence += 1
                run.round(size, (SIZES.index(size) + 1) * ID_BLOCK + sequence)
    finally:
        if workers is not None:
            workers.stop()
        web.stop()
        upstream.stop()
        slack.server.close()
    run.elapsed = time.monotonic() - started
    return run


def report(args: argparse.Namespace, bodies: dict[int, bytes], run: Run) -> None:
    print(
        f"{'coupons':>8} {'bytes':>11} {'json.loads':>11} {'kind':>6} {'n':>4} {'median':>10} {'p99':>10}"
        f" {'median/json':>12} {'p99/json':>9} {'median-json':>12}"
    )
    for size in args.sizes:
        body = bodies[SIZES.index(size) + 1]
        baseline = statistics.median(run.json_loads[size])
        for kind in KINDS:
            values = run.samples.get((size, kind), [])
            if not values:
                continue
            median, worst = statistics.median(values), p99(values)
            ratios = run.ratios[(size, kind)]
            print(
                f"{size:>8,} {len(body):>11,} {baseline * 1000:>9.1f}ms {kind:>6} {len(values):>4}"
                f" {median * 1000:>8.1f}ms {worst * 1000:>8.1f}ms"
                f" {statistics.median(ratios):>11.2f}× {p99(ratios):>8.2f}×"
                f" {statistics.median(run.excess[(size, kind)]) * 1000:>+10.2f}ms"
            )
            if args.slowest:
                slowest = sorted(values, reverse=True)[: args.slowest]
                print(" " * 9 + "slowest: " + ", ".join(f"{v * 1000:.1f}ms" for v in slowest))


if __name__ == "__main__":
    main()
