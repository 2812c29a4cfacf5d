"""The coupon in focus, drawn on top of a summary: everything about one code, its series terms already open."""

from __future__ import annotations

from blocks.discount import describe_discount
from blocks.mrkdwn import Block, clean, code, date_token, section
from blocks.series_details import render_series_details
from bot.domain.coupon import Coupon, Redemption
from bot.domain.coupon_state import CouponState, uses_label
from bot.domain.coupon_summary import CouponSummary
from bot.domain.focus import same_code

MAX_FOCUSED = 2  # the same code twice (reissued) is rare; more than this is shown as a count
MAX_REDEMPTION_LINES = 15
STATE_NAMES = {
    CouponState.ACTIVE: ":large_green_circle: Active",
    CouponState.UPCOMING: ":hourglass_flowing_sand: Upcoming",
    CouponState.REDEEMED: ":white_check_mark: Redeemed",
    CouponState.EXPIRED: ":no_entry_sign: Expired",
}


def find_focused(summary: CouponSummary, focus: str) -> list[tuple[CouponState, Coupon]]:
    """The customer's coupons with this code, whatever its case, in the summary's group order."""
    return [(g.state, c) for g in summary.groups for c in g.coupons if same_code(c.code, focus)]


def missing_text(summary: CouponSummary, focus: str) -> str:
    checked = f"{summary.total:,} coupon" + ("" if summary.total == 1 else "s")
    return f"Customer {summary.customer_id} has no coupon {clean(focus, 60)} (checked {checked})"


def _redemption_line(entry: Redemption) -> str:
    when = entry.redeemed_when
    parts = [date_token(when, "{date_short_pretty} at {time}") if when else "date not given"]
    if entry.redeemed_at and entry.redeemed_at.label:
        parts.append(f"at {clean(entry.redeemed_at.label, 60)}")
    if entry.transaction_number not in (None, ""):
        parts.append(f"transaction {code(entry.transaction_number, 40)}")
    return "• " + " · ".join(parts)


def _validity(coupon: Coupon) -> str:
    starts, expires = coupon.starts_at, coupon.expires_at
    start = f"from {date_token(starts)}" if starts else "from issue"
    end = f"till {date_token(expires)}" if expires else "no expiry date"
    issued = coupon.issued_on_iso or coupon.issued_on
    where = coupon.issued_at.label if coupon.issued_at else ""
    text = f"*Valid* {start} {end}"
    if issued:
        text += f" · issued {date_token(issued)}" + (f" at {clean(where, 60)}" if where else "")
    return text


def _coupon_blocks(summary: CouponSummary, state: CouponState, coupon: Coupon) -> list[Block]:
    name = clean(coupon.display_series_name, 80)
    lines = [
        f":dart: *Coupon {code(coupon.code)}* · *{STATE_NAMES[state]}*" + (f" · {name}" if name else ""),
        " · ".join(p for p in (describe_discount(coupon.discount), uses_label(coupon) or "uses not given") if p),
        _validity(coupon),
    ]
    redemptions = list(coupon.redemption_info or ())
    if redemptions:
        lines.append(f"*Redemptions* ({len(redemptions)})")
        lines.extend(_redemption_line(r) for r in redemptions[:MAX_REDEMPTION_LINES])
        if len(redemptions) > MAX_REDEMPTION_LINES:
            lines.append(f"… and {len(redemptions) - MAX_REDEMPTION_LINES} more")
    else:
        lines.append("*Redemptions*: none")
    reversed_count = len(coupon.reversed_redemption_info or ())
    if reversed_count:
        lines.append(f"{reversed_count} redemption" + (" was" if reversed_count == 1 else "s were") + " reversed")
    blocks = [section("\n".join(lines))]
    series_id = coupon.series.id if coupon.series else coupon.series_id
    if series_id is not None:
        terms = summary.series.get(series_id)
        if terms is not None:
            blocks.append(render_series_details(terms, coupon.display_series_name))
        else:
            blocks.append(section(f"No terms can be shown for series {series_id}: Capillary sent them unreadable."))
    return blocks


def render_focus(summary: CouponSummary, focus: str) -> list[Block]:
    """The blocks that go on top of the summary for `focus`: the coupon in full, or a plain "no such coupon"."""
    found = find_focused(summary, focus)
    if not found:
        return [section(f":grey_question: {missing_text(summary, focus)}."), {"type": "divider"}]
    blocks: list[Block] = []
    for state, coupon in found[:MAX_FOCUSED]:
        blocks.extend(_coupon_blocks(summary, state, coupon))
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
