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
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from bot import gc_tuning

logger = logging.getLogger(__name__)


class _Scope:
    """What one listener hands over for after its answer, and the fetch locks it holds until then."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.work: list[Callable[[], object]] = []
        self.closed = False
        self.held: set[str] = set()


_scope: ContextVar[_Scope | None] = ContextVar("after_answer", default=None)


def after_answer(work: Callable[[], object]) -> None:
    """Run `work` once the listener answering now has returned; at once outside `answering`, or after its scope
    ended (a profile's thread that outlived the listener whose context it carries)."""
    scope = _scope.get()
    if scope is not None:
        with scope.lock:
            if not scope.closed:
                scope.work.append(work)
                return
    work()


def holds(name: str) -> bool:
    """Whether the listener answering now already holds the lock `name` (it lets go after its answer)."""
    scope = _scope.get()
    return scope is not None and name in scope.held


def held(name: str, *, now: bool) -> None:
    """Note that the listener answering now holds the lock `name` (`now`), or no longer does."""
    scope = _scope.get()
    if scope is not None:
        with scope.lock:
            (scope.held.add if now else scope.held.discard)(name)


@contextmanager
def answering() -> Iterator[None]:
    """The scope of one listener: what it hands to `after_answer` runs when the scope ends, whatever happened."""
    scope = _Scope()
    resident = gc_tuning.resident_bytes()
    token = _scope.set(scope)
    try:
        yield
    finally:
        _scope.reset(token)
        while True:  # work handed over while earlier work runs (by another thread) runs too
            with scope.lock:
                batch, scope.work = scope.work, []
                scope.closed = not batch
            if not batch:
                break
            for work in batch:
                try:
                    work()
                except Exception:
                    logger.warning("work after an answer failed", exc_info=True)
            del batch  # what the work held (a body written to the store) is freed before memory is returned
        gc_tuning.return_memory_if_grown(resident)
