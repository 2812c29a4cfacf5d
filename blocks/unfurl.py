"""A Member Care link unfolded into a short card. Everyone in the conversation sees it, so it shows less than a
shared answer does: who (contacts masked), the counts, the first active codes — and one button, which opens the
full answer privately for whoever clicks (their own access is checked then)."""

from __future__ import annotations

from blocks.customer import customer_line, customer_title
from blocks.mrkdwn import Block, actions, button, code, context, plain, section
from blocks.summary import counts_line, fetch_notes
from bot.domain.action_ids import ACTION_OPEN_FROM_LINK
from bot.domain.coupon_state import CouponState
from bot.domain.coupon_summary import CouponSummary
from bot.domain.customer import CustomerCard

MAX_CODES = 3


def render_unfurl(summary: CouponSummary, card: CustomerCard | None, *, open_value: str) -> list[Block]:
    """`open_value`: the signed view the button opens (see `bot.domain.view_state`)."""
    notes = fetch_notes(summary)
    who = customer_line(card) if card else f"customer {summary.customer_id}"
    blocks: list[Block] = [
        {"type": "header", "text": plain(customer_title(card, summary.customer_id), 150)},
        section(counts_line(summary, bold=True) if summary.total else "This customer has no coupons."),
        context(who, " · ".join(notes)),
    ]
    codes = active_codes_line(summary)
    if codes:
        blocks.append(section(codes))
    blocks.append(actions(button("Open privately", ACTION_OPEN_FROM_LINK, open_value), block_id="unfurl"))
    return blocks


def active_codes_line(summary: CouponSummary) -> str:
    """`Active: `H306ORH2` · `ER07BCJ8` · `TT6WZP7XNW` and 2 more`, soonest to expire first; empty with none."""
    active = summary.group(CouponState.ACTIVE).coupons
    if not active:
        return ""
    shown = " · ".join(code(coupon.code) for coupon in active[:MAX_CODES])
    more = len(active) - MAX_CODES
    return f"*Active:* {shown}" + (f" and {more} more" if more > 0 else "")
