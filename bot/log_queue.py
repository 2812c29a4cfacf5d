"""Log lines go through a bounded queue to a writer thread: a log call never waits for whoever reads our output.

stderr and stdout are pipes to a log router, a terminal or `| jq`. When that reader stalls, the pipe fills
(64 KiB) and a plain `StreamHandler` blocks every thread that logs — the HTTP front's event loop included, so
acks and /healthz stop. Here a log call formats its line on the caller's thread (the arguments may change
later) and puts it on a bounded queue without waiting; one thread per stream writes the lines.

What cannot be written is dropped and counted, never waited for: lines that find the queue full, and lines the
writer fails to write because the stream is broken or closed (one count, no traceback per line). The count is
written as one line at the gap once writing resumes ("12 log lines dropped while the output was blocked"), and
`dropped_lines()` gives the total since start for a metrics endpoint.
"""

from __future__ import annotations

import logging
import queue
import sys
import threading
import time
from collections.abc import Callable
from logging.handlers import QueueHandler, QueueListener
from typing import TextIO

# Lines held while the output is blocked: about 2–5 MB of typical lines, a minute of a busy bot.
DEFAULT_CAPACITY = 10_000

# The line that says `blocked` lines found the queue full and `failed` ones could not be written.
DropReport = Callable[[int, int], str]


def plain_report(blocked: int, failed: int) -> str:
    parts = []
    if blocked:
        parts.append(f"{blocked} log lines dropped while the output was blocked")
    if failed:
        parts.append(f"{failed} log lines could not be written (the output was broken or closed)")
    return "; ".join(parts)


class BoundedQueueHandler(QueueHandler):
    """Formats a record with its formatter and queues the line; a full queue drops it (counted) at once."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY, *, report: DropReport = plain_report) -> None:
        # None is the writer's sentinel (QueueListener's): the end of the lines.
        self.lines: queue.Queue[logging.LogRecord | None] = queue.Queue(capacity)
        super().__init__(self.lines)
        self.capacity = capacity
        self._report = report
        self._write_through_until: float | None = None
        # Lines lost: the totals since start, and those not yet reported in the output (all under `_lost_lock`).
        self._lost_lock = threading.Lock()
        self._blocked = self._failed = self._unreported_blocked = self._unreported_failed = 0

    @property
    def dropped(self) -> int:
        """Lines that never reached the output since start: queue full, or the stream broken."""
        return self._blocked + self._failed

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        prepared: logging.LogRecord = super().prepare(record)
        prepared.stack_info = None  # already in the formatted line
        return prepared

    def write_through(self, until: float) -> None:
        """The process is about to end (SIGTERM): until `until` (time.monotonic), a log call returns only once its
        line is written, so that the last lines are not lost with the process."""
        self._write_through_until = until

    def emit(self, record: logging.LogRecord) -> None:
        super().emit(record)
        until = self._write_through_until
        if until is not None:
            self.wait_written(until - time.monotonic())

    def wait_written(self, timeout: float) -> bool:
        """Wait until every line queued so far is written (or dropped), at most `timeout` seconds."""
        lines = self.lines
        with lines.all_tasks_done:
            return timeout > 0 and lines.all_tasks_done.wait_for(lambda: lines.unfinished_tasks == 0, timeout)

    def enqueue(self, record: logging.LogRecord) -> None:
        lines = self.lines
        with self._lost_lock:
            if self._unreported_blocked or self._unreported_failed:
                # The report goes first, where the gap is; it needs a slot as well as the line.
                if self.capacity - lines.qsize() < 2:
                    self._blocked += 1
                    self._unreported_blocked += 1
                    return
                lines.put_nowait(self.report_record(*self._take_unreported()))
            try:
                lines.put_nowait(record)
            except queue.Full:
                self._blocked += 1
                self._unreported_blocked += 1

    def report_record(self, blocked: int, failed: int) -> logging.LogRecord:
        record = logging.LogRecord(
            "bot.log_queue", logging.WARNING, __file__, 0, self._report(blocked, failed), None, None
        )
        record.lost_lines = (blocked, failed)  # given back if the report itself can't be written
        return self.prepare(record)

    def pending_report(self) -> logging.LogRecord | None:
        """The report of lines lost since the last one, if any (for the writer, when it has written the rest)."""
        with self._lost_lock:
            blocked, failed = self._take_unreported()
        return self.report_record(blocked, failed) if blocked or failed else None

    def write_failed(self, record: logging.LogRecord) -> None:
        """The writer could not write `record`: count the line lost (a report's own lines go back unreported)."""
        lost: tuple[int, int] | None = getattr(record, "lost_lines", None)
        with self._lost_lock:
            if lost is not None:
                self._unreported_blocked += lost[0]
                self._unreported_failed += lost[1]
            else:
                self._failed += 1
                self._unreported_failed += 1

    def _take_unreported(self) -> tuple[int, int]:
        """The counts to report now (reset: whoever takes them writes the one line). `_lost_lock` held."""
        counts = (self._unreported_blocked, self._unreported_failed)
        self._unreported_blocked = self._unreported_failed = 0
        return counts


class QueuedOutput(QueueListener):
    """A stream that loggers write through `handler` (never waiting) and a thread writes: the lines queued, in
    order, then any report of lost lines."""

    def __init__(
        self,
        stream: TextIO,
        formatter: logging.Formatter,
        *,
        capacity: int = DEFAULT_CAPACITY,
        report: DropReport = plain_report,
    ) -> None:
        self.handler = BoundedQueueHandler(capacity, report=report)
        self.handler.setFormatter(formatter)
        super().__init__(self.handler.lines)
        self.stream = stream
        self._lines = self.handler.lines

    @property
    def dropped(self) -> int:
        return self.handler.dropped

    def dequeue(self, block: bool) -> logging.LogRecord:
        try:
            record = self._lines.get_nowait()
        except queue.Empty:
            # Everything queued is written: say now what was lost, rather than with the next line, maybe hours on.
            self._write_report()
            record = self._lines.get(block)
        if record is None:  # the sentinel: stopping
            self._write_report()
        return record  # type: ignore[return-value]  # None, the sentinel, ends QueueListener's loop

    def handle(self, record: logging.LogRecord) -> None:
        try:
            self.stream.write(record.getMessage() + "\n")
            self.stream.flush()
        except (OSError, ValueError):  # BrokenPipeError, a closed file: the line is lost, quietly and counted
            self.handler.write_failed(record)

    def stop(self, timeout: float | None = None) -> bool:  # type: ignore[override]
        """Write what is queued and end the thread; False if the output stayed blocked for `timeout` seconds."""
        thread = self._thread
        if thread is None:
            return True
        try:
            self._lines.put(None, timeout=timeout)  # the sentinel, after every line queued before it
        except queue.Full:
            return False
        thread.join(timeout)
        if thread.is_alive():
            return False  # a daemon thread: it can't hold the process's exit
        self._thread = None
        return True

    def _write_report(self) -> None:
        report = self.handler.pending_report()
        if report is not None:
            self.handle(report)


class InPlaceHandler(logging.StreamHandler[TextIO]):
    """Writes on the caller's thread: for an in-memory stream (a test's capture), where a write can't block.
    A closed stream loses the line quietly, like the writer thread."""

    def handleError(self, record: logging.LogRecord) -> None:
        # StreamHandler.emit calls this from its `except`: the exception is the one being handled.
        if isinstance(sys.exc_info()[1], OSError | ValueError):
            return
        super().handleError(record)
