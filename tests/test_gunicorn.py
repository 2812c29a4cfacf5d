"""The real HTTP stack: the Procfile's `web` command (gunicorn + Bolt's WSGI adapter), run from another directory."""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.conftest import CapillaryStandIn, bot_env, sample_bytes
from tests.support.loopback import Reply
from tests.support.slack import FakeSlack, command_body, signed_headers

ROOT = Path(__file__).resolve().parent.parent
CAPILLARY_DELAY = 5.0


def procfile_command(process: str, port: int) -> list[str]:
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() == process:
            words = shlex.split(command.replace("$PORT", str(port)))
            # The same gunicorn as this interpreter's environment.
            return [str(Path(sys.executable).parent / words[0]), *words[1:]]
    raise AssertionError(f"no {process} process in the Procfile")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_web(env: dict[str, str], tmp_path: Path) -> tuple[subprocess.Popen[bytes], str, Path]:
    port = free_port()
    log = tmp_path / "gunicorn.log"
    process = subprocess.Popen(
        procfile_command("web", port),
        cwd=tmp_path,  # not the source tree
        env={"PATH": os.environ.get("PATH", ""), **env, "PORT": str(port)},
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(log.read_text())
        try:
            httpx.get(base + "/health", timeout=0.5)
            return process, base, log
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("gunicorn did not start: " + log.read_text())


@pytest.fixture
def web(slack: FakeSlack, capillary: CapillaryStandIn, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    capillary.answers[565032176] = Reply(
        body=sample_bytes("lower"), delay=CAPILLARY_DELAY, headers={"Content-Type": "application/json"}
    )
    env = bot_env(slack, capillary, COUPONS_READ_TIMEOUT_SECONDS="7", COUPONS_UPSTREAM_DEADLINE_SECONDS="9")
    process, base, log = start_web(env, tmp_path)
    yield base, log
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()


# One client for all requests: building one per request costs the test client, not the bot, tens of ms each.
HTTP = httpx.Client(timeout=10, limits=httpx.Limits(max_connections=64, max_keepalive_connections=0))


def post_command(base: str, body: str, headers: dict[str, list[str]] | None = None) -> tuple[int, float, str]:
    flat = {k: v[0] for k, v in (headers or signed_headers(body)).items()}
    started = time.monotonic()
    response = HTTP.post(base + "/slack/events", content=body, headers=flat)
    return response.status_code, time.monotonic() - started, response.text


def test_forty_simultaneous_commands_are_acked_fast_and_all_answered(
    web: tuple[str, Path], slack: FakeSlack, capillary: CapillaryStandIn
) -> None:
    base, _ = web
    bodies = [
        command_body("565032176 lower", user=f"U0AGENT{n:02d}", response_url=slack.response_url(f"load{n}"))
        for n in range(40)
    ]
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=40) as pool:
        results = list(pool.map(lambda body: post_command(base, body), bodies))
    assert all(status == 200 for status, _, _ in results), [r for r in results if r[0] != 200]
    latencies = sorted(seconds for _, seconds, _ in results)
    p95 = latencies[int(len(latencies) * 0.95) - 1]
    print(f"ack latency over 40 simultaneous commands: p50 {latencies[19]:.3f}s, p95 {p95:.3f}s")
    assert p95 < 1.0, latencies
    slack.server.wait_for(40, path_prefix="/response/load", timeout=30)
    answers = [r.json() for r in slack.server.matching("/response/load")]
    assert all("*7* expired" in a["blocks"][1]["text"]["text"] for a in answers)
    assert time.monotonic() - started >= CAPILLARY_DELAY  # they really waited for the slow Capillary
    # Single flight: one upstream call per worker process, however many agents asked at once.
    assert 1 <= len(capillary.coupon_calls()) <= 2


def test_the_http_stack_refuses_what_is_not_slack(
    web: tuple[str, Path], slack: FakeSlack, capillary: CapillaryStandIn
) -> None:
    base, _ = web
    body = command_body("565032176", response_url=slack.response_url("bad"))
    assert post_command(base, body, signed_headers(body, secret="not-the-secret"))[0] == 401
    stale = signed_headers(body, timestamp=int(time.time()) - 600)
    assert post_command(base, body, stale)[0] == 401
    huge = body + "&pad=" + urllib.parse.quote("x" * 300_000)
    assert post_command(base, huge)[0] == 413
    assert httpx.get(base + "/slack/events", timeout=5).status_code == 404
    # Then a request that does get an answer, the whole way: signature, ack, listener, Capillary, response_url.
    # Anything the refused requests had set off would be further along by the time this one is answered.
    capillary.answers[77] = Reply(body=b'{"entity": []}', headers={"Content-Type": "application/json"})
    probe = command_body("77", response_url=slack.response_url("probe"))
    assert post_command(base, probe)[0] == 200
    [answer] = slack.wait_responses(1, name="probe")
    assert answer["blocks"][1]["text"]["text"] == "This customer has no coupons."
    assert slack.responses("bad") == []
    assert [call.path for call in capillary.coupon_calls()] == ["/v2/customers/77/coupons"]


def run_elsewhere(command: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run a command the way an admin would: from another directory, with only the given settings."""
    return subprocess.run(
        command,
        check=False,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": os.environ.get("PATH", ""), **env},
    )


def test_missing_configuration_stops_start_up_with_one_line(tmp_path: Path) -> None:
    port = free_port()
    result = run_elsewhere(
        procfile_command("web", port), tmp_path, SLACK_BOT_TOKEN="xoxb-1", PORT=str(port), COUPONS_DEMO="1"
    )
    assert result.returncode != 0
    assert "coupons-bot: configuration error: SLACK_SIGNING_SECRET is not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_socket_mode_entry_point_reports_missing_configuration(tmp_path: Path) -> None:
    result = run_elsewhere(
        [sys.executable, "-m", "bot", "serve"], tmp_path, SLACK_APP_TOKEN="xapp-1", SLACK_BOT_TOKEN="xoxb-1"
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
