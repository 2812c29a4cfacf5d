"""How a discount reads: "10% off", "250 off, up to 500"."""

from __future__ import annotations

from bot.domain.coupon import Discount, DiscountType


def number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def describe_discount(discount: Discount | None) -> str | None:
    if discount is None:
        return None
    if discount.kind is DiscountType.PERCENT:
        text = f"{number(discount.value)}% off"
    else:
        # ABS, or a type we do not know: an amount is the safer reading.
        text = f"{number(discount.value)} off"
    if discount.cap is not None:
        text += f", up to {number(discount.cap)}"
    return text
