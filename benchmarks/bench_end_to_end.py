"""What an agent feels: from Slack's POST to the reply arriving at the `response_url`, through the real server,
beside what a user would pick instead (benchmarks/naive_bot.py), against an honest yardstick.

    python benchmarks/bench_end_to_end.py            # 100, 1,000 and 10,000 coupons (about four minutes)
    python benchmarks/bench_end_to_end.py --quick    # fewer rounds
    python benchmarks/bench_end_to_end.py --sizes 1000 --rounds 40
    python benchmarks/bench_end_to_end.py --redis --workers 2   # as scaled out: the cache in Redis, `worker`s answer
    python benchmarks/bench_end_to_end.py --redis --workers 2 --redis-link-mbit 1000   # Redis as if on another machine

It starts the Procfile's `web` command (the line as written, `$PORT` substituted, run through `sh -c`) with
default settings, the naive bot (`benchmarks/naive_bot.py`: Bolt's own server, httpx, `json.loads`; no profile,
cache or buttons) with the same environment, a loopback Capillary serving customers of 100, 1,000 and 10,000
coupons (`bulk_coupons`) and their profile, and a loopback Slack (Web API + `response_url` recorder). The
Capillary runs in a process of its own (the real one is another machine) and answers from bytes built in
advance, in one write, so that its own time is next to nothing and what is timed is the bot.

First, memory: a fresh `web` process is asked for one new customer of each size, smallest first; its resident
memory is read before, at its peak while answering (VmHWM, reset before each), and after (half a second later).

Then time. A round of the bot: a signed `/coupons` for a customer ID never asked for before (a cache miss:
coupons and profile both fetched), the same command again (a hit), then clicks on the reply's "Series details"
and "Next ▶" (served from the cache). A round of the naive bot: one `/coupons` for a new customer (it has no
cache: every request is that). The two take rounds alternately, in alternating order, in the same run. Requests
go one at a time over one kept-alive connection; the audit line of each of the bot's requests says whether it
really was a hit, and the sample is filed under what it was.

The yardstick: after each pair of rounds, `json.loads` of the same bytes is timed in a process of its own that
does nothing else, started fresh for the run, with the collector off — the floor: the bot runs with its collector
settled (bot/gc_tuning.py), so timing `json.loads` with Python's default collector, or in a process holding the
benchmark's own objects, would flatter the bot — and, for reference, with the collector on. Only the parse is
timed, not freeing what it built. A burst of 5, the first not counted. Each reply is divided by its round's floor,
so that a shared machine's speed drifting over a run does not decide the comparison. A ratio below 1.0 means the
reply did less work than building every object of the body; the script says which rows, and why.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import multiprocessing
import os
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
from collections.abc import Iterator
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from slack_sdk.signature import SignatureVerifier
from standins import (
    Floor,
    PacedLink,
    QuietHandler,
    Server,
    Workers,
    bot_env,
    command,
    machine_line,
    peak_rss_mib,
    python_pid,
    redis_server,
    reset_peak_rss,
    rss_mib,
)

from bot.demo.customers import bulk_coupons

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-signing-secret-0123456789abcdef"
SIZES = (100, 1000, 10000)
ID_BLOCK = 10**8  # customer id // ID_BLOCK picks the size; the rest makes each id new
KINDS = ("miss", "hit", "click")
JSON_LOADS_BURST = 5  # json.loads timed after each round; the first of each is not counted
NAIVE_BOT = ROOT / "benchmarks" / "naive_bot.py"
PAUSE = {100: 0.02, 1000: 0.05, 10000: 0.3}  # seconds before each bot's round and the floor: the others' quiet


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
                coupons = path.endswith("/coupons")
                if coupons:  # a slow block's coupons take their time; its profile is at once
                    time.sleep(delays.get(customer // ID_BLOCK, 0.0))
                try:
                    self.wfile.write(answers[customer // ID_BLOCK] if coupons else profile)
                except OSError:  # the caller went away (a benchmark kills a worker mid-way)
                    return

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
    """The Procfile's `web` process (or `argv`: the naive bot); its stdout (the audit log) is read line by line."""

    def __init__(self, env: dict[str, str], argv: list[str] | None = None) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.workdir = tempfile.TemporaryDirectory()
        bin_dir = str(Path(sys.executable).parent)
        self.process = subprocess.Popen(
            argv or ["sh", "-c", procfile_web()],
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
    def pid(self) -> int:
        """The server's own process (not the shell the Procfile line runs in)."""
        return python_pid(self.process.pid)

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
    def __init__(self, web: Web, naive: Web, slack: Recorder, floor: Floor) -> None:
        self.web, self.naive, self.slack, self.floor = web, naive, slack, floor
        self.samples: dict[tuple[int, str], list[float]] = {}  # kinds: miss, hit, click; naive
        self.ratios: dict[tuple[int, str], list[float]] = {}  # each reply over its round's floor
        self.excess: dict[tuple[int, str], list[float]] = {}  # each reply minus its round's floor
        self.floors: dict[int, list[float]] = {}  # json.loads, collector off
        self.collected: dict[int, list[float]] = {}  # json.loads, collector on
        self.keys = 0
        self.elapsed = 0.0
        self._round: list[tuple[str, float]] = []

    def timed(self, size: int, kind: str, body_of: Any, *, naive: bool = False) -> dict[str, Any]:
        self.keys += 1
        key = f"k{self.keys}"
        sent = (self.naive if naive else self.web).post(body_of(self.slack.url + "response/" + key))
        arrived, reply = self.slack.wait(key)
        actual = kind
        if not naive:
            audit = self.web.next_audit()
            if audit.get("outcome") != "ok":
                raise RuntimeError(f"lookup failed: {audit}")
            # A follow-up that reached another worker fetched again: file it as the miss it was.
            actual = "miss" if audit.get("cache") == "miss" else kind
        self.samples.setdefault((size, actual), []).append(arrived - sent)
        self._round.append((actual, arrived - sent))
        return reply

    def bot_round(self, size: int, customer_id: int) -> None:
        first = self.timed(size, "miss", lambda url: command_body(customer_id, url))
        self.timed(size, "hit", lambda url: command_body(customer_id, url))
        details = find_button(first["blocks"], "Series details")
        self.timed(size, "click", lambda url: click_body(details, url))
        following = find_button(first["blocks"], "Next ▶")
        self.timed(size, "click", lambda url: click_body(following, url))

    def naive_round(self, size: int, customer_id: int) -> None:
        self.timed(size, "naive", lambda url: command_body(customer_id, url), naive=True)

    def round(self, size: int, customer_id: int, *, naive_first: bool) -> None:
        """A round of each bot (a new customer for each), then the yardstick of this moment."""
        self._round = []
        rounds = [self.bot_round, self.naive_round]
        for run_round in reversed(rounds) if naive_first else rounds:
            # What each does after its answer (freeing, writing to the store) is not the other's, nor the floor's.
            time.sleep(PAUSE[size])
            run_round(size, customer_id)
            customer_id += ID_BLOCK // 2  # the other bot's customer: new too
        time.sleep(PAUSE[size])
        off, on = self.floor.measure(SIZES.index(size) + 1, JSON_LOADS_BURST)
        self.floors.setdefault(size, []).append(off)
        self.collected.setdefault(size, []).append(on)
        for kind, elapsed in self._round:
            self.ratios.setdefault((size, kind), []).append(elapsed / off)
            self.excess.setdefault((size, kind), []).append(elapsed - off)


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1) + 0.5))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES), choices=SIZES)
    parser.add_argument("--rounds", type=int, default=0, help="rounds per size (default: by size)")
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument("--slowest", type=int, default=0, help="also print the N slowest replies of each row")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory measurement")
    parser.add_argument("--memory-only", action="store_true", help="only the memory measurement")
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
    # Default settings (COUPONS_MAX_RESPONSE_MB, timeouts, the cache's TTL and size) but for the log level and the
    # request budget: the run asks Capillary for more than 300 new customers a minute (kept, at its highest).
    env = bot_env(
        slack.url,
        upstream.url,
        SECRET,
        CAPILLARY_MAX_REQUESTS_PER_MINUTE="100000",
        WEB_CONCURRENCY=str(args.workers),
    )
    memory: Memory = []
    with contextlib.ExitStack() as stack:
        if args.redis:
            redis_url = stack.enter_context(redis_server())
            redis_port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
            env["REDIS_URL"] = redis_url
            if args.redis_link_mbit:
                link = PacedLink(redis_port, args.redis_link_mbit)
                stack.callback(link.stop)
                env["REDIS_URL"] = redis_url.replace(f":{redis_port}/", f":{link.port}/")
        try:
            if not args.no_memory and not args.redis:
                memory = measure_memory(args, env, slack)
            run = None if args.memory_only else measure(args, env, bodies, slack)
        finally:
            upstream.stop()
            slack.server.close()
    print(machine_line())
    store = "Redis (REDIS_URL)" if args.redis else "in-process"
    if args.redis_link_mbit:
        store += f" through a {args.redis_link_mbit:g} Mbit/s link"
    print(f"web: {procfile_web()}, {args.workers} process(es), cache {store}, default settings")
    if run is not None:
        print(f"naive: {NAIVE_BOT.relative_to(ROOT)}; {run.elapsed:.0f}s of requests")
        print("reply = POST sent → reply received at the response_url")
        print(
            "floor = json.loads of the same bytes in a fresh process, collector off (gc on = the same with Python's"
            " default collector, for reference); ×floor = each reply over its round's floor"
        )
        report(args, bodies, run)
    if memory:
        report_memory(bodies, memory)


