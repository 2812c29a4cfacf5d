"""The coupon code in focus (typed, carried in button values) and what the message shortcut reads."""

from __future__ import annotations

import pytest

from bot.domain.coupon import CodeCase
from bot.domain.errors import InvalidCommand, InvalidViewState
from bot.domain.focus import MAX_CODE_LENGTH, take_code
from bot.domain.view_state import Surface, ViewState, ViewStateCodec
from bot.message_prefill import Prefill, find_in_message
from tests.support.blockkit import MAX_BUTTON_VALUE

CODEC = ViewStateCodec("secret")


@pytest.mark.parametrize(
    ("text", "rest", "code"),
    [
        ("565032176", "565032176", None),
        ("565032176 code:WELCOME10 lower", "565032176 lower", "WELCOME10"),
        ("Code:ab_1-2 565032176", "565032176", "ab_1-2"),
        ("565032176 barcode:X", "565032176 barcode:X", None),  # not the code word: the who parser refuses it
    ],
)
def test_take_code(text: str, rest: str, code: str | None) -> None:
    assert take_code(text) == (rest.strip(), code)


@pytest.mark.parametrize("text", ["1 code:", "1 code:a.b", "1 code:<!here>", f"1 code:{'A' * 41}", "1 code:A code:B"])
def test_bad_codes_are_refused(text: str) -> None:
    with pytest.raises(InvalidCommand):
        take_code(text)


def test_the_focus_round_trips_and_stays_small() -> None:
    view = ViewState(2**63 - 1, CodeCase.AS_IT_IS, (99999,) * 4, (2**63 - 1,) * 3, Surface.MODAL, "Z" * MAX_CODE_LENGTH)
    value = CODEC.encode(view)
    assert CODEC.decode(value) == view
    assert len(value) < 300 < MAX_BUTTON_VALUE


def test_a_focus_cannot_be_smuggled_in() -> None:
    value = CODEC.encode(ViewState(565032176, focus="WELCOME10"))
    with pytest.raises(InvalidViewState, match="altered"):
        CODEC.decode(value.replace("WELCOME10", "WELCOME11"))
    v1 = "1.565032176.l.0-0-0-0..e.0000000000000000"
    with pytest.raises(InvalidViewState):
        CODEC.decode(v1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("customer 565032176 says code WELCOME10 fails", Prefill("565032176", "WELCOME10")),
        ("mail <mailto:jo@x.com|jo@x.com>; the code is welcome10", Prefill("jo@x.com", "welcome10")),
        ("call <tel:+919876543210|+91 98765 43210> please", Prefill("+919876543210", None)),
        ("call +91 98765 43210, order 1234567", Prefill("+919876543210", None)),
        ("not +123 4567 but 565032176", Prefill("565032176", None)),  # only what /coupons would take
        ("mobile: 919876543210", Prefill("+919876543210", None)),
        ("card: ABC123 then 565032176", Prefill("card:ABC123", None)),
        ("EXTERNAL:crm-77.", Prefill("external:crm-77", None)),
        ("<@U0123456> ticket 2026-11-25, short 12345", Prefill(None, None)),
        ("the code is broken", Prefill(None, None)),
        ("", Prefill(None, None)),
    ],
)
def test_what_the_message_shortcut_finds(text: str, expected: Prefill) -> None:
    assert find_in_message(text) == expected
