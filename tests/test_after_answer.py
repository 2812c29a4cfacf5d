"""Writing what a lookup fetched waits until the answer has gone, and only inside a listener's scope."""

from __future__ import annotations

import contextvars
from typing import Any

from bot.after_answer import after_answer, answering
from bot.coupon_service import coupons_key
from bot.domain.coupon import CodeCase
from bot.lazy_work import LazyWork
from bot.store import MemoryStore


def test_outside_a_scope_the_work_runs_at_once() -> None:
    done: list[str] = []
    after_answer(lambda: done.append("written"))
    assert done == ["written"]


def test_inside_a_scope_the_work_runs_in_order_when_it_ends_even_after_an_error() -> None:
    done: list[str] = []
    try:
        with answering():
            after_answer(lambda: done.append("first"))
            after_answer(lambda: 1 / 0)  # logged, and the rest still runs
            after_answer(lambda: done.append("second"))
            assert done == []
            raise RuntimeError("the listener failed")
    except RuntimeError:
        pass
    assert done == ["first", "second"]


def test_lazy_work_writes_after_its_listener_returns() -> None:
    work = LazyWork(threads=2)
    seen: dict[str, Any] = {}

    def listener() -> None:
        after_answer(lambda: seen.setdefault("written", True))
        seen["written while answering"] = "written" in seen

    work.executor.submit(listener).result(timeout=5)
    assert seen == {"written while answering": False, "written": True}
    work.executor.shutdown()


def test_a_lookup_keeps_its_answer_in_the_store_only_after_answering(make_app: Any) -> None:
    _, answerer = make_app()
    store = answerer.service.store
    assert isinstance(store, MemoryStore)
    with answering():
        outcome = answerer.service.lookup(565032176, CodeCase.LOWER)
        assert not outcome.cache_hit and store.get(coupons_key(565032176, CodeCase.LOWER)) is None
    assert store.get(coupons_key(565032176, CodeCase.LOWER)) is not None


def test_work_handed_over_after_the_scope_ended_runs_at_once() -> None:
    """A profile's thread carries its listener's context and may outlive it: its work must not be lost."""
    done: list[str] = []
    with answering():
        context = contextvars.copy_context()
    context.run(after_answer, lambda: done.append("written"))
    assert done == ["written"]
