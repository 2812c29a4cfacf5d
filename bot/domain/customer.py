"""Who a customer is: what an agent may identify them by, their profile as Capillary sends it, and the one
place personal data (mobile numbers, email addresses) is masked before anything shows or logs it. Pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from bot.domain.coupon import Model

MASK = "•"
# Warnings that mean "this is the survivor of a merge": show the customer, and say so.
MERGE_CODES = frozenset({"8069", "91009"})


class IdentifierKind(StrEnum):
    """What an agent typed; the value is what the audit line records (never the identifier itself)."""

    MOBILE = "mobile"
    EMAIL = "email"
    CARD = "card"
    EXTERNAL = "external"


KIND_LABELS: dict[IdentifierKind, str] = {
    IdentifierKind.MOBILE: "mobile",
    IdentifierKind.EMAIL: "email",
    IdentifierKind.CARD: "card",
    IdentifierKind.EXTERNAL: "external ID",
}


@dataclass(frozen=True)
class Identifier:
    """A normalised identifier (mobile: digits with country code; email: lower case). Its repr hides the value,
    so an identifier that ends up in a traceback or a debug line shows only its kind."""

    kind: IdentifierKind
    value: str

    def __repr__(self) -> str:
        return f"Identifier({self.kind.value}, {masked_identifier(self)!r})"

    __str__ = __repr__


def mask_mobile(value: str, *, width: int | None = None) -> str:
    """`919900001001` → `••••••••1001`: only the last 4 digits show. `width` fixes the number of dots."""
    digits = "".join(ch for ch in value if ch.isdigit())
    shown = digits[-4:] if len(digits) > 4 else ""
    return MASK * (width if width is not None else max(4, len(digits) - len(shown))) + shown


def mask_email(value: str) -> str:
    """`asha@example.com` → `a•••@example.com`: the first letter and the domain show, the rest never."""
    local, at, domain = value.strip().partition("@")
    if not at:
        return MASK * 3
    return (local[:1] if len(local) > 1 else "") + MASK * 3 + "@" + domain


def masked_identifier(identifier: Identifier) -> str:
    """An identifier as a message may show it: mobile and card by their last 4, email by its domain."""
    if identifier.kind in (IdentifierKind.MOBILE, IdentifierKind.CARD):
        return mask_mobile(identifier.value, width=4)  # 4 characters or fewer: dots alone
    if identifier.kind is IdentifierKind.EMAIL:
        return mask_email(identifier.value)
    return identifier.value


class ApiNotice(Model):
    """An entry of `warnings[]`: `{status, code, message}`."""

    code: int | str | None = None
    message: str | None = None


class ProfileIdentifier(Model):
    type: str | None = None
    value: str | None = None


class SourceProfile(Model):
    first_name: str | None = None
    last_name: str | None = None
    source: str | None = None
    identifiers: list[ProfileIdentifier] | None = None


class PointsSummary(Model):
    current_slab: str | None = None
    loyalty_points: float | None = None


class ProgramDetails(Model):
    program_id: int | None = None
    current_slab: str | None = None
    loyalty_points: float | None = None


class CustomerProfile(Model):
    """`GET /v2/customers/{id}` and `…/lookup/customerDetails` (with `embed=points,mlp`): what the header shows."""

    id: int | None = None
    profiles: list[SourceProfile] | None = None
    points_summary: PointsSummary | None = None
    loyalty_program_details: list[ProgramDetails] | None = None
    warnings: list[ApiNotice] | None = None

    @property
    def merged(self) -> bool:
        return any(str(w.code).strip() in MERGE_CODES for w in self.warnings or ())


@dataclass(frozen=True)
class CustomerCard:
    """The header of an answer: who this is. Mobile and email are already masked; nothing here is raw PII."""

    customer_id: int
    name: str = ""
    tier: str = ""
    points: float | None = None
    mobile: str = ""  # masked
    email: str = ""  # masked
    merged: bool = False


def customer_card(profile: CustomerProfile, *, source: str = "INSTORE") -> CustomerCard | None:
    """The header for a profile (None when it names no customer): name from the profile of `source` (else the
    first), tier and points from `pointsSummary`, else the first loyalty program."""
    if profile.id is None:
        return None
    profiles = profile.profiles or []
    chosen = next((p for p in profiles if (p.source or "").upper() == source.upper()), None)
    chosen = chosen or (profiles[0] if profiles else None)
    names = (chosen.first_name, chosen.last_name) if chosen else ()
    name = " ".join(part.strip() for part in names if part and part.strip())
    tier, points = "", None
    summary = profile.points_summary
    if summary is not None:
        tier, points = summary.current_slab or "", summary.loyalty_points
    programs = profile.loyalty_program_details or []
    if programs and not tier and points is None:
        tier, points = programs[0].current_slab or "", programs[0].loyalty_points
    mobile = email = ""
    for entry in (chosen.identifiers if chosen else None) or []:
        kind, value = (entry.type or "").lower(), entry.value or ""
        if kind == "mobile" and value and not mobile:
            mobile = mask_mobile(value)
        elif kind == "email" and value and not email:
            email = mask_email(value)
    return CustomerCard(profile.id, name, tier, points, mobile, email, profile.merged)


_EMAIL_IN_TEXT = re.compile(r"[^\s@<>()\[\],;:\"']+@[^\s@<>()\[\],;:\"']+")
_NUMBER_IN_TEXT = re.compile(r"\+?[0-9][0-9 .-]{6,}[0-9]")


def mask_personal(text: str) -> str:
    """Text from Capillary (an error message) with any email or phone-like number in it masked: it may repeat
    the identifier an agent looked up."""
    text = _EMAIL_IN_TEXT.sub(lambda m: mask_email(m.group(0)), text)
    return _NUMBER_IN_TEXT.sub(lambda m: mask_mobile(m.group(0)), text)
