"""Lazy work in flight: who is waiting for an answer, so a restart never leaves anyone with silence.

Every lazy listener (a lookup, a click) enters the registry when it starts and leaves it when it has answered;
work that Bolt has queued but no thread has started yet is counted too. On shutdown, `drain` waits up to a
grace period for both to empty, then tells everyone still waiting that the bot restarted, in parallel and
bounded in time. Work that starts after that (queued, or accepted late) is answered with the same notice at
once instead of being dropped.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, ParamSpec, TypeVar, cast

from bot.after_answer import answering

if TYPE_CHECKING:
    from bot.delivery import ReplyTo

logger = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")


class LazyWork:
    """The registry of lazy work in flight, and the listener thread pool that runs it."""

    def __init__(self, threads: int) -> None:
        self._changed = threading.Condition()
        self._running: dict[int, ReplyTo] = {}
        self._queued: dict[int, Callable[[], object]] = {}
        self._ids = itertools.count()
        self.closed = False  # set by `drain` after its grace: work that starts later tells the person at once
        self.executor = _TrackingExecutor(self, threads)

    @property
    def in_flight(self) -> int:
        with self._changed:
            return len(self._running) + len(self._queued)

    def enter(self, waiting: ReplyTo) -> int | None:
        """Register work that starts now; None once the bot is closing: tell the person at once instead."""
        with self._changed:
            if self.closed:
                return None
            key = next(self._ids)
            self._running[key] = waiting
            return key

    def leave(self, key: int) -> None:
        with self._changed:
            self._running.pop(key, None)
            self._changed.notify_all()

    def drain(self, grace: float, tell: Callable[[ReplyTo], None], *, tell_within: float) -> int:
        """Wait up to `grace` s for the work in flight; then tell everyone still waiting (in at most
        `tell_within` s). Returns how many were told."""
        deadline = time.monotonic() + grace
        with self._changed:
            while self._running or self._queued:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._changed.wait(remaining)
            self.closed = True
            waiting = list(self._running.values())
            self._running.clear()
            queued = list(self._queued.values())
            self._queued.clear()
        if not waiting and not queued:
            return 0
        logger.warning(
            "shutting down after %.0f s with %d lookups in flight and %d not started: telling them to ask again",
            grace,
            len(waiting),
            len(queued),
        )
        # Daemon threads: a person whose notice cannot be delivered in time must not keep the process alive.
        threads = [threading.Thread(target=_quietly, args=(tell, w), daemon=True) for w in waiting]
        # Work not started yet runs now, on its own thread: its listener finds the registry closed and tells.
        threads += [threading.Thread(target=_quietly, args=(run,), daemon=True) for run in queued]
        for thread in threads:
            thread.start()
        until = time.monotonic() + tell_within
        for thread in threads:
            thread.join(max(0.0, until - time.monotonic()))
        late = sum(thread.is_alive() for thread in threads)
        if late:
            logger.warning("%d restart notices were not delivered within %.0f s", late, tell_within)
        return len(threads)

    def _queue(self, run: Callable[[], object]) -> int:
        with self._changed:
            key = next(self._ids)
            self._queued[key] = run
            return key

    def _start(self, key: int) -> Callable[[], object] | None:
        """The queued work, when the pool may run it; None when `drain` has taken it over."""
        with self._changed:
            run = self._queued.pop(key, None)
            self._changed.notify_all()
            return run


def _quietly(function: Callable[..., object], *args: object) -> None:
    try:
        function(*args)
    except Exception:
        logger.warning("a restart notice could not be delivered", exc_info=True)


class _TrackingExecutor(ThreadPoolExecutor):
    """Bolt's listener pool, which tells the registry what is queued. After shutdown it still accepts work and
    runs it on a thread of its own, where the listener answers with the restart notice."""

    def __init__(self, work: LazyWork, threads: int) -> None:
        super().__init__(max_workers=threads, thread_name_prefix="coupons-listener")
        self._work = work

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        def call() -> T:
            with answering():  # what can wait for the answer (writing to the shared store) waits
                return fn(*args, **kwargs)

        work = self._work
        if work.closed:
            future: Future[T] = Future()
            threading.Thread(target=_run_into, args=(call, future), daemon=True).start()
            return future
        key = work._queue(call)

        def start() -> T:
            if work._start(key) is None:  # `drain` took this work over (and runs it on a thread of its own)
                return cast("T", None)
            return call()

        return super().submit(start)


def _run_into(call: Callable[[], T], future: Future[T]) -> None:
    try:
        future.set_result(call())
    except Exception as error:
        logger.warning("lazy work after shutdown failed", exc_info=True)
        future.set_exception(error)
