"""Who a customer is: `GET /v2/customers/lookup/customerDetails` (an identifier → ID and profile, in one call)
and `GET /v2/customers/{customerId}` (an ID → profile). Both with `embed=points,mlp`: tier and points.

Found, not found, not in this source or merged is decided from the body (`id`, `errors[].code`,
`warnings[].code`) whatever the HTTP status: Capillary's documentation doesn't say which status comes with them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import httpx
from pydantic import ValidationError

from bot.capillary.envelope import COMMON_CODES, ApiErrors, error_for_failure, error_from_codes, read_body
from bot.capillary.http import CapillaryHttp
from bot.domain.customer import MERGE_CODES, ApiNotice, CustomerProfile, Identifier, IdentifierKind
from bot.domain.errors import (
    CapillaryError,
    CustomerNotFound,
    CustomerNotInSource,
    IdentifierNotAccepted,
    InvalidCustomerId,
)

DETAILS_PATH = "v2/customers/lookup/customerDetails"
EMBED = "points,mlp"
BY_ID_CODES: Mapping[str, type[CapillaryError]] = {**COMMON_CODES, "8065": CustomerNotInSource}
LOOKUP_CODES: Mapping[str, type[CapillaryError]] = {**BY_ID_CODES, "8013": IdentifierNotAccepted}
# Capillary's `identifierName` for each kind: spelled as its query expects (`cardnumber`, `externalId`).
IDENTIFIER_NAMES: dict[IdentifierKind, str] = {
    IdentifierKind.MOBILE: "mobile",
    IdentifierKind.EMAIL: "email",
    IdentifierKind.CARD: "cardnumber",
    IdentifierKind.EXTERNAL: "externalId",
}


@dataclass(frozen=True)
class CustomerFetch:
    profile: CustomerProfile  # always names a customer (`id` is set)
    attempts: int
    upstream_ms: int
    body: bytes = b""  # the answer as Capillary sent it: what the cache keeps


class CustomerAnswer(CustomerProfile):
    errors: ApiErrors = None


def lookup_params(source: str, account_id: str | None) -> dict[str, str]:
    params = {"source": source, "embed": EMBED}
    if account_id:
        params["accountId"] = account_id
    return params


def fetch_customer_details(
    http: CapillaryHttp, identifier: Identifier, *, source: str, account_id: str | None = None
) -> CustomerFetch:
    params = {
        **lookup_params(source, account_id),
        "identifierName": IDENTIFIER_NAMES[identifier.kind],
        "identifierValue": identifier.value,
    }
    return _fetch(http, DETAILS_PATH, params, LOOKUP_CODES)


def fetch_customer(
    http: CapillaryHttp, customer_id: int, *, source: str, account_id: str | None = None
) -> CustomerFetch:
    return _fetch(http, f"v2/customers/{customer_id}", lookup_params(source, account_id), BY_ID_CODES)


def _fetch(
    http: CapillaryHttp, path: str, params: dict[str, str], codes: Mapping[str, type[CapillaryError]]
) -> CustomerFetch:
    fetched = http.get(path, params, lambda s, h, c: (interpret_customer(s, h, c, codes=codes), c))
    profile, body = fetched.value
    return CustomerFetch(profile, fetched.attempts, fetched.upstream_ms, body)


def interpret_customer(
    status: int, headers: httpx.Headers, content: bytes, *, codes: Mapping[str, type[CapillaryError]] = LOOKUP_CODES
) -> CustomerProfile:
    """One HTTP answer → a profile that names a customer, or one of our errors."""
    if 200 <= status < 300:
        return _profile(read_body(status, headers, content, CustomerAnswer.model_validate_json), codes, status=status)
    error = error_for_failure(status, content, codes)
    if isinstance(error, InvalidCustomerId) and codes is LOOKUP_CODES and error.code is None:
        # A bare 400 on a lookup: Capillary didn't take the identifier.
        raise IdentifierNotAccepted("Capillary rejected the identifier", status=status)
    raise error


def kept_profile(body: bytes) -> CustomerProfile | None:
    """A body a fetch returned (`CustomerFetch.body`, what the cache keeps) read again: the profile, or None when
    this version of the bot can't read it as one."""
    try:
        return _profile(CustomerAnswer.model_validate_json(body), BY_ID_CODES, status=None)
    except (ValidationError, CapillaryError):
        return None


def _profile(
    answer: CustomerAnswer, codes: Mapping[str, type[CapillaryError]], *, status: int | None
) -> CustomerProfile:
    """A 2xx body → the profile; its `errors[]` (but a merge) or a missing ID → one of our errors."""
    errors = answer.errors or []
    merge_only = bool(errors) and all(e.code_text in MERGE_CODES for e in errors)
    if errors and not (merge_only and answer.id is not None):
        raise error_from_codes(status, errors, codes)
    if answer.id is None:
        raise CustomerNotFound("Capillary's answer names no customer", status=status)
    profile = CustomerProfile.model_validate(answer.model_dump(exclude={"errors"}))
    if merge_only:  # some documentation lists the merge as an error: it is still the customer, merged
        notices = [*(profile.warnings or []), *(ApiNotice(code=e.code, message=e.message) for e in errors)]
        profile = profile.model_copy(update={"warnings": notices})
    return profile
