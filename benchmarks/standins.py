"""Loopback stand-ins for the benchmarks: a fake Slack Web API + response_url recorder, a fake Capillary whose
fault mode depends on the customer ID (benchmarks/stay_up.py), a relay that paces a link, a throwaway
redis-server, the Procfile's workers, and the honest floor (`json.loads` in a clean process)."""

from __future__ import annotations

import contextlib
import functools
import json
import multiprocessing
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

NORMAL_CUSTOMERS = list(range(930_000_001, 930_000_011))  # answer at once
SLOW_CUSTOMERS = list(range(920_000_000, 920_000_100))  # answer after 4 s
DRIP_CUSTOMERS = list(range(910_000_000, 910_000_050))  # send their body at 1 byte/s
BOMB_CUSTOMER = 900_000_001  # 1 MB of gzip that inflates to 1 GiB
BOMB_CUSTOMERS = list(range(900_000_100, 900_000_130))  # the same, each its own customer (nothing shared)
HUGE_CUSTOMERS = list(range(900_000_200, 900_000_230))  # 100,000 small coupons each, about 10 MB
ONE_BAD_CUSTOMER = 900_000_050  # 50 coupons, one of them without an `id`


_BOMB_LOCK = threading.Lock()


def gzip_bomb(inflated_mib: int = 1024) -> bytes:
    """Made once (about 3 s): concurrent first callers wait for it rather than each making their own."""
    with _BOMB_LOCK:
        return _gzip_bomb(inflated_mib)


