"""`CapillaryClient`: one call, `fetch_coupons`, that ends within a deadline and fails with our own errors."""

from __future__ import annotations

import email.utils
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx
from pydantic import ValidationError

from bot.capillary.auth import CapillaryBasicAuth, CapillaryOAuth, OAuthToken
from bot.capillary.models import ApiError, CodeCase, Coupon, SeriesCatalog, parse_coupons
from bot.errors import (
    CapillaryAuthError,
    CapillaryBadResponse,
    CapillaryError,
    CapillaryForbidden,
    CapillaryReportedError,
    CapillaryUnavailable,
    CustomerNotFound,
    InvalidCustomerId,
)
from bot.settings import BasicCredentials, CapillaryCredentials, OAuthCredentials

TOKEN_PATH = "v3/oauth/token/generate"  # noqa: S105 - a path, not a secret
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504, 521})
# Capillary's own "try again later" codes, whatever the HTTP status: 521 busy customer, 4001 auth status
# unavailable, 461 search busy.
RETRY_CODES = frozenset({"521", "4001", "461"})
MAX_RETRY_AFTER_SECONDS = 5.0
MAX_ATTEMPTS = 4


@dataclass(frozen=True)
class FetchResult:
    coupons: tuple[Coupon, ...]
    attempts: int
    upstream_ms: int
    # The series' full terms, read from the same bytes when an agent opens one; None: the coupons carry them.
    series: SeriesCatalog | None = None


class CapillaryClient:
    def __init__(
        self,
        base_url: str,
        credentials: CapillaryCredentials,
        *,
        connect_timeout: float = 3.0,
        read_timeout: float = 6.0,
        deadline: float = 8.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._deadline = deadline
        self._sleep = sleep
        self._monotonic = monotonic
        self._jitter = jitter
        self._http = httpx.Client(
            base_url=base_url,
            transport=transport,
            headers={"Accept": "application/json", "User-Agent": "coupons-bot"},
            # A jar that accepts no cookie: the CDN's must never follow us from one lookup to the next.
            cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
            follow_redirects=False,
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=16),
        )
        self.auth = self._make_auth(credentials)

    def close(self) -> None:
        self._http.close()

    def _make_auth(self, credentials: CapillaryCredentials) -> httpx.Auth:
        if isinstance(credentials, BasicCredentials):
            return CapillaryBasicAuth(credentials.username, credentials.password)
        if isinstance(credentials, OAuthCredentials):
            return CapillaryOAuth(lambda: self._generate_token(credentials), monotonic=self._monotonic)
        raise TypeError(f"unknown credentials {type(credentials).__name__}")

    def _timeout(self, remaining: float) -> httpx.Timeout:
        read = max(0.05, min(self._read_timeout, remaining))
        return httpx.Timeout(read, connect=max(0.05, min(self._connect_timeout, remaining)))

    def _generate_token(self, credentials: OAuthCredentials) -> OAuthToken:
        response = self._http.post(
            TOKEN_PATH,
            json={"key": credentials.client_key, "secret": credentials.client_secret},
            timeout=self._timeout(self._read_timeout),
        )
        try:
            body = response.json()
        except ValueError:
            body = None
        data = body.get("data") if isinstance(body, dict) else None
        token = data.get("accessToken") if isinstance(data, dict) else None
        if isinstance(token, str) and token:
            ttl = data.get("ttlSeconds") if isinstance(data, dict) else None
            return OAuthToken(token, float(ttl) if isinstance(ttl, int | float) and ttl > 0 else 300.0)
        if response.status_code in RETRY_STATUSES:
            raise CapillaryUnavailable("token service unavailable", status=response.status_code)
        raise CapillaryAuthError("OAuth client key and secret were rejected", status=response.status_code)

    def fetch_coupons(self, customer_id: int, case: CodeCase) -> FetchResult:
        started = self._monotonic()
        deadline_at = started + self._deadline
        attempt = 0
        while True:
            attempt += 1
            retry_after: float | None = None
            response: httpx.Response | None = None
            try:
                response = self._http.get(
                    f"v2/customers/{customer_id}/coupons",
                    params={"coupon_code_case": case.value},
                    auth=self.auth,
                    timeout=self._timeout(deadline_at - self._monotonic()),
                )
                coupons = interpret_response(response.status_code, response.headers, response.content)
                elapsed = round((self._monotonic() - started) * 1000)
                return FetchResult(coupons, attempt, elapsed, SeriesCatalog(response.content))
            except httpx.TimeoutException:
                error: CapillaryError = CapillaryUnavailable("Capillary did not answer in time")
            except httpx.TransportError:
                error = CapillaryUnavailable("could not connect to Capillary")
            except CapillaryError as exc:
                if not exc.retryable:
                    exc.attempts = attempt
                    raise
                error = exc
                if response is not None:  # None when the OAuth token request itself failed
                    retry_after = parse_retry_after(response.headers.get("Retry-After"), now=datetime.now(UTC))
            error.attempts = attempt
            wait = retry_after if retry_after is not None else self._backoff(attempt)
            if attempt >= MAX_ATTEMPTS or wait > MAX_RETRY_AFTER_SECONDS:
                raise error
            # Leave the next attempt at least a moment to run; otherwise give up now.
            if self._monotonic() + wait + 0.25 >= deadline_at:
                raise error
            self._sleep(wait)

    def _backoff(self, attempt: int) -> float:
        # Exponential with full jitter: 0.25 s, 0.5 s, 1 s ceilings.
        return min(2.0, 0.25 * 2 ** (attempt - 1)) * (0.5 + self._jitter() / 2)


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or an HTTP date); None if absent or junk."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def interpret_response(status: int, headers: httpx.Headers, content: bytes) -> tuple[Coupon, ...]:
    """Turn one HTTP answer into coupons or one of our errors. Always reads `errors`, whatever the status."""
    if 200 <= status < 300:
        if _looks_like_html(headers, content):
            raise CapillaryBadResponse("Capillary answered with a web page instead of data", status=status)
        try:
            envelope = parse_coupons(content)
        except ValidationError as exc:
            is_json = not any(e["type"] == "json_invalid" for e in exc.errors())
            reason = "data in an unexpected shape" if is_json else "something that is not JSON"
            raise CapillaryBadResponse(f"Capillary answered with {reason}", status=status) from None
        if envelope.errors:
            raise _error_from_codes(status, envelope.errors)
        if envelope.success is False:
            raise CapillaryReportedError("Capillary reported a failure without details", status=status)
        return tuple(envelope.entity or ())
    errors = _lenient_errors(content)
    if status == 404 and _mentions(errors, content, "NO_COUPONS_FOUND"):
        return ()
    if errors:
        mapped = _error_from_codes(status, errors)
        # A specific code beats the status; an unknown one says less than the status does.
        if not isinstance(mapped, CapillaryReportedError):
            raise mapped
    raise _error_from_status(status)


