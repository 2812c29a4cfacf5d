"""Coupons as the bot knows them: pydantic models parsed straight from Capillary's response bytes.

Only the fields the bot shows are declared; everything else in the (large) payload is ignored. Fields
that Capillary may leave out or send as null are optional. The traps listed in the reference notes are
handled here or in `bot.domain.coupon_state`, never in the renderers.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WrapValidator
from pydantic.alias_generators import to_camel

MAX_CUSTOMER_ID = 2**63 - 1  # Capillary's customerId is an int64


def _assume_utc(value: datetime) -> datetime:
    # A timestamp without an offset cannot be compared with "now"; Capillary's are UTC when unlabelled.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _lenient_timestamp(value: Any, handler: Any) -> datetime | None:
    # Redemption entries are documented loosely; an odd date there must not sink the whole lookup.
    try:
        parsed: datetime | None = handler(value)
    except ValueError:
        return None
    return None if parsed is None else _assume_utc(parsed)


# Only an after-validator: pydantic parses the date natively from the JSON, then one call fixes an unlabelled
# zone. (A before-validator would hand every raw string to Python first: a fifth of reading 1,000 coupons.)
# A date that isn't one, "" included, is an error; such a coupon is skipped and counted.
Timestamp = Annotated[datetime, AfterValidator(_assume_utc)]
LenientTimestamp = Annotated[datetime | None, WrapValidator(_lenient_timestamp)]


class CodeCase(StrEnum):
    """The `coupon_code_case` query parameter."""

    LOWER = "LOWER"
    UPPER = "UPPER"
    AS_IT_IS = "AS_IT_IS"


class DiscountType(StrEnum):
    ABSOLUTE = "ABS"
    PERCENT = "PERC"


class Model(BaseModel):
    """Capillary's camelCase JSON, read by name; fields the bot doesn't declare are skipped."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="ignore")


class Location(Model):
    """A store or other org unit (`issuedAt`, `redemptionInfo[].redeemedAt`)."""

    id: int | None = None
    code: str | None = None
    name: str | None = None
    description: str | None = None

    @property
    def label(self) -> str:
        return self.name or self.description or self.code or (str(self.id) if self.id is not None else "")


