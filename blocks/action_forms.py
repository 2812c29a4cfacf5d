"""The confirmation form of a coupon action (what will happen, to whom — masked —, a required reason), the form
while it works, and the outcome in words."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from blocks.message import Message
from blocks.mrkdwn import clean, code, context, day, input_block, modal, plain, section
from bot.domain.action_ids import (
    BLOCK_EXPIRY,
    BLOCK_REASON,
    BLOCK_SERIES,
    INPUT_EXPIRY,
    INPUT_REASON,
    INPUT_SERIES,
    VIEW_ACTION_DONE,
    VIEW_ACTION_FORM,
)
from bot.domain.coupon_actions import MAX_REASON, ActionKind, ActionOutcome, Prepared
from bot.domain.customer import CustomerCard, mask_personal
from bot.domain.redeemability import REASONS
from bot.domain.view_state import ViewStateCodec

View = dict[str, Any]
TITLES = {ActionKind.RESEND: "Resend coupon", ActionKind.EXTEND: "Extend expiry", ActionKind.ISSUE: "Issue goodwill"}
SUBMITS = {ActionKind.RESEND: "Resend", ActionKind.EXTEND: "Extend", ActionKind.ISSUE: "Issue"}
DEMO_NOTE = ":test_tube: _Demo data: this changes the built-in demo customer in this process's memory only._"
# Capillary's refusals of an extension that are about the date chosen: shown under the date, the form stays open.
DATE_REFUSALS = frozenset({690, 691})


def whom(customer_id: int, card: CustomerCard | None) -> str:
    """`customer 565032176 (Asha Example · mobile ••••••••1001)`: masked, as every message shows a customer."""
    parts = [clean(card.name, 60)] if card and card.name else []
    if card and card.mobile:
        parts.append(f"mobile {clean(card.mobile, 24)}")
    elif card and card.email:
        parts.append(f"email {clean(card.email, 120)}")
    return f"customer {customer_id}" + (f" ({' · '.join(parts)})" if parts else "")


def _what(prepared: Prepared) -> str:
    who = whom(prepared.view.customer_id, prepared.customer)
    kind, coupon = prepared.form.kind, prepared.coupon
    if kind is ActionKind.RESEND and coupon is not None:
        return (
            f"Capillary will send coupon {code(coupon.code)} to {who} again, with its validity. "
            "Every resend is another message to the customer."
        )
    if kind is ActionKind.EXTEND and coupon is not None:
        now = f"valid till {day(coupon.expires_at)}" if coupon.expires_at else "without an expiry date"
        latest = prepared.form.latest
        limit = f" Its offer ends on {latest.isoformat()}: the new date can't be later." if latest else ""
        return f"Coupon {code(coupon.code)} of {who} is {now}. Pick its new last day.{limit}"
    return f"Capillary will issue a new goodwill coupon to {who} from the offer you pick."


def render_action_form(
    prepared: Prepared, codec: ViewStateCodec, *, demo: bool = False, date_error: str | None = None
) -> View:
    form = prepared.form
    blocks: list[dict[str, Any]] = [section(_what(prepared))]
    if form.kind is ActionKind.EXTEND:
        picker = {"type": "datepicker", "action_id": INPUT_EXPIRY, "initial_date": _initial(prepared)}
        blocks.append(input_block(BLOCK_EXPIRY, "New last day", picker))
        if date_error:  # Capillary refused the date: said right under it, and the form stays open
            blocks.append(section(f":warning: {date_error}"))
    if form.kind is ActionKind.ISSUE:
        options = [{"text": plain(f"Offer (series) {s}"), "value": str(s)} for s in prepared.goodwill_series[:100]]
        select = {"type": "static_select", "action_id": INPUT_SERIES, "options": options}
        blocks.append(input_block(BLOCK_SERIES, "Goodwill offer", select))
    blocks.append(
        {
            "type": "input",
            "block_id": BLOCK_REASON,
            "label": plain("Reason (kept in the audit log)"),
            "hint": plain("Say why, e.g. the ticket: digits and emails are masked in the log", 150),
            "element": {
                "type": "plain_text_input",
                "action_id": INPUT_REASON,
                "multiline": True,
                "max_length": MAX_REASON,
            },
        }
    )
    if demo:
        blocks.append(context(DEMO_NOTE))
    return modal(VIEW_ACTION_FORM, TITLES[form.kind], blocks, submit=SUBMITS[form.kind], metadata=form.encode(codec))


def _initial(prepared: Prepared) -> str:
    """A month past today, within the offer."""
    form = prepared.form
    chosen = (form.earliest or date.today()) + timedelta(days=30)
    if form.latest is not None and chosen > form.latest:
        chosen = form.latest
    return chosen.isoformat()


def render_working(kind: ActionKind) -> View:
    return modal(VIEW_ACTION_DONE, TITLES[kind], [section(":hourglass_flowing_sand: Working on it…")])


def render_outcome_view(message: Message, kind: ActionKind) -> View:
    return modal(VIEW_ACTION_DONE, TITLES[kind], message.blocks)


def refusal_words(outcome: ActionOutcome) -> str:
    """Capillary's reason: the sentence for a documented code, else its number and (masked) message."""
    known = REASONS.get(outcome.code) if outcome.code is not None else None
    if known and outcome.code not in (500, 700):
        return f"{known.replace('{on_valid_till}', '')} (code {outcome.code})"
    said = clean(mask_personal(outcome.message or "no reason given"), 200)
    return f"{said}" + (f" (code {outcome.code})" if outcome.code is not None else "")


