"""Actions on a customer's coupons (resend, extend, issue): which are on, who may use them, which apply to a
coupon, and the bounds of a new expiry date. Pure: the clock is passed in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from bot.domain.coupon import Coupon, CouponSeries
from bot.domain.coupon_state import CouponState

if TYPE_CHECKING:
    from bot.settings import Settings

# "Recently expired": an expired coupon may be revived this long after its end (Capillary allows it until the
# series ends; a support desk reviving older ones is a different conversation).
RECENT_EXPIRY_DAYS = 30
MAX_REASON = 300  # characters of the reason an agent gives


class ActionKind(StrEnum):
    RESEND = "resend"
    EXTEND = "extend"
    ISSUE = "issue"


ACTION_WORDS = {ActionKind.RESEND: "Resend", ActionKind.EXTEND: "Extend expiry", ActionKind.ISSUE: "Issue goodwill"}


@dataclass(frozen=True)
class ActionSettings:
    """`COUPONS_ACTIONS` and who may act. Off (no kinds) by default."""

    kinds: frozenset[ActionKind] = frozenset()
    user_ids: frozenset[str] = frozenset()
    usergroup_ids: frozenset[str] = frozenset()
    goodwill_series_ids: tuple[int, ...] = ()
    daily_limit: int = 20

    @classmethod
    def of(cls, settings: Settings) -> ActionSettings:
        return cls(
            kinds=parse_kinds(settings.coupon_actions),
            user_ids=settings.action_user_ids,
            usergroup_ids=settings.action_usergroup_ids,
            goodwill_series_ids=settings.goodwill_series_ids,
            daily_limit=settings.action_daily_limit,
        )

    @property
    def enabled(self) -> bool:
        return bool(self.kinds) and bool(self.user_ids or self.usergroup_ids)


def parse_kinds(raw: str | frozenset[str] | None) -> frozenset[ActionKind]:
    """`resend,extend` → the kinds; ValueError naming the first unknown word."""
    words = raw.split(",") if isinstance(raw, str) else (raw or ())
    kinds = set()
    for word in (w.strip().lower() for w in words):
        if not word:
            continue
        try:
            kinds.add(ActionKind(word))
        except ValueError:
            raise ValueError(word) from None
    return frozenset(kinds)


def applies(kind: ActionKind, state: CouponState, coupon: Coupon, now: datetime) -> bool:
    """Resend: an active coupon. Extend: an active one, or one expired within `RECENT_EXPIRY_DAYS` (not used up).
    Issue is about the customer, not a coupon."""
    if kind is ActionKind.RESEND:
        return state is CouponState.ACTIVE
    if kind is ActionKind.EXTEND:
        if state is CouponState.ACTIVE:
            return True
        expires = coupon.expires_at
        return state is CouponState.EXPIRED and expires is not None and now - expires <= timedelta(RECENT_EXPIRY_DAYS)
    return False


@dataclass(frozen=True)
class ExpiryBounds:
    """The days a new expiry may be: from tomorrow (or today, if the coupon's day isn't over) to the series' end."""

    earliest: date
    latest: date | None  # None: Capillary gave no series end

    def problem(self, chosen: date) -> str | None:
        """What is wrong with `chosen`, in words for the form; None when it is allowed."""
        if chosen < self.earliest:
            return f"Pick a day from {self.earliest.isoformat()} on: the new expiry must be in the future."
        if self.latest is not None and chosen > self.latest:
            return f"The offer ends on {self.latest.isoformat()}: the coupon can't be extended past it."
        return None


def expiry_bounds(series: CouponSeries | None, now: datetime) -> ExpiryBounds:
    latest = series.valid_till_date.date() if series is not None and series.valid_till_date is not None else None
    return ExpiryBounds(now.date(), latest)


def end_of_day(chosen: date, zone_of: datetime | None) -> datetime:
    """The chosen day's last second in the coupon's own zone (its `validTill`'s offset), so "valid till 31 Jan"
    means the whole day (reference note §5.4)."""
    tz = zone_of.tzinfo if zone_of is not None and zone_of.tzinfo is not None else UTC
    return datetime.combine(chosen, time(23, 59, 59), tzinfo=tz)
