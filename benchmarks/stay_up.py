"""Does the Procfile's `web` process stay up under abuse? Runs the rows of issue "Stay up" that concern the server and
Capillary (parts one and two), on 127.0.0.1 only, and prints a table.

    python benchmarks/stay_up.py                 # this checkout's Procfile, with this interpreter's environment
    python benchmarks/stay_up.py --part two      # only part two: stalled logs, memory, descriptors, the budget
    python benchmarks/stay_up.py --root DIR      # another checkout (run it with that checkout's interpreter)

The web process is started as a platform starts it (`sh -c "exec <Procfile line>"`, from another directory) against
loopback stand-ins: a fake Slack Web API that records what is posted to response URLs, and a fake Capillary
with fault modes chosen by customer ID (see `standins.py`). Every wait is capped, so the whole run takes about
three minutes whatever the server does; a capped figure is printed as `>N s`.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import re
import resource
import secrets
import selectors
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from slack_sdk.signature import SignatureVerifier

sys.path.insert(0, str(Path(__file__).resolve().parent))
from standins import (
    BOMB_CUSTOMER,
    BOMB_CUSTOMERS,
    DRIP_CUSTOMERS,
    HUGE_CUSTOMERS,
    NORMAL_CUSTOMERS,
    ONE_BAD_CUSTOMER,
    SLOW_CUSTOMERS,
    FakeCapillary,
    FakeSlack,
    Workers,
    command,
    gzip_bomb,
    procfile_command,
    redis_server,
)

SECRET = "stay-up-signing-secret-0123456789"
HERE = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def signed(body: str, *, secret: str = SECRET) -> dict[str, str]:
    ts = str(int(time.time()))
    return {
        "content-type": "application/x-www-form-urlencoded",
        "x-slack-request-timestamp": ts,
        "x-slack-signature": SignatureVerifier(secret).generate_signature(timestamp=ts, body=body) or "",
    }


def tree_rss_kib(root_pid: int) -> int:
    """Resident memory of a process and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        pid = int(entry.name)
        children.setdefault(int(fields.get("PPid", "0").strip()), []).append(pid)
        rss[pid] = int(fields.get("VmRSS", "0 kB").split()[0])
    total, todo = 0, [root_pid]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total


class Web:
    """The Procfile's web process, with a sampler of its memory."""

    def __init__(
        self, root: Path, env: dict[str, str], workdir: Path, *, stalled_pipes: bool = False, shell: str = ""
    ) -> None:
        """`stalled_pipes`: stdout and stderr are pipes nobody reads (until `drain_pipes`); `shell` runs before the
        Procfile line (`ulimit -Sn 1024;`, say)."""
        line = next(
            cmd.strip()
            for name, _, cmd in (ln.partition(":") for ln in (root / "Procfile").read_text().splitlines())
            if name.strip() == "web"
        )
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = workdir / f"web-{self.port}.log"
        path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
        # Old Procfiles say $PORT; the shell expands it from the environment, as the platform's does.
        self.process = subprocess.Popen(
            ["sh", "-c", shell + "exec " + line],
            cwd=workdir,
            env={"PATH": path, "PYTHONPATH": str(root), "PORT": str(self.port), **env},
            stdout=subprocess.PIPE if stalled_pipes else subprocess.DEVNULL,
            stderr=subprocess.PIPE if stalled_pipes else self.log.open("wb"),
        )
        if stalled_pipes:  # the smallest pipe Linux allows (a page): it fills after a dozen lines, not hundreds
            for pipe in (self.process.stdout, self.process.stderr):
                fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, 4096)  # type: ignore[union-attr]
        self.drained: dict[str, bytearray] = {"stdout": bytearray(), "stderr": bytearray()}
        self.command = line
        self.peak_kib = 0
        self._stop = threading.Event()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit("web process exited:\n" + self.log.read_text())
            try:
                httpx.get(self.base + "/healthz", timeout=0.5)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        while not self._stop.wait(0.1):
            self.peak_kib = max(self.peak_kib, tree_rss_kib(self.process.pid))

    def drain_pipes(self) -> None:
        """Start reading the stalled pipes (into `drained`)."""
        for name in ("stdout", "stderr"):
            pipe = getattr(self.process, name)
            threading.Thread(target=self._drain, args=(pipe, self.drained[name]), daemon=True).start()

    @staticmethod
    def _drain(pipe: Any, into: bytearray) -> None:
        while chunk := pipe.read1(65536):
            into.extend(chunk)

    def rss_mib(self) -> float:
        return tree_rss_kib(self.process.pid) / 1024

    def log_bytes(self) -> int:
        return self.log.stat().st_size

    def stop(self) -> None:
        self._stop.set()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


