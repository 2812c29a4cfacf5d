"""A coupon series' terms in plain words, with Capillary's sentinels translated."""

from __future__ import annotations

from blocks.discount import describe_discount, number
from blocks.mrkdwn import Block, clean, date_token, section
from bot.domain.coupon import CouponSeries, parse_json_list

NO_MAXIMUM_BILL = 9007199254740991  # JavaScript's MAX_SAFE_INTEGER: Capillary's "no maximum"
_UNLIMITED = "no limit"


def _limits(series: CouponSeries) -> str:
    """Only the limits Capillary states; -1 (or any negative) is its "no limit"."""
    pairs = (
        ("redemptions per coupon", series.redemption_per_coupon_max_limit),
        ("redemptions per user", series.max_redemptions_in_series_per_user),
        ("days between redemptions", series.min_days_between_redemption),
        ("vouchers per user", series.max_vouchers_per_user),
    )
    stated = [f"{label} {_UNLIMITED if value < 0 else value}" for label, value in pairs if value is not None]
    return " · ".join(stated) or "none stated"


def _stores(raw: str | None) -> str:
    ids = parse_json_list(raw)
    if not isinstance(ids, list) or not ids or -1 in ids or "-1" in ids:
        return "all stores"
    shown = ", ".join(clean(i, 20) for i in ids[:10])
    return f"stores {shown}" + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")


def _listed(items: list[object] | None) -> str:
    if not items:
        return "all"
    names = [clean((i.get("name") or i.get("code") or i.get("id")) if isinstance(i, dict) else i, 30) for i in items]
    return ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")


def _range(raw: str | None) -> str:
    value = parse_json_list(raw)
    if not isinstance(value, dict):
        return "any day, any hour"
    parts = []
    for key, label in (("dom", "days of month"), ("dow", "days of week"), ("hours", "hours")):
        items = value.get(key)
        values = [str(i) for i in items] if isinstance(items, list) else []
        if values and "-1" not in values:  # ["-1"] means any
            parts.append(f"{label} {', '.join(clean(v, 5) for v in values[:31])}")
    return "; ".join(parts) if parts else "any day, any hour"


def _validity(series: CouponSeries) -> str:
    end, start, days = series.valid_till_date, series.redemption_valid_from, series.valid_days_from_creation
    # 1970-01-01 is Capillary's "no start restriction".
    return " · ".join(
        (
            f"series valid till {date_token(end)}" if end else "series has no end date",
            f"redeemable from {date_token(start)}" if start and start.year > 1970 else "no redemption start date",
            f"coupons valid {days} days after issue" if days and days > 0 else "no per-coupon validity",
        )
    )


def _bill(series: CouponSeries) -> str:
    low = series.min_bill_amount
    high = series.max_bill_amount
    minimum = "none" if not low or low <= 0 else number(low)
    maximum = "no maximum" if high is None or high < 0 or high >= NO_MAXIMUM_BILL else number(high)
    return f"minimum {minimum} · maximum {maximum}"


def series_detail_lines(series: CouponSeries) -> list[tuple[str, str]]:
    """(label, mrkdwn) pairs; every value taken from Capillary is escaped here."""
    stated = series.discount
    discount = describe_discount(stated)
    if discount and stated is not None and stated.cap is None and stated.cap_stated:
        discount += ", no cap"
    if discount and series.discount_on:
        discount += f" (on {clean(series.discount_on.lower(), 20)})"
    lines = [
        ("About", clean(series.description or "—", 300)),
        ("Terms", clean(series.terms_and_conditions or "—", 500)),
        ("Discount", discount or "not given"),
        ("Bill", _bill(series)),
        ("Validity", _validity(series)),
        ("Limits", _limits(series)),
        (
            "Where",
            f"{_stores(series.redeem_at_store or series.store_ids_json)} · brands {_listed(series.brands)} · "
            f"products {_listed(series.products)} · categories {_listed(series.categories)} · "
            f"{_range(series.redemption_range)}",
        ),
        (
            "Codes",
            f"series code {clean(series.series_code or '—', 40)} · "
            f"discount code {clean(series.discount_code or '—', 40)}",
        ),
        (
            "Series totals",
            f"{_count(series.num_issued)} issued · {_count(series.num_redeemed)} redeemed",
        ),
    ]
    return lines


def _count(value: int | None) -> str:
    return "unknown" if value is None or value < 0 else f"{value:,}"


def render_series_details(series: CouponSeries, name: str) -> Block:
    body = "\n".join(f"*{label}:* {text}" for label, text in series_detail_lines(series))
    return section(f":mag: *{clean(name or series.id, 80)}* — series {series.id}\n{body}")
