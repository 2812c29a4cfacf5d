"""`render_summary`: a customer's coupons as one Block Kit message that always fits Slack's limits."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from blocks.check import render_check
from blocks.customer import customer_line, customer_title, profile_unreadable
from blocks.discount import describe_discount
from blocks.focus import STATE_EMOJI, find_focused, focus_text, render_focus
from blocks.limits import MESSAGE_BUDGET, VIEW_BUDGET
from blocks.message import Message
from blocks.mrkdwn import Block, actions, button, clean, code, context, day, moment, plain, section
from blocks.series_details import redemption_text, render_coupon_details
from bot.domain.action_ids import (
    ACTION_CHECK,
    ACTION_EXTEND,
    ACTION_ISSUE,
    ACTION_PAGE,
    ACTION_REFRESH,
    ACTION_RESEND,
    ACTION_SEND_TO_ME,
    ACTION_SHARE,
    ACTION_TOGGLE_SERIES,
)
from bot.domain.coupon import CodeCase, Coupon
from bot.domain.coupon_actions import ACTION_WORDS, ActionKind, applies
from bot.domain.coupon_state import STATE_ORDER, CouponState, uses_label
from bot.domain.coupon_summary import CouponGroup, CouponSummary
from bot.domain.customer import CustomerCard
from bot.domain.errors import CouponsBotError
from bot.domain.redeemability import Redeemability
from bot.domain.view_state import Surface, ViewState

CASE_NOTES = {
    CodeCase.LOWER: "codes in lower case",
    CodeCase.UPPER: "codes in upper case",
    CodeCase.AS_IT_IS: "codes as they were created",
}
_SLACK_ID = re.compile(r"[A-Z0-9]{2,32}", re.ASCII)


@dataclass(frozen=True)
class SummaryOptions:
    """How to draw: `encode` turns a view into a button value; without it the message has no buttons."""

    encode: Callable[[ViewState], str] | None = None
    page_size: int = 5
    shared_by: str | None = None
    shareable: bool = True  # offer Share (a private answer, in a place where customer data may be shown)
    customer: CustomerCard | None = None  # who this is (masked), when the profile was read
    profile_unreadable: bool = False  # the profile was asked for and couldn't be read
    currency: str | None = None  # shown with amounts (`COUPONS_CURRENCY`), never with percentages
    check: Redeemability | CouponsBotError | None = None  # the coupon in focus: can it be used now
    contact: str = "your Slack admin"
    actions: frozenset[ActionKind] = frozenset()  # the actions this person may take (none: no action buttons)
    check_buttons: bool = False  # a Check button on each active and upcoming coupon shown


def counts_line(summary: CouponSummary, *, bold: bool = False) -> str:
    """`3 active · 1 upcoming · 2 redeemed · 4 expired`: always the full totals, whatever page is shown."""
    mark = "*" if bold else ""
    return " · ".join(f"{mark}{len(summary.group(state).coupons)}{mark} {state.value}" for state in STATE_ORDER)


def fetch_notes(summary: CouponSummary) -> list[str]:
    """When the coupons were fetched, their code case, and whether they are demo data."""
    notes = [f"Fetched {moment(summary.fetched_at)}", CASE_NOTES[summary.case]]
    if summary.demo:
        notes.append(":test_tube: *Demo data*, not a real customer")
    return notes


def coupon_text(coupon: Coupon, state: CouponState, currency: str | None = None) -> str:
    parts = [describe_discount(coupon.discount, currency)]
    if state is CouponState.ACTIVE:
        expires = coupon.expires_at
        parts.append(f"valid till {day(expires)}" if expires else "no expiry date")
    elif state is CouponState.UPCOMING:
        starts, expires = coupon.starts_at, coupon.expires_at
        parts.append(f"starts {day(starts)}" if starts else None)
        parts.append(f"valid till {day(expires)}" if expires else None)
    elif state is CouponState.REDEEMED:
        last = coupon.last_redemption
        parts.append(redemption_text(last) if last else "redeemed")
    else:
        expires = coupon.expires_at
        parts.append(f"expired {day(expires)}" if expires else "expired")
    if state in (CouponState.ACTIVE, CouponState.UPCOMING):
        parts.append(uses_label(coupon))
    elif coupon.times_redeemed > (1 if state is CouponState.REDEEMED else 0):
        # Uses left mean nothing on a coupon that can no longer be used; how often it was used still does.
        parts.append(f"used {coupon.times_redeemed}×")
    name = clean(coupon.display_series_name, 80)
    first_line = f"{code(coupon.code)}" + (f" · *{name}*" if name else "")
    return first_line + "\n" + " · ".join(p for p in parts if p)


def _page_start(view: ViewState, group: CouponGroup, page_size: int) -> int:
    # The data may have changed since the button was drawn: keep the offset inside the group.
    offset = view.offset(group.state)
    if offset >= len(group.coupons):
        offset = max(0, len(group.coupons) - page_size)
    return offset


def _group_blocks(
    summary: CouponSummary,
    group: CouponGroup,
    view: ViewState,
    options: SummaryOptions,
    page_size: int,
    with_details: bool,
) -> list[Block]:
    start = _page_start(view, group, page_size)
    page = group.coupons[start : start + page_size]
    total = len(group.coupons)
    title = f"{STATE_EMOJI[group.state]} *{group.state.value.capitalize()}* · {total}"
    if total > len(page):
        title += f" · showing {start + 1}–{start + len(page)}"
    blocks = [section(title)]
    for index, coupon in enumerate(page):
        block = section(coupon_text(coupon, group.state, options.currency))
        series_id = coupon.series.id if coupon.series else None
        # Details open under one coupon (not a whole series): a button says what is under it, and only there.
        open_here = with_details and coupon.id in view.expanded
        if options.encode and (series_id is not None or coupon.redemption_info):
            block["accessory"] = button(
                "Hide details" if open_here else "Series details",
                f"{ACTION_TOGGLE_SERIES}:{group.state.value}:{index}",
                options.encode(view.toggled(coupon.id)),
            )
        blocks.append(block)
        if open_here:
            # The full terms are read (once per lookup) only here, when an agent has opened a coupon's details.
            terms = summary.series.get(series_id) if series_id is not None else None
            blocks.append(render_coupon_details(coupon, terms, series_id, options.currency))
    if options.encode and total > len(page):
        steps = [("◀ Previous", "prev", view.with_offset(group.state, max(0, start - page_size)))] if start > 0 else []
        if start + len(page) < total:
            steps.append(("Next ▶", "next", view.with_offset(group.state, start + len(page))))
        paging = [
            button(label, f"{ACTION_PAGE}:{group.state.value}:{step}", options.encode(paged))
            for label, step, paged in steps
        ]
        blocks.append(actions(*paging, block_id=f"page_{group.state.value}"))
    if options.encode and options.check_buttons and page and group.state in CHECKABLE:
        # One row of Check buttons under the page (a section holds one accessory, taken by Series details).
        checks = [
            button(
                f"Check {coupon.code}",
                f"{ACTION_CHECK}:{group.state.value}:{index}",
                options.encode(replace(view, focus=coupon.code, expanded=())),  # this coupon on top, its check there
            )
            for index, coupon in enumerate(page)
        ]
        blocks.append(actions(*checks, block_id=f"check_{group.state.value}"))
    return blocks


CHECKABLE = (CouponState.ACTIVE, CouponState.UPCOMING)
COUPON_ACTIONS = {ActionKind.RESEND: ACTION_RESEND, ActionKind.EXTEND: ACTION_EXTEND}


def _under_focus(summary: CouponSummary, view: ViewState, options: SummaryOptions) -> list[Block]:
    """Under the coupon in focus: whether it can be used now, and the actions this person may take on it."""
    found = find_focused(summary, view.focus) if view.focus else []
    if not found:
        return []
    state, coupon = found[0]
    blocks: list[Block] = []
    if options.check is not None:
        blocks.append(
            render_check(
                options.check, customer_id=summary.customer_id, contact=options.contact, valid_till=coupon.expires_at
            )
        )
    if options.encode:  # in the lookup modal too: the form is pushed over it
        buttons = [
            button(ACTION_WORDS[kind], action_id, options.encode(view))
            for kind, action_id in COUPON_ACTIONS.items()
            if kind in options.actions and applies(kind, state, coupon, summary.grouped_at)
        ]
        if buttons:
            blocks.append(actions(*buttons, block_id="focus_actions"))
    return blocks


def _build(
    summary: CouponSummary, view: ViewState, options: SummaryOptions, page_size: int, details: bool
) -> list[Block]:
    notes = fetch_notes(summary)
    if summary.skipped:
        notes.append(f":warning: {summary.skipped} coupon{'s' if summary.skipped > 1 else ''} couldn't be read")
    if options.shared_by and _SLACK_ID.fullmatch(options.shared_by):
        notes.append(f"shared by <@{options.shared_by}>")
    who = [customer_line(options.customer)] if options.customer else []
    if options.profile_unreadable and not options.customer:
        who.append(profile_unreadable(has_coupons=summary.total > 0))
    if not options.currency and summary.has_amounts:
        notes.append("amounts in the store's currency")  # said once, not "250 off" with no unit on every coupon
    blocks: list[Block] = [
        {"type": "header", "text": plain(customer_title(options.customer, summary.customer_id), 150)}
    ]
    if view.focus:
        blocks.extend(render_focus(summary, view.focus, options.currency, _under_focus(summary, view, options)))
    blocks += [
        section(counts_line(summary, bold=True) if summary.total else "This customer has no coupons."),
        context(*who, " · ".join(notes)),
    ]
    for group in summary.groups:
        if group.coupons:
            blocks.extend(_group_blocks(summary, group, view, options, page_size, details))
    if options.encode:
        footer = [button("Refresh", ACTION_REFRESH, options.encode(view))]
        if options.shareable and view.surface is Surface.EPHEMERAL and summary.total:
            footer.append(button("Share with channel", ACTION_SHARE, options.encode(view)))
        if view.surface is Surface.MODAL:  # the same view as a DM from the bot, with buttons that work there
            to_dm = options.encode(replace(view, surface=Surface.MESSAGE))
            footer.append(button("Send to me", ACTION_SEND_TO_ME, to_dm))
        if ActionKind.ISSUE in options.actions:
            footer.append(button("Issue goodwill coupon", ACTION_ISSUE, options.encode(view)))
        blocks.append(actions(*footer, block_id="footer"))
    return blocks


def render_summary(summary: CouponSummary, view: ViewState, options: SummaryOptions) -> Message:
    """The largest page (up to `options.page_size`) and the expanded details that fit Slack's limits: a
    message's, or a modal's for a view drawn in one."""
    budget = VIEW_BUDGET if view.surface is Surface.MODAL else MESSAGE_BUDGET
    text = f"Coupons for customer {summary.customer_id}: {counts_line(summary)}"
    if view.focus:
        text += f"; {focus_text(summary, view.focus)}"
    for details in (True, False):
        for page_size in range(max(1, options.page_size), 0, -1):
            blocks = _build(summary, view, options, page_size, details)
            if budget.fits(blocks):
                return Message(text, blocks)
    # Every text is bounded, so one coupon per group always fits; this is only a last resort.
    return Message(text, blocks[: budget.max_blocks])
