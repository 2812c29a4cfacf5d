"""A redeemability check in words: usable now or not, why, uses left, valid till."""

from __future__ import annotations

from datetime import datetime

from blocks.errors import describe_error
from blocks.mrkdwn import Block, clean, section
from blocks.mrkdwn import day as day_text
from bot.domain.customer import mask_personal
from bot.domain.errors import CouponsBotError
from bot.domain.redeemability import Redeemability, reason_sentence


def uses_left(left: int | None) -> str | None:
    if left is None or left < -1:
        return None
    if left == -1:
        return "unlimited uses left"
    return f"{left} use{'' if left == 1 else 's'} left"


def check_text(check: Redeemability, valid_till: datetime | None = None) -> str:
    """`valid_till`: the coupon's own expiry from the customer's list, which wins over the check's (the series')."""
    till = valid_till or check.valid_till
    sentence = reason_sentence(check, day_text(till) if till else None)
    if sentence is None:  # a code the bot doesn't know: Capillary's words, masked
        said = clean(mask_personal(check.message or "no message"), 200)
        sentence = f"Capillary's code {check.code}: {said}"
    elif check.code is not None and not check.usable:
        sentence += f" (code {check.code})"
    head = ":white_check_mark: *Usable now*" if check.usable else ":no_entry: *Not usable now*"
    details = [p for p in (uses_left(check.redemptions_left), f"valid till {day_text(till)}" if till else None) if p]
    text = f"{head} — {sentence}"
    if details:
        text += "\n" + " · ".join(details)
    return text


def render_check(
    check: Redeemability | CouponsBotError, *, customer_id: int, contact: str, valid_till: datetime | None = None
) -> Block:
    if isinstance(check, CouponsBotError):
        words = describe_error(check, customer_id=customer_id, contact=contact)
        return section(f":grey_question: *Couldn't check whether it can be used* — {words.title}")
    return section(check_text(check, valid_till))
