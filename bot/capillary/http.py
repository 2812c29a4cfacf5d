"""`CapillaryHttp`: the one way the bot talks to Capillary — authentication, one deadline for a whole call,
retries, a request budget, a cap on concurrent calls and on response size, and the `errors[]` envelope. Endpoints
(`bot/capillary/coupons.py`, …) only name a path and read a body."""

from __future__ import annotations

import email.utils
import hashlib
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any, Generic, Protocol, TypeVar

import httpx

from bot.capillary.auth import BasicLogin, CapillaryBasicAuth, CapillaryOAuth, Login, OAuthClient, OAuthToken
from bot.capillary.deadline import Deadline, current_deadline, within
from bot.capillary.envelope import RETRY_STATUSES, dict_of, json_object
from bot.capillary.inflight import InflightBytes, Reservation
from bot.domain.errors import (
    BotBusy,
    CapillaryAuthError,
    CapillaryError,
    CapillaryHeldBack,
    CapillaryRateLimited,
    CapillaryResponseTooLarge,
    CapillaryTooSlow,
    CapillaryUnavailable,
)

T = TypeVar("T")


TOKEN_PATH = "v3/oauth/token/generate"  # noqa: S105 - a path, not a secret
MAX_RETRY_AFTER_SECONDS = 5.0
MAX_ATTEMPTS = 4
# Callers beyond this many per allowed concurrent call are told "busy" at once instead of queueing.
QUEUE_PER_SLOT = 4
# An attempt needs at least this much of the deadline left to be worth starting.
MIN_ATTEMPT_SECONDS = 0.25

Interpret = Callable[[int, httpx.Headers, bytes], T]
# Told of every answer from Capillary (or a connection that failed): endpoint path, status or error name, seconds.
Observe = Callable[[str, int | str, float | None], None]


class Budget(Protocol):
    """How many requests may go to Capillary (`bot.store.request_budget`, shared through Redis)."""

    def spend(self, seconds_left: Callable[[], float], *, margin: float = 0.0) -> None: ...

    def hold_off(self, seconds: float) -> None: ...


class TokenStore(Protocol):
    """Where processes share the OAuth token (the bot's `Store` is one)."""

    def get(self, key: str) -> bytes | None: ...

    def set(self, key: str, value: bytes, ttl_seconds: float) -> None: ...


@dataclass(frozen=True)
class Fetched(Generic[T]):
    value: T
    attempts: int
    upstream_ms: int


@dataclass(frozen=True)
class Answer:
    """One HTTP answer, its body read in full (decompressed, capped)."""

    status: int
    headers: httpx.Headers
    content: bytes


