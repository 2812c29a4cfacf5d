"""What the message shortcut reads from a message: the first customer identifier and a coupon code.

The result only pre-fills the lookup form, and only with what the one reader of who (`parse_customer`, as
`/coupons` reads it) takes; what is submitted goes through `parse` like anything typed after /coupons. The
message text is user data: it is never logged, and nothing of it is kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.command_text import parse_customer
from bot.domain.errors import InvalidCommand
from bot.domain.focus import MAX_CODE_LENGTH
from bot.slack_text import plain_text

MAX_SCANNED = 4000  # a message is at most 40,000 characters; an identifier worth finding is near the top
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}", re.ASCII)
_PREFIXED = re.compile(r"\b(mobile|card|external):[ \t]*([A-Za-z0-9+._@-]{1,64})", re.ASCII | re.IGNORECASE)
_MOBILE = re.compile(r"\+[0-9][0-9 ().-]{5,24}[0-9]", re.ASCII)
_CUSTOMER_ID = re.compile(r"(?<![\w+:/.@-])[0-9]{6,19}(?![\w:/@]|[.-][0-9])", re.ASCII)
_CODE_WORD = re.compile(r"\bcode\b", re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z0-9_-]+", re.ASCII)
# A code has a digit, or is in capitals: `WELCOME10`, `welcome10`, `FREESHIP` — not `is`, `broken`, `that`.
_CODE_LIKE = re.compile(
    rf"(?=[A-Za-z0-9_-]*[0-9])[A-Za-z0-9_-]{{4,{MAX_CODE_LENGTH}}}|[A-Z0-9_-]{{4,{MAX_CODE_LENGTH}}}", re.ASCII
)


@dataclass(frozen=True)
class Prefill:
    who: str | None = None  # as one would type it after /coupons
    code: str | None = None


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isascii() and c.isdigit())


def _identifiers(text: str) -> list[tuple[int, int, str]]:
    """(start, priority, who) for every identifier; the earliest wins, ties by priority."""
    found: list[tuple[int, int, str]] = []
    for match in _PREFIXED.finditer(text):
        kind, value = match[1].lower(), match[2].rstrip(".")
        if kind == "mobile":
            digits = _digits(value)
            if 7 <= len(digits) <= 15:
                found.append((match.start(), 0, "+" + digits))
        elif value:
            found.append((match.start(), 0, f"{kind}:{value}"))
    found += [(m.start(), 1, m[0]) for m in _EMAIL.finditer(text)]
    for match in _MOBILE.finditer(text):
        digits = _digits(match[0])
        if 7 <= len(digits) <= 15:
            found.append((match.start(), 2, "+" + digits))
    found += [(m.start(), 3, m[0]) for m in _CUSTOMER_ID.finditer(text)]
    return found


def _code(text: str) -> str | None:
    for mention in _CODE_WORD.finditer(text):
        for word in list(_WORD.finditer(text, mention.end()))[:3]:
            if _CODE_LIKE.fullmatch(word[0]):
                return word[0]
    return None


def find_in_message(text: str | None) -> Prefill:
    """`customer 565032176 says code WELCOME10 fails` → Prefill("565032176", "WELCOME10"). The text is cleaned
    as typed text is (`plain_text`: Slack's markup, pasted spaces, invisible characters, quotes)."""
    cleaned = plain_text((text or "")[:MAX_SCANNED])
    who = next((who for _, _, who in sorted(_identifiers(cleaned)) if _readable(who)), None)
    return Prefill(who=who, code=_code(cleaned))


def _readable(who: str) -> bool:
    try:
        parse_customer(who)
    except InvalidCommand:
        return False
    return True
