"""How a discount reads: "10% off", "250 off, up to 500"."""

from __future__ import annotations

from blocks.mrkdwn import escape
from bot.domain.coupon import Discount, DiscountType


def number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def amount(value: float, currency: str | None = None) -> str:
    """`250`, `INR 250`, `₹250`: a code is set apart by a space, a symbol is not (mrkdwn-escaped)."""
    if not currency:
        return number(value)
    unit = escape(currency)
    return f"{unit} {number(value)}" if currency[-1].isalpha() else f"{unit}{number(value)}"


def describe_discount(discount: Discount | None, currency: str | None = None, *, on: str | None = None) -> str | None:
    """`10% off, up to ₹500`, `₹250 off the bill`: amounts carry the currency, percentages don't; `on`: what the
    discount is taken off (Capillary's `discountOn`, lower case)."""
    if discount is None:
        return None
    if discount.kind is DiscountType.PERCENT:
        text = f"{number(discount.value)}% off"
    else:
        # ABS, or a type we do not know: an amount is the safer reading.
        text = f"{amount(discount.value, currency)} off"
    if on:
        text += f" the {on}"
    if discount.cap is not None:
        text += f", up to {amount(discount.cap, currency)}"
    return text
