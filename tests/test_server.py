"""The real HTTP stack: the Procfile's `web` command (uvicorn + bot/web/), started from another directory."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from concurrent import futures
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.conftest import CapillaryStandIn, bot_env, sample_bytes
from tests.support.loopback import Reply
from tests.support.processes import Web, discard_all, procfile_env, procfile_line, start_web, stop
from tests.support.slack import SIGNING_SECRET, FakeSlack, block_actions_payload, command_body, signed_headers

CAPILLARY_DELAY = 1.5  # longer than any ack may take: an ack that waited for Capillary fails its test
REQUEST_TIMEOUT = 2.0


@pytest.fixture
def web(slack: FakeSlack, capillary: CapillaryStandIn, tmp_path: Path) -> Iterator[Web]:
    capillary.answers[565032176] = Reply(
        body=sample_bytes("lower"), delay=CAPILLARY_DELAY, headers={"Content-Type": "application/json"}
    )
    env = bot_env(
        slack,
        capillary,
        COUPONS_READ_TIMEOUT_SECONDS="7",
        COUPONS_UPSTREAM_DEADLINE_SECONDS="9",
        COUPONS_HTTP_REQUEST_TIMEOUT_SECONDS=str(REQUEST_TIMEOUT),
    )
    server = start_web(env, tmp_path)
    yield server
    discard_all([server.process])


# One client for all requests: building one per request costs the test client, not the bot, tens of ms each.
HTTP = httpx.Client(timeout=10, limits=httpx.Limits(max_connections=64, max_keepalive_connections=0))


def post(base: str, body: str | bytes, headers: dict[str, list[str]] | None = None) -> tuple[int, float, str]:
    text = body if isinstance(body, str) else body.decode("latin-1")
    flat = {k: v[0] for k, v in (headers if headers is not None else signed_headers(text)).items()}
    started = time.monotonic()
    response = HTTP.post(base + "/slack/events", content=body, headers=flat)
    return response.status_code, time.monotonic() - started, response.text


def test_health_and_routing(web: Web, capillary: CapillaryStandIn, slack: FakeSlack) -> None:
    assert HTTP.get(web.base + "/healthz").status_code == 200
    assert HTTP.post(web.base + "/healthz").status_code == 405
    assert HTTP.get(web.base + "/slack/events").status_code == 405
    missing = HTTP.get(web.base + "/nope")
    assert (missing.status_code, missing.text) == (404, "Not Found")
    assert capillary.coupon_calls() == [] and slack.server.matching("/api/chat") == []


def test_junk_gets_a_short_refusal_and_no_traceback(web: Web, slack: FakeSlack, capillary: CapillaryStandIn) -> None:
    body = command_body("565032176", response_url=slack.response_url("bad"))
    interaction = "payload=" + urllib.parse.quote(
        json.dumps(block_actions_payload({"action_id": "x"}, response_url=slack.response_url("bad")) | {"actions": []})
    )
    now = str(int(time.time()))
    raw = b"\xff\xfe\xfa"
    signature = (
        "v0=" + hmac.new(SIGNING_SECRET.encode(), b"v0:" + now.encode() + b":" + raw, hashlib.sha256).hexdigest()
    )
    cases: list[tuple[int, str | bytes, dict[str, list[str]]]] = [
        (401, "hello world", {}),  # unsigned junk
        (401, body, signed_headers(body, secret="not-the-secret")),
        (401, body, signed_headers(body, timestamp=int(time.time()) - 600)),
        (401, body, {"X-Slack-Request-Timestamp": ["abc"], "X-Slack-Signature": ["v0=" + "0" * 64]}),
        (400, raw, {"X-Slack-Request-Timestamp": [now], "X-Slack-Signature": [signature]}),  # not UTF-8
        (400, interaction, signed_headers(interaction)),  # actions: []
        (400, "payload=not-json", signed_headers("payload=not-json")),
        (400, '{"event": {}}', signed_headers('{"event": {}}', content_type="application/json")),  # no type
    ]
    for expected, junk, headers in cases:
        flat = {k: v[0] for k, v in headers.items()}
        assert HTTP.post(web.base + "/slack/events", content=junk, headers=flat).status_code == expected, junk
    huge = body + "&pad=" + urllib.parse.quote("x" * 300_000)
    assert post(web.base, huge)[0] == 413
    assert HTTP.get(web.base + "/healthz").status_code == 200
    log = web.stderr()
    assert "Traceback" not in log
    assert log.count("rejected request") == len(cases) + 1
    assert all(len(line) < 200 for line in log.splitlines() if "rejected request" in line)
    assert slack.responses("bad") == [] and capillary.coupon_calls() == []


def test_a_signed_command_is_acked_and_answered(web: Web, slack: FakeSlack) -> None:
    status, seconds, _ = post(web.base, command_body("565032176 lower", response_url=slack.response_url("one")))
    assert status == 200 and seconds < 1.0
    [answer] = slack.wait_responses(1, name="one", timeout=CAPILLARY_DELAY + 10)
    assert "*7* expired" in answer["blocks"][1]["text"]["text"]


def test_bolt_lazy_headers_from_outside_are_ignored(web: Web, slack: FakeSlack, capillary: CapillaryStandIn) -> None:
    # Bolt runs the named lazy listener inside dispatch, before answering: here, a slow lookup before the ack.
    body = command_body("565032176 lower", response_url=slack.response_url("lazy"))
    headers = {**signed_headers(body), "X-Slack-Bolt-Lazy-Function-Name": ["answer_command"]}
    status, seconds, _ = post(web.base, body, headers)
    assert status == 200 and seconds < 1.0
    [answer] = slack.wait_responses(1, name="lazy", timeout=CAPILLARY_DELAY + 10)
    assert "*7* expired" in answer["blocks"][1]["text"]["text"]
    assert len(capillary.coupon_calls()) == 1


class Dribblers:
    """`count` connections that send a request head, or a body, one byte at a time and never finish."""

    def __init__(self, port: int, count: int, *, body: bool) -> None:
        self.selector = selectors.DefaultSelector()
        self.sockets: list[socket.socket] = []
        head = b"POST /slack/events HTTP/1.1\r\nHost: bot\r\n"
        if body:
            head += b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n"
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", port))
            sock.sendall(head)
            sock.setblocking(False)
            self.sockets.append(sock)
            self.selector.register(sock, selectors.EVENT_READ)
        self.closed: set[socket.socket] = set()

    def drip(self, wait: float = 0.0) -> None:
        """Send each open connection one more byte; then note those the server answered or closed, waiting up to
        `wait` for one to be."""
        for sock in self.sockets:
            if sock not in self.closed:
                try:
                    sock.send(b"x" if sock.fileno() >= 0 else b"")
                except OSError:
                    self.closed.add(sock)
        for key, _ in self.selector.select(timeout=wait):
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            try:
                data = sock.recv(4096)
            except OSError:
                data = b""
            if not data or b"408" in data:
                self.closed.add(sock)
                self.selector.unregister(sock)

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()
        self.selector.close()


DRIP_SECONDS = 0.05  # a slow client sends a byte this often: the behaviour under test, not a wait


@pytest.mark.parametrize("body", [False, True], ids=["slow-headers", "slow-bodies"])
def test_slow_clients_do_not_stop_acks_and_are_dropped(web: Web, slack: FakeSlack, body: bool) -> None:
    dribblers = Dribblers(web.port, 200, body=body)
    started = time.monotonic()
    try:
        bodies = [
            command_body("565032176 lower", user=f"U0AGENT{n:02d}", response_url=slack.response_url(f"load{n}"))
            for n in range(20)
        ]
        with ThreadPoolExecutor(max_workers=20) as pool:
            pending = [pool.submit(post, web.base, b) for b in bodies]
            while futures.wait(pending, timeout=DRIP_SECONDS).not_done:  # a byte from each slow client meanwhile
                dribblers.drip()
        results = [p.result() for p in pending]
        assert all(status == 200 for status, _, _ in results), results
        latencies = sorted(seconds for _, seconds, _ in results)
        p95 = latencies[int(len(latencies) * 0.95) - 1]
        print(f"ack p95 with 200 slow connections open: {p95:.3f}s")
        assert p95 < 1.0, latencies
        assert len(dribblers.closed) < 200  # they were still open while the acks went through
        # Every slow connection is closed within the request timeout (plus scheduling slack).
        while len(dribblers.closed) < 200 and time.monotonic() - started < REQUEST_TIMEOUT + 5:
            dribblers.drip(wait=DRIP_SECONDS)
        assert len(dribblers.closed) == 200
        assert HTTP.get(web.base + "/healthz").status_code == 200
    finally:
        dribblers.close()
    slack.server.wait_for(20, path_prefix="/response/load", timeout=CAPILLARY_DELAY + 15)
    assert "Traceback" not in web.stderr()


def test_sigterm_finishes_in_flight_requests_and_calls_the_shutdown_hook(web: Web) -> None:
    with socket.create_connection(("127.0.0.1", web.port), timeout=10) as sock:
        # In flight: head received, body incomplete, so the app is waiting for it.
        sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: bot\r\nContent-Length: 20\r\n\r\nxxxxxxxxxx")
        assert HTTP.get(web.base + "/healthz").status_code == 200
        web.process.terminate()
        assert sock.recv(4096).startswith(b"HTTP/1.1 408 ")  # it got its answer, not a reset
    assert web.process.wait(15) in {0, -signal.SIGTERM}  # uvicorn re-raises the signal it handled
    assert "shutting down" in web.stderr()
    with pytest.raises(httpx.TransportError):
        HTTP.get(web.base + "/healthz", timeout=1)


RESTARTED = "The bot restarted before it could answer"


def first_words(payload: dict[str, object]) -> str:
    return json.dumps(payload.get("blocks") or payload.get("text"), ensure_ascii=False)


def test_sigterm_answers_or_tells_everyone_waiting(
    slack: FakeSlack, capillary: CapillaryStandIn, tmp_path: Path
) -> None:
    fast = [565032201 + n for n in range(4)]
    slow = [565032301 + n for n in range(6)]
    for customer in fast:
        capillary.answers[customer] = Reply(body=sample_bytes("lower"), delay=0.3)
    for customer in slow:  # answers long after the grace: only the restart notice can reach these people
        capillary.answers[customer] = Reply(body=sample_bytes("lower"), delay=60)
    env = bot_env(
        slack,
        capillary,
        COUPONS_LISTENER_THREADS="4",  # so some lookups are still queued, not started, at SIGTERM
        COUPONS_READ_TIMEOUT_SECONDS="20",
        COUPONS_UPSTREAM_DEADLINE_SECONDS="25",
        COUPONS_SHUTDOWN_GRACE_SECONDS="1",
    )
    web = start_web(env, tmp_path)
    try:
        names = {customer: f"term{customer}" for customer in fast + slow}
        for customer in slow[:4] + fast + slow[4:]:
            assert (
                post(web.base, command_body(str(customer), response_url=slack.response_url(names[customer])))[0] == 200
            )
        capillary.server.wait_for(4, path_prefix="/v2/customers/")  # every listener thread is busy
        web.process.terminate()
        late = command_body(str(fast[0]), response_url=slack.response_url("late"))
        try:
            late_status: int | None = post(web.base, late)[0]
        except httpx.TransportError:
            late_status = None  # refused: the server had stopped accepting
        assert web.process.wait(20) in {0, -signal.SIGTERM}
    finally:
        if web.process.poll() is None:
            web.process.kill()
            web.process.wait(5)
    for customer, name in names.items():
        replies = slack.responses(name)
        assert replies, f"customer {customer}: acked, then silence"
        words = first_words(replies[0])
        if customer in slow:
            assert RESTARTED in words
        else:
            assert RESTARTED in words or "Coupons · customer" in words
    if late_status is not None:
        assert late_status == 200
        assert slack.responses("late"), "a request accepted during shutdown got no answer"
    assert "people told to ask again" in web.stderr() and "Traceback" not in web.stderr()


def run_elsewhere(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the Procfile's web line the way an admin would: from another directory, with only these settings."""
    return subprocess.run(
        ["sh", "-c", "exec " + procfile_line("web")],
        check=False,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        env=procfile_env(**env),
    )


