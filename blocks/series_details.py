"""A coupon series' terms in plain words, with Capillary's sentinels translated."""

from __future__ import annotations

from datetime import UTC, datetime

from blocks.discount import amount, describe_discount
from blocks.mrkdwn import Block, clean, code, day, moment, section
from bot.domain.coupon import Coupon, CouponSeries, DiscountType, Redemption, parse_json_list

NO_MAXIMUM_BILL = 9007199254740991  # JavaScript's MAX_SAFE_INTEGER: Capillary's "no maximum"


_NO_CODE = {"", "NO_VALUE"}  # Capillary's placeholder for a series without a discount code
MAX_REDEMPTIONS_SHOWN = 10


def _limits(series: CouponSeries) -> str | None:
    """Only the limits Capillary states, in words; -1 (or any negative) is its "no limit"."""
    stated: list[str] = []
    per_coupon = series.redemption_per_coupon_max_limit
    if per_coupon is not None:
        stated.append(
            "each coupon usable any number of times" if per_coupon < 0 else f"each coupon usable {_times(per_coupon)}"
        )
    for value, noun in (
        (series.max_redemptions_in_series_per_user, "redemption"),
        (series.max_vouchers_per_user, "coupon"),
    ):
        if value is not None:
            stated.append(
                f"no limit on {noun}s per customer" if value < 0 else f"at most {_plural(value, noun)} per customer"
            )
    gap = series.min_days_between_redemption
    if gap is not None and gap > 0:
        stated.append(f"at least {_plural(gap, 'day')} between redemptions")
    return " · ".join(stated) or None


def _times(value: int) -> str:
    return {1: "once", 2: "twice"}.get(value, f"{value:,} times")


def _plural(value: int, noun: str) -> str:
    return f"{value:,} {noun}" + ("" if value == 1 else "s")


def _stores(raw: str | None) -> str | None:
    ids = parse_json_list(raw)
    if not isinstance(ids, list) or not ids or -1 in ids or "-1" in ids:
        return None
    shown = ", ".join(clean(i, 20) for i in ids[:10])
    return f"only at stores {shown}" + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")


def _listed(items: list[object] | None) -> str | None:
    if not items:
        return None
    names = [clean((i.get("name") or i.get("code") or i.get("id")) if isinstance(i, dict) else i, 30) for i in items]
    return ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")


def _range(raw: str | None) -> str | None:
    value = parse_json_list(raw)
    if not isinstance(value, dict):
        return None
    parts = []
    for key, label in (("dom", "days of month"), ("dow", "days of week"), ("hours", "hours")):
        items = value.get(key)
        values = [str(i) for i in items] if isinstance(items, list) else []
        if values and "-1" not in values:  # ["-1"] means any
            parts.append(f"{label} {', '.join(clean(v, 5) for v in values[:31])}")
    return "; ".join(parts) or None


def _where(series: CouponSeries) -> str:
    parts = [
        _stores(series.redeem_at_store or series.store_ids_json),
        *(
            f"{label} {listed}"
            for label, items in (
                ("brands", series.brands),
                ("products", series.products),
                ("categories", series.categories),
            )
            if (listed := _listed(items))
        ),
        _range(series.redemption_range),
    ]
    return " · ".join(p for p in parts if p) or "any store, any day and hour"


def _validity(series: CouponSeries) -> str | None:
    end, start, days = series.valid_till_date, series.redemption_valid_from, series.valid_days_from_creation
    parts = (
        f"series valid till {day(end)}" if end else None,
        # 1970-01-01 is Capillary's "no start restriction".
        f"redeemable from {day(start)}" if start and start.year > 1970 else None,
        f"each coupon valid {_plural(days, 'day')} after issue" if days and days > 0 else None,
    )
    return " · ".join(p for p in parts if p) or None


def _bill(series: CouponSeries, currency: str | None) -> str | None:
    low, high = series.min_bill_amount, series.max_bill_amount
    parts = (
        f"at least {amount(low, currency)}" if low and low > 0 else None,
        f"at most {amount(high, currency)}" if high is not None and 0 < high < NO_MAXIMUM_BILL else None,
    )
    return " and ".join(p for p in parts if p) or None


