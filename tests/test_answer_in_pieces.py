"""A large answer is read a run of coupons at a time (pydantic's JSON tree of a whole 34 MB answer is about twice
its size): what is read is exactly what reading it whole gives, whatever the layout, and a cut that would fall in
the wrong place is never made or, if made, never changes what is read."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.capillary import coupons as coupons_module
from bot.capillary.coupons import (
    CouponsPage,
    FocusedCoupon,
    FocusedCouponsPage,
    ListedCoupon,
    ReadPage,
    parse_coupons,
)
from bot.demo.customers import bulk_coupons

NOW = datetime(2026, 12, 6, tzinfo=UTC)
COUPONS = bulk_coupons(400, NOW)


@pytest.fixture(autouse=True)
def small_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(coupons_module, "PIECE_BYTES", 16 * 1024)  # a few hundred coupons make many pieces


def body(coupons: list[Any], dumps: Callable[[Any], str] = json.dumps, **envelope: Any) -> bytes:
    return dumps({"entity": coupons, "warnings": [], "errors": [], "success": True, **envelope}).encode()


def read_whole(content: bytes, *, focused: bool = False) -> ReadPage:
    page = (FocusedCouponsPage if focused else CouponsPage).model_validate_json(content)
    return ReadPage(tuple(page.entity or ()), page.errors, page.success)


def cuts(content: bytes) -> int:
    return max(0, len(coupons_module._coupon_runs(content)) - 1)


def in_pieces(content: bytes, *, focused: bool = False) -> ReadPage:
    """The pieces alone, without the fallback to a whole read: raises if a piece doesn't read."""
    page, coupon = (FocusedCouponsPage, FocusedCoupon) if focused else (CouponsPage, ListedCoupon)
    return coupons_module._in_pieces(content, coupons_module._coupon_runs(content), page, coupon)


def with_redemptions(coupon: dict[str, Any], n: int) -> dict[str, Any]:
    dates = [f"2026-11-{day:02d}T10:00:00Z" for day in range(1, 3)]
    return {**coupon, "redemptionInfo": [{"id": n + i, "date": date} for i, date in enumerate(dates)]}


@pytest.mark.parametrize(
    "content",
    [
        body(COUPONS, lambda o: json.dumps(o, separators=(",", ":"))),
        body(COUPONS),
        body(COUPONS, lambda o: json.dumps(o, indent=4)),
        # Lists of objects that start with "id" inside each coupon: the same shape as a cut between coupons.
        body([with_redemptions(c, 10 * n) for n, c in enumerate(COUPONS)]),
        # A list of such objects after the coupons' own list.
        body(COUPONS, warnings=[{"id": 1}, {"id": 2}]),
    ],
    ids=["compact", "spaced", "indented", "redemptions", "a list after"],
)
def test_read_in_pieces_is_read_as_whole(content: bytes) -> None:
    assert cuts(content) > 10
    assert in_pieces(content) == parse_coupons(content) == read_whole(content)
    assert in_pieces(content, focused=True) == parse_coupons(content, focused=True) == read_whole(content, focused=True)


def test_a_string_that_looks_like_a_cut_is_never_cut() -> None:
    # Brackets in a text throw the count of open lists off: no cut at all, the answer is read whole.
    tricky = [{**c, "description": 'x}, {"id": 5 [ ] ['} for c in COUPONS]
    content = body(tricky)
    assert cuts(content) == 0
    page = parse_coupons(content)
    assert page == read_whole(content) and len(page.entity) == 400


def test_a_cut_in_the_wrong_place_reads_the_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    content = body([with_redemptions(c, 10 * n) for n, c in enumerate(COUPONS)])
    wrong = [m.start() + 1 for m in coupons_module._NEXT_COUPON.finditer(content)][1:40:3]  # some inside coupons
    runs = list(zip([content.index(b"[") + 1, *(at + 2 for at in wrong)], [*wrong, len(content)], strict=True))
    monkeypatch.setattr(coupons_module, "_coupon_runs", lambda _c: runs)
    assert parse_coupons(content) == read_whole(content)


def test_objects_like_coupons_after_a_short_list_of_coupons_are_not_read_as_coupons() -> None:
    warnings = [{"id": n, "message": "x" * 100} for n in range(2000)]
    content = body(COUPONS[:3], warnings=warnings)
    page = parse_coupons(content)
    assert page == read_whole(content) and len(page.entity) == 3


def test_finding_the_cuts_counts_each_byte_once_whatever_the_text_holds() -> None:
    # One `[` in a coupon's text leaves a list open as far as counting brackets can tell: no cut is made after
    # it, and looking for one must not count the same bytes again and again (a 10,000-coupon answer took minutes).
    class Tally(bytes):
        counted = 0

        def count(self, sub: Any, start: Any = None, end: Any = None) -> int:
            Tally.counted += (end if end is not None else len(self)) - (start or 0)
            return super().count(sub, start, end)

    coupons = list(bulk_coupons(2000, NOW))
    coupons[0] = {**coupons[0], "description": "Buy 2 [get 1"}
    content = Tally(body(coupons))
    assert cuts(content) == 0
    assert Tally.counted <= 2 * len(content)
    assert parse_coupons(bytes(content)) == read_whole(bytes(content))


def test_an_unreadable_coupon_in_one_piece_is_skipped_and_counted_as_when_read_whole() -> None:
    coupons = list(COUPONS)
    coupons[250] = {"code": "NO-ID"}
    content = body(coupons)
    assert cuts(content) > 10
    page = parse_coupons(content)
    assert (len(page.entity), page.skipped) == (399, 1)


def test_the_envelope_after_the_coupons_is_read_and_one_with_the_coupons_later_is_read_whole() -> None:
    after = body(COUPONS, success=False)
    assert cuts(after) > 10 and in_pieces(after).success is False and in_pieces(after).errors == []
    before = json.dumps({"success": False, "errors": [], "entity": COUPONS}).encode()
    assert cuts(before) == 0 and parse_coupons(before) == read_whole(before)
