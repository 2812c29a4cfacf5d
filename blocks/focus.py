"""The coupon in focus, drawn on top of a summary: everything about one code, its series terms already open."""

from __future__ import annotations

from blocks.discount import describe_discount
from blocks.mrkdwn import Block, clean, code, day, section
from blocks.series_details import render_coupon_details
from bot.domain.coupon import Coupon
from bot.domain.coupon_state import CouponState, uses_label
from bot.domain.coupon_summary import CouponSummary
from bot.domain.focus import same_code

MAX_FOCUSED = 2  # the same code twice (reissued) is rare; more than this is shown as a count
STATE_EMOJI = {
    CouponState.ACTIVE: ":large_green_circle:",
    CouponState.UPCOMING: ":hourglass_flowing_sand:",
    CouponState.REDEEMED: ":white_check_mark:",
    CouponState.EXPIRED: ":no_entry_sign:",
}


def find_focused(summary: CouponSummary, focus: str) -> list[tuple[CouponState, Coupon]]:
    """The customer's coupons with this code, whatever its case, in the summary's group order."""
    return [(g.state, c) for g in summary.groups for c in g.coupons if same_code(c.code, focus)]


def missing_text(summary: CouponSummary, focus: str) -> str:
    checked = f"{summary.total:,} coupon" + ("" if summary.total == 1 else "s")
    return f"Customer {summary.customer_id} has no coupon {clean(focus, 60)} (checked {checked})"


def _validity(coupon: Coupon) -> str:
    starts, expires = coupon.starts_at, coupon.expires_at
    start = f"from {day(starts)}" if starts else "from issue"
    end = f"till {day(expires)}" if expires else "no expiry date"
    issued = coupon.issued_on_iso or coupon.issued_on
    where = coupon.issued_at.label if coupon.issued_at else ""
    text = f"*Valid* {start} {end}"
    if issued:
        text += f" · issued {day(issued)}" + (f" at {clean(where, 60)}" if where else "")
    return text


def _coupon_blocks(
    summary: CouponSummary, state: CouponState, coupon: Coupon, currency: str | None, under: list[Block]
) -> list[Block]:
    name = clean(coupon.display_series_name, 80)
    redeemed = len(coupon.redemption_info or ())
    lines = [
        f":dart: *Coupon {code(coupon.code)}* · *{STATE_EMOJI[state]} {state.value.capitalize()}*"
        + (f" · {name}" if name else ""),
        # Uses Capillary doesn't state are left out: "uses not given" tells an agent nothing they can act on.
        " · ".join(p for p in (describe_discount(coupon.discount, currency), uses_label(coupon)) if p),
        _validity(coupon),
    ]
    if not redeemed:  # the count of redemptions heads their list, in the details below
        lines.append("*Redemptions*: none")
    series_id = coupon.series.id if coupon.series else coupon.series_id
    terms = summary.series.get(series_id) if series_id is not None else None
    # Every redemption (date, time, store, transaction) and the series' terms, already open.
    details = render_coupon_details(coupon, terms, series_id, currency, heading=f"*Redemptions* ({redeemed}):")
    return [section("\n".join(line for line in lines if line)), details, *under]


def render_focus(
    summary: CouponSummary, focus: str, currency: str | None = None, under_first: list[Block] | None = None
) -> list[Block]:
    """The blocks that go on top of the summary for `focus`: the coupon in full, or a plain "no such coupon".
    `under_first`: what goes under the first such coupon's details (its check, its action buttons)."""
    found = find_focused(summary, focus)
    if not found:
        return [section(f":grey_question: {missing_text(summary, focus)}."), {"type": "divider"}]
    blocks: list[Block] = []
    for index, (state, coupon) in enumerate(found[:MAX_FOCUSED]):
        blocks.extend(_coupon_blocks(summary, state, coupon, currency, (under_first or []) if index == 0 else []))
    if len(found) > MAX_FOCUSED:
        blocks.append(section(f"{len(found) - MAX_FOCUSED} more coupons have this code; see them below."))
    blocks.append({"type": "divider"})
    return blocks


def focus_text(summary: CouponSummary, focus: str) -> str:
    """For the notification text: what became of the code."""
    found = find_focused(summary, focus)
    if not found:
        return missing_text(summary, focus)
    state, coupon = found[0]
    return f"coupon {clean(coupon.code, 60)} is {state.value}"
