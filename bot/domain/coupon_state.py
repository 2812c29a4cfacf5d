"""What a coupon is right now: the one place that decides active / upcoming / redeemed / expired.

Capillary has no lifecycle field (`status` and `couponStatus` describe the API call), so the state is
worked out from `validTill`, `activeFrom`, the redeemed flags and `redemptionsLeft`. The checks run in an
order that can only err towards "not usable": a used-up coupon is never active or upcoming, and a coupon
past its end is never active or upcoming.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum

from bot.domain.coupon import Coupon

Clock = Callable[[], datetime]

UNLIMITED = -1


def system_clock() -> datetime:
    return datetime.now(UTC)


class CouponState(StrEnum):
    ACTIVE = "active"
    UPCOMING = "upcoming"
    REDEEMED = "redeemed"
    EXPIRED = "expired"


# The order groups appear in, in the counts line and in the message.
STATE_ORDER = (CouponState.ACTIVE, CouponState.UPCOMING, CouponState.REDEEMED, CouponState.EXPIRED)


def is_used_up(coupon: Coupon) -> bool:
    """No use left: `redemptionsLeft` is 0, or the coupon was redeemed and Capillary gives no count."""
    if coupon.redemptions_left == 0:
        return True
    return coupon.was_redeemed and coupon.redemptions_left is None


def classify(coupon: Coupon, now: datetime) -> CouponState:
    if is_used_up(coupon):
        return CouponState.REDEEMED
    expires_at = coupon.expires_at
    if expires_at is not None and now > expires_at:
        return CouponState.EXPIRED
    starts_at = coupon.starts_at
    if starts_at is not None and now < starts_at:
        return CouponState.UPCOMING
    return CouponState.ACTIVE


def next_change(coupon: Coupon, now: datetime) -> datetime | None:
    """The moment from which `classify` may say something else about this coupon than it says at `now` (it is
    the same at every earlier moment); None when nothing changes with time alone (a used-up coupon, or no dates
    ahead)."""
    if is_used_up(coupon):
        return None
    ahead = [t for t in (coupon.starts_at,) if t is not None and t > now]
    ahead += [t for t in (coupon.expires_at,) if t is not None and t >= now]  # expired only once past its end
    return min(ahead) if ahead else None


def uses_label(coupon: Coupon) -> str | None:
    """ "used 2×, 3 left", "unlimited uses", "4 uses left"; None when there is nothing worth saying."""
    left, used = coupon.redemptions_left, coupon.times_redeemed
    if left is None or left < UNLIMITED:
        return f"used {used}×" if used else None
    if used:
        return f"used {used}×, " + ("unlimited" if left == UNLIMITED else f"{left} left")
    if left == UNLIMITED:
        return "unlimited uses"
    return None if left == 1 else f"{left} uses left"  # a single-use coupon not used yet: saying so is noise
