"""What an answer leaves behind is freed after the answer has been sent, and only inside lazy work."""

from __future__ import annotations

import weakref
from typing import Any

import pytest

import bot.lookup_answers
from bot.deferred_release import deferred_release, release_after_answer
from bot.domain.coupon import CodeCase
from bot.domain.view_state import Surface, ViewState
from bot.lazy_work import LazyWork
from bot.requester import Requester


class Leftover:
    """Something a lookup leaves behind (weakly referenceable, unlike a tuple)."""


def test_outside_a_scope_nothing_is_kept() -> None:
    leftover = Leftover()
    gone = weakref.ref(leftover)
    release_after_answer(leftover)
    del leftover
    assert gone() is None


def test_inside_a_scope_objects_live_until_it_ends() -> None:
    with deferred_release():
        leftover = Leftover()
        gone = weakref.ref(leftover)
        release_after_answer(leftover)
        del leftover
        assert gone() is not None
    assert gone() is None


def test_lazy_work_frees_what_its_listener_left_after_the_listener_returns() -> None:
    work = LazyWork(threads=2)
    seen: dict[str, Any] = {}

    def listener() -> None:
        leftover = Leftover()
        seen["ref"] = weakref.ref(leftover)
        release_after_answer(leftover)
        del leftover
        seen["alive while answering"] = seen["ref"]() is not None

    work.executor.submit(listener).result(timeout=5)
    assert seen["alive while answering"] is True
    assert seen["ref"]() is None  # freed once the listener returned
    work.executor.shutdown()


def test_a_lookup_hands_its_parsed_coupons_over(make_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    handed: list[object] = []
    monkeypatch.setattr(bot.lookup_answers, "release_after_answer", lambda *objects: handed.extend(objects))
    _, answerer = make_app()
    view = ViewState(565032176, CodeCase.LOWER, surface=Surface.MESSAGE)
    answerer.answer(view, Requester(team_id="T0TEAM01", user_id="U0AGENT1", channel_id="C0SUPPORT"), action="test")
    kinds = {type(o).__name__ for o in handed}
    assert kinds == {"LookupOutcome", "CouponSummary"}, kinds
