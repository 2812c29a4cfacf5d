"""The registry of lazy work: on shutdown, work that finishes in the grace answers; everyone else is told."""

from __future__ import annotations

import threading

from bot.delivery import ReplyTo
from bot.lazy_work import LazyWork
from bot.requester import Requester


def waiting(user: str) -> ReplyTo:
    return ReplyTo(Requester(team_id="T1", user_id=user, channel_id="C1"))


def test_drain_tells_work_still_running_and_queued_work_when_the_grace_ends() -> None:
    work = LazyWork(threads=1)
    told: list[str | None] = []
    hang, started = threading.Event(), threading.Event()

    def slow() -> None:
        key = work.enter(waiting("USLOW"))
        assert key is not None
        started.set()
        hang.wait(10)
        work.leave(key)

    closed_when_started = threading.Event()
    work.executor.submit(slow)
    # Queued behind the slow one: no thread will be free within the grace.
    work.executor.submit(lambda: closed_when_started.set() if work.enter(waiting("UQUEUED")) is None else None)
    assert started.wait(5)
    assert work.in_flight == 2
    count = work.drain(0.3, lambda w: told.append(w.requester.user_id), tell_within=2)
    # The slow one is told; the queued one runs at once on a thread of its own and finds the registry closed.
    assert told == ["USLOW"] and count == 2
    assert closed_when_started.wait(2)
    assert work.enter(waiting("ULATE")) is None
    late = work.executor.submit(lambda: "ran")  # accepted after shutdown: still run, never dropped
    assert late.result(2) == "ran"
    hang.set()
    work.executor.shutdown()


def test_work_finishing_within_the_grace_is_not_told() -> None:
    work = LazyWork(threads=2)
    release = threading.Event()

    def quick() -> None:
        key = work.enter(waiting("UQUICK"))
        assert key is not None
        release.wait(10)
        work.leave(key)

    work.executor.submit(quick)
    threading.Timer(0.1, release.set).start()
    told: list[ReplyTo] = []
    assert work.drain(10, told.append, tell_within=1) == 0 and told == []
    work.executor.shutdown()


def test_drain_with_nothing_in_flight_returns_at_once() -> None:
    work = LazyWork(threads=1)
    assert work.drain(30, lambda w: None, tell_within=1) == 0
    work.executor.shutdown()
