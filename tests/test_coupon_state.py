from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.domain.coupon import CodeCase
from bot.domain.coupon_state import CouponState, classify, is_used_up, next_change, uses_label
from bot.domain.coupon_summary import CustomerCoupons, summarize
from tests.conftest import make_coupon

IST = timezone(timedelta(hours=5, minutes=30))
NOW = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


def stamp(when: datetime) -> str:
    return when.isoformat()


def coupon(
    *,
    starts: datetime | None = None,
    ends: datetime | None = None,
    redeemed: bool = False,
    left: int | None = 1,
    uses: int = 0,
) -> object:
    return make_coupon(
        activeFrom=stamp(starts or NOW - timedelta(days=10)),
        validTill=stamp(ends or NOW + timedelta(days=10)),
        isRedeemed=redeemed,
        redeemed=redeemed,
        redemptionsLeft=left,
        redemptionInfo=[{"dateISO": stamp(NOW - timedelta(days=n + 1))} for n in range(uses)],
    )


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ({}, CouponState.ACTIVE),
        # activeFrom: upcoming until the very second it starts
        ({"starts": NOW + SECOND}, CouponState.UPCOMING),
        ({"starts": NOW}, CouponState.ACTIVE),
        ({"starts": NOW - SECOND}, CouponState.ACTIVE),
        # validTill: still usable at the last second, expired one second after
        ({"ends": NOW}, CouponState.ACTIVE),
        ({"ends": NOW - SECOND}, CouponState.EXPIRED),
        ({"ends": NOW + SECOND}, CouponState.ACTIVE),
        # the same instants written in another offset
        ({"ends": (NOW - SECOND).astimezone(IST)}, CouponState.EXPIRED),
        ({"ends": NOW.astimezone(IST)}, CouponState.ACTIVE),
        ({"starts": (NOW + SECOND).astimezone(IST)}, CouponState.UPCOMING),
        # redeemed means used up, not "redeemed once"
        ({"redeemed": True, "left": 0, "uses": 1}, CouponState.REDEEMED),
        ({"redeemed": True, "left": None, "uses": 1}, CouponState.REDEEMED),
        ({"redeemed": True, "left": 3, "uses": 2}, CouponState.ACTIVE),
        ({"redeemed": True, "left": -1, "uses": 2}, CouponState.ACTIVE),
        ({"redeemed": False, "left": 0}, CouponState.REDEEMED),
        # a used-up coupon is never expired or upcoming; a multi-use one past its end is expired
        ({"redeemed": True, "left": 0, "uses": 1, "ends": NOW - timedelta(days=1)}, CouponState.REDEEMED),
        ({"redeemed": True, "left": 2, "uses": 1, "ends": NOW - timedelta(days=1)}, CouponState.EXPIRED),
        ({"redeemed": True, "left": 0, "uses": 1, "starts": NOW + timedelta(days=1)}, CouponState.REDEEMED),
        # nonsense windows err towards "not usable"
        ({"starts": NOW + timedelta(days=2), "ends": NOW - timedelta(days=1)}, CouponState.EXPIRED),
    ],
)
def test_state_table(case: dict[str, object], expected: CouponState) -> None:
    assert classify(coupon(**case), NOW) is expected  # type: ignore[arg-type]


def test_a_redeemed_coupon_is_never_usable_whatever_the_clock() -> None:
    used_up = coupon(redeemed=True, left=0, uses=1)
    for days in range(-400, 400, 7):
        assert classify(used_up, NOW + timedelta(days=days)) is CouponState.REDEEMED  # type: ignore[arg-type]


def test_missing_dates_mean_no_window() -> None:
    bare = make_coupon(activeFrom=None, validTill=None, redemptionsLeft=1, isRedeemed=False, redeemed=False)
    assert classify(bare, NOW) is CouponState.ACTIVE
    assert not is_used_up(bare)