HTTP = httpx.Client(timeout=10, limits=httpx.Limits(max_connections=300, max_keepalive_connections=0))


def post(base: str, body: str, headers: dict[str, str], timeout: float = 10) -> tuple[int | str, float]:
    started = time.monotonic()
    try:
        status: int | str = HTTP.post(
            base + "/slack/events", content=body, headers=headers, timeout=timeout
        ).status_code
    except httpx.TimeoutException:
        status = "timeout"
    except httpx.TransportError as error:
        status = type(error).__name__
    return status, time.monotonic() - started


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * 0.95) - 1)]


def fmt(seconds: float | None, cap: float) -> str:
    return f">{cap:.0f} s" if seconds is None else f"{seconds:.2f} s"


Row = tuple[str, str, str]


def dribble_row(web: Web, slack: FakeSlack, *, body: bool, count: int, tag: str) -> Row:
    """`count` connections send a request head (or a body) at 1 byte/s while 12 signed lookups are sent."""
    head = b"POST /slack/events HTTP/1.1\r\nHost: bot\r\n"
    if body:
        head += b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 4000\r\n\r\n"
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", web.port))
        sock.sendall(head)
        sock.setblocking(False)
        sockets.append(sock)
    closed: set[int] = set()
    stop = threading.Event()

    def drip() -> None:
        while not stop.wait(1.0):
            for n, sock in enumerate(sockets):
                if n in closed:
                    continue
                try:
                    data = sock.recv(4096)
                    if not data or b" 408 " in data:
                        closed.add(n)
                        continue
                except BlockingIOError:
                    pass
                except OSError:
                    closed.add(n)
                    continue
                try:
                    sock.send(b"x")
                except OSError:
                    closed.add(n)

    dripper = threading.Thread(target=drip, daemon=True)
    dripper.start()
    started = time.monotonic()
    time.sleep(1.0)
    bodies = [command(f"{NORMAL_CUSTOMERS[0]}", slack.response_url(f"{tag}{n}"), user=f"U0A{n:02d}") for n in range(12)]
    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(lambda b: post(web.base, b, signed(b), timeout=10), bodies))
    acked = [seconds for status, seconds in results if status == 200]
    # How long until the server has dropped the slow connections (capped at 20 s from their start)?
    while len(closed) < count and time.monotonic() - started < 20:
        time.sleep(0.2)
    dropped_after = time.monotonic() - started if len(closed) == count else None
    stop.set()
    dripper.join()
    for sock in sockets:
        sock.close()
    figure = (
        f"{len(acked)}/12 acked within 10 s, ack p95 {fmt(p95(acked), 10) if acked else '—'}; "
        f"{len(closed)}/{count} slow connections dropped, all by {fmt(dropped_after, 20)}"
    )
    what = f"{count} connections sending {'a body' if body else 'headers'} at 1 byte/s"
    return what, "signed /coupons acks meanwhile; slow connections dropped", figure


def junk_row(web: Web, *, signed_payloads: bool = False) -> Row:
    now = str(int(time.time()))
    interaction = "payload=" + urllib.parse.quote('{"type": "block_actions", "actions": [], "user": {"id": "U1"}}')
    no_event = json.dumps({"type": "event_callback", "team_id": "T0TEAM01"})
    cases: list[tuple[str, bytes | str, dict[str, str]]] = [
        ("unsigned 11 bytes", "hello world", {}),
        ("non-UTF-8", b"\xff\xfe\xfa\xfb", {"x-slack-request-timestamp": now, "x-slack-signature": "v0=" + "0" * 64}),
        ("timestamp abc", "token=x", {"x-slack-request-timestamp": "abc", "x-slack-signature": "v0=" + "0" * 64}),
    ]
    if signed_payloads:
        cases = [
            ("signed actions: []", interaction, signed(interaction)),
            ("signed non-JSON payload", "payload=%7Bnot-json", signed("payload=%7Bnot-json")),
            ("signed event_callback without event", no_event, {**signed(no_event), "content-type": "application/json"}),
            ("signed payload without type", "payload=%7B%7D", signed("payload=%7B%7D")),
        ]
    before = web.log_bytes()
    statuses = []
    for _, body, headers in cases:
        try:
            statuses.append(str(HTTP.post(web.base + "/slack/events", content=body, headers=headers).status_code))
        except httpx.TransportError as error:
            statuses.append(type(error).__name__)
    time.sleep(0.5)  # let the log lines land
    added = web.log.read_bytes()[before:]
    per = len(added) / len(cases)
    tracebacks = added.count(b"Traceback")
    figure = f"statuses {'/'.join(statuses)}; {per:.0f} log bytes per request, {tracebacks} tracebacks"
    kind = "signed malformed payloads: " if signed_payloads else "junk: "
    return kind + ", ".join(name for name, _, _ in cases), "HTTP status, log cost", figure


