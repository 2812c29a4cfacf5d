"""Work that can wait until the answer has gone: writing what a lookup fetched to the shared store.

A 1,000-coupon body takes 5–10 ms to write to Redis, and only other processes need it there; the agent who asked
need not wait for it. Listeners run inside `answering()` (on web's threads, or as a worker's job); `after_answer`
hands work to that scope, which runs it, in order, when the listener returns — after it has answered. Outside
the scope (the terminal preview, a test calling a service directly) the work runs at once. Last, when the
answer grew the process by tens of megabytes (a large customer), the scope hands the freed memory back to the
system (`gc_tuning.return_memory_if_grown`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from bot import gc_tuning

logger = logging.getLogger(__name__)
_pending: ContextVar[list[Callable[[], object]] | None] = ContextVar("after_answer", default=None)


def after_answer(work: Callable[[], object]) -> None:
    """Run `work` once the listener answering now has returned (at once outside `answering`)."""
    pending = _pending.get()
    if pending is None:
        work()
    else:
        pending.append(work)


@contextmanager
def answering() -> Iterator[None]:
    """The scope of one listener: what it hands to `after_answer` runs when the scope ends, whatever happened."""
    pending: list[Callable[[], object]] = []
    resident = gc_tuning.resident_bytes()
    token = _pending.set(pending)
    try:
        yield
    finally:
        _pending.reset(token)
        for work in pending:
            try:
                work()
            except Exception:
                logger.warning("work after an answer failed", exc_info=True)
        del pending[:]  # what the work held (a body written to the store) is freed before memory is returned
        gc_tuning.return_memory_if_grown(resident)
