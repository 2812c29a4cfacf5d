"""Logging never blocks serving: lines go through a bounded queue to a writer thread; what can't be held is
dropped, counted and reported once writing resumes; a broken output costs no traceback; exit writes the rest."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, MutableMapping
from pathlib import Path
from typing import Any

import pytest

from bot.audit_log import audit_logger, write_audit
from bot.log_queue import BoundedQueueHandler, QueuedOutput
from bot.log_rate import RateLimitedLog
from bot.log_setup import configure_logging, dropped_lines, stop_logging
from bot.requester import Requester

ROOT = Path(__file__).resolve().parent.parent
# Only a safety net for a broken build: every wait below ends on a signal long before.
SIGNAL_TIMEOUT = 10.0


class BlockingStream(io.StringIO):
    """A stream whose writes wait until `release` is set, as a pipe nobody reads does."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()  # a write has started (and waits)
        self.release = threading.Event()
        self.lines: list[str] = []
        self._changed = threading.Condition()

    def write(self, text: str) -> int:
        self.entered.set()
        assert self.release.wait(SIGNAL_TIMEOUT), "the test never released the stream"
        with self._changed:
            self.lines.extend(text.splitlines())
            self._changed.notify_all()
        return len(text)

    def wait_for(self, predicate: Callable[[list[str]], bool]) -> list[str]:
        with self._changed:
            assert self._changed.wait_for(lambda: predicate(self.lines), SIGNAL_TIMEOUT), self.lines
            return list(self.lines)


def returns_promptly(work: Callable[[], None]) -> None:
    """Run `work` on a thread and fail (rather than hang) if it is still blocked after the safety timeout."""
    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    thread.join(SIGNAL_TIMEOUT)
    assert not thread.is_alive(), "a log call blocked on its output"


@pytest.fixture
def isolated_logger() -> Iterator[logging.Logger]:
    logger = logging.getLogger("tests.log_queue")
    logger.propagate, logger.level = False, logging.INFO
    yield logger
    logger.handlers.clear()


def test_a_blocked_output_never_blocks_a_caller_and_the_drops_are_reported_where_the_gap_is(
    isolated_logger: logging.Logger,
) -> None:
    stream = BlockingStream()
    output = QueuedOutput(stream, logging.Formatter("%(message)s"), capacity=5)
    isolated_logger.addHandler(output.handler)
    output.start()
    isolated_logger.info("line 0")
    assert stream.entered.wait(SIGNAL_TIMEOUT)  # the writer holds line 0 and waits: the output is blocked

    def more() -> None:
        for n in range(1, 13):
            isolated_logger.info("line %d", n)

    returns_promptly(more)
    assert output.dropped == 7  # 1–5 fill the queue; 6–12 find it full

    stream.release.set()
    expected = [f"line {n}" for n in range(6)] + ["7 log lines dropped while the output was blocked"]
    # Reported as soon as the writer has written what it held, without waiting for another line.
    assert stream.wait_for(lambda lines: len(lines) == len(expected)) == expected
    isolated_logger.info("after")
    assert output.stop(SIGNAL_TIMEOUT)
    assert stream.lines == [*expected, "after"]
    assert output.dropped == 7


def test_a_report_waits_for_room_and_goes_before_the_next_line(isolated_logger: logging.Logger) -> None:
    stream = BlockingStream()
    output = QueuedOutput(stream, logging.Formatter("%(levelname)s %(message)s"), capacity=3)
    isolated_logger.addHandler(output.handler)
    output.start()
    isolated_logger.info("held")
    assert stream.entered.wait(SIGNAL_TIMEOUT)
    for n in range(6):
        isolated_logger.info("queued %d", n)  # 0–2 queued, 3–5 dropped
    stream.release.set()
    stream.wait_for(lambda lines: "queued 2" in " ".join(lines))
    isolated_logger.info("next")
    assert output.stop(SIGNAL_TIMEOUT)
    assert stream.lines == [
        "INFO held",
        "INFO queued 0",
        "INFO queued 1",
        "INFO queued 2",
        "WARNING 3 log lines dropped while the output was blocked",
        "INFO next",
    ]


# --- configure_logging on real pipes ------------------------------------------------------------------------


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level, list(audit_logger.handlers), audit_logger.level, audit_logger.propagate)
    bot_level = logging.getLogger("bot").level
    yield
    stop_logging(SIGNAL_TIMEOUT)
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    audit_logger.handlers[:] = saved[2]
    audit_logger.setLevel(saved[3])
    audit_logger.propagate = saved[4]
    logging.getLogger("bot").setLevel(bot_level)


