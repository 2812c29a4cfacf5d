"""Actions on a customer's coupons (resend, extend, issue): which are on, who may use them, which apply to a
coupon, the bounds of a new expiry date, the signed form that confirms one and its outcome. Pure: the clock is
passed in."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Protocol

from bot.domain.coupon import Coupon, CouponSeries
from bot.domain.coupon_state import CouponState
from bot.domain.customer import CustomerCard
from bot.domain.errors import InvalidViewState
from bot.domain.view_state import ViewState, ViewStateCodec

# "Recently expired": an expired coupon may be revived this long after its end (Capillary allows it until the
# series ends; a support desk reviving older ones is a different conversation).
RECENT_EXPIRY_DAYS = 30
MAX_REASON = 300  # characters of the reason an agent gives
FORM_VERSION = "a1"
_KEY = re.compile(r"[0-9a-f]{32}")
VIEW_ID = re.compile(r"[A-Za-z0-9]{1,64}", re.ASCII)  # a Slack view ID (`V0123ABCD`): no `|` can get in


class ActionKind(StrEnum):
    RESEND = "resend"
    EXTEND = "extend"
    ISSUE = "issue"


ACTION_WORDS = {ActionKind.RESEND: "Resend", ActionKind.EXTEND: "Extend expiry", ActionKind.ISSUE: "Issue goodwill"}


class ActionConfig(Protocol):
    """What `ActionSettings.of` reads: `COUPONS_ACTIONS` and the rest (the bot's `Settings` is one)."""

    @property
    def coupon_actions(self) -> frozenset[str]: ...
    @property
    def action_user_ids(self) -> frozenset[str]: ...
    @property
    def action_usergroup_ids(self) -> frozenset[str]: ...
    @property
    def goodwill_series_ids(self) -> tuple[int, ...]: ...
    @property
    def action_daily_limit(self) -> int: ...


@dataclass(frozen=True)
class ActionSettings:
    """`COUPONS_ACTIONS` and who may act. Off (no kinds) by default."""

    kinds: frozenset[ActionKind] = frozenset()
    user_ids: frozenset[str] = frozenset()
    usergroup_ids: frozenset[str] = frozenset()
    goodwill_series_ids: tuple[int, ...] = ()
    daily_limit: int = 20

    @classmethod
    def of(cls, settings: ActionConfig) -> ActionSettings:
        return cls(
            kinds=frozenset(ActionKind(word) for word in settings.coupon_actions),  # words Settings checked
            user_ids=settings.action_user_ids,
            usergroup_ids=settings.action_usergroup_ids,
            goodwill_series_ids=settings.goodwill_series_ids,
            daily_limit=settings.action_daily_limit,
        )

    @property
    def enabled(self) -> bool:
        return bool(self.kinds) and bool(self.user_ids or self.usergroup_ids)


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


@dataclass(frozen=True)
class ActionForm:
    """What a confirmation form carries (signed): the action, its idempotency key, the message it came from, for
    an extension the days allowed (checked in the ack, with no network), and for a form pushed over the lookup
    modal that modal's view ID (to redraw it once the action is done: the submission names only the form)."""

    kind: ActionKind
    key: str
    view: str  # the message's signed view value: customer, case, the coupon in focus
    series_id: int | None = None
    earliest: date | None = None
    latest: date | None = None
    parent_view: str | None = None  # the lookup modal's view ID, when the form was pushed over it

    def encode(self, codec: ViewStateCodec) -> str:
        days = [d.isoformat() if d else "" for d in (self.earliest, self.latest)]
        fields = [FORM_VERSION, self.kind.value, self.key, self.view, str(self.series_id or ""), *days]
        return codec.sign("|".join([*fields, self.parent_view or ""]))

    @classmethod
    def decode(cls, codec: ViewStateCodec, value: object) -> ActionForm:
        """Raises `InvalidViewState` for an altered or foreign value."""
        fields = codec.verified(value).split("|")
        if len(fields) == 7:  # a form opened before forms named their modal: opened over none
            fields.append("")
        if len(fields) != 8 or fields[0] != FORM_VERSION or not _KEY.fullmatch(fields[2]):
            raise InvalidViewState("not an action form of this version")
        if fields[7] and not VIEW_ID.fullmatch(fields[7]):
            raise InvalidViewState("malformed view ID in an action form")
        try:
            return cls(
                ActionKind(fields[1]),
                fields[2],
                fields[3],
                int(fields[4]) if fields[4] else None,
                date.fromisoformat(fields[5]) if fields[5] else None,
                date.fromisoformat(fields[6]) if fields[6] else None,
                fields[7] or None,
            )
        except ValueError:
            raise InvalidViewState("malformed action form") from None

    @property
    def bounds(self) -> ExpiryBounds | None:
        return ExpiryBounds(self.earliest, self.latest) if self.earliest else None


@dataclass(frozen=True)
class Prepared:
    """Everything the confirmation form shows."""

    form: ActionForm
    view: ViewState
    customer: CustomerCard | None  # masked
    coupon: Coupon | None  # resend, extend
    goodwill_series: tuple[int, ...] = ()  # issue


@dataclass(frozen=True)
class ActionOutcome:
    kind: ActionKind
    status: str  # done · refused · unknown (nobody knows whether Capillary did it) · limit
    customer_id: int
    target: str  # the code acted on, or "series <id>"
    code: int | None = None  # Capillary's reason
    message: str | None = None  # Capillary's words (masked when shown)
    new_code: str | None = None
    valid_till: str | None = None  # ISO: the new expiry, or the issued coupon's
    replayed: bool = False  # an earlier attempt's outcome, answered again
    demo: bool = False

    def to_bytes(self) -> bytes:
        return json.dumps({**asdict(self), "kind": self.kind.value}).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> ActionOutcome | None:
        try:
            fields = json.loads(raw)
            return cls(**{**fields, "kind": ActionKind(fields["kind"])})
        except (ValueError, TypeError, KeyError):
            return None
