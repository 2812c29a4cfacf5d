"""Pydantic models of `GET /v2/customers/{id}/coupons`, parsed straight from the response bytes.

Only the fields the bot shows are declared; everything else in the (large) payload is ignored. Fields
that Capillary may leave out or send as null are optional. The traps listed in the reference notes are
handled here or in `bot.coupon_state`, never in the renderers.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    WrapValidator,
)
from pydantic.alias_generators import to_camel
from typing_extensions import TypedDict


def _assume_utc(value: datetime) -> datetime:
    # A timestamp without an offset cannot be compared with "now"; Capillary's are UTC when unlabelled.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _blank_to_none(value: Any) -> Any:
    return None if value == "" else value


def _lenient_timestamp(value: Any, handler: Any) -> datetime | None:
    # Redemption entries are documented loosely; an odd date there must not sink the whole lookup.
    try:
        return handler(value)
    except ValueError:
        return None


Timestamp = Annotated[datetime, BeforeValidator(_blank_to_none), AfterValidator(_assume_utc)]
LenientTimestamp = Annotated[
    datetime | None, WrapValidator(_lenient_timestamp), AfterValidator(lambda v: None if v is None else _assume_utc(v))
]


class CodeCase(StrEnum):
    """The `coupon_code_case` query parameter."""

    LOWER = "LOWER"
    UPPER = "UPPER"
    AS_IT_IS = "AS_IT_IS"


class DiscountType(StrEnum):
    ABSOLUTE = "ABS"
    PERCENT = "PERC"


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="ignore")


class Location(_Model):
    """A store or other org unit (`issuedAt`, `redemptionInfo[].redeemedAt`)."""

    id: int | None = None
    code: str | None = None
    name: str | None = None
    description: str | None = None

    @property
    def label(self) -> str:
        return self.name or self.description or self.code or (str(self.id) if self.id is not None else "")


class Redemption(_Model):
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


class SeriesSummary(_Model):
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


class Coupon(_Model):
    """One customer coupon. `is_redeemed` means *redeemed at least once*, not used up.

    `series` is the full `CouponSeries` when a coupon is validated on its own; in a lookup's answer
    (`parse_coupons`) it is the `SeriesSummary`, and the terms come from the lookup's `SeriesCatalog`.
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
        return (self.redemption_info or [None])[-1]

    @property
    def discount(self) -> Discount | None:
        value = self.discount_value_as_double if self.discount_value_as_double is not None else self.discount_value
        if value is None:
            return None
        # The coupon-level `discountType` is a deprecated boolean; the series carries the string form.
        raw_type = self.coupon_discount_type or (self.series.discount_type if self.series else None)
        try:
            kind = DiscountType((raw_type or "").upper())
        except ValueError:
            kind = None
        cap = self.discount_upto  # 0 means no cap
        return Discount(kind=kind, value=value, cap=cap if cap and cap > 0 else None)

    @property
    def display_series_name(self) -> str:
        if self.series_name:
            return self.series_name
        if self.series and self.series.description:
            return self.series.description
        return self.description or ""


class Discount(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: DiscountType | None
    value: float
    cap: float | None = None


class ApiError(_Model):
    """An entry of the envelope's `errors`."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="allow")

    code: int | str | None = None
    message: str | None = None


def _errors_as_objects(value: Any) -> Any:
    # Some Capillary errors arrive as bare strings; keep their text.
    if isinstance(value, list):
        return [{"message": item} if isinstance(item, str) else item for item in value]
    return value


ApiErrors = Annotated[list[ApiError] | None, BeforeValidator(_errors_as_objects)]


class CouponsResponse(_Model):
    """The envelope: `{"entity": [...], "warnings": [], "errors": [], "success": true}`."""

    entity: list[Coupon] | None = None
    errors: ApiErrors = None
    success: bool | None = None


class ListedCoupon(Coupon):
    """A coupon as a lookup reads it: everything the message shows, its series in brief."""

    series: SeriesSummary | None = None  # type: ignore[assignment]  # a CouponSeries is a SeriesSummary


class CouponsPage(_Model):
    """`CouponsResponse` as a lookup reads it (`parse_coupons`): about half the work for the same answer."""

    entity: list[ListedCoupon] | None = None
    errors: ApiErrors = None
    success: bool | None = None


def parse_coupons(content: bytes) -> CouponsPage:
    """The response bytes → the envelope, reading of each coupon only what the bot shows. Raises
    `ValidationError` as `CouponsResponse.model_validate_json` would."""
    return CouponsPage.model_validate_json(content)


class _SeriesOfCoupon(TypedDict, total=False):
    series: CouponSeries | None


class _SeriesOfCoupons(TypedDict, total=False):
    entity: list[_SeriesOfCoupon] | None


_SERIES_ONLY = TypeAdapter(_SeriesOfCoupons)


class SeriesCatalog(Mapping[int, CouponSeries]):
    """Every series of one response by id, read in full from the response bytes the first time one is
    asked for (an agent opening "Series details"), then kept. Thread-safe: a race only reads twice."""

    def __init__(self, content: bytes | None = None, known: Mapping[int, CouponSeries] | None = None) -> None:
        self._content = content
        self._series: dict[int, CouponSeries] | None = dict(known) if known is not None else None

    @classmethod
    def of(cls, coupons: Iterable[Coupon]) -> SeriesCatalog:
        """The series the coupons carry in full (coupons validated on their own)."""
        found: dict[int, CouponSeries] = {}
        for coupon in coupons:
            if isinstance(coupon.series, CouponSeries):
                found.setdefault(coupon.series.id, coupon.series)
        return cls(known=found)

    def _all(self) -> dict[int, CouponSeries]:
        if self._series is None:
            self._series = _read_series(self._content or b"{}")
        return self._series

    def __getitem__(self, series_id: int) -> CouponSeries:
        return self._all()[series_id]

    def __iter__(self) -> Iterator[int]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


def _read_series(content: bytes) -> dict[int, CouponSeries]:
    found: dict[int, CouponSeries] = {}
    try:
        entries = _SERIES_ONLY.validate_json(content).get("entity") or []
        for entry in entries:
            series = entry.get("series")
            if series is not None:
                found.setdefault(series.id, series)
        return found
    except ValidationError:
        pass
    # One odd series must not hide the others' terms: read them one by one.
    try:
        body = json.loads(content)
    except ValueError:
        return found
    entity = body.get("entity") if isinstance(body, dict) else None
    for coupon in entity if isinstance(entity, list) else []:
        raw = coupon.get("series") if isinstance(coupon, dict) else None
        if not isinstance(raw, dict):
            continue
        try:
            series = CouponSeries.model_validate(raw)
        except ValidationError:
            continue
        found.setdefault(series.id, series)
    return found


def parse_json_list(raw: str | None) -> list[Any] | dict[str, Any] | None:
    """Read one of the series' JSON-in-a-string fields (`storeIdsJson`, `redemptionRange`, ...)."""
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, list | dict) else None
