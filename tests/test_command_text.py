from __future__ import annotations

import pytest

from bot.command_text import HelpRequest, LookupRequest, parse_command_text
from bot.domain.coupon import CodeCase
from bot.errors import InvalidCommand


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("565032176", LookupRequest(565032176, CodeCase.UPPER)),
        ("  565032176   lower ", LookupRequest(565032176, CodeCase.LOWER)),
        ("565032176 LoWeR", LookupRequest(565032176, CodeCase.LOWER)),
        ("565032176 UPPER", LookupRequest(565032176, CodeCase.UPPER)),
        ("565032176 As_It_Is", LookupRequest(565032176, CodeCase.AS_IT_IS)),
        ("9223372036854775807", LookupRequest(2**63 - 1, CodeCase.UPPER)),
        ("", HelpRequest()),
        (None, HelpRequest()),
        ("help", HelpRequest()),
        ("HELP", HelpRequest()),
    ],
)
def test_accepted_input(text: str | None, expected: object) -> None:
    assert parse_command_text(text) == expected


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
        parse_command_text(text)


def test_a_number_above_the_largest_id_is_called_too_large() -> None:
    for text in ("9223372036854775808", "9999999999999999999", "1" * 30):
        with pytest.raises(InvalidCommand, match="too large for a customer ID"):
            parse_command_text(text)
    with pytest.raises(InvalidCommand, match="greater than 0"):
        parse_command_text("0")