class Redemption(Model):
    """One entry of `redemptionInfo` / `reversedRedemptionInfo`; both documented namings are accepted."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="allow")

    id: int | str | None = None
    date: LenientTimestamp = None
    date_iso: LenientTimestamp = Field(default=None, alias="dateISO")
    redeemed_on: LenientTimestamp = None
    redeemed_on_iso: LenientTimestamp = Field(default=None, alias="redeemedOnISO")
    reversed_on: LenientTimestamp = None
    transaction_number: str | int | None = None
    redeemed_at: Location | None = None

    @property
    def redeemed_when(self) -> datetime | None:
        return self.date_iso or self.redeemed_on_iso or self.date or self.redeemed_on


class SeriesSummary(Model):
    """What every coupon line needs of its series: its id, its name, its discount type.

    A lookup reads only this much of the series object embedded in each coupon (about 70 fields, the same
    for every coupon of a series); the terms (`CouponSeries`) are read once per series, when one is opened.
    """

    id: int
    description: str | None = None
    discount_type: str | None = None


class CouponSeries(SeriesSummary):
    """The series object embedded in every coupon. Sentinels (-1, "[-1]", 1970) are kept as sent."""

    discount_code: str | None = None
    series_code: str | None = None
    valid_till_date: Timestamp | None = None
    valid_days_from_creation: int | None = None
    max_create: int | None = None
    max_redeem: int | None = None
    num_issued: int | None = None
    num_redeemed: int | None = None
    store_ids_json: str | None = None
    redeem_at_store: str | None = None
    redemption_range: str | None = None
    max_vouchers_per_user: int | None = None
    max_redemptions_in_series_per_user: int | None = None
    min_days_between_redemption: int | None = None
    redemption_per_coupon_max_limit: int | None = None
    discount_upto: float | None = None
    discount_value: float | None = None
    discount_on: str | None = None
    min_bill_amount: float | None = None
    max_bill_amount: float | None = None
    redemption_valid_from: Timestamp | None = None
    brands: list[Any] | None = None
    products: list[Any] | None = None
    categories: list[Any] | None = None
    terms_and_conditions: str | None = None
    is_multiple_use_allowed: bool | None = None
    is_valid_with_discounted_item: bool | None = None
    tag: str | None = None

    @property
    def discount(self) -> Discount | None:
        if self.discount_value is None:
            return None
        return make_discount(self.discount_type, self.discount_value, self.discount_upto)


class Coupon(Model):
    """One customer coupon. `is_redeemed` means *redeemed at least once*, not used up.

    `series` is the full `CouponSeries` when a coupon is validated on its own; in a lookup's answer it is the
    `SeriesSummary`, and the terms come from the lookup's series catalogue (`CustomerCoupons.series`).
    """

    id: int
    series_id: int | None = None
    series: CouponSeries | None = None
    series_name: str | None = None
    code: str = ""
    description: str | None = None
    valid_till: Timestamp | None = None
    valid_till_iso: Timestamp | None = Field(default=None, alias="validTillISO")
    active_from: Timestamp | None = None
    active_from_iso: Timestamp | None = Field(default=None, alias="activeFromISO")
    issued_on: Timestamp | None = None
    issued_on_iso: Timestamp | None = Field(default=None, alias="issuedOnISO")
    is_redeemed: bool | None = None
    redeemed: bool | None = None
    redemptions_left: int | None = None
    coupon_discount_type: str | None = None
    discount_value: float | None = None
    discount_value_as_double: float | None = None
    discount_upto: float | None = None
    issued_at: Location | None = None
    redemption_info: list[Redemption] | None = None
    reversed_redemption_info: list[Redemption] | None = None

    @property
    def expires_at(self) -> datetime | None:
        return self.valid_till_iso or self.valid_till

    @property
    def starts_at(self) -> datetime | None:
        return self.active_from_iso or self.active_from

    @property
    def was_redeemed(self) -> bool:
        return bool(self.is_redeemed or self.redeemed or self.redemption_info)

    @property
    def times_redeemed(self) -> int:
        """Redemptions that stand: recorded ones minus reversed ones (never below the redeemed flag)."""
        standing = len(self.redemption_info or ()) - len(self.reversed_redemption_info or ())
        return max(standing, 1 if (self.is_redeemed or self.redeemed) else 0)

    @property
    def last_redemption(self) -> Redemption | None:
        entries = [r for r in self.redemption_info or () if r.redeemed_when is not None]
        if entries:
            return max(entries, key=lambda r: r.redeemed_when or datetime.min.replace(tzinfo=UTC))
        return self.redemption_info[-1] if self.redemption_info else None

    @property
    def discount(self) -> Discount | None:
        value = self.discount_value_as_double if self.discount_value_as_double is not None else self.discount_value
        if value is None:
            return None
        # The coupon-level `discountType` is a deprecated boolean; the series carries the string form.
        raw_type = self.coupon_discount_type or (self.series.discount_type if self.series else None)
        return make_discount(raw_type, value, self.discount_upto)

    @property
    def display_series_name(self) -> str:
        series_description = self.series.description if self.series else None
        return self.series_name or series_description or self.description or ""


class Discount(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: DiscountType | None
    value: float
    cap: float | None = None  # None: no cap
    cap_stated: bool = False  # Capillary said outright that there is no cap (0 or less), rather than nothing


def make_discount(raw_type: str | None, value: float, upto: float | None) -> Discount:
    """A discount from Capillary's fields: type `ABS`/`PERC` (anything else unknown), `discountUpto` 0 = no cap."""
    try:
        kind: DiscountType | None = DiscountType((raw_type or "").upper())
    except ValueError:
        kind = None
    has_cap = upto is not None and upto > 0
    return Discount(kind=kind, value=value, cap=upto if has_cap else None, cap_stated=upto is not None)


def parse_json_list(raw: str | None) -> list[Any] | dict[str, Any] | None:
    """Read one of the series' JSON-in-a-string fields (`storeIdsJson`, `redemptionRange`, ...)."""
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, list | dict) else None
