"""Why `coupons-bot preview` could not reach Capillary: one line naming the host and the cause, for an admin.

The lookup's own errors say only "unavailable" (that is all an agent needs); an admin checking the setup needs to
know whether the name, the port, TLS or the clock is at fault. A failed preview therefore sends one plain GET of
the base URL, with the configured timeouts, and reads the cause from httpx's exception."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator

import httpx

from bot.domain.errors import (
    CapillaryAuthError,
    CapillaryError,
    CapillaryForbidden,
    CapillaryHeldBack,
    CapillaryUnavailable,
)


def host_of(base_url: str) -> str:
    """`scheme://host[:port]` of the base URL: never the user:password a URL may carry, nor its path."""
    url = httpx.URL(base_url)
    port = f":{url.port}" if url.port is not None else ""
    return f"{url.scheme}://{url.host}{port}"


def probe(
    base_url: str, *, connect_timeout: float, read_timeout: float, transport: httpx.BaseTransport | None = None
) -> str:
    """One GET of `base_url`: why it could not be reached, or which HTTP status it answered with."""
    timeout = httpx.Timeout(read_timeout, connect=connect_timeout)
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False, transport=transport) as client:
            response = client.get(base_url, headers={"User-Agent": "coupons-bot preview"})
    except httpx.TimeoutException:
        return f"timed out (connect {connect_timeout:g} s, read {read_timeout:g} s)"
    except httpx.TransportError as error:
        return _transport_cause(error)
    return f"it answers (HTTP {response.status_code})"


def _transport_cause(error: httpx.TransportError) -> str:
    # httpx wraps httpcore's error, which wraps the socket's: the cause is at the bottom of the chain.
    for cause in _chain(error):
        if isinstance(cause, socket.gaierror):
            return "name not resolved"
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, ssl.SSLError):
            return f"TLS failure ({cause.reason or cause})"
    return f"could not connect ({type(error).__name__}: {error})"


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def diagnose(
    error: CapillaryError | None,
    *,
    base_url: str | None,
    username: str | None,
    connect_timeout: float,
    read_timeout: float,
    transport: httpx.BaseTransport | None = None,
) -> str:
    """The admin's line for a preview whose lookup failed with `error` (None: no Capillary error was seen), or ""
    when the failure says nothing about the setup (an unknown customer, a malformed ID). `username`: the
    CAPILLARY_USERNAME set, if any."""
    if base_url is None:
        return ""
    where = f"Capillary at {host_of(base_url)}"
    # Whose credentials: the username, never the password; OAuth's key pair is named only by its setting.
    who = f"CAPILLARY_USERNAME {username!r}" if username is not None else "the OAuth client key and secret"
    if isinstance(error, CapillaryAuthError):
        return f"{where}: {who} refused (HTTP {error.status or 401}): check the credentials."
    if isinstance(error, CapillaryForbidden):
        return f"{where}: {who} accepted but not allowed (HTTP {error.status or 403})."
    if isinstance(error, CapillaryHeldBack) or not isinstance(error, CapillaryUnavailable | None):
        return ""  # held back by our own budget or a 429, or an answer about the customer: the setup is fine
    cause = probe(base_url, connect_timeout=connect_timeout, read_timeout=read_timeout, transport=transport)
    status = f"; the lookup got HTTP {error.status}" if error is not None and error.status else ""
    return f"{where}: {cause}{status}."