def wait_reply(slack: FakeSlack, name: str, cap: float) -> tuple[float | None, str]:
    started = time.monotonic()
    reply = slack.wait_reply(name, cap)
    return (None if reply is None else time.monotonic() - started), (reply or "")


def lookup_row(web: Web, slack: FakeSlack, customer: int, name: str, cap: float, what: str) -> Row:
    body = command(str(customer), slack.response_url(name))
    base_mib = web.rss_mib()
    web.peak_kib = 0
    status, ack = post(web.base, body, signed(body))
    seconds, reply = wait_reply(slack, name, cap)
    peak = web.peak_kib / 1024
    figure = f"ack {status} in {ack:.2f} s; answer after {fmt(seconds, cap)}: {reply[:60]!r}; "
    figure += f"server RSS {base_mib:.0f} → peak {peak:.0f} MiB"
    return what, "answer time, what the agent is told, memory", figure


def drips_then_normal_row(web: Web, slack: FakeSlack, cap: float) -> Row:
    bodies = [
        command(str(c), slack.response_url(f"drip40-{n}"), user=f"U0D{n:02d}")
        for n, c in enumerate(DRIP_CUSTOMERS[1:41])
    ]
    with ThreadPoolExecutor(40) as pool:
        acks = list(pool.map(lambda b: post(web.base, b, signed(b)), bodies))
    time.sleep(0.5)
    body = command(str(NORMAL_CUSTOMERS[1]), slack.response_url("after-drips"))
    status, ack = post(web.base, body, signed(body))
    seconds, said = wait_reply(slack, "after-drips", cap)
    ok = sum(1 for s, _ in acks if s == 200)
    return (
        "40 lookups whose Capillary drips 1 byte/s, then a normal one",
        "the normal one's answer time, and what it says",
        f"{ok}/40 drips acked; normal ack {status} in {ack:.2f} s, answered after {fmt(seconds, cap)}: {said[:60]!r}",
    )


def replay_row(web: Web, slack: FakeSlack, capillary: FakeCapillary) -> Row:
    customer = NORMAL_CUSTOMERS[2]
    body = command(str(customer), slack.response_url("replay"))
    headers = signed(body)
    statuses = [post(web.base, body, headers)[0] for _ in range(5)]
    time.sleep(3)
    replies = slack.count("replay")
    calls = capillary.calls(customer)
    return (
        "a valid signed /coupons replayed 5 times",
        "acks, replies, Capillary lookups",
        f"statuses {'/'.join(map(str, statuses))}; {replies} replies, {calls} lookups",
    )


def sigterm_row(root: Path, workdir: Path, slack: FakeSlack, capillary: FakeCapillary, count: int) -> Row:
    web = Web(root, env_for(slack, capillary), workdir)
    try:
        bodies = [
            command(str(c), slack.response_url(f"term{n}"), user=f"U0T{n:02d}")
            for n, c in enumerate(SLOW_CUSTOMERS[:count])
        ]
        with ThreadPoolExecutor(40) as pool:
            acks = list(pool.map(lambda b: post(web.base, b, signed(b)), bodies))
        time.sleep(0.5)
        web.process.terminate()
        time.sleep(0.3)
        late = command(str(NORMAL_CUSTOMERS[3]), slack.response_url("late"))
        late_status, _ = post(web.base, late, signed(late), timeout=5)
        try:
            web.process.wait(30)
            exited = "exited"
        except subprocess.TimeoutExpired:
            exited = "still running after 30 s"
        time.sleep(1.0)
        firsts = [slack.wait_reply(f"term{n}", 0) or "" for n in range(count)]
        answered = sum(1 for text in firsts if text.startswith("Coupons") or "Capillary" in text)
        notices = sum(1 for text in firsts if "restarted" in text)
        late_answered = slack.count("late")
    finally:
        web.stop()
    ok = sum(1 for s, _ in acks if s == 200)
    return (
        f"SIGTERM with {count} lookups in flight (Capillary 4 s)",
        "lookups answered; a request during shutdown",
        f"{ok} acked; {answered} answered, {notices} told to ask again, {count - answered - notices} silent; "
        f"process {exited}; during shutdown: {late_status}, "
        f"{late_answered} reply",
    )


