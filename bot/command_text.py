"""What a user typed → a lookup request. Strict: anything odd is refused before Capillary is called."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.domain.coupon import MAX_CUSTOMER_ID, CodeCase
from bot.domain.customer import Identifier, IdentifierKind
from bot.domain.errors import InvalidCommand
from bot.domain.focus import take_code
from bot.slack_text import plain_text

MAX_TEXT = 200
_DIGITS = re.compile(r"[0-9]+", re.ASCII)
_CASE_WORDS = {"lower": CodeCase.LOWER, "upper": CodeCase.UPPER, "as_it_is": CodeCase.AS_IT_IS}
HELP_WORDS = frozenset({"", "help", "?", "-h", "--help", "usage"})
# `coupons 565032176` (or `/coupons …`) in a DM or after a mention, as the command would be typed.
_COMMAND_WORD = re.compile(r"^\s*/?coupons\b[:,]?", re.IGNORECASE)


@dataclass(frozen=True)
class Lookup:
    """What someone asked for: who (a customer ID, or an identifier to resolve first; None when they asked how to
    use the bot), the code case, and the coupon code in focus (`code:WELCOME10`)."""

    who: int | Identifier | None
    case: CodeCase = CodeCase.UPPER
    focus: str | None = None


def parse(text: str | None) -> Lookup:
    """What any entry point was given (slash command, DM, mention, the lookup modal, the workflow step), as Slack
    sent it → who, case and focus. Cleaned once here (`plain_text`: markup, mentions, pasted characters), a
    leading `coupons` dropped, the `code:` word read by the one parser of codes, then who and case.
    `565032176`, `mobile:919900001001 lower`, `+91 99000 01001`, `asha@example.com`, `card:…`, `external:…`;
    empty or `help` asks for usage. Raises `InvalidCommand`."""
    rest, focus = take_code(_COMMAND_WORD.sub("", plain_text(text), count=1))
    if len(rest) > MAX_TEXT:
        raise InvalidCommand("That's too long for a customer ID or identifier.")
    words = rest.split()
    if not words or (len(words) == 1 and words[0].lower() in HELP_WORDS):
        return Lookup(None, focus=focus)
    case = CodeCase.UPPER
    if len(words) > 1 and words[0].lower() in _CASE_WORDS:
        raise InvalidCommand(f"Put the code case after the customer: `<customer> {words[0].lower()}`.")
    if len(words) > 1 and words[-1].lower() != "as_it_is" and re.sub(r"[-_.]", "", words[-1].lower()) == "asitis":
        raise InvalidCommand("Did you mean `as_it_is`? The code case is `lower`, `upper` or `as_it_is`.")
    if len(words) > 1 and words[-1].lower() in _CASE_WORDS:
        case = _CASE_WORDS[words[-1].lower()]
        words = words[:-1]
    return Lookup(parse_customer(" ".join(words)), case, focus)


def parse_customer(text: str) -> int | Identifier:
    """What identifies a customer (the issue's table): digits → a customer ID; `mobile:`, `+…` → a mobile number
    (spaces, dashes, dots and a leading `+` dropped); `email:` or anything with an `@` → an email address;
    `card:` → a card number; `external:` → the brand's customer ID. Raises `InvalidCommand` for anything else,
    and for values of the wrong shape. Shared by every place an agent types a customer."""
    text = " ".join(text.split())
    if not text:
        raise InvalidCommand("Give a customer ID, a mobile number, an email address, `card:…` or `external:…`.")
    prefix, colon, rest = text.partition(":")
    prefix = prefix.strip().lower()
    if colon and prefix in _PREFIXES:
        kind = _PREFIXES[prefix]
        value = rest.strip()
    elif text.startswith("+"):
        kind, value = IdentifierKind.MOBILE, text
    elif "@" in text:
        kind, value = IdentifierKind.EMAIL, text
    else:
        if " " in text:
            raise InvalidCommand(
                "Give one customer ID or identifier and, optionally, lower, upper or as_it_is — nothing more."
            )
        return _customer_id(text)
    return Identifier(kind, _VALIDATORS[kind](value))


def _customer_id(raw_id: str) -> int:
    if not _DIGITS.fullmatch(raw_id):
        raise InvalidCommand(
            # Messages never repeat what was typed: it may be a mobile number, an email or a name.
            "That is not a customer ID: use digits 0–9 only "
            "(or say what it is: `mobile:…`, `email:…`, `card:…`, `external:…`)."
        )
    customer_id = int(raw_id) if len(raw_id) <= 25 else MAX_CUSTOMER_ID + 1
    if customer_id <= 0:
        raise InvalidCommand("That is not a customer ID: it must be greater than 0.")
    if customer_id > MAX_CUSTOMER_ID:
        raise InvalidCommand(
            f"That number is too large for a customer ID: the largest is {MAX_CUSTOMER_ID} (19 digits)."
        )
    return customer_id


def _mobile(value: str) -> str:
    digits = _MOBILE_NOISE.sub("", value)
    digits = digits.removeprefix("+")
    if not _DIGITS.fullmatch(digits) or not 8 <= len(digits) <= 15:
        # The message never repeats the number: it may end up in a channel.
        raise InvalidCommand(
            "That is not a mobile number: use 8 to 15 digits with the country code, e.g. `+91 99000 01001`."
        )
    return digits


def _email(value: str) -> str:
    value = value.strip()
    if not _EMAIL.fullmatch(value) or len(value) > 255:
        raise InvalidCommand(
            "That is not an email address: it needs a name, an `@` and a domain, e.g. `asha@example.com`."
        )
    return value.lower()


def _card(value: str) -> str:
    if not _TOKEN.fullmatch(value):
        raise InvalidCommand("Give the card number after `card:`, e.g. `card:EXMPL0000000000001` (no spaces).")
    return value


def _external(value: str) -> str:
    if not _TOKEN.fullmatch(value):
        raise InvalidCommand("Give the brand's customer ID after `external:`, e.g. `external:EXAMPLE-000001`.")
    return value


_PREFIXES = {kind.value: kind for kind in IdentifierKind}  # `mobile:`, `email:`, `card:`, `external:`
_MOBILE_NOISE = re.compile(r"[ \-.]")
_EMAIL = re.compile(r"[A-Za-z0-9_+\-.]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+", re.ASCII)
_TOKEN = re.compile(r"[\x21-\x7e]{1,100}", re.ASCII)  # printable ASCII, no spaces
_VALIDATORS = {
    IdentifierKind.MOBILE: _mobile,
    IdentifierKind.EMAIL: _email,
    IdentifierKind.CARD: _card,
    IdentifierKind.EXTERNAL: _external,
}
