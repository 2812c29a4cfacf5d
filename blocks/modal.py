"""The lookup modal: the form, "looking up…", the answer, and a notice (a refusal, an error)."""

from __future__ import annotations

from typing import Any

from blocks.message import Message
from blocks.mrkdwn import clean, context, input_block, modal, plain, section
from blocks.summary import CASE_NOTES
from bot.domain.action_ids import (
    BLOCK_CASE,
    BLOCK_CODE,
    BLOCK_WHO,
    INPUT_CASE,
    INPUT_CODE,
    INPUT_WHO,
    VIEW_ANSWER,
    VIEW_LOOKUP_FORM,
)
from bot.domain.coupon import CodeCase
from bot.domain.focus import MAX_CODE_LENGTH

MAX_WHO = 200  # what /coupons accepts at most (bot.command_text.MAX_TEXT)
TITLE = "Coupons"
View = dict[str, Any]


def _case_option(case: CodeCase) -> dict[str, Any]:
    return {"text": plain(CASE_NOTES[case].capitalize()), "value": case.value}


def _text_input(block_id: str, action_id: str, label: str, *, initial: str, max_length: int, **extra: Any) -> View:
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": action_id, "max_length": max_length}
    if initial:
        element["initial_value"] = initial[:max_length]
    return input_block(block_id, label, element, **extra)


def render_lookup_form(
    *, who: str = "", code: str = "", case: CodeCase = CodeCase.UPPER, hint: str | None = None
) -> View:
    blocks: list[dict[str, Any]] = []
    if hint:
        blocks.append(section(f":information_source: {hint}"))
    blocks += [
        _text_input(
            BLOCK_WHO,
            INPUT_WHO,
            "Customer",
            initial=who,
            max_length=MAX_WHO,
            hint=plain("What you would type after /coupons, e.g. 565032176", 150),
        ),
        _text_input(
            BLOCK_CODE,
            INPUT_CODE,
            "Coupon code",
            initial=code,
            max_length=MAX_CODE_LENGTH,
            optional=True,
            hint=plain("Optional: this coupon is shown on top, in full", 150),
        ),
        input_block(
            BLOCK_CASE,
            "Code case",
            {
                "type": "static_select",
                "action_id": INPUT_CASE,
                "options": [_case_option(c) for c in (CodeCase.UPPER, CodeCase.LOWER, CodeCase.AS_IT_IS)],
                "initial_option": _case_option(case),
            },
        ),
    ]
    return modal(VIEW_LOOKUP_FORM, "Look up coupons", blocks, submit="Look up")


def render_loading(who: str) -> View:
    """While the lookup runs; `who` is "customer 565032176" or "the customer by mobile", never the value."""
    return modal(VIEW_ANSWER, TITLE, [section(f":hourglass_flowing_sand: Looking up {clean(who, 60)}…")])


def render_answer(message: Message) -> View:
    """A summary (or an error) in the modal; its buttons redraw the modal, or push an action's form over it."""
    return modal(VIEW_ANSWER, TITLE, message.blocks or [context("Nothing to show.")])
