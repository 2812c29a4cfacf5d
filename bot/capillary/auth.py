"""Capillary authentication as httpx `Auth` flows: Basic (with the MD5 twist) and OAuth tokens."""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field

import httpx

from bot.capillary.deadline import current_deadline
from bot.domain.errors import CapillaryTooSlow

OAUTH_HEADER = "X-CAP-API-OAUTH-TOKEN"
# Capillary has documented both for an expired token.
TOKEN_REJECTED_STATUSES = frozenset({401, 498})


@dataclass(frozen=True)
class BasicLogin:
    """A Capillary API user, for Basic auth."""

    username: str
    password: str = field(repr=False)  # never in a log line or a traceback


@dataclass(frozen=True)
class OAuthClient:
    """A Capillary OAuth client's key pair: traded for a token, which `CapillaryHttp` shares between processes."""

    key: str
    secret: str = field(repr=False)


Login = BasicLogin | OAuthClient


def basic_authorization(username: str, password: str) -> str:
    """`Basic base64(username:md5_hex(password))`, as Capillary documents it."""
    digest = hashlib.md5(password.encode(), usedforsecurity=False).hexdigest()
    return "Basic " + base64.b64encode(f"{username}:{digest}".encode()).decode("ascii")


class CapillaryBasicAuth(httpx.Auth):
    def __init__(self, username: str, password: str) -> None:
        self._header = basic_authorization(username, password)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._header
        yield request


@dataclass(frozen=True)
class OAuthToken:
    value: str
    ttl_seconds: float


class CapillaryOAuth(httpx.Auth):
    """Sends a cached token; regenerates it shortly before it expires, and once when Capillary rejects it.

    `generate(rejected)` makes (or finds, shared by other processes) a token other than `rejected`. One thread
    generates at a time; the others wait for its token instead of asking Capillary again.
    """

    def __init__(
        self, generate: Callable[[str | None], OAuthToken], *, monotonic: Callable[[], float] = time.monotonic
    ):
        self._generate = generate
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._token: str | None = None
        self._renew_at = 0.0

    def token(self, *, replacing: str | None = None) -> str:
        # Waiting for another thread's token request counts against this lookup's deadline too.
        deadline = current_deadline()
        wait = max(0.0, deadline.remaining()) if deadline is not None else -1
        if not self._lock.acquire(timeout=wait):
            raise CapillaryTooSlow("Capillary's token service did not answer in time")
        try:
            stale = self._token is None or self._monotonic() >= self._renew_at
            if stale or (replacing is not None and self._token == replacing):
                fresh = self._generate(replacing)
                # Renew a little early: a token that expires in flight costs a retry.
                margin = min(30.0, fresh.ttl_seconds / 5)
                self._token, self._renew_at = fresh.value, self._monotonic() + fresh.ttl_seconds - margin
            assert self._token is not None
            return self._token
        finally:
            self._lock.release()

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self.token()
        request.headers[OAUTH_HEADER] = token
        response = yield request
        if response.status_code in TOKEN_REJECTED_STATUSES:
            request.headers[OAUTH_HEADER] = self.token(replacing=token)
            yield request