class Pipe:
    """An os.pipe whose write end is a text stream (line-buffered, as stdout is on a terminal)."""

    def __init__(self) -> None:
        read_fd, write_fd = os.pipe()
        self.reader = os.fdopen(read_fd, "rb", buffering=0)
        self.writer = os.fdopen(write_fd, "w", buffering=1, encoding="utf-8")
        self.data = bytearray()
        self._changed = threading.Condition()
        self._drain: threading.Thread | None = None

    def start_reading(self) -> None:
        def drain() -> None:
            while chunk := self.reader.read(65536):
                with self._changed:
                    self.data += chunk
                    self._changed.notify_all()

        self._drain = threading.Thread(target=drain, daemon=True)
        self._drain.start()

    def wait_for(self, text: str) -> list[str]:
        return self.wait_until(lambda _lines: text.encode() in self.data, text)

    def wait_until(self, predicate: Callable[[list[str]], bool], what: str) -> list[str]:
        with self._changed:
            assert self._changed.wait_for(lambda: predicate(self.data.decode().splitlines()), SIGNAL_TIMEOUT), what
            return self.data.decode().splitlines()

    def close(self) -> None:
        with contextlib.suppress(OSError):  # BrokenPipeError when the reader went first
            self.writer.close()
        if self._drain is not None:
            self._drain.join(SIGNAL_TIMEOUT)  # it reads to the end of the data, then stops
        self.reader.close()


@pytest.fixture
def pipes() -> Iterator[tuple[Pipe, Pipe]]:
    made = (Pipe(), Pipe())
    yield made
    stop_logging(SIGNAL_TIMEOUT)  # the writers first: they write to the pipes
    for pipe in made:
        pipe.close()


REQUESTER = Requester(team_id="T1", user_id="U1", channel_id="C1")


def audit(n: int) -> None:
    write_audit(REQUESTER, action="lookup", outcome="ok", customer_id=n)


def app_reported(lines: list[str]) -> int:
    """The app log's reports of dropped lines, added up."""
    marker = "bot.log_queue: "
    return sum(int(line.split(marker)[1].split()[0]) for line in lines if marker in line)


def audit_reported(lines: list[str]) -> int:
    return sum(json.loads(line)["dropped"] for line in lines if "audit_lines_dropped" in line)


def test_a_stalled_stdout_and_stderr_never_block_the_bot(
    restore_logging: None, pipes: tuple[Pipe, Pipe], monkeypatch: pytest.MonkeyPatch
) -> None:
    err, out = pipes
    monkeypatch.setattr(sys, "stderr", err.writer)
    monkeypatch.setattr(sys, "stdout", out.writer)
    configure_logging("INFO", capacity=100)
    # Ours, whatever else another test left attached (pytest's capture handler, say).
    app_output = next(h for h in logging.getLogger().handlers if isinstance(h, BoundedQueueHandler))
    audit_output = next(h for h in audit_logger.handlers if getattr(h, "coupons_audit", False))
    assert isinstance(app_output, BoundedQueueHandler) and isinstance(audit_output, BoundedQueueHandler)
    before = dropped_lines()
    app = logging.getLogger("bot.test_log_queue")
    padding = "x" * 200

    def flood() -> None:  # far more than a pipe (64 KiB) and a queue hold
        for n in range(2000):
            app.warning("rejected request %d %s", n, padding)
            audit(n)

    returns_promptly(flood)
    assert app_output.dropped > 0 and audit_output.dropped > 0
    assert dropped_lines() - before == app_output.dropped + audit_output.dropped

    err.start_reading()
    out.start_reading()
    # Every gap is reported, the last as soon as a writer has written what it held (no further line needed).
    err.wait_until(lambda lines: app_reported(lines) == app_output.dropped, "the app log's reports")
    out_lines = out.wait_until(lambda lines: audit_reported(lines) == audit_output.dropped, "the audit reports")
    report = next(json.loads(line) for line in out_lines if "audit_lines_dropped" in line)
    assert report["message"] == f"{report['dropped']} audit lines dropped while the output was blocked"
    dropped = dropped_lines()
    app.warning("reading again")
    audit(999_999)
    err.wait_for("reading again")
    out.wait_for('"customer_id":999999')
    assert dropped_lines() == dropped


def test_audit_lines_come_out_in_order_and_whole(
    restore_logging: None, pipes: tuple[Pipe, Pipe], monkeypatch: pytest.MonkeyPatch
) -> None:
    err, out = pipes
    monkeypatch.setattr(sys, "stderr", err.writer)
    monkeypatch.setattr(sys, "stdout", out.writer)
    err.start_reading()
    out.start_reading()
    configure_logging("INFO")
    before = dropped_lines()
    for n in range(3000):
        audit(n)
    assert stop_logging(SIGNAL_TIMEOUT)
    lines = out.wait_for('"customer_id":2999')
    assert [json.loads(line)["customer_id"] for line in lines] == list(range(3000))
    assert dropped_lines() == before