@pytest.mark.parametrize(
    ("left", "uses", "label"),
    [
        (3, 2, "used 2×, 3 left"),
        (-1, 2, "used 2×, unlimited"),
        (-1, 0, "unlimited uses"),
        (1, 0, None),  # a single-use coupon, unused: nothing worth saying
        (4, 0, "4 uses left"),
        (None, 0, None),
        (0, 1, "used 1×, 0 left"),
    ],
)
def test_uses_label(left: int | None, uses: int, label: str | None) -> None:
    redeemed = uses > 0
    assert uses_label(coupon(left=left, uses=uses, redeemed=redeemed)) == label  # type: ignore[arg-type]


def test_summary_groups_and_orders() -> None:
    coupons = (
        make_coupon(id=1, validTill=stamp(NOW + timedelta(days=9)), activeFrom=stamp(NOW - timedelta(days=1))),
        make_coupon(id=2, validTill=stamp(NOW + timedelta(days=2)), activeFrom=stamp(NOW - timedelta(days=1))),
        make_coupon(id=3, activeFrom=stamp(NOW + timedelta(days=5)), validTill=stamp(NOW + timedelta(days=50))),
        make_coupon(id=4, activeFrom=stamp(NOW + timedelta(days=1)), validTill=stamp(NOW + timedelta(days=50))),
        make_coupon(id=5, isRedeemed=True, redemptionsLeft=0, redemptionInfo=[{"dateISO": "2026-10-01T00:00:00Z"}]),
        make_coupon(id=6, isRedeemed=True, redemptionsLeft=0, redemptionInfo=[{"dateISO": "2026-11-01T00:00:00Z"}]),
        make_coupon(id=7, validTill="2024-01-01T00:00:00Z"),
        make_coupon(id=8, validTill="2025-01-01T00:00:00Z"),
    )
    summary = summarize(CustomerCoupons(42, CodeCase.LOWER, coupons, NOW), NOW)
    order = {group.state: [c.id for c in group.coupons] for group in summary.groups}
    assert order == {
        CouponState.ACTIVE: [2, 1],  # soonest expiry first
        CouponState.UPCOMING: [4, 3],  # soonest start first
        CouponState.REDEEMED: [6, 5],  # latest redemption first
        CouponState.EXPIRED: [8, 7],  # latest expiry first
    }
    assert summary.total == 8


def test_next_change_is_the_first_moment_the_state_can_differ() -> None:
    upcoming = coupon(starts=NOW + timedelta(days=1), ends=NOW + timedelta(days=5))
    active = coupon(ends=NOW + timedelta(days=5))
    assert next_change(upcoming, NOW) == NOW + timedelta(days=1)  # type: ignore[arg-type]
    assert next_change(active, NOW) == NOW + timedelta(days=5)  # type: ignore[arg-type]
    assert next_change(coupon(ends=NOW), NOW) == NOW  # type: ignore[arg-type]  # expires the instant after
    assert next_change(coupon(redeemed=True, left=0), NOW) is None  # type: ignore[arg-type]
    assert next_change(coupon(ends=NOW - SECOND), NOW) is None  # type: ignore[arg-type]  # expired for good
    for case in (upcoming, active):
        change = next_change(case, NOW)  # type: ignore[arg-type]
        assert change is not None
        assert classify(case, change - SECOND) == classify(case, NOW)  # type: ignore[arg-type]
        assert classify(case, change + SECOND) != classify(case, NOW)  # type: ignore[arg-type]


def test_a_grouping_is_reused_until_a_coupon_changes_state() -> None:
    starts = NOW + timedelta(hours=1)
    kept = CustomerCoupons(42, CodeCase.LOWER, (coupon(starts=starts),), NOW)  # type: ignore[arg-type]
    first = summarize(kept, NOW)
    assert first.group(CouponState.UPCOMING).coupons
    assert summarize(kept, NOW + timedelta(minutes=59)) is first  # nothing changed: not grouped again
    later = summarize(kept, starts)
    assert later is not first and later.group(CouponState.ACTIVE).coupons
    earlier = summarize(kept, NOW - timedelta(minutes=1))  # a clock before the grouping: grouped afresh
    assert earlier is not later and earlier.group(CouponState.UPCOMING).coupons