def date_refusal(outcome: ActionOutcome) -> str | None:
    """A refused extension whose reason is the date: the words to show under the date field."""
    if outcome.kind is ActionKind.EXTEND and outcome.status == "refused" and outcome.code in DATE_REFUSALS:
        return f"Capillary refused this date: {refusal_words(outcome)}"
    return None


def render_outcome(outcome: ActionOutcome) -> Message:
    target = clean(outcome.target, 60)
    coupon = f"coupon {code(outcome.target)}"
    who = f"customer {outcome.customer_id}"
    till = _day(outcome.valid_till)
    if outcome.status == "done":
        title = {
            ActionKind.RESEND: f":white_check_mark: *{coupon.capitalize()} was sent to {who} again.*",
            ActionKind.EXTEND: f":white_check_mark: *{coupon.capitalize()} of {who} is now valid till {till}.*",
            ActionKind.ISSUE: f":white_check_mark: *A goodwill coupon {code(outcome.new_code or '')} was issued to "
            f"{who}* ({target})" + (f", valid till {till}." if till else "."),
        }[outcome.kind]
    elif outcome.status == "limit":
        title = ":no_entry: *You have reached today's limit of coupon actions; nothing was changed.*"
    elif outcome.status == "refused":
        title = f":no_entry: *Capillary refused: nothing was changed.* {refusal_words(outcome)}"
    else:
        why = clean(mask_personal(outcome.message or ""), 160)
        title = (
            f":warning: *Nobody knows whether this went through* ({why}). "
            + {
                ActionKind.RESEND: "Ask the customer whether the message arrived before resending.",
                ActionKind.EXTEND: "Check the coupon's expiry (Refresh) before trying again.",
                ActionKind.ISSUE: "Check the customer's coupons (Refresh) before issuing again.",
            }[outcome.kind]
        )
    notes = []
    if outcome.replayed:
        notes.append("This form was already submitted: this is what came of it then; nothing was done again.")
    if outcome.demo:
        notes.append(DEMO_NOTE)
    blocks = [section(title)] + ([context(*notes)] if notes else [])
    return Message(title.replace("*", ""), blocks, ok=False)  # about a customer, for the agent only: never shared


def _day(iso: str | None) -> str:
    if not iso:
        return ""
    try:
        return day(datetime.fromisoformat(iso))
    except ValueError:
        return clean(iso, 30)