def test_a_broken_pipe_loses_lines_quietly_and_counts_them(
    restore_logging: None, pipes: tuple[Pipe, Pipe], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, out = pipes
    out.reader.close()  # the reader went away: every write is a BrokenPipeError
    errors = io.StringIO()  # in memory: written in place, so it shows any traceback at once
    monkeypatch.setattr(sys, "stderr", errors)
    monkeypatch.setattr(sys, "stdout", out.writer)
    configure_logging("INFO")
    before = dropped_lines()
    for n in range(50):
        audit(n)
    assert stop_logging(SIGNAL_TIMEOUT)
    assert dropped_lines() - before == 50  # each line once; the failed report is not counted again
    assert "Traceback" not in errors.getvalue() and "BrokenPipe" not in errors.getvalue()


def test_lines_still_queued_at_exit_are_written(tmp_path: Path) -> None:
    script = (
        "import logging\n"
        "from bot.audit_log import write_audit\n"
        "from bot.log_setup import configure_logging\n"
        "from bot.requester import Requester\n"
        "configure_logging('INFO')\n"
        "for n in range(5000):\n"
        "    logging.getLogger('bot.cli').info('line %d', n)\n"
        "    write_audit(Requester('T', 'U', 'C'), action='lookup', outcome='ok', customer_id=n)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    err_lines = done.stderr.splitlines()
    assert len(err_lines) == 5000 and err_lines[-1].endswith("bot.cli: line 4999")
    assert [json.loads(line)["customer_id"] for line in done.stdout.splitlines()] == list(range(5000))


LOG_THEN_SIGTERM = """
import logging, os, signal
from bot.audit_log import write_audit
from bot.log_setup import configure_logging
from bot.requester import Requester
{before}
configure_logging('INFO')
def log(n):
    logging.getLogger('bot.cli').info('line %d', n)
    write_audit(Requester('T', 'U', 'C'), action='lookup', outcome='ok', customer_id=n)
for n in range(5000):
    log(n)
{after}
for n in range(5000, 5100):
    log(n)
{end}
raise SystemExit('not reached: SIGTERM ends the process')
"""


@pytest.mark.parametrize(
    ("before", "after", "end"),
    [
        # The default action (a single uvicorn process restores it, then re-raises the signal it handled).
        ("", "", "os.kill(os.getpid(), signal.SIGTERM)"),
        # A graceful handler already there (uvicorn in a worker process): it is still called, and the lines
        # queued before the signal and those logged after it (as a graceful shutdown does) are written before the
        # process ends.
        (
            "handled = []\nsignal.signal(signal.SIGTERM, lambda signum, frame: handled.append(signum))",
            "os.kill(os.getpid(), signal.SIGTERM)\nassert handled == [signal.SIGTERM]",
            "signal.signal(signal.SIGTERM, signal.SIG_DFL)\nsignal.raise_signal(signal.SIGTERM)",
        ),
    ],
    ids=["default-action", "graceful-handler"],
)
def test_lines_queued_when_sigterm_ends_the_process_are_written(before: str, after: str, end: str) -> None:
    script = LOG_THEN_SIGTERM.format(before=before, after=after, end=end)
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == -15, done.stderr[-2000:]
    assert len(done.stderr.splitlines()) == 5100
    assert [json.loads(line)["customer_id"] for line in done.stdout.splitlines()] == list(range(5100))


# --- junk-request warnings ------------------------------------------------------------------------------------


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_a_flood_of_rejections_is_a_few_lines_and_a_count(isolated_logger: logging.Logger) -> None:
    lines = Lines()
    isolated_logger.addHandler(lines)
    now = [0.0]
    log = RateLimitedLog(isolated_logger, interval_seconds=60, lines_per_interval=3, monotonic=lambda: now[0])
    for n in range(600):
        log.warning("rejected request from %s: %d %s", f"10.0.0.{n % 7}", 401, "no Slack signature")
    assert len(lines.lines) == 3 and log.suppressed == 597
    now[0] = 61.0
    log.warning("rejected request from %s: %d %s", "10.0.0.9", 400, "body is not UTF-8")
    assert lines.lines[-1] == "rejected request from 10.0.0.9: 400 body is not UTF-8 (597 more not logged before this)"
    log.warning("rejected request from %s: %d %s", "10.0.0.9", 400, "body is not UTF-8")
    assert lines.lines[-1] == "rejected request from 10.0.0.9: 400 body is not UTF-8"


def test_the_http_front_rate_limits_its_rejection_warnings(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    import bot.web.front
    from bot.web.front import SlackFront

    monkeypatch.setattr(bot.web.front, "_rejections", RateLimitedLog(bot.web.front.logger))  # a fresh minute
    front = SlackFront(app=None, signing_secret="secret")  # type: ignore[arg-type]  # junk never reaches the app

    async def junk(n: int) -> None:
        scope: dict[str, Any] = {
            "type": "http",
            "path": "/slack/events",
            "method": "POST",
            "headers": [(b"content-length", b"5")],
            "client": (f"10.0.0.{n % 200}", 1234),
        }
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"hello", "more_body": False}

        async def send(message: MutableMapping[str, Any]) -> None:
            sent.append(dict(message))

        await front(scope, receive, send)
        assert sent[0]["status"] == 401

    async def flood() -> None:
        for n in range(600):
            await junk(n)

    with caplog.at_level(logging.WARNING, logger="bot.web.front"):
        asyncio.run(flood())
    rejected = [r for r in caplog.records if "rejected request" in r.getMessage()]
    assert len(rejected) == 20  # of 600, in the same minute
