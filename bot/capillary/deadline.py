"""One deadline for a whole lookup: the token request, every attempt, every wait and every body byte."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Deadline:
    at: float
    monotonic: Callable[[], float] = time.monotonic

    @classmethod
    def after(cls, seconds: float, monotonic: Callable[[], float] = time.monotonic) -> Deadline:
        return cls(monotonic() + seconds, monotonic)

    def remaining(self) -> float:
        return self.at - self.monotonic()

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0


# The lookup's deadline, for code that httpx calls on our behalf (the OAuth flow) and cannot be handed it.
_current: ContextVar[Deadline | None] = ContextVar("capillary_deadline", default=None)


def current_deadline() -> Deadline | None:
    return _current.get()


@contextmanager
def within(deadline: Deadline) -> Iterator[Deadline]:
    token = _current.set(deadline)
    try:
        yield deadline
    finally:
        _current.reset(token)
