"""The coupon in focus: a code someone typed (user data, so bounded in length and characters)."""

from __future__ import annotations

import re

from bot.domain.errors import InvalidCommand
from bot.domain.invisible import without_invisible

MAX_CODE_LENGTH = 40
# Capillary's codes are letters and digits; `-` and `_` are allowed for codes created elsewhere. Nothing that
# could end a button value's field (`.`), break mrkdwn, or carry markup.
CODE_CHARACTERS = re.compile(rf"[A-Za-z0-9_-]{{1,{MAX_CODE_LENGTH}}}", re.ASCII)
_CODE_WORD = re.compile(r"(?<!\S)code:(\S*)", re.IGNORECASE)


def parse_code(raw: str) -> str:
    """A coupon code as typed (case kept for display; matching ignores case). Raises `InvalidCommand`."""
    code = raw.strip()
    if not code:
        raise InvalidCommand("Give the coupon code after code:, e.g. code:WELCOME10.")
    if len(code) > MAX_CODE_LENGTH:
        raise InvalidCommand(f"A coupon code has at most {MAX_CODE_LENGTH} characters.")
    if not CODE_CHARACTERS.fullmatch(code):
        raise InvalidCommand("A coupon code has only letters, digits, - and _.")
    return code


def take_code(text: str | None) -> tuple[str, str | None]:
    """`565032176 code:WELCOME10 lower` → (`565032176 lower`, `WELCOME10`). Raises `InvalidCommand`.

    Only the `code:` word is read here; the rest goes to `bot.command_text.parse`, the one parser of who and case.
    """
    text = text or ""
    found = list(_CODE_WORD.finditer(text))
    if not found:
        return text, None
    if len(found) > 1:
        raise InvalidCommand("Give one coupon code (code:…), not several.")
    match = found[0]
    rest = f"{text[: match.start()].strip()} {text[match.end() :].strip()}".strip()
    return rest, parse_code(match[1])


def same_code(a: str, b: str) -> bool:
    """Codes match regardless of case (the lookup may ask Capillary for lower or upper case) and of invisible
    characters (a code is shown without them, so that is how an agent types it)."""
    return without_invisible(a).casefold() == without_invisible(b).casefold()