def event(user: str, channel: str, text: str) -> str:
    message = {"type": "message", "channel_type": "im", "user": user, "channel": channel, "text": text, "ts": "1.1"}
    return json.dumps(
        {
            "token": "legacy",
            "team_id": "T0TEAM01",
            "api_app_id": "A0APP",
            "type": "event_callback",
            "event": message,
            "event_id": "Ev" + secrets.token_hex(6),
            "event_time": int(time.time()),
            "authorizations": [{"team_id": "T0TEAM01", "user_id": "UBOT0001", "is_bot": True}],
        }
    )


def share_click(root: Path, customer: int, channel: str, response_url: str) -> str:
    sys.path.insert(0, str(root))
    from bot.domain.view_state import ViewState, ViewStateCodec  # noqa: PLC0415 - the checkout under test

    value = ViewStateCodec(SECRET).encode(ViewState(customer))
    payload = {
        "type": "block_actions",
        "user": {"id": "U0AGENT1", "username": "agent", "team_id": "T0TEAM01"},
        "api_app_id": "A0APP",
        "token": "legacy",
        "container": {"type": "message", "channel_id": channel, "is_ephemeral": True, "message_ts": "1.1"},
        "trigger_id": secrets.token_hex(8),
        "team": {"id": "T0TEAM01", "domain": "acme"},
        "channel": {"id": channel, "name": "directmessage"},
        "response_url": response_url,
        "actions": [
            {"action_id": "coupons_share", "block_id": "footer", "type": "button", "value": value, "action_ts": "1.2"}
        ],
    }
    return urllib.parse.urlencode({"payload": json.dumps(payload)})


def usergroup_row(web: Web, slack: FakeSlack) -> Row:
    """20 lookups at once by members of an allowed user group whose member list takes 5 s to arrive."""
    before = slack.api_calls["usergroups.users.list"]
    names = [f"group{n}" for n in range(20)]
    bodies = [
        command(str(NORMAL_CUSTOMERS[5]), slack.response_url(name), user=f"U0G{n:02d}") for n, name in enumerate(names)
    ]
    started = time.monotonic()
    with ThreadPoolExecutor(20) as pool:
        acks = list(pool.map(lambda b: post(web.base, b, signed(b)), bodies))
    for name in names:
        slack.wait_reply(name, max(0.0, started + 30 - time.monotonic()))
    answered = sum(1 for name in names if slack.count(name))
    last = fmt(time.monotonic() - started if answered == 20 else None, 30)
    calls = slack.api_calls["usergroups.users.list"] - before
    ok = [seconds for status, seconds in acks if status == 200]
    return (
        "usergroups.users.list takes 5 s; 20 concurrent lookups by group members",
        "acks, list calls, time to the last answer",
        f"{len(ok)}/20 acked, ack p95 {fmt(p95(ok), 10) if ok else '—'}; {calls} list calls during the burst; "
        f"{answered}/20 answered, all by {last}",
    )


def refused_dm_row(web: Web, slack: FakeSlack) -> Row:
    """A DM from someone not allowed, while chat.postMessage takes 6 s."""
    slack.api_delays["chat.postMessage"] = 6.0
    before = slack.api_calls["chat.postMessage"]
    body = event("U0STRANGER", "D0STRANGER", "565032176")
    status, ack = post(web.base, body, {**signed(body), "content-type": "application/json"})
    deadline = time.monotonic() + 10
    while slack.api_calls["chat.postMessage"] == before and time.monotonic() < deadline:
        time.sleep(0.05)
    refusal = "refusal posted" if slack.api_calls["chat.postMessage"] > before else "no refusal within 10 s"
    slack.api_delays.pop("chat.postMessage")
    return "a refused DM while chat.postMessage takes 6 s", "ack time", f"ack {status} after {ack:.2f} s; {refusal}"


