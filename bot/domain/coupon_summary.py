"""A customer's coupons, fetched once, grouped by state for one moment in time."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.domain.coupon import CodeCase, Coupon, CouponSeries, DiscountType
from bot.domain.coupon_state import STATE_ORDER, CouponState, classify, next_change

_FAR_FUTURE = datetime.max.replace(tzinfo=UTC)
_FAR_PAST = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class CustomerCoupons:
    """The coupons one successful lookup read from Capillary's answer. The store keeps the answer's bytes, not
    this; a process keeps the ones it read for as long as their bytes are current (`CouponService`)."""

    customer_id: int
    case: CodeCase
    coupons: tuple[Coupon, ...]
    fetched_at: datetime
    demo: bool = False
    # Where the series' full terms come from; None: from the coupons themselves.
    series: Mapping[int, CouponSeries] | None = None
    skipped: int = 0  # coupons Capillary sent that could not be read
    # The last grouping and until when it holds: a hit or a click groups a kept customer again only once a
    # coupon's state has changed with time.
    grouped: list[tuple[datetime, CouponSummary]] = field(default_factory=list, compare=False, repr=False)


@dataclass(frozen=True)
class CouponGroup:
    state: CouponState
    coupons: tuple[Coupon, ...]


@dataclass(frozen=True)
class CouponSummary:
    customer_id: int
    case: CodeCase
    fetched_at: datetime
    groups: tuple[CouponGroup, ...]
    series: Mapping[int, CouponSeries] = field(default_factory=dict)  # full terms by series id
    demo: bool = False
    skipped: int = 0  # coupons Capillary sent that could not be read (not in any group)
    grouped_at: datetime = _FAR_PAST  # the moment the groups are of

    def group(self, state: CouponState) -> CouponGroup:
        return next(g for g in self.groups if g.state is state)

    @functools.cached_property
    def has_amounts(self) -> bool:
        """Whether any coupon's discount is an amount (or capped by one), not only a percentage. Worked out once
        per grouping: a hit or a click reuses the grouping, and 10,000 coupons take a while to look through."""
        return any(
            c.discount is not None and (c.discount.kind is not DiscountType.PERCENT or c.discount.cap is not None)
            for group in self.groups
            for c in group.coupons
        )

    @property
    def total(self) -> int:
        return sum(len(g.coupons) for g in self.groups)


def _sort_key(state: CouponState, coupon: Coupon) -> tuple[object, ...]:
    # Ties are broken by coupon id so a page always shows the same coupons.
    if state is CouponState.ACTIVE:
        return (coupon.expires_at or _FAR_FUTURE, coupon.id)
    if state is CouponState.UPCOMING:
        return (coupon.starts_at or _FAR_FUTURE, coupon.id)
    if state is CouponState.REDEEMED:
        last = coupon.last_redemption
        when = last.redeemed_when if last else None
        return (-(when or _FAR_PAST).timestamp(), coupon.id)
    return (-(coupon.expires_at or _FAR_PAST).timestamp(), coupon.id)


def summarize(coupons: CustomerCoupons, now: datetime) -> CouponSummary:
    """The coupons grouped by their state at `now`, each group in its order. A grouping made earlier is reused
    while no coupon's state can have changed since (`next_change`)."""
    for holds_until, summary in coupons.grouped[-1:]:
        if summary.grouped_at <= now < holds_until:
            return summary
    buckets: dict[CouponState, list[Coupon]] = {state: [] for state in STATE_ORDER}
    holds_until = _FAR_FUTURE
    for coupon in coupons.coupons:
        buckets[classify(coupon, now)].append(coupon)
        change = next_change(coupon, now)
        if change is not None and change < holds_until:
            holds_until = change
    series = coupons.series if coupons.series is not None else series_of(coupons.coupons)
    groups = tuple(
        CouponGroup(state, tuple(sorted(buckets[state], key=functools.partial(_sort_key, state))))
        for state in STATE_ORDER
    )
    summary = CouponSummary(
        customer_id=coupons.customer_id,
        case=coupons.case,
        fetched_at=coupons.fetched_at,
        groups=groups,
        series=series,
        demo=coupons.demo,
        skipped=coupons.skipped,
        grouped_at=now,
    )
    coupons.grouped[:] = [(holds_until, summary)]
    return summary


def series_of(coupons: Iterable[Coupon]) -> dict[int, CouponSeries]:
    """The series the coupons carry in full (coupons validated on their own), by id."""
    found: dict[int, CouponSeries] = {}
    for coupon in coupons:
        if isinstance(coupon.series, CouponSeries):
            found.setdefault(coupon.series.id, coupon.series)
    return found