def _codes(series: CouponSeries) -> str | None:
    parts = (
        f"series code {clean(series.series_code, 40)}" if (series.series_code or "").strip() else None,
        f"discount code {clean(series.discount_code, 40)}"
        if series.discount_code and series.discount_code.strip() not in _NO_CODE
        else None,
    )
    return " · ".join(p for p in parts if p) or None


def _totals(series: CouponSeries) -> str | None:
    counts = ((series.num_issued, "issued"), (series.num_redeemed, "redeemed"))
    return " · ".join(f"{n:,} {word}" for n, word in counts if n is not None and n >= 0) or None


def series_detail_lines(series: CouponSeries, *, name: str = "", currency: str | None = None) -> list[tuple[str, str]]:
    """(label, mrkdwn) pairs for what the series states, in words; every value taken from Capillary is escaped."""
    stated = series.discount
    on = clean(series.discount_on.lower(), 20) if series.discount_on else None
    discount = describe_discount(stated, currency, on=on)
    # Only a percentage can have a maximum: "250 off, no cap" says nothing.
    no_cap = stated is not None and stated.kind is DiscountType.PERCENT and stated.cap is None and stated.cap_stated
    if discount and no_cap:
        discount += ", no maximum"
    about = " ".join((series.description or "").split())
    lines: list[tuple[str, str | None]] = [
        # The description is often the series' name again: it is the title already.
        ("About", clean(about, 300) if about and about != " ".join(name.split()) else None),
        ("Terms", clean(series.terms_and_conditions, 500) if (series.terms_and_conditions or "").strip() else None),
        ("Discount", discount),
        ("Bill", _bill(series, currency)),
        ("Validity", _validity(series)),
        ("Limits", _limits(series)),
        ("Where", _where(series)),
        ("Codes", _codes(series)),
        ("Series totals", _totals(series)),
    ]
    return [(label, text) for label, text in lines if text]


def redemption_text(redemption: Redemption, *, verb: str = "redeemed") -> str:
    """`redeemed <Nov 27th at 2:05 PM> at MarvelAuto_Store · transaction 12121212`: what is known of one use."""
    when = redemption.redeemed_when
    where = redemption.redeemed_at.label if redemption.redeemed_at else ""
    number = str(redemption.transaction_number if redemption.transaction_number is not None else "").strip()
    text = verb + (f" {moment(when)}" if when else "") + (f" at {clean(where, 60)}" if where else "")
    return text + (f" · transaction {clean(number, 40)}" if number else "")


def _redemption_lines(coupon: Coupon) -> list[str]:
    entries = sorted(
        coupon.redemption_info or (),
        key=lambda r: r.redeemed_when or datetime.min.replace(tzinfo=UTC),
        reverse=True,
    )
    lines = [
        f"• {redemption_text(r, verb='').strip() or 'no date or store given'}" for r in entries[:MAX_REDEMPTIONS_SHOWN]
    ]
    if len(entries) > MAX_REDEMPTIONS_SHOWN:
        lines.append(f"• and {len(entries) - MAX_REDEMPTIONS_SHOWN} earlier")
    reversed_ = len(coupon.reversed_redemption_info or ())
    if reversed_:
        lines.append(f"• {_plural(reversed_, 'redemption')} reversed")
    return lines


def render_coupon_details(
    coupon: Coupon,
    series: CouponSeries | None,
    series_id: int | None,
    currency: str | None = None,
    *,
    heading: str | None = None,
) -> Block:
    """What opens under one coupon: its series' terms, then its redemptions (every one) under `heading`."""
    name = coupon.display_series_name
    parts: list[str] = []
    if series is not None:
        parts.append(f":mag: *{clean(name or series.id, 80)}* — series {series.id}")
        parts += [f"*{label}:* {text}" for label, text in series_detail_lines(series, name=name, currency=currency)]
    elif series_id is not None:  # Capillary sent this series' terms in a shape the bot cannot read
        parts.append(f":mag: No terms can be shown for series {series_id}: Capillary sent them unreadable.")
    redemptions = _redemption_lines(coupon)
    if redemptions:
        parts.append((heading or f"*Redemptions of {code(coupon.code)}:*") + "\n" + "\n".join(redemptions))
    return section("\n".join(parts))
