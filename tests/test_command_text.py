from __future__ import annotations

from dataclasses import replace

import pytest

from bot.command_text import Lookup, parse
from bot.domain.coupon import CodeCase
from bot.domain.customer import Identifier, IdentifierKind
from bot.domain.errors import InvalidCommand


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("565032176", Lookup(565032176, CodeCase.UPPER)),
        ("  565032176   lower ", Lookup(565032176, CodeCase.LOWER)),
        ("565032176 LoWeR", Lookup(565032176, CodeCase.LOWER)),
        ("565032176 UPPER", Lookup(565032176, CodeCase.UPPER)),
        ("565032176 As_It_Is", Lookup(565032176, CodeCase.AS_IT_IS)),
        ("9223372036854775807", Lookup(2**63 - 1, CodeCase.UPPER)),
        ("", Lookup(None)),
        (None, Lookup(None)),
        ("help", Lookup(None)),
        ("HELP", Lookup(None)),
    ],
)
def test_accepted_input(text: str | None, expected: object) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "５６５０３２１７６",  # full-width digits
        "٥٦٥",  # Arabic-Indic digits
        "-5",
        "0",
        "000",
        "12abc",
        "12.5",
        "+12",
        "9223372036854775808",  # int64 + 1
        "1" * 30,
        "565032176 lower extra",
        "565032176 sideways",
        "565032176 ｌｏｗｅｒ",
        "x" * 500,
        "<!channel>",
    ],
)
def test_rejected_input(text: str) -> None:
    with pytest.raises(InvalidCommand):
        parse(text)


def test_a_number_above_the_largest_id_is_called_too_large() -> None:
    for text in ("9223372036854775808", "9999999999999999999", "1" * 30):
        with pytest.raises(InvalidCommand, match="too large for a customer ID"):
            parse(text)
    with pytest.raises(InvalidCommand, match="greater than 0"):
        parse("0")


ASHA = Lookup(Identifier(IdentifierKind.EMAIL, "asha@example.com"))
ASHA_BY_MOBILE = Lookup(Identifier(IdentifierKind.MOBILE, "919900001001"))


@pytest.mark.parametrize(
    ("text", "expected", "focus"),
    [
        ("<mailto:asha@example.com|asha@example.com>", ASHA, None),
        ("email:<mailto:asha@example.com|asha@example.com>.", ASHA, None),
        ("<mailto:asha@example.com|Asha>", ASHA, None),  # a labelled address: the address
        ("<tel:+919900001001|+91 99000 01001>", ASHA_BY_MOBILE, None),
        ("+91\u202f99000\u00a001001", ASHA_BY_MOBILE, None),  # narrow and ordinary no-break spaces
        ("<https://crm.example/c/565032176|565032176>", Lookup(565032176), None),
        ("<@U0AGENT2> 565032176 <#C0SUPPORT|support>", Lookup(565032176), None),
        ("565032176.", Lookup(565032176), None),
        ("565032176, lower!", Lookup(565032176, CodeCase.LOWER), None),
        ("\u2067565032176\u2069 \ufefflower", Lookup(565032176, CodeCase.LOWER), None),
        ("565032176 code:“WELCOME10”", Lookup(565032176), "WELCOME10"),
        ("565032176 code:\u201cWELCOME10.\u201d", Lookup(565032176), "WELCOME10"),
        ("`565032176` code:'WELCOME10'", Lookup(565032176), "WELCOME10"),
        ("help?", Lookup(None), None),
        ("<@U0BOT>", Lookup(None), None),
    ],
)
def test_text_as_slack_sends_it(text: str, expected: Lookup, focus: str | None) -> None:
    assert parse(text) == replace(expected, focus=focus)


@pytest.mark.parametrize(
    "text",
    [
        "<!channel>",  # @channel in a command with escaping on: not a customer
        "&lt;!channel&gt;",  # typed literally
        "<https://evil.example|Click>",
        "<!subteam^S0TEAM|@support> 565032176",
        "asha&amp;example.com",
        "５６５０３２１７６",  # full-width digits stay refused: no look-alike becomes an ID
    ],
)
def test_markup_that_names_no_customer_is_still_refused(text: str) -> None:
    with pytest.raises(InvalidCommand):
        parse(text)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("lower 565032176", "Put the code case after the customer: `<customer> lower`."),
        ("UPPER +91 99000 01001", "Put the code case after the customer: `<customer> upper`."),
        ("565032176 as-it-is", "Did you mean `as_it_is`?"),
        ("565032176 AsItIs", "Did you mean `as_it_is`?"),
    ],
)
def test_a_case_word_out_of_place_or_misspelled_says_how_to_write_it(text: str, says: str) -> None:
    with pytest.raises(InvalidCommand) as refused:
        parse(text)
    assert says in str(refused.value) and "99000" not in str(refused.value)
