"""Capillary's error envelope, common to every endpoint: `{"errors": [{"code": …, "message": …}], …}`.

Errors are decided from `errors[].code` whatever the HTTP status (Capillary's documentation doesn't say which
status comes with them), then from the status.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Annotated, Any, TypeVar

import httpx
from pydantic import BeforeValidator, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel

from bot.capillary.auth import TOKEN_REJECTED_STATUSES
from bot.domain.customer import ApiNotice
from bot.domain.errors import (
    CapillaryAuthError,
    CapillaryBadResponse,
    CapillaryError,
    CapillaryForbidden,
    CapillaryReportedError,
    CapillaryUnavailable,
    CustomerNotFound,
    InvalidCustomerId,
)

T = TypeVar("T")
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504, 521})
# Capillary's own "try again later" codes, whatever the HTTP status: 521 busy customer, 4001 auth status
# unavailable, 461 search busy.
RETRY_CODES = frozenset({"521", "4001", "461"})

# Codes every endpoint shares; an endpoint may add its own.
COMMON_CODES: Mapping[str, type[CapillaryError]] = {
    "8015": CustomerNotFound,
    "CUSTOMER_NOT_FOUND": CustomerNotFound,
    "8013": InvalidCustomerId,
    "INVALID_CUSTOMER_ID": InvalidCustomerId,
    "4000": CapillaryForbidden,
    "FORBIDDEN": CapillaryForbidden,
    "UNAUTHORIZED": CapillaryAuthError,
    "INTERNAL_SERVER_ERROR": CapillaryUnavailable,
}


class ApiError(ApiNotice):
    """An entry of the envelope's `errors` or `warnings`."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="allow")

    @property
    def code_text(self) -> str:
        return str(self.code).strip().upper() if self.code is not None else ""


def _errors_as_objects(value: Any) -> Any:
    # Some Capillary errors arrive as bare strings; keep their text.
    if isinstance(value, list):
        return [{"message": item} if isinstance(item, str) else item for item in value]
    return value


ApiErrors = Annotated[list[ApiError] | None, BeforeValidator(_errors_as_objects)]


def error_from_codes(
    status: int | None, errors: list[ApiError], codes: Mapping[str, type[CapillaryError]] = COMMON_CODES
) -> CapillaryError:
    for error in errors:
        message = error.message or "no message"
        if error.code_text in RETRY_CODES:
            return CapillaryUnavailable(message, status=status, code=error.code)
        if error.code_text in codes:
            return codes[error.code_text](message, status=status, code=error.code)
    first = errors[0]
    return CapillaryReportedError(first.message or "no message", status=status, code=first.code)


def error_from_status(status: int) -> CapillaryError:
    if status == 400:
        return InvalidCustomerId("Capillary rejected the customer ID", status=status)
    if status in TOKEN_REJECTED_STATUSES:
        return CapillaryAuthError("Capillary refused the bot's credentials", status=status)
    if status == 403:
        return CapillaryForbidden("the bot's Capillary user may not read this customer", status=status)
    if status == 404:
        return CustomerNotFound("no customer with this ID", status=status)
    if status == 429:
        return CapillaryUnavailable("Capillary is rate limiting the bot", status=status)
    if status in RETRY_STATUSES or status >= 500:
        return CapillaryUnavailable(f"Capillary answered HTTP {status}", status=status)
    return CapillaryReportedError(f"Capillary answered HTTP {status}", status=status)


def error_for_failure(
    status: int, content: bytes, codes: Mapping[str, type[CapillaryError]] = COMMON_CODES
) -> CapillaryError:
    """The error a non-2xx answer stands for: a specific code beats the status; an unknown one says less."""
    errors = lenient_errors(content)
    if errors:
        mapped = error_from_codes(status, errors, codes)
        if not isinstance(mapped, CapillaryReportedError):
            return mapped
    return error_from_status(status)


def lenient_errors(content: bytes) -> list[ApiError]:
    """The `errors` of any body, however odd; [] when there are none or the body isn't JSON."""
    body = json_object(content)
    raw = body.get("errors")
    if raw is None and ("code" in body or "message" in body):
        raw = [body]
    found: list[ApiError] = []
    for item in raw if isinstance(raw, list) else []:
        try:
            found.append(ApiError.model_validate({"message": item} if isinstance(item, str) else item))
        except ValidationError:
            continue
    return found


def read_body(status: int, headers: httpx.Headers, content: bytes, parse: Callable[[bytes], T]) -> T:
    """A 2xx body through `parse` (a pydantic model's JSON validation); a web page or an unreadable body is
    `CapillaryBadResponse`, saying which."""
    if looks_like_html(headers, content):
        raise CapillaryBadResponse("Capillary answered with a web page instead of data", status=status)
    try:
        return parse(content)
    except ValidationError as exc:
        is_json = not any(e["type"] == "json_invalid" for e in exc.errors())
        reason = "data in an unexpected shape" if is_json else "something that is not JSON"
        raise CapillaryBadResponse(f"Capillary answered with {reason}", status=status) from None


def mentions(content: bytes, code: str) -> bool:
    if any(e.code_text == code for e in lenient_errors(content)):
        return True
    return code.encode() in content[:4096].upper()


def looks_like_html(headers: httpx.Headers, content: bytes) -> bool:
    if "html" in headers.get("content-type", "").lower():
        return True
    return content.lstrip()[:1] == b"<"


# Capillary's loosely typed fields, as every endpoint reads them.


def json_object(content: bytes) -> dict[str, Any]:
    """The body's JSON object; empty when the body isn't JSON (or nests deeper than Python reads) or an object."""
    try:
        return dict_of(json.loads(content))
    except (ValueError, RecursionError):
        return {}


def dict_of(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def list_of(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def as_int(value: object) -> int | None:
    """Capillary's codes arrive as 700 or "700"."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def as_bool(value: object) -> bool | None:
    """v1.1 booleans are strings: `"true"`, `"false"`; v2's are real ones."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None