def directmessage_channel_row(web: Web, slack: FakeSlack, capillary: FakeCapillary) -> Row:
    """A /coupons from a channel outside the allowlist that is *named* directmessage."""
    customer = NORMAL_CUSTOMERS[6]
    form = dict(urllib.parse.parse_qsl(command(str(customer), slack.response_url("dmname"))))
    form.update(channel_id="C0ELSEWHERE", channel_name="directmessage")
    body = urllib.parse.urlencode(form)
    ack = HTTP.post(web.base + "/slack/events", content=body, headers=signed(body))
    # A refusal of a command travels in the ack itself; anything else would come to the response_url.
    told = json.loads(ack.text).get("text", "") if ack.text.startswith("{") else ack.text
    slack.wait_reply("dmname", 2)
    return (
        "/coupons from a channel named directmessage, outside COUPONS_ALLOWED_CHANNEL_IDS",
        "what the agent is told, Capillary lookups",
        f"ack {ack.status_code}: {told[:60]!r}; {slack.count('dmname')} later replies; "
        f"{capillary.calls(customer)} lookups",
    )


def share_in_people_dm_row(root: Path, web: Web, slack: FakeSlack, capillary: FakeCapillary) -> Row:
    """Share with channel clicked in a DM between two people (with a channel allowlist)."""
    customer = NORMAL_CUSTOMERS[7]
    body = share_click(root, customer, "D0PEOPLE", slack.response_url("sharedm"))
    status, _ = post(web.base, body, signed(body))
    _, reply = wait_reply(slack, "sharedm", 10)
    with slack.changed:
        kinds = {p.get("response_type", "?") for p in slack.replies.get("sharedm", [])}
    return (
        "Share with channel clicked in a DM between two people (channel allowlist set)",
        "what is posted, and to whom",
        f"ack {status}; {'/'.join(sorted(kinds)) or 'no'} reply: {reply[:60]!r}; {capillary.calls(customer)} lookups",
    )


def one_bad_coupon_row(web: Web, slack: FakeSlack) -> Row:
    body = command(str(ONE_BAD_CUSTOMER), slack.response_url("onebad"))
    status, _ = post(web.base, body, signed(body))
    seconds, reply = wait_reply(slack, "onebad", 10)
    with slack.changed:
        payload = json.dumps((slack.replies.get("onebad") or [{}])[0])
    note = "says 1 coupon couldn't be read" if "1 coupon couldn't be read" in payload else "no note"
    shown = payload.count("code00")  # codes of the first page
    return (
        "Capillary sends 50 coupons, one without an id",
        "what the agent is told",
        f"ack {status}; answer after {fmt(seconds, 10)}: {reply[:40]!r}, {note}, {shown} codes on the first page",
    )


# Issue "Stay up, part two": a stalled log pipe, memory after hostile bodies, descriptors, Capillary's budget.


def lookups(web: Web, slack: FakeSlack, customers: list[int], tag: str, threads: int = 20) -> list[float]:
    """One signed /coupons per customer, `threads` at a time; the ack times of those acked with 200."""
    bodies = [
        command(str(c), slack.response_url(f"{tag}{n}"), user=f"U0{tag[:2].upper()}{n:03d}")
        for n, c in enumerate(customers)
    ]
    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(lambda b: post(web.base, b, signed(b)), bodies))
    return [seconds for status, seconds in results if status == 200]


def replies(slack: FakeSlack, tag: str, count: int, cap: float) -> list[str]:
    """The first reply to each of `count` lookups tagged `tag` ("" for none within `cap` seconds all told)."""
    deadline = time.monotonic() + cap
    return [slack.wait_reply(f"{tag}{n}", max(0.0, deadline - time.monotonic())) or "" for n in range(count)]


