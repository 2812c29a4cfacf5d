"""The state a button needs to redraw its message, carried in the button's `value`.

A click on an ephemeral message brings no copy of the message, and the in-process cache may be empty
(restart, another worker), so everything needed to redraw travels here: customer, code case, where each
group is paged to, which coupons have their details open, the coupon in focus, and where the message lives. The
value is versioned and signed with the signing secret, so a tampered or stale one is refused before anything is
looked up.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, replace
from enum import StrEnum

from bot.domain.coupon import MAX_CUSTOMER_ID, CodeCase
from bot.domain.coupon_state import STATE_ORDER, CouponState
from bot.domain.errors import InvalidViewState
from bot.domain.focus import CODE_CHARACTERS, MAX_CODE_LENGTH

VERSION = "3"  # 3: `expanded` holds coupon ids (2 held series ids); the coupon in focus; the modal surface
MAX_EXPANDED = 3
MAX_OFFSET = 100_000
MAX_VALUE = 300  # the longest value this version writes is about 150 characters; Slack allows 2,000
_SIGNED = "signed\0"  # the domain of `sign`: what it signs can't pass as a view value
_CASES = {"l": CodeCase.LOWER, "u": CodeCase.UPPER, "a": CodeCase.AS_IT_IS}
_CASE_LETTERS = {case: letter for letter, case in _CASES.items()}
_PATTERN = re.compile(
    r"(?P<version>[0-9]+)\.(?P<customer>[0-9]{1,19})\.(?P<case>[lua])\.(?P<offsets>[0-9]{1,6}(?:-[0-9]{1,6}){3})"
    r"\.(?P<expanded>(?:[0-9]{1,19}(?:-[0-9]{1,19}){0,2})?)\.(?P<surface>[emv])"
    rf"\.(?P<focus>[A-Za-z0-9_-]{{0,{MAX_CODE_LENGTH}}})\.(?P<mac>[0-9a-f]{{16}})",
    re.ASCII,
)


class Surface(StrEnum):
    """Where the message lives: a private (ephemeral) answer, a normal message in a DM, or a modal."""

    EPHEMERAL = "e"
    MESSAGE = "m"
    MODAL = "v"


@dataclass(frozen=True)
class ViewState:
    customer_id: int
    case: CodeCase = CodeCase.UPPER
    offsets: tuple[int, int, int, int] = (0, 0, 0, 0)
    expanded: tuple[int, ...] = ()
    surface: Surface = Surface.EPHEMERAL
    focus: str | None = None  # a coupon code shown on top, in full (see bot.domain.focus)

    def offset(self, state: CouponState) -> int:
        return self.offsets[STATE_ORDER.index(state)]

    def with_offset(self, state: CouponState, offset: int) -> ViewState:
        offsets = list(self.offsets)
        offsets[STATE_ORDER.index(state)] = max(0, min(offset, MAX_OFFSET))
        return replace(self, offsets=(offsets[0], offsets[1], offsets[2], offsets[3]))

    def toggled(self, coupon_id: int) -> ViewState:
        """Open a coupon's details (closing the oldest beyond the limit), or close them if they are open."""
        if coupon_id in self.expanded:
            return replace(self, expanded=tuple(c for c in self.expanded if c != coupon_id))
        return replace(self, expanded=(*self.expanded, coupon_id)[-MAX_EXPANDED:])


class ViewStateCodec:
    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"coupons-bot view state\0" + secret.encode()).digest()

    def _mac(self, payload: str) -> str:
        return hmac.new(self._key, payload.encode(), hashlib.sha256).hexdigest()[:16]

    def encode(self, view: ViewState) -> str:
        offsets = "-".join(str(o) for o in view.offsets)
        expanded = "-".join(str(s) for s in view.expanded)
        payload = (
            f"{VERSION}.{view.customer_id}.{_CASE_LETTERS[view.case]}.{offsets}.{expanded}"
            f".{view.surface.value}.{view.focus or ''}"
        )
        return f"{payload}.{self._mac(payload)}"

    def sign(self, payload: str) -> str:
        """Another value this bot hands Slack and reads back (an action form's metadata), signed with the same key
        (in a separate domain: no view value is a valid signed payload, nor the other way round)."""
        return f"{payload}.{self._mac(_SIGNED + payload)}"

    def verified(self, value: object) -> str:
        """The payload of a `sign`ed value; `InvalidViewState` when it was altered or isn't one."""
        if not isinstance(value, str) or len(value) > 2000 or "." not in value:
            raise InvalidViewState("not a signed value of this bot")
        payload, mac = value.rsplit(".", 1)
        if not hmac.compare_digest(mac, self._mac(_SIGNED + payload)):
            raise InvalidViewState("signed value was altered")
        return payload

    def decode(self, value: object) -> ViewState:
        if not isinstance(value, str) or len(value) > MAX_VALUE:
            raise InvalidViewState("not a button value of this bot")
        match = _PATTERN.fullmatch(value)
        if match is None:
            raise InvalidViewState("malformed button value")
        if match["version"] != VERSION:
            raise InvalidViewState("button from another version of the bot")
        payload, mac = value.rsplit(".", 1)
        if not hmac.compare_digest(mac, self._mac(payload)):
            raise InvalidViewState("button value was altered")
        customer_id = int(match["customer"])
        offsets = tuple(int(o) for o in match["offsets"].split("-"))
        expanded = tuple(int(s) for s in match["expanded"].split("-")) if match["expanded"] else ()
        focus = match["focus"] or None
        if (
            (focus is not None and not CODE_CHARACTERS.fullmatch(focus))
            or not 0 < customer_id <= MAX_CUSTOMER_ID
            or any(o > MAX_OFFSET for o in offsets)
            or any(not 0 <= s <= MAX_CUSTOMER_ID for s in expanded)
        ):
            raise InvalidViewState("button value out of range")
        return ViewState(
            customer_id=customer_id,
            case=_CASES[match["case"]],
            offsets=(offsets[0], offsets[1], offsets[2], offsets[3]),
            expanded=expanded,
            surface=Surface(match["surface"]),
            focus=focus,
        )
