"""What a user typed → a lookup request. Strict: anything odd is refused before Capillary is called."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.domain.coupon import MAX_CUSTOMER_ID, CodeCase
from bot.errors import InvalidCommand

MAX_TEXT = 200
_DIGITS = re.compile(r"[0-9]+", re.ASCII)
_CASE_WORDS = {"lower": CodeCase.LOWER, "upper": CodeCase.UPPER, "as_it_is": CodeCase.AS_IT_IS}
HELP_WORDS = frozenset({"", "help", "?", "-h", "--help", "usage"})


@dataclass(frozen=True)
class LookupRequest:
    customer_id: int
    case: CodeCase = CodeCase.UPPER


@dataclass(frozen=True)
class HelpRequest:
    pass


def parse_command_text(text: str | None) -> LookupRequest | HelpRequest:
    """`565032176`, `565032176 lower`; empty or `help` asks for usage. Raises `InvalidCommand`."""
    text = text or ""
    if len(text) > MAX_TEXT:
        raise InvalidCommand("That's too long for a customer ID.")
    words = text.split()
    if not words or (len(words) == 1 and words[0].lower() in HELP_WORDS):
        return HelpRequest()
    if len(words) > 2:
        raise InvalidCommand("Give a customer ID and, optionally, lower, upper or as_it_is — nothing more.")
    raw_id = words[0]
    if not _DIGITS.fullmatch(raw_id):
        raise InvalidCommand(f"“{raw_id[:40]}” is not a customer ID: use digits 0–9 only.")
    customer_id = int(raw_id) if len(raw_id) <= 25 else MAX_CUSTOMER_ID + 1
    if customer_id <= 0:
        raise InvalidCommand(f"“{raw_id[:40]}” is not a customer ID: it must be greater than 0.")
    if customer_id > MAX_CUSTOMER_ID:
        raise InvalidCommand(
            f"“{raw_id[:40]}” is too large for a customer ID: the largest is {MAX_CUSTOMER_ID} (19 digits)."
        )
    case = CodeCase.UPPER
    if len(words) == 2:
        word = words[1].lower()
        if word not in _CASE_WORDS:
            raise InvalidCommand(f"“{words[1][:40]}” is not a code case: use lower, upper or as_it_is.")
        case = _CASE_WORDS[word]
    return LookupRequest(customer_id, case)