def stalled_pipes_row(root: Path, workdir: Path, slack: FakeSlack, capillary: FakeCapillary) -> Row:
    """stdout and stderr are pipes nobody reads: 600 junk requests and 300 lookups, /healthz probed throughout."""
    web = Web(root, env_for(slack, capillary), workdir, stalled_pipes=True)
    probes: list[float] = []
    stop = threading.Event()

    def probe() -> None:
        while not stop.wait(0.1):
            started = time.monotonic()
            try:
                HTTP.get(web.base + "/healthz", timeout=5)
                probes.append(time.monotonic() - started)
            except httpx.TransportError:
                probes.append(5.0)

    prober = threading.Thread(target=probe, daemon=True)
    prober.start()
    try:
        with ThreadPoolExecutor(20) as pool:
            junk = list(pool.map(lambda n: post(web.base, f"junk {n}", {})[1], range(600)))
        acks = lookups(web, slack, [NORMAL_CUSTOMERS[n % 10] for n in range(300)], "pipe")
        stalled = sum(1 for text in replies(slack, "pipe", 300, 20) if text)
        stop.set()
        prober.join()
        web.drain_pipes()
        answered = sum(1 for text in replies(slack, "pipe", 300, 20) if text)
        time.sleep(1.0)  # let the writers report their gaps
        out, err = bytes(web.drained["stdout"]), bytes(web.drained["stderr"])
    finally:
        stop.set()
        web.stop()
    reported = sum(json.loads(line).get("dropped", 0) for line in out.splitlines() if b"audit_lines_dropped" in line)
    written = sum(1 for line in out.splitlines() if b'"event":"coupons.' in line and b"audit_lines_dropped" not in line)
    worst = max([*junk, *acks, *probes])
    return (
        "stdout and stderr never read: 600 junk requests, then 300 lookups",
        "slowest ack or /healthz; lookups answered; audit lines written or counted dropped",
        f"{len(acks)}/300 acked; slowest junk/ack/healthz {worst:.2f} s ({len(probes)} probes); {stalled}/300 answered "
        f"while stalled, {answered}/300 after draining; {written} audit lines written once drained, "
        f"{reported} dropped, "
        f"{err.count(b'lines dropped')} app-log gap reports",
    )


def hostile_bodies_row(root: Path, workdir: Path, slack: FakeSlack, capillary: FakeCapillary) -> Row:
    """24 gzip bombs, 8 at a time, then 5 s idle: does the memory come back?"""
    gzip_bomb()  # made before the clock starts: the stand-in's own work is not the bot's
    web = Web(root, env_for(slack, capillary), workdir)
    try:
        lookups(web, slack, [NORMAL_CUSTOMERS[8]], "warm")
        replies(slack, "warm", 1, 10)
        start = web.rss_mib()
        web.peak_kib = 0
        told = []
        for round_ in range(3):
            tag = f"bomb{round_}-"
            lookups(web, slack, BOMB_CUSTOMERS[round_ * 8 : round_ * 8 + 8], tag, threads=8)
            told += replies(slack, tag, 8, 30)
        peak = web.peak_kib / 1024
        time.sleep(5)
        after = web.rss_mib()
    finally:
        web.stop()
    kinds = sorted({re.sub(r"^(:\w+:|\W)*", "", text).split(":")[0].split(".")[0] for text in told if text})
    return (
        "24 gzip bombs (1 MB inflating to 1 GiB), 8 at a time, then 5 s idle",
        "server RSS start → peak → after; agents told",
        f"{start:.0f} → {peak:.0f} → {after:.0f} MiB ({after - start:+.0f}); {sum(1 for t in told if t)}/24 told "
        f"({'; '.join(kinds)}), {sum(1 for t in told if not t)} silent",
    )


def huge_customers_row(root: Path, workdir: Path, slack: FakeSlack, capillary: FakeCapillary) -> Row:
    """20 different customers of 100,000 coupons each (about 10 MB apiece), all at once."""
    size_mib = len(capillary.huge()) / 2**20
    web = Web(root, env_for(slack, capillary), workdir)
    try:
        start = web.rss_mib()
        web.peak_kib = 0
        acks = lookups(web, slack, HUGE_CUSTOMERS[:20], "huge")
        told = replies(slack, "huge", 20, 90)
        peak = web.peak_kib / 1024
    finally:
        web.stop()
    answered = sum(1 for text in told if text.startswith("Coupons"))
    busy = sum(1 for text in told if "as many Capillary lookups" in text)
    return (
        f"20 customers of 100,000 coupons ({size_mib:.0f} MB each) at once",
        "peak server RSS; answered or told busy",
        f"{len(acks)}/20 acked; RSS {start:.0f} → peak {peak:.0f} MiB; {answered} answered, {busy} told busy, "
        f"{20 - answered - busy} other: {sorted({t[:40] for t in told} - {''})[:2]!r}",
    )


