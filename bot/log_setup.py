"""Logging: plain lines for the app on stderr, bare JSON lines for the audit log on stdout.

Each stream is written by its own thread from a bounded queue (`bot.log_queue`): no log call, on the event loop
or anywhere, waits for a reader that stalls, and lines that can't be held are dropped and counted
(`dropped_lines()`). The writers are drained at exit, so a short CLI run loses nothing — and on SIGTERM too,
which ends a process without running `atexit` (uvicorn re-raises it once it has shut down gracefully).
"""

from __future__ import annotations

import atexit
import logging
import signal
import sys
import threading
import time
from types import FrameType
from typing import TextIO

from bot.audit_log import audit_drop_report, audit_logger
from bot.log_queue import DEFAULT_CAPACITY, DropReport, InPlaceHandler, QueuedOutput, plain_report

APP_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# At exit (and on reconfiguring), how long the writers get to write what is queued to an output that is slow.
FLUSH_SECONDS = 3.0
# After SIGTERM, how long log calls may wait for their lines in all: the platform's SIGKILL comes ~30 s after
# SIGTERM and the HTTP front's shutdown phases take up to 27 s of it.
SIGTERM_FLUSH_SECONDS = 2.0

_lock = threading.Lock()
_running: list[QueuedOutput] = []
_stopped: list[QueuedOutput] = []  # an earlier configuration's: their counts still count


def configure_logging(level: str = "INFO", *, audit: bool = True, capacity: int = DEFAULT_CAPACITY) -> None:
    stop_logging()  # a second call replaces the first's writers, after they have written what they hold
    # Libraries log at WARNING whatever our level: at DEBUG, Bolt and slack_sdk would log whole payloads,
    # coupon codes included.
    app_handler = _output(sys.stderr, APP_FORMAT, capacity, plain_report)
    logging.basicConfig(level=logging.WARNING, handlers=[app_handler], force=True)
    logging.getLogger("bot").setLevel(level)
    for old in [h for h in audit_logger.handlers if getattr(h, "coupons_audit", False)]:
        audit_logger.removeHandler(old)
    audit_handler = _output(sys.stdout, "%(message)s", capacity, audit_drop_report)
    audit_handler.coupons_audit = True  # type: ignore[attr-defined]
    audit_logger.addHandler(audit_handler)
    # The terminal preview keeps stdout for the message itself.
    audit_logger.setLevel(logging.INFO if audit else logging.WARNING)
    audit_logger.propagate = False
    _flush_on_sigterm()


def dropped_lines() -> int:
    """Log lines (app and audit) that never reached their output since start: for a metrics endpoint."""
    with _lock:
        return sum(output.dropped for output in _running + _stopped)


def stop_logging(timeout: float = FLUSH_SECONDS) -> bool:
    """Write what the writers hold and end their threads; False if an output stayed blocked past `timeout`."""
    with _lock:
        outputs = list(_running)
        _running.clear()
        _stopped.extend(outputs)
    return all([output.stop(timeout) for output in outputs])


def _flush_on_sigterm() -> None:
    """Make a SIGTERM write what is queued before it ends the process.

    Whoever handles SIGTERM already (uvicorn in a worker process, which re-raises the signal once it has shut down)
    keeps doing so; from the signal on, each log call returns once its line is written, for at most
    `SIGTERM_FLUSH_SECONDS` in all. With the default action (uvicorn restores it before re-raising, in a single
    process), the writers are drained, and then the signal ends the process as it would have.
    """
    if threading.current_thread() is not threading.main_thread():
        return  # only the main thread may set signal handlers
    previous = signal.getsignal(signal.SIGTERM)
    if previous is None or previous is signal.SIG_IGN or getattr(previous, "flushes_logs", False):
        return

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        if callable(previous):
            until = time.monotonic() + SIGTERM_FLUSH_SECONDS
            with _lock:
                for output in _running:
                    output.handler.write_through(until)
            previous(signum, frame)
            return
        stop_logging(SIGTERM_FLUSH_SECONDS)
        signal.signal(signum, signal.SIG_DFL)
        signal.raise_signal(signum)

    on_sigterm.flushes_logs = True  # type: ignore[attr-defined]
    signal.signal(signal.SIGTERM, on_sigterm)


def _output(stream: TextIO, fmt: str, capacity: int, report: DropReport) -> logging.Handler:
    formatter = logging.Formatter(fmt)
    if not _has_file_descriptor(stream):
        # Memory (a test's capture, an embedding program's buffer): a write can't block, so it is done in place.
        handler = InPlaceHandler(stream)
        handler.setFormatter(formatter)
        return handler
    output = QueuedOutput(stream, formatter, capacity=capacity, report=report)
    output.start()
    with _lock:
        _running.append(output)
    return output.handler


def _has_file_descriptor(stream: TextIO) -> bool:
    try:
        stream.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both OSError and ValueError
        return False
    return True


atexit.register(stop_logging)
