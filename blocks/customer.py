"""Who an answer is about: the line under a summary's title. Only masked mobile numbers and emails reach it."""

from __future__ import annotations

from blocks.discount import number
from blocks.mrkdwn import clean
from bot.domain.customer import CustomerCard


def profile_unreadable(*, has_coupons: bool) -> str:
    """The note for a profile not read: with no coupons listed, "the coupons below are complete" points at nothing."""
    complete = "; the coupons below are complete" if has_coupons else ""
    return f":grey_question: The customer's profile couldn't be read{complete}."


def customer_title(card: CustomerCard | None, customer_id: int) -> str:
    name = " ".join(card.name.split()) if card else ""
    return f"Coupons · {name}" if name else f"Coupons · customer {customer_id}"


def customer_line(card: CustomerCard) -> str:
    """`*Gold* · 1,850 points · customer 565000123 · mobile ••••••••1001 · email a•••@example.com`."""
    parts = []
    if card.tier:
        parts.append(f"*{clean(card.tier, 40)}* tier")
    if card.points is not None:
        parts.append(f"{number(card.points)} points")
    parts.append(f"customer {card.customer_id}")
    if card.mobile:
        parts.append(f"mobile {clean(card.mobile, 24)}")
    if card.email:
        parts.append(f"email {clean(card.email, 120)}")
    if card.merged:
        parts.append(":twisted_rightwards_arrows: _merged profile: Capillary returned the surviving account_")
    return " · ".join(parts)
