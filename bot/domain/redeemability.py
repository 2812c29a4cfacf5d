"""Can a coupon be used right now, and if not, why: Capillary's redeemability answer in an agent's words. Pure.

Read from `GET /v2/coupon/is_redeemable` (item `isRedeemable`, then item `warnings[].code`, then
`redemptionStatus.code`) or its v1.1 fallback (`is_redeemable` / `item_status.code`), as the reference note's
reading order says. Every documented status code has a sentence; an unknown one is shown as its number and
Capillary's message (masked by the renderer).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

OK_CODE = 700

# §8 of capillary-coupon-actions.md: what an agent can read out. `{valid_till}` is filled when known.
REASONS: dict[int, str] = {
    500: "Capillary rejected the whole request.",
    621: "This customer already has the maximum number of coupons allowed from this offer.",
    629: "The request was malformed — this is a bot problem, not the customer's.",
    660: "This coupon has been cancelled and can't be used any more.",
    700: "This coupon can be used right now.",
    701: "Capillary couldn't find this customer.",
    702: "That coupon code isn't valid — please check how it was typed.",
    703: "This coupon was not issued to this customer.",
    704: "The coupon is fine, but the text message couldn't be sent.",
    705: "Neither the coupon code nor its validation code matched.",
    706: "This coupon can't be used; if it was used before, it was single-use.",
    707: "That offer (series) doesn't exist for this brand — bot configuration problem.",
    709: "Capillary couldn't complete this check.",
    710: "This coupon belongs to a different customer.",
    711: "This coupon has already been used.",
    712: "The offer this coupon belongs to has ended.",
    713: "This coupon expired{on_valid_till}.",
    714: "This offer has run out — its limit of uses across all customers was reached.",
    715: "This coupon doesn't belong to this brand.",
    716: "This coupon can only be used once, and it already has been.",
    718: "Using this coupon needs a bill number (till-side problem).",
    719: "There is no coupon with that code.",
    720: "This is a test coupon and can't be used for purchases.",
    721: "This customer's record can't receive or use coupons.",
    722: "A new coupon couldn't be created from this offer.",
    723: "This coupon can't be used by this customer.",
    724: "The coupon is fine, but the message to the customer couldn't be sent.",
    725: "This coupon needs the validation code sent to the customer before it can be used.",
    726: "No validation code is needed for this coupon.",
    728: "This coupon was already used on its last allowed redemption.",
    729: "This coupon can't be used at this time — the offer is limited to certain days or hours.",
    730: "Something went wrong at Capillary; try again in a few minutes.",
    732: "The offer needs a missed call from the customer first.",
    733: "The bill amount doesn't meet this coupon's minimum or maximum spend.",
    735: "This coupon can't be used at this store.",
    736: "The customer has used up all the uses allowed for this coupon.",
    738: "This coupon was used recently; it can be used again only after a waiting period.",
    739: "This coupon can't be used on this date (not started yet, or outside its window).",
    740: "Coupons are blocked on this account — escalate; don't tell the customer the reason.",
    742: "Coupons are temporarily blocked on this account.",
    746: "Bot problem: the offer ID was missing.",
    747: "This coupon can't be used more than once in the same purchase.",
    748: "Capillary's coupon service was too slow to answer; try again shortly.",
    749: "This code wasn't checked because another code in the same request failed — check it on its own.",
    750: "Coupons are blocked on this account — escalate; don't tell the customer the reason.",
    755: "That offer ID isn't valid — bot configuration problem.",
    756: "Bot problem: a required value was missing.",
    759: "The coupon couldn't be redeemed.",
    777: "Coupons from this offer can't be issued this way.",
    780: "Capillary couldn't find that coupon.",
    781: "Bot problem: no coupon was given.",
    788: "The offer is set up wrongly — this needs Capillary support.",
    795: "The offer is set up wrongly — this needs Capillary support.",
    799: "The offer is set up wrongly — this needs Capillary support.",
    1000: "Bot problem: Capillary was asked without the filters it needs.",
}
TRY_LATER = "Capillary had a temporary problem; please try again shortly."
for _code in (786, 787, 789, 790, 791, 792, 793, 794, 796, 797, 798):
    REASONS[_code] = TRY_LATER


@dataclass(frozen=True)
class Redeemability:
    """One code's answer. `code`/`message`: Capillary's reason (None when it gave none)."""

    usable: bool
    code: int | None = None
    message: str | None = None
    redemptions_left: int | None = None
    valid_till: datetime | None = None
    source: str = "v2"  # which call answered: "v2" or "v1.1"


def reason_sentence(check: Redeemability, day: str | None = None) -> str | None:
    """The agent's sentence for the reason; None for a code the bot doesn't know (the renderer then shows the
    number and Capillary's message). `day`: `valid_till` as the renderer writes days."""
    if check.usable and check.code in (None, OK_CODE):
        return REASONS[OK_CODE]
    if check.code is None:
        return "Capillary said no but gave no reason."
    sentence = REASONS.get(check.code)
    if sentence is None:
        return None
    return sentence.replace("{on_valid_till}", f" on {day}" if day else "")