class Reconnector:
    """`count` connections that send half a request head and, whenever the server drops one, connect again."""

    HEAD = b"POST /slack/events HTTP/1.1\r\nHost: bot\r\n"

    def __init__(self, port: int, count: int) -> None:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, count + 1024)), hard))
        self.port, self.selector = port, selectors.DefaultSelector()
        self.reconnects = 0
        self.stop = threading.Event()
        for _ in range(count):
            self._connect()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _connect(self) -> None:
        try:
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            sock.sendall(self.HEAD)
        except OSError:
            return
        sock.setblocking(False)
        self.selector.register(sock, selectors.EVENT_READ)

    def _run(self) -> None:
        while not self.stop.is_set():
            for key, _ in self.selector.select(0.2):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                try:
                    if sock.recv(4096):
                        continue
                except OSError:
                    pass
                self.selector.unregister(sock)
                sock.close()
                self.reconnects += 1
                self._connect()

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        for key in list(self.selector.get_map().values()):
            key.fileobj.close()  # type: ignore[union-attr]


def descriptors_row(root: Path, workdir: Path, slack: FakeSlack, capillary: FakeCapillary) -> Row:
    """Soft open-files limit 1,024 at start; 2,000 connections that reconnect; 20 real lookups over 25 s."""
    web = Web(root, env_for(slack, capillary), workdir, shell="ulimit -Sn 1024; ")
    before = web.log_bytes()
    flood = Reconnector(web.port, 2000)
    try:
        # One lookup every 1.25 s for 25 s: the flood's connections time out (10 s) and come back twice meanwhile.
        started, acks = time.monotonic(), []
        for n in range(20):
            time.sleep(max(0.0, started + n * 1.25 - time.monotonic()))
            body = command(str(NORMAL_CUSTOMERS[n % 10]), slack.response_url(f"fd{n}"), user=f"U0FD{n:03d}")
            status, seconds = post(web.base, body, signed(body))
            acks += [seconds] if status == 200 else []
        answered = sum(1 for text in replies(slack, "fd", 20, 20) if text)
    finally:
        flood.close()
        added = web.log_bytes() - before
        web.stop()
    return (
        "ulimit -Sn 1024; 2,000 connections reconnecting; 20 lookups meanwhile",
        "acks within 3 s; acked lookups answered; log written",
        f"{sum(1 for a in acks if a < 3)}/20 acked within 3 s (slowest {max(acks, default=0):.2f} s); "
        f"{answered}/{len(acks)} answered; {flood.reconnects} reconnects; log +{added / 1024:.0f} KiB",
    )


def budget_row(root: Path, workdir: Path, slack: FakeSlack) -> Row:
    """500 new customers in 5 s, answered by 4 workers sharing CAPILLARY_MAX_REQUESTS_PER_MINUTE=300 via Redis."""
    capillary = FakeCapillary(root)
    try:
        with redis_server() as redis_url:
            env = env_for(slack, capillary, REDIS_URL=redis_url, CAPILLARY_MAX_REQUESTS_PER_MINUTE="300")
            web = Web(root, env, workdir)
            workers = Workers(root, env, 4, lambda _line: None)
            try:
                customers = [940_000_000 + n for n in range(500)]
                bodies = [command(str(c), slack.response_url(f"budget{n}")) for n, c in enumerate(customers)]
                started = time.monotonic()
                acks = []
                for n, body in enumerate(bodies):  # 100 a second
                    time.sleep(max(0.0, started + n / 100 - time.monotonic()))
                    acks.append(post(web.base, body, signed(body))[0])
                told = replies(slack, "budget", 500, 60)
            finally:
                workers.stop()
                web.stop()
    finally:
        capillary.close()
    with capillary.lock:
        times = sorted(capillary.call_times)
    busiest = max((sum(1 for t in times[i:] if t - start < 60) for i, start in enumerate(times)), default=0)
    answered = sum(1 for text in told if text.startswith("Coupons"))
    when = sum(1 for text in told if "try again in about" in text)
    return (
        "500 new customers in 5 s, 4 workers, CAPILLARY_MAX_REQUESTS_PER_MINUTE=300",
        "most Capillary requests in any 60 s; agents answered or told when",
        f"{acks.count(200)}/500 acked; {len(times)} requests, at most {busiest} in a 60 s window; "
        f"{answered} answered, {when} told when to try again, {500 - answered - when} other",
    )