def _error_from_status(status: int) -> CapillaryError:
    if status == 400:
        return InvalidCustomerId("Capillary rejected the customer ID", status=status)
    if status in {401, 498}:
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


_CODE_ERRORS: dict[str, type[CapillaryError]] = {
    "8015": CustomerNotFound,
    "CUSTOMER_NOT_FOUND": CustomerNotFound,
    "8013": InvalidCustomerId,
    "INVALID_CUSTOMER_ID": InvalidCustomerId,
    "4000": CapillaryForbidden,
    "FORBIDDEN": CapillaryForbidden,
    "UNAUTHORIZED": CapillaryAuthError,
    "INTERNAL_SERVER_ERROR": CapillaryUnavailable,
}


def _error_from_codes(status: int, errors: list[ApiError]) -> CapillaryError:
    for error in errors:
        code = str(error.code).strip().upper() if error.code is not None else ""
        message = error.message or "no message"
        if code in RETRY_CODES:
            return CapillaryUnavailable(message, status=status, code=error.code)
        if code in _CODE_ERRORS:
            return _CODE_ERRORS[code](message, status=status, code=error.code)
    first = errors[0]
    return CapillaryReportedError(first.message or "no message", status=status, code=first.code)


def _lenient_errors(content: bytes) -> list[ApiError]:
    try:
        body = json.loads(content)
    except ValueError:
        return []
    raw = body.get("errors") if isinstance(body, dict) else None
    if isinstance(body, dict) and raw is None and ("code" in body or "message" in body):
        raw = [body]
    found: list[ApiError] = []
    for item in raw if isinstance(raw, list) else []:
        try:
            found.append(ApiError.model_validate({"message": item} if isinstance(item, str) else item))
        except ValidationError:
            continue
    return found


def _mentions(errors: list[ApiError], content: bytes, code: str) -> bool:
    if any(str(e.code).upper() == code for e in errors):
        return True
    return code.encode() in content[:4096].upper()


def _looks_like_html(headers: httpx.Headers, content: bytes) -> bool:
    if "html" in headers.get("content-type", "").lower():
        return True
    return content.lstrip()[:1] == b"<"