def test_missing_configuration_stops_start_up_with_one_line(tmp_path: Path) -> None:
    result = run_elsewhere(tmp_path, SLACK_BOT_TOKEN="xoxb-1", COUPONS_DEMO="1")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["coupons-bot: configuration error: SLACK_SIGNING_SECRET is not set"]
    result = run_elsewhere(tmp_path, WEB_CONCURRENCY="many")
    assert result.stderr.strip().splitlines() == [
        "coupons-bot: configuration error: WEB_CONCURRENCY: Input should be a valid integer, unable to parse string "
        "as an integer"
    ]


def web_processes(supervisor: subprocess.Popen[bytes]) -> set[int]:
    """The processes serving requests (multiprocessing's resource tracker is a child too)."""
    children = subprocess.run(["pgrep", "-P", str(supervisor.pid)], capture_output=True, text=True, check=False)
    pids = {int(pid) for pid in children.stdout.split()}
    return {pid for pid in pids if b"spawn_main" in command_line(pid)}


def command_line(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:  # it has just ended
        return b""


def test_several_processes_from_web_concurrency_check_and_warn_once(
    slack: FakeSlack, capillary: CapillaryStandIn, tmp_path: Path
) -> None:
    server = start_web(bot_env(slack, capillary, WEB_CONCURRENCY="2"), tmp_path)
    try:
        status, _, _ = post(server.base, command_body("565032176", response_url=slack.response_url("two")))
        assert status == 200
        slack.wait_responses(1, name="two", timeout=10)
        first = web_processes(server.process)  # the exec'd shell is the supervisor: these are its processes
        assert len(first) == 2
        for pid in first:
            server.wait_for_line(f"web process {pid} ready")
        # uvicorn starts a process again when one dies: the new one asks Slack nothing either, nor warns again.
        os.kill(min(first), signal.SIGKILL)
        deadline = time.monotonic() + 20
        while not (again := web_processes(server.process) - first):
            assert time.monotonic() < deadline, server.stderr()
            time.sleep(0.05)
        server.wait_for_line(f"web process {again.pop()} ready")
        assert HTTP.get(server.base + "/healthz").status_code == 200
    finally:
        stop(server.process)
    assert len(slack.api_calls("auth.test")) == 1  # for the whole server, not once per process
    log = server.stderr()
    for warning in ("WEB_CONCURRENCY=2 without REDIS_URL", "No COUPONS_ALLOWED_* setting"):
        assert log.count(warning) == 1, log
    assert "Traceback" not in log


def test_several_processes_start_only_with_a_token_slack_accepts(
    slack: FakeSlack, capillary: CapillaryStandIn, tmp_path: Path
) -> None:
    slack.queued["auth.test"] = [Reply(body={"ok": False, "error": "invalid_auth"})]
    result = run_elsewhere(tmp_path, **bot_env(slack, capillary, WEB_CONCURRENCY="2"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "coupons-bot: Slack refused SLACK_BOT_TOKEN (invalid_auth); copy the Bot User OAuth Token again"
    ]
    assert len(slack.api_calls("auth.test")) == 1


def test_socket_mode_entry_point_reports_missing_configuration(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "serve"],
        check=False,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": os.environ.get("PATH", ""), "SLACK_APP_TOKEN": "xapp-1", "SLACK_BOT_TOKEN": "xoxb-1"},
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "coupons-bot: configuration error: CAPILLARY_BASE_URL (or CAPILLARY_CLUSTER) is not set; "
        "set COUPONS_DEMO=1 to use demo data"
    ]


def test_socket_mode_connects_with_the_app_token(slack: FakeSlack, capillary: CapillaryStandIn, tmp_path: Path) -> None:
    env = bot_env(slack, capillary, SLACK_APP_TOKEN="xapp-1-test-app-token")
    process = subprocess.Popen(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,
        env={"PATH": os.environ.get("PATH", ""), **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        [call] = slack.server.wait_for(1, path_prefix="/api/apps.connections.open", timeout=20)[:1]
        assert call.headers["authorization"] == "Bearer xapp-1-test-app-token"
    finally:
        process.kill()
        process.wait(10)


def test_past_its_connections_web_answers_a_quick_503(
    slack: FakeSlack, capillary: CapillaryStandIn, tmp_path: Path
) -> None:
    web = start_web(bot_env(slack, capillary, COUPONS_MAX_CONNECTIONS="3"), tmp_path)
    idle: list[socket.socket] = []
    try:
        for _ in range(3):
            idle.append(socket.create_connection(("127.0.0.1", web.port), timeout=10))
            if len(idle) < 3:  # answered, so web holds it (kept alive, idle now); the third is only opened
                assert healthz_on(idle[-1]) == 200
        assert HTTP.get(web.base + "/healthz").status_code == 503  # the next one: refused quickly, not left to hang
        for sock in idle[:2]:
            healthz_on(sock, close=True)
        assert HTTP.get(web.base + "/healthz").status_code == 200  # room again
    finally:
        for sock in idle:
            sock.close()
        discard_all([web.process])


def healthz_on(sock: socket.socket, *, close: bool = False) -> int:
    """GET /healthz on an open connection: its status. With `close`, also wait until web has closed that
    connection, which it does once it no longer counts it."""
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: bot\r\n" + (b"Connection: close\r\n" if close else b"") + b"\r\n")
    response = http.client.HTTPResponse(sock)
    response.begin()
    response.read()
    if close:
        assert sock.recv(1) == b""
    return response.status