class CapillaryHttp:
    def __init__(
        self,
        base_url: str,
        credentials: Login,
        *,
        connect_timeout: float = 3.0,
        read_timeout: float = 6.0,
        deadline: float = 8.0,
        max_response_bytes: int = 32 * 1024 * 1024,
        max_concurrent: int = 8,
        max_inflight_bytes: int = 256 * 1024 * 1024,
        transport: httpx.BaseTransport | None = None,
        store: TokenStore | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
        budget: Budget | None = None,
        when_answered: Callable[[Callable[[], object]], None] | None = None,
        observe: Observe | None = None,
    ) -> None:
        """`budget`: counts every request sent (see `_spend`); None sends without one. `when_answered(release)`:
        runs `release` once the answer that needed this call has gone (the memory a large answer reserved is in
        use until then); None releases as soon as the answer is parsed. `observe`: told of every answer, the
        OAuth flow's included (the bot's metrics)."""
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._deadline = deadline
        self._max_response_bytes = max_response_bytes
        self._sleep = sleep
        self._store = store
        self._monotonic = monotonic
        self._jitter = jitter
        self._budget = budget
        self._observe = observe
        self._slots = threading.BoundedSemaphore(max_concurrent)
        self.inflight = InflightBytes(max_inflight_bytes)
        self._when_answered = when_answered
        self._queue_lock = threading.Lock()
        self._queued = 0
        self._max_queued = max_concurrent * QUEUE_PER_SLOT
        self._http = httpx.Client(
            base_url=base_url,
            transport=transport,
            headers={"Accept": "application/json", "User-Agent": "coupons-bot"},
            # A jar that accepts no cookie: the CDN's must never follow us from one lookup to the next.
            cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
            follow_redirects=False,
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=16),
            # Hooks, not `_exchange`: the OAuth flow sends a request again by itself (a refused token).
            event_hooks={"request": [self._spend, _started], "response": [self._note_rate_limit, self._observed]},
        )
        self.auth = self._make_auth(credentials)

    def close(self) -> None:
        self._http.close()

    def get(self, path: str, params: dict[str, str], interpret: Interpret[T]) -> Fetched[T]:
        """GET `path`, retrying what may pass, until `interpret` accepts an answer or the deadline passes."""
        return self.request("GET", path, interpret, params=params)

    def write(
        self, method: str, path: str, interpret: Interpret[T], *, params: dict[str, str] | None = None, body: Any = None
    ) -> Fetched[T]:
        """A call that changes something at Capillary (resend, expiry, issue): sent once, never retried, since a
        second attempt may repeat what the first did (another message, another coupon)."""
        return self.request(method, path, interpret, params=params, body=body, max_attempts=1)

    def request(
        self,
        method: str,
        path: str,
        interpret: Interpret[T],
        *,
        params: dict[str, str] | None = None,
        body: Any = None,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> Fetched[T]:
        """`method path`, retrying what may pass (at most `max_attempts` sends), until `interpret` accepts an
        answer or the deadline passes."""
        options: dict[str, Any] = {"params": params or {}}
        if body is not None:
            options["json"] = body
        started = self._monotonic()
        deadline = Deadline(started + self._deadline, self._monotonic)
        outer = current_deadline()  # one lookup of several calls: none of them outlives the lookup's deadline
        if outer is not None and outer.remaining() < deadline.remaining():
            deadline = outer
        with within(deadline), self._slot(deadline):
            attempt = 0
            while True:
                attempt += 1
                try:
                    value = self._attempt(method, path, interpret, deadline, options)
                    return Fetched(value, attempt, round((self._monotonic() - started) * 1000))
                except CapillaryHeldBack as held:  # the budget sent nothing this time
                    held.attempts = attempt - 1
                    raise
                # Errors are only ever named by `except … as` here: Python unbinds the name as the error leaves, so
                # its traceback (which holds this frame) makes no cycle, and what it holds goes at once.
                except CapillaryError as error:
                    error.attempts = attempt
                    wait = self._retry_wait(error, attempt, max_attempts, deadline)
                    if wait is None:
                        if error.status == 429 and error.retry_after is not None:
                            raise _rate_limited(error, error.retry_after) from error
                        raise
                self._sleep(wait)

    def _attempt(
        self, method: str, path: str, interpret: Interpret[T], deadline: Deadline, options: dict[str, Any]
    ) -> T:
        """One send and what `interpret` makes of the answer; a timeout or a failed connection as a CapillaryError,
        with the answer's `Retry-After` on the error."""
        reservation = self.inflight.reserve(deadline)
        try:
            try:
                answer = self._exchange(method, path, deadline, auth=self.auth, reservation=reservation, **options)
            except httpx.TimeoutException:
                raise CapillaryTooSlow("Capillary did not answer in time") from None
            except httpx.TransportError:
                raise CapillaryUnavailable("could not connect to Capillary") from None
            try:
                value = interpret(answer.status, answer.headers, answer.content)
            except CapillaryError as refused:
                refused.retry_after = parse_retry_after(answer.headers.get("Retry-After"), now=datetime.now(UTC))
                raise
            finally:
                del answer  # the body: not held by a traceback
        except BaseException:
            reservation.release()
            raise
        # What parsing made is in use until the lookup has answered.
        if self._when_answered is None:
            reservation.release()
        else:
            self._when_answered(reservation.release)
        return value

    def _retry_wait(self, error: CapillaryError, attempt: int, max_attempts: int, deadline: Deadline) -> float | None:
        """How long to wait before sending again after `error`; None: not again."""
        if not error.retryable or attempt >= max_attempts:
            return None
        wait = error.retry_after if error.retry_after is not None else self._backoff(attempt)
        if wait > MAX_RETRY_AFTER_SECONDS or wait + MIN_ATTEMPT_SECONDS >= deadline.remaining():
            return None
        return wait

    @contextmanager
    def _slot(self, deadline: Deadline) -> Iterator[None]:
        """One of `max_concurrent` upstream calls; the wait counts against the deadline, a full queue fails fast."""
        with self._queue_lock:
            if self._queued >= self._max_queued:
                raise BotBusy("too many Capillary calls waiting")
            self._queued += 1
        try:
            acquired = self._slots.acquire(timeout=max(0.0, deadline.remaining() - MIN_ATTEMPT_SECONDS))
        finally:
            with self._queue_lock:
                self._queued -= 1
        if not acquired:
            raise BotBusy("no free slot for a Capillary call in time")
        try:
            yield
        finally:
            self._slots.release()

    def _spend(self, request: httpx.Request) -> None:
        """Every request to Capillary, the OAuth flow's included, passes here first: the budget may make it wait,
        or refuse it (`CapillaryHeldBack`) so that it is never sent."""
        if self._budget is None:
            return
        deadline = current_deadline() or Deadline(self._monotonic() + self._read_timeout, self._monotonic)
        self._budget.spend(deadline.remaining, margin=MIN_ATTEMPT_SECONDS)

    def _note_rate_limit(self, response: httpx.Response) -> None:
        """A 429's `Retry-After` is remembered by the budget: no process sends anything until then."""
        if self._budget is None or response.status_code != 429:
            return
        retry_after = parse_retry_after(response.headers.get("Retry-After"), now=datetime.now(UTC))
        if retry_after:
            self._budget.hold_off(retry_after)

    def _observed(self, response: httpx.Response) -> None:
        """Every answer from Capillary, the OAuth flow's included, by endpoint and status."""
        if self._observe is None:
            return
        started = response.request.extensions.get("coupons_started")
        seconds = time.monotonic() - started if isinstance(started, float) else None
        self._observe(response.request.url.path, response.status_code, seconds)

    def _exchange(
        self,
        method: str,
        path: str,
        deadline: Deadline,
        *,
        auth: httpx.Auth,
        reservation: Reservation | None = None,
        **options: Any,
    ) -> Answer:
        if deadline.remaining() < MIN_ATTEMPT_SECONDS / 5:
            raise CapillaryTooSlow("Capillary did not answer in time")
        request = self._http.build_request(method, path, timeout=self._timeout(deadline.remaining()), **options)
        try:
            response = self._http.send(request, auth=auth, stream=True)
        except httpx.TransportError as error:
            if self._observe is not None:
                self._observe(request.url.path, type(error).__name__, None)
            raise
        try:
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > self._max_response_bytes:
                raise CapillaryResponseTooLarge(self._too_large_message(), status=response.status_code)
            if reservation is not None and declared.isdigit() and "Content-Encoding" not in response.headers:
                reservation.cover(int(declared))
            # httpx reads the whole body with the read timeout it had when the body began: make that what is
            # left of the deadline, and check the deadline between chunks, so a dripping body is cut in time.
            response.request.extensions["timeout"]["read"] = max(0.01, deadline.remaining())
            content = self._read_body(response, deadline, reservation)
        finally:
            response.close()
        return Answer(response.status_code, response.headers, content)

    def _read_body(self, response: httpx.Response, deadline: Deadline, reservation: Reservation | None) -> bytes:
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_bytes():  # decompressed: the cap counts what we would hold
                size += len(chunk)
                chunks.append(chunk)
                del chunk  # one inflated chunk of a gzip bomb can be the whole cap: held once, by `chunks`
                if size > self._max_response_bytes:
                    raise CapillaryResponseTooLarge(self._too_large_message(), status=response.status_code)
                if reservation is not None:
                    reservation.cover(size)
                if deadline.expired:
                    raise CapillaryTooSlow("Capillary sent its answer too slowly", status=response.status_code)
            return b"".join(chunks)
        finally:
            # The error's traceback keeps this frame until it is gone: not the megabytes read so far.
            chunks.clear()

    def _too_large_message(self) -> str:
        return f"Capillary's answer is larger than {self._max_response_bytes // (1024 * 1024)} MB"

    def _make_auth(self, credentials: Login) -> httpx.Auth:
        if isinstance(credentials, BasicLogin):
            return CapillaryBasicAuth(credentials.username, credentials.password)
        if isinstance(credentials, OAuthClient):
            return CapillaryOAuth(lambda rejected: self._token(credentials, rejected), monotonic=self._monotonic)
        raise TypeError(f"unknown credentials {type(credentials).__name__}")

    def _timeout(self, remaining: float) -> httpx.Timeout:
        remaining = max(0.05, remaining)
        read = min(self._read_timeout, remaining)
        return httpx.Timeout(read, connect=min(self._connect_timeout, remaining), pool=remaining)

    def _token(self, credentials: OAuthClient, rejected: str | None) -> OAuthToken:
        """A token every process shares through the store (one token request per lifetime, not per process)."""
        if self._store is None:
            return self._generate_token(credentials)
        key = "capillary-token:" + hashlib.sha256(credentials.key.encode()).hexdigest()[:16]
        shared = _shared_token(self._store.get(key), now=time.time())
        if shared is not None and shared.value != rejected:
            return shared
        fresh = self._generate_token(credentials)
        expires_at = time.time() + fresh.ttl_seconds
        self._store.set(key, f"{expires_at} {fresh.value}".encode(), fresh.ttl_seconds * 0.8)
        return fresh

    def _generate_token(self, credentials: OAuthClient) -> OAuthToken:
        deadline = current_deadline() or Deadline(self._monotonic() + self._read_timeout, self._monotonic)
        body = {"key": credentials.key, "secret": credentials.secret}
        answer = self._exchange("POST", TOKEN_PATH, deadline, json=body, auth=httpx.Auth())
        token = read_token(answer.content)
        if token is not None:
            return token
        if answer.status in RETRY_STATUSES:
            raise CapillaryUnavailable("token service unavailable", status=answer.status)
        raise CapillaryAuthError("OAuth client key and secret were rejected", status=answer.status)

    def _backoff(self, attempt: int) -> float:
        # Exponential with full jitter: 0.25 s, 0.5 s, 1 s ceilings.
        return min(2.0, 0.25 * 2.0 ** (attempt - 1)) * (0.5 + self._jitter() / 2)


def _started(request: httpx.Request) -> None:
    request.extensions["coupons_started"] = time.monotonic()


def _rate_limited(error: CapillaryError, retry_after: float) -> CapillaryRateLimited:
    """A 429 whose `Retry-After` is beyond this lookup: say when to try again."""
    limited = CapillaryRateLimited(str(error), retry_after=retry_after, status=429)
    limited.attempts = error.attempts
    return limited


def _shared_token(entry: bytes | None, *, now: float) -> OAuthToken | None:
    expires_at, _, token = (entry or b"").decode(errors="replace").partition(" ")
    try:
        left = float(expires_at) - now
    except ValueError:
        return None
    return OAuthToken(token, left) if token and left > 0 else None


def read_token(content: bytes) -> OAuthToken | None:
    """`{"data": {"accessToken": …, "ttlSeconds": …}}` → a token; anything else → None."""
    data = dict_of(json_object(content).get("data"))
    token = data.get("accessToken")
    if not isinstance(token, str) or not token:
        return None
    ttl = data.get("ttlSeconds")
    return OAuthToken(token, float(ttl) if isinstance(ttl, int | float) and ttl > 0 else 300.0)


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
