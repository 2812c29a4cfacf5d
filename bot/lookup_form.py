"""The lookup modal's form → the lookup to make. Pure, so the view_submission ack can check it (no network)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from blocks.mrkdwn import truncate
from bot.command_text import Lookup, parse
from bot.domain.action_ids import BLOCK_CASE, BLOCK_CODE, BLOCK_WHO, INPUT_CASE, INPUT_CODE, INPUT_WHO
from bot.domain.coupon import CodeCase
from bot.domain.errors import InvalidCommand
from bot.domain.focus import parse_code
from bot.requester import part
from bot.slack_text import plain_text

MAX_ERROR = 150


@dataclass(frozen=True)
class FormInput:
    who: str = ""
    code: str = ""
    case: CodeCase = CodeCase.UPPER


class FormErrors(InvalidCommand):
    """What is wrong with the form, by block_id: Slack shows each under its field."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = {block: truncate(text, MAX_ERROR) for block, text in errors.items()}


def form_input(view: dict[str, Any]) -> FormInput:
    """The submitted values out of Slack's `view.state.values`; anything missing reads as empty."""
    values = part(part(view, "state"), "values")

    def element(block: str, action: str) -> dict[str, Any]:
        return part(part(values, block), action)

    raw_case = part(element(BLOCK_CASE, INPUT_CASE), "selected_option").get("value")
    case = CodeCase(raw_case) if raw_case in {c.value for c in CodeCase} else CodeCase.UPPER
    return FormInput(
        who=str(element(BLOCK_WHO, INPUT_WHO).get("value") or ""),
        code=str(element(BLOCK_CODE, INPUT_CODE).get("value") or ""),
        case=case,
    )


@dataclass(frozen=True)
class FormLookup:
    """A valid form, read as `/coupons` reads its text (so one parser and one path answer both), and what the
    "Looking up…" view may say while it runs (never the mobile or email itself)."""

    lookup: Lookup
    label: str


def read_form(form: FormInput) -> FormLookup:
    """The who field takes exactly what /coupons takes (`parse`, the one reading of who); the code field, when
    filled, wins over a `code:` in it, and the case select wins over a case word. Raises FormErrors."""
    errors: dict[str, str] = {}
    lookup = Lookup(None)
    try:
        lookup = parse(form.who)
        if lookup.who is None:
            errors[BLOCK_WHO] = "Type the customer, as you would after /coupons."
    except InvalidCommand as error:
        errors[BLOCK_WHO] = str(error)
    code = plain_text(form.code)  # pasted: curly quotes, a zero-width space, a full stop
    focus = lookup.focus
    if code.strip():
        try:
            focus = parse_code(code)
        except InvalidCommand as error:
            errors[BLOCK_CODE] = str(error)
    if errors or lookup.who is None:
        raise FormErrors(errors or {BLOCK_WHO: "Type the customer, as you would after /coupons."})
    who = lookup.who
    label = f"customer {who}" if isinstance(who, int) else f"the customer by {who.kind.value}"
    return FormLookup(Lookup(who, form.case, focus), label)