@functools.cache
def _gzip_bomb(inflated_mib: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = b"\0" * (1 << 20)
    return b"".join([*(compressor.compress(chunk) for _ in range(inflated_mib)), compressor.flush()])


class _BusyServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the listen backlog: a class attribute, read when the socket starts listening


class Server:
    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.httpd = _BusyServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class QuietHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall

    def log_message(self, *args: Any) -> None:
        pass

    def handle(self) -> None:
        # The bot hangs up on what it refuses to read (a gzip bomb past its cap): not worth a traceback here.
        with contextlib.suppress(ConnectionResetError):
            super().handle()

    def body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass


class FakeSlack:
    """Web API under /api/ (always ok), response URLs under /response/<name> (recorded)."""

    def __init__(self) -> None:
        self.replies: dict[str, list[dict[str, Any]]] = {}
        self.changed = threading.Condition()
        self.api_delays: dict[str, float] = {}  # Web API method → seconds before it answers
        self.api_calls: Counter[str] = Counter()
        self.group_members = ["U0AGENT1", *(f"U0G{n:02d}" for n in range(40))]
        self.release = threading.Event()
        fake = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                body = self.body()
                if self.path.startswith("/response/"):
                    try:
                        payload = json.loads(body)
                    except ValueError:
                        payload = {"text": body.decode(errors="replace")}
                    with fake.changed:
                        fake.replies.setdefault(self.path.removeprefix("/response/"), []).append(payload)
                        fake.changed.notify_all()
                    self.reply(200, b"ok", {"Content-Type": "text/plain"})
                    return
                method = self.path.removeprefix("/api/").split("?")[0]
                with fake.changed:
                    fake.api_calls[method] += 1
                fake.release.wait(fake.api_delays.get(method, 0.0))
                answer = {"ok": True, "user_id": "UBOT0001", "bot_id": "BBOT0001", "team_id": "T0TEAM01", "ts": "1.2"}
                if method == "usergroups.users.list":
                    answer["users"] = fake.group_members  # type: ignore[assignment]
                self.reply(200, json.dumps(answer).encode())

            do_GET = do_POST

        self.server = Server(Handler)

    @property
    def api_url(self) -> str:
        return self.server.url + "api/"

    def response_url(self, name: str) -> str:
        return self.server.url + f"response/{name}"

    def count(self, name: str) -> int:
        with self.changed:
            return len(self.replies.get(name, []))

    def wait_reply(self, name: str, timeout: float) -> str | None:
        """The text of the first reply to `name`, or None if none came within `timeout`."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while not self.replies.get(name):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self.changed.wait(remaining)
            return _text(self.replies[name][0])

    def close(self) -> None:
        self.release.set()
        self.server.close()


def _text(payload: dict[str, Any]) -> str:
    for block in payload.get("blocks", []):
        text = block.get("text")
        if isinstance(text, dict) and text.get("text"):
            return str(text["text"]).replace("\n", " ")
    return str(payload.get("text", ""))


class FakeCapillary:
    """`GET /v2/customers/{id}/coupons` with a fault mode by customer ID; `POST /v3/oauth/token/generate`."""

    def __init__(self, root: Path, *, token_delay: float = 0.0) -> None:
        sample = root / "bot" / "demo" / "data" / "sample-response-lower-case.json"
        self.sample = sample.read_bytes()
        self.token_delay = token_delay
        self.calls_by_customer: Counter[int] = Counter()
        self.call_times: list[float] = []  # time.monotonic() of every request, for a budget's windows
        self._huge: bytes | None = None
        self.lock = threading.Lock()
        self.release = threading.Event()
        capillary = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                with capillary.lock:
                    capillary.call_times.append(time.monotonic())
                match = re.fullmatch(r"/v2/customers/([0-9]+)/coupons(\?.*)?", self.path)
                if not match:
                    self.reply(404, b'{"errors": [{"code": 404, "message": "no such path"}]}')
                    return
                customer = int(match[1])
                with capillary.lock:
                    capillary.calls_by_customer[customer] += 1
                if customer == BOMB_CUSTOMER or customer in BOMB_CUSTOMERS:
                    self.reply(200, gzip_bomb(), {"Content-Encoding": "gzip"})
                elif customer in HUGE_CUSTOMERS:
                    self.reply(200, capillary.huge())
                elif customer in DRIP_CUSTOMERS:
                    self.drip(capillary.sample)
                elif customer == ONE_BAD_CUSTOMER:
                    self.reply(200, capillary.one_bad_of_50())
                elif customer in SLOW_CUSTOMERS:
                    capillary.release.wait(4.0)
                    self.reply(200, capillary.sample)
                else:
                    self.reply(200, capillary.sample)

            def do_POST(self) -> None:
                self.body()
                if self.path.startswith("/v3/oauth/token/generate"):
                    capillary.release.wait(capillary.token_delay)
                    self.reply(200, b'{"data": {"accessToken": "tok", "ttlSeconds": 3600}}')
                else:
                    self.reply(404, b"{}")

            def drip(self, body: bytes) -> None:
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.flush()
                    for byte in body[:120]:  # at most two minutes, and less once the run is over
                        if capillary.release.wait(1.0):
                            return
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                except OSError:
                    pass

        self.server = Server(Handler)

    @property
    def url(self) -> str:
        return self.server.url

    def one_bad_of_50(self) -> bytes:
        body = json.loads(self.sample)
        first = body["entity"][0]
        coupons = [{**first, "id": 70_000 + n, "code": f"code{n:04d}"} for n in range(50)]
        del coupons[17]["id"]
        return json.dumps({**body, "entity": coupons}).encode()

    def huge(self) -> bytes:
        """100,000 coupons with only the fields a listing needs (about 10 MB), built once."""
        with self.lock:
            if self._huge is None:
                first = json.loads(self.sample)["entity"][0]
                keep = {key: first[key] for key in ("seriesId", "validTill", "isRedeemed") if key in first}
                coupons = [{**keep, "id": 80_000_000 + n, "code": f"H{n:07d}"} for n in range(100_000)]
                self._huge = json.dumps({"entity": coupons, "warnings": [], "errors": [], "success": True}).encode()
            return self._huge

    def calls(self, customer: int) -> int:
        with self.lock:
            return self.calls_by_customer[customer]

    def release_drips(self) -> None:
        """End every dripping or slow answer now (the next benchmark step needs quiet)."""
        self.release.set()

    def close(self) -> None:
        self.release.set()
        self.server.close()


def command(text: str, response_url: str, user: str = "U0AGENT1") -> str:
    """The form Slack posts for `/coupons <text>`, with a trigger_id of its own (a repeated one is a replay)."""
    return urllib.parse.urlencode(
        {
            "token": "legacy",
            "team_id": "T0TEAM01",
            "team_domain": "acme",
            "channel_id": "C0SUPPORT",
            "channel_name": "support",
            "user_id": user,
            "user_name": "agent",
            "command": "/coupons",
            "text": text,
            "api_app_id": "A0APP",
            "response_url": response_url,
            "trigger_id": secrets.token_hex(8),
        }
    )


class PacedLink:
    """A TCP relay to 127.0.0.1:`target_port` that passes at most `megabits_per_second` each way, in a process of
    its own: a server on the same machine made to behave, for large values, as if it were on another one (a
    3.4 MB value takes 27 ms over 1 Gbit/s, against about 1 ms on loopback). `port` is where to connect."""

    def __init__(self, target_port: int, megabits_per_second: float) -> None:
        context = multiprocessing.get_context("spawn")  # this process may have threads already: don't fork it
        ours, theirs = context.Pipe()
        rate = megabits_per_second * 1_000_000 / 8
        self.process = context.Process(target=_relay, args=(target_port, rate, theirs), daemon=True)
        self.process.start()
        theirs.close()  # so that a child that died at start is an EOFError here, not a wait for ever
        self.port: int = ours.recv()

    def stop(self) -> None:
        self.process.kill()
        self.process.join(5)


def _relay(target_port: int, bytes_per_second: float, pipe: Connection) -> None:
    def pump(source: socket.socket, sink: socket.socket) -> None:
        ready_at = time.monotonic()  # when the link has passed everything sent so far
        with contextlib.suppress(OSError):
            while chunk := source.recv(65536):
                ready_at = max(ready_at, time.monotonic()) + len(chunk) / bytes_per_second
                time.sleep(max(0.0, ready_at - time.monotonic()))
                sink.sendall(chunk)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    listener = socket.create_server(("127.0.0.1", 0), backlog=128)
    pipe.send(listener.getsockname()[1])
    while True:
        client, _ = listener.accept()
        server = socket.create_connection(("127.0.0.1", target_port))
        for end in (client, server):
            end.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=pump, args=(client, server), daemon=True).start()
        threading.Thread(target=pump, args=(server, client), daemon=True).start()


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """A throwaway redis-server (Debian's `redis-server`) on a free loopback port, without persistence: its URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise SystemExit("redis-server did not start (install it: apt-get install redis-server)") from None
                time.sleep(0.02)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.kill()
        process.wait(5)


def procfile_command(name: str, root: Path) -> str:
    for line in (root / "Procfile").read_text().splitlines():
        process, _, command = line.partition(":")
        if process.strip() == name:
            return command.strip()
    raise SystemExit(f"no {name} process in the Procfile")


class Workers:
    """N of the Procfile's `worker` processes (their audit lines, on stdout, go to `on_line`), returned once
    each is live in Redis."""

    def __init__(self, root: Path, env: dict[str, str], count: int, on_line: Callable[[str], None]) -> None:
        import redis  # noqa: PLC0415 - only a benchmark with workers needs it

        bin_dir = str(Path(sys.executable).parent)
        self.processes = [
            subprocess.Popen(
                ["sh", "-c", "exec " + procfile_command("worker", root)],
                cwd=tempfile.gettempdir(),  # not the source tree
                env={"PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""), **env},
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            for _ in range(count)
        ]
        for process in self.processes:
            threading.Thread(target=_lines, args=(process, on_line), daemon=True).start()
        client = redis.Redis.from_url(env["REDIS_URL"])
        deadline = time.monotonic() + 30
        while client.zcard("coupons-bot:workers") < count:
            if time.monotonic() > deadline or any(p.poll() is not None for p in self.processes):
                self.stop()
                raise SystemExit("the workers did not start")
            time.sleep(0.05)

    @property
    def pids(self) -> list[int]:
        return [process.pid for process in self.processes]

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()


def _lines(process: subprocess.Popen[str], on_line: Callable[[str], None]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        on_line(line)


def cpu_seconds(pid: int) -> float:
    """User + system processor time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mib(pid: int) -> float:
    """The most resident memory a process has had (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def json_loads_floor_ms(body: bytes, runs: int = 15) -> float:
    """The honest floor: `json.loads` of `body` with the collector off, in a fresh process (median of `runs`, the
    first not counted). Only the parse is timed: freeing what it built is not (the bot frees after answering)."""
    with Floor({0: body}) as floor:
        return floor.measure(0, runs, collector_on=False)[0] * 1000


# Reads the bodies (`<key> <length>` then the bytes, until `end`), then for each `<key> <runs> <on>` line prints
# the median seconds of `json.loads` with the collector off and (when <on> is 1) on, the first run not counted.
_FLOOR_SCRIPT = """
import gc, json, statistics, sys, time
source, bodies = sys.stdin.buffer, {}
while (head := source.readline().split()) and head[0] != b"end":
    bodies[int(head[0])] = source.read(int(head[1]))
def timed(body, runs):
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        value = json.loads(body)
        times.append(time.perf_counter() - started)
        del value  # freed outside the timing
    return statistics.median(times[1:])
gc.disable()
for line in source:
    key, runs, on = map(int, line.split())
    off = timed(bodies[key], runs)
    gc.enable()
    collected = timed(bodies[key], runs) if on else 0.0
    gc.disable()
    print(off, collected, flush=True)
"""


class Floor:
    """`json.loads`, the yardstick, in a process of its own that does nothing else: started fresh, it holds only
    the bodies, and parses with the collector off (the floor: the bot runs with its collector settled, see
    bot/gc_tuning.py) and, beside it, on (Python's default). Asked after each round, so that each reply is compared
    with the yardstick of its moment on a shared machine."""

    def __init__(self, bodies: dict[int, bytes]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", _FLOOR_SCRIPT], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        assert self.process.stdin is not None
        for key, body in bodies.items():
            self.process.stdin.write(f"{key} {len(body)}\n".encode() + body)
        self.process.stdin.write(b"end\n")
        self.process.stdin.flush()

    def measure(self, key: int, runs: int = 5, *, collector_on: bool = True) -> tuple[float, float]:
        """Seconds: the median `json.loads` of body `key` with the collector off, and on (0.0 unless asked)."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(f"{key} {runs} {int(collector_on)}\n".encode())
        self.process.stdin.flush()
        off, on = self.process.stdout.readline().split()
        return float(off), float(on)

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(30)

    def __enter__(self) -> Floor:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def python_pid(pid: int) -> int:
    """The process that is not a shell: `pid` itself, or its first descendant that isn't `sh` (a Procfile line
    run through `sh -c`)."""
    while Path(f"/proc/{pid}/comm").read_text().strip() in ("sh", "dash", "bash"):
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        if not children:
            break
        pid = int(children[0])
    return pid


def rss_mib(pid: int) -> float:
    """Resident memory now (VmRSS), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def reset_peak_rss(pid: int) -> None:
    """Make VmHWM (what `peak_rss_mib` reads) start again from the resident memory now (Linux ≥ 4.0)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def machine_line() -> str:
    """What the figures were measured on: the processor, its cores, Python, the day."""
    import platform  # noqa: PLC0415
    from datetime import UTC, datetime  # noqa: PLC0415

    model = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor() or platform.machine(),
    )  # fmt: skip
    return (
        f"machine: {model}, {os.cpu_count()} CPUs (shared with other work: figures move between runs),"
        f" Python {platform.python_version()}, {datetime.now(UTC):%Y-%m-%d}"
    )


def bot_env(slack_url: str, capillary_url: str, signing_secret: str, **extra: str) -> dict[str, str]:
    """The bot's environment against the loopback stand-ins: default settings but for a quiet log."""
    return {
        "SLACK_BOT_TOKEN": "xoxb-bench-000000000000",
        "SLACK_SIGNING_SECRET": signing_secret,
        "SLACK_API_URL": slack_url + "api/",
        "CAPILLARY_BASE_URL": capillary_url,
        "CAPILLARY_USERNAME": "bench",
        "CAPILLARY_PASSWORD": "bench",
        "COUPONS_LOG_LEVEL": "WARNING",
        **extra,
    }
