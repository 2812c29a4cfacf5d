from __future__ import annotations

import pytest

from bot.domain.coupon import CodeCase
from bot.domain.coupon_state import CouponState
from bot.domain.errors import InvalidViewState
from bot.domain.view_state import MAX_EXPANDED, Surface, ViewState, ViewStateCodec

CODEC = ViewStateCodec("secret")


def test_round_trip_is_compact() -> None:
    view = ViewState(2**63 - 1, CodeCase.AS_IT_IS, (5, 10, 0, 395), (68579, 68377), Surface.MESSAGE)
    value = CODEC.encode(view)
    assert len(value) < 100
    assert CODEC.decode(value) == view


def test_toggle_and_offsets() -> None:
    view = ViewState(1)
    for series in range(1, MAX_EXPANDED + 2):
        view = view.toggled(series)
    assert view.expanded == tuple(range(2, MAX_EXPANDED + 2))  # the oldest gave way
    assert view.toggled(3).expanded == (2, 4)
    assert view.with_offset(CouponState.REDEEMED, 15).offset(CouponState.REDEEMED) == 15
    assert view.with_offset(CouponState.ACTIVE, -5).offset(CouponState.ACTIVE) == 0


def tamper(value: str, index: int, char: str) -> str:
    return value[:index] + char + value[index + 1 :]


@pytest.mark.parametrize(
    "value",
    [
        None,
        42,
        "",
        "garbage",
        "x" * 3000,
        "2.565032176.l.0-0-0-0..e.0000000000000000",  # another version
        "1.0.l.0-0-0-0..e.0000000000000000",
        "1.565032176.z.0-0-0-0..e.0000000000000000",
        "1.565032176.l.0-0-0..e.0000000000000000",
        "1.99999999999999999999.l.0-0-0-0..e.0000000000000000",
    ],
)
def test_malformed_values_are_refused(value: object) -> None:
    with pytest.raises(InvalidViewState):
        CODEC.decode(value)


def test_a_tampered_or_foreign_value_is_refused() -> None:
    value = CODEC.encode(ViewState(565032176, CodeCase.LOWER))
    with pytest.raises(InvalidViewState, match="altered"):
        CODEC.decode(value.replace("565032176", "565032177"))
    with pytest.raises(InvalidViewState, match="altered"):
        ViewStateCodec("another secret").decode(value)
    assert CODEC.decode(value) == ViewState(565032176, CodeCase.LOWER)