def env_for(slack: FakeSlack, capillary: FakeCapillary, **extra: str) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": "xoxb-stay-up",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack.api_url,
        "CAPILLARY_BASE_URL": capillary.url,
        "CAPILLARY_USERNAME": "store.server",
        "CAPILLARY_PASSWORD": "server123",
        **extra,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=HERE, help="checkout whose Procfile and code to run")
    parser.add_argument("--connections", type=int, default=200, help="slow connections (default 200)")
    parser.add_argument(
        "--part",
        choices=("all", "one", "two"),
        default="all",
        help="the rows of 'Stay up' (one), of 'Stay up, part two' (two: logs, memory, descriptors, budget), or all",
    )
    args = parser.parse_args()
    root = args.root.resolve()
    started = time.monotonic()
    rows: list[Row] = []
    slack, capillary = FakeSlack(), FakeCapillary(root)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        if args.part in ("all", "one"):
            part_one(root, workdir, args, slack, capillary, rows)
        if args.part in ("all", "two"):
            for step in (stalled_pipes_row, hostile_bodies_row, huge_customers_row, descriptors_row):
                rows.append(step(root, workdir, slack, capillary))
                print(f"  {rows[-1][0]}: {rows[-1][2]}", flush=True)
            rows.append(budget_row(root, workdir, slack))
            print(f"  {rows[-1][0]}: {rows[-1][2]}", flush=True)
    capillary.close()
    slack.close()
    print()
    print("| row | measured | figure |")
    print("|---|---|---|")
    for what, measured, figure in rows:
        print(f"| {what} | {measured} | {figure} |")
    print(f"\n{len(rows)} rows in {time.monotonic() - started:.0f} s; Procfile web: {procfile_command('web', root)}")


def part_one(
    root: Path, workdir: Path, args: argparse.Namespace, slack: FakeSlack, capillary: FakeCapillary, rows: list[Row]
) -> None:
    web = Web(root, env_for(slack, capillary), workdir)
    print(f"web: {web.command}  (pid {web.process.pid}, RSS {web.rss_mib():.0f} MiB)", flush=True)
    steps: list[Callable[[], Row]] = [
        lambda: dribble_row(web, slack, body=False, count=args.connections, tag="hdr"),
        lambda: dribble_row(web, slack, body=True, count=args.connections, tag="body"),
        lambda: junk_row(web),
        lambda: junk_row(web, signed_payloads=True),
        lambda: one_bad_coupon_row(web, slack),
        lambda: replay_row(web, slack, capillary),
        lambda: lookup_row(web, slack, BOMB_CUSTOMER, "bomb", 20, "Capillary answers 1 MB of gzip inflating to 1 GiB"),
        lambda: lookup_row(web, slack, DRIP_CUSTOMERS[0], "drip", 20, "Capillary drips its body at 1 byte/s"),
        lambda: drips_then_normal_row(web, slack, 25),
    ]
    try:
        for step in steps:
            rows.append(step())
            print(f"  {rows[-1][0]}: {rows[-1][2]}", flush=True)
    finally:
        capillary.release_drips()
        web.stop()
    oauth = FakeCapillary(root, token_delay=4.0)
    web = Web(
        root,
        env_for(
            slack,
            oauth,
            CAPILLARY_USERNAME="",
            CAPILLARY_PASSWORD="",
            CAPILLARY_OAUTH_CLIENT_KEY="key",
            CAPILLARY_OAUTH_CLIENT_SECRET="secret",
            COUPONS_UPSTREAM_DEADLINE_SECONDS="2",
        ),
        workdir,
    )
    try:
        rows.append(
            lookup_row(web, slack, NORMAL_CUSTOMERS[4], "token", 15, "OAuth token endpoint takes 4 s, deadline 2 s")
        )
        print(f"  {rows[-1][0]}: {rows[-1][2]}", flush=True)
    finally:
        web.stop()
        oauth.close()
    slack.api_delays["usergroups.users.list"] = 5.0
    web = Web(
        root,
        env_for(slack, capillary, COUPONS_ALLOWED_USERGROUP_IDS="S0GROUP", COUPONS_ALLOWED_CHANNEL_IDS="C0SUPPORT"),
        workdir,
    )
    try:
        for step in (
            lambda: usergroup_row(web, slack),
            lambda: refused_dm_row(web, slack),
            lambda: directmessage_channel_row(web, slack, capillary),
            lambda: share_in_people_dm_row(root, web, slack, capillary),
        ):
            rows.append(step())
            print(f"  {rows[-1][0]}: {rows[-1][2]}", flush=True)
    finally:
        slack.api_delays.clear()
        web.stop()
    slow = FakeCapillary(root)
    try:
        rows.append(sigterm_row(root, workdir, slack, slow, 80))
    finally:
        slow.close()
    print(f"  {rows[-1][0]}: {rows[-1][2]}", flush=True)


if __name__ == "__main__":
    main()