Memory = list[tuple[str, int, float, float, float, float]]
QUIET_SECONDS = 11.0  # bot/gc_tuning.py returns memory 10 s after the last answer that grew the process


def measure_memory(args: argparse.Namespace, env: dict[str, str], slack: Recorder) -> Memory:
    """A fresh `web` (then a fresh naive bot) asked for one new customer of each size, smallest first: (who, size,
    RSS before, peak while answering, RSS 0.5 s after, RSS 11 s after), in MiB. A first 100-coupon lookup, not
    counted, warms it up."""
    found: Memory = []
    for who in ("bot", "naive"):
        web = Web(env) if who == "bot" else Web(env, [sys.executable, str(NAIVE_BOT)])
        try:
            keys = iter(range(10**6))

            def ask(customer_id: int, web: Web = web, who: str = who, keys: Iterator[int] = keys) -> None:
                key = f"m{next(keys)}"
                web.post(command_body(customer_id, slack.url + "response/" + key))
                slack.wait(key)
                if who == "bot" and (audit := web.next_audit()).get("outcome") != "ok":
                    raise RuntimeError(f"lookup failed: {audit}")

            pid = web.pid
            smallest = min(args.sizes)  # a first lookup warms the process up (only the sizes asked for are served)
            ask((SIZES.index(smallest) + 1) * ID_BLOCK + ID_BLOCK - 2)
            time.sleep(0.5)
            for size in sorted(args.sizes):
                before = rss_mib(pid)
                reset_peak_rss(pid)
                ask((SIZES.index(size) + 1) * ID_BLOCK + ID_BLOCK - 3)
                time.sleep(0.5)  # the work after the answer (freeing, writing to the store) is done
                peak, after = peak_rss_mib(pid), rss_mib(pid)
                time.sleep(QUIET_SECONDS - 0.5)  # and memory is returned
                found.append((who, size, before, peak, after, rss_mib(pid)))
        finally:
            web.stop()
    return found


def measure(args: argparse.Namespace, env: dict[str, str], bodies: dict[int, bytes], slack: Recorder) -> Run:
    # A p99 needs a few hundred samples to be more than the slowest one: 200 rounds give 200 new customers.
    default_rounds = {100: 200, 1000: 200, 10000: 10}
    web = Web(env)
    # With Redis, web queues the work: the Procfile's workers answer, and write the audit lines.
    workers = Workers(ROOT, env, args.queue_workers, web.read_audit) if "REDIS_URL" in env else None
    naive = Web(env, [sys.executable, str(NAIVE_BOT)])
    run = Run(web, naive, slack, Floor(bodies))
    started = time.monotonic()
    try:
        smallest = min(args.sizes)
        run.round(smallest, (SIZES.index(smallest) + 1) * ID_BLOCK + ID_BLOCK // 2 - 1, naive_first=False)  # warm-up
        for table in (run.samples, run.floors, run.collected, run.ratios, run.excess):
            table.clear()
        sequence = 0
        for size in args.sizes:
            rounds = args.rounds or default_rounds[size]
            if args.quick:
                rounds = max(3, rounds // 3)
            for number in range(rounds):
                sequence += 1
                run.round(size, (SIZES.index(size) + 1) * ID_BLOCK + sequence, naive_first=number % 2 == 1)
    finally:
        run.floor.close()
        if workers is not None:
            workers.stop()
        web.stop()
        naive.stop()
    run.elapsed = time.monotonic() - started
    return run


KIND_NAMES = {"miss": "new", "hit": "again", "click": "click"}
WHY_BELOW = {
    "miss": "the bot builds less than json.loads does (pydantic reads the body in Rust and keeps only what the"
    " message shows): work skipped, not a wrong yardstick (the floor is collector-off json.loads in a clean process)",
    "hit": "a cache hit parses nothing: this process reuses the coupons it parsed (ParsedCoupons), so the work is"
    " skipped by design; the ratio is not a parsing speed",
}
WHY_BELOW["click"] = WHY_BELOW["hit"].replace("a cache hit", "a click")


def report(args: argparse.Namespace, bodies: dict[int, bytes], run: Run) -> None:
    print(
        f"{'coupons':>8} {'body':>8} {'floor':>8} {'gc on':>8} {'kind':>6} {'n':>4} {'median':>9} {'p99':>9}"
        f" {'×floor':>6} {'p99×fl':>6} {'naive':>9} {'naive×fl':>8} {'bot÷naive':>9} {'median-floor':>12}"
    )
    below: list[str] = []
    for size in args.sizes:
        body = bodies[SIZES.index(size) + 1]
        floor = statistics.median(run.floors[size])
        collected = statistics.median(run.collected[size])
        naive = run.samples.get((size, "naive"), [])
        naive_median = statistics.median(naive) if naive else float("nan")
        naive_ratio = statistics.median(run.ratios[(size, "naive")]) if naive else float("nan")
        for kind in KINDS:
            values = run.samples.get((size, kind), [])
            if not values:
                continue
            median, worst = statistics.median(values), p99(values)
            ratios = run.ratios[(size, kind)]
            print(
                f"{size:>8,} {len(body) / 1e6:>6.2f}MB {floor * 1000:>6.1f}ms {collected * 1000:>6.1f}ms"
                f" {KIND_NAMES[kind]:>6} {len(values):>4} {median * 1000:>7.1f}ms {worst * 1000:>7.1f}ms"
                f" {statistics.median(ratios):>5.2f}× {p99(ratios):>5.2f}×"
                f" {naive_median * 1000:>7.1f}ms {naive_ratio:>7.2f}× {median / naive_median:>8.2f}×"
                f" {statistics.median(run.excess[(size, kind)]) * 1000:>+10.2f}ms"
            )
            if statistics.median(ratios) < 1.0:
                below.append(f"{size:,} coupons, {KIND_NAMES[kind]}: {WHY_BELOW[kind]}")
            if args.slowest:
                slowest = sorted(values, reverse=True)[: args.slowest]
                print(" " * 9 + "slowest: " + ", ".join(f"{v * 1000:.1f}ms" for v in slowest))
    print(
        "new = a customer never asked for (coupons and profile fetched); again = the same command at once (cache);"
        " click = Series details, Next ▶; naive = benchmarks/naive_bot.py, a new customer (it has no cache, every"
        " request is one), in alternate rounds; bot÷naive = the bot's median over the naive bot's"
    )
    for line in below:
        print(f"below 1.0× the floor: {line}")


def report_memory(bodies: dict[int, bytes], memory: Memory) -> None:
    print("memory of a fresh process (default settings), one new customer of each size in turn (RSS, MiB):")
    print(f"{'':>6} {'coupons':>8} {'body':>6} {'before':>7} {'peak while answering':>22} {'0.5 s after':>12}"
          f" {'11 s after':>11}")  # fmt: skip
    for who, size, before, peak, after, later in memory:
        body_mib = len(bodies[SIZES.index(size) + 1]) / 2**20
        print(
            f"{who:>6} {size:>8,} {body_mib:>6.1f} {before:>7.0f} {peak:>7.0f} = +{peak - before:>4.0f}"
            f" ({(peak - before) / body_mib:>3.1f}× body) {after:>5.0f} ({after - before:>+4.0f})"
            f" {later:>4.0f} ({later - before:>+4.0f})"
        )
    print("peak: VmHWM, reset before each; the bot's cache keeps the body and its parsed coupons for the TTL (60 s)")


if __name__ == "__main__":
    main()
