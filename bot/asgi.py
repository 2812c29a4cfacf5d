"""The HTTP front the Procfile's `web` process serves: uvicorn, one event loop per process, and an ASGI app of
ours in front of Bolt.

Why an event loop: a thread-per-connection server (gunicorn's sync/threaded workers) is held by any client that
sends slowly, so a few dozen slow connections stop it acknowledging Slack. Here a connection costs a socket and a
small parser until it is complete; only a whole, verified request reaches a thread.

What the front does before Bolt sees anything:

* `GET /healthz` → 200, without touching Capillary or Slack; other paths → 404, wrong method → 405;
* the headers of a request must arrive within `HEADER_TIMEOUT_SECONDS` of the connection opening (or of the
  previous response), else the connection is closed (`RequestTimeoutH11Protocol`);
* the body must arrive within `BODY_TIMEOUT_SECONDS`, else 408; more than `MAX_BODY_BYTES` → 413;
* the Slack signature is checked here (401), the body must be UTF-8 and a payload Slack could send (400), so
  junk costs one short log line and never a traceback;
* `app.dispatch` (middleware and the ack) runs on the event loop itself. It never waits on the network (the
  ack may not: `tests/test_ack_never_waits.py`) and takes a fraction of a millisecond, so a hop to a thread would
  only add latency: the lookup it starts would wait for the thread, and the ack for the loop to take it back.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import re
import sys
import urllib.parse
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

import h11
import uvicorn
from slack_bolt import App
from slack_bolt.request import BoltRequest
from slack_sdk.signature import SignatureVerifier
from uvicorn.protocols.http.h11_impl import H11Protocol

from bot import metrics
from bot.errors import ConfigError, startup_line
from bot.gc_tuning import settle_after_start
from bot.listeners.lazy import tell_restarted
from bot.log_rate import RateLimitedLog
from bot.log_setup import configure_logging, dropped_lines
from bot.process_limits import raise_open_files_limit
from bot.services import Services
from bot.settings import Settings
from bot.wiring import build_answerer, build_app

logger = logging.getLogger(__name__)
# Junk requests can come by the thousand a second: a few lines a minute say what it is, and a count the rest.
_rejections = RateLimitedLog(logger)

# Slack's payloads nest a dozen levels at most (rich-text blocks, views); far deeper is not Slack.
MAX_PAYLOAD_DEPTH = 64
# Slack's payloads are a few kilobytes; anything far larger is not Slack.
MAX_BODY_BYTES = 256 * 1024
# Slack sends a whole request at once; a client that needs longer is not Slack (or is attacking).
HEADER_TIMEOUT_SECONDS = 10.0
BODY_TIMEOUT_SECONDS = 10.0
# Platforms send SIGKILL about 30 s after SIGTERM; the three phases below add up to at most 27 s.
# In-flight requests (a dispatch is middleware + ack: milliseconds) get this long to finish after SIGTERM.
GRACEFUL_SHUTDOWN_SECONDS = 4
# Then lookups already started or queued get COUPONS_SHUTDOWN_GRACE_SECONDS (18 s) to post their answers (a lookup
# ends within COUPONS_UPSTREAM_DEADLINE_SECONDS, 8 s, so two rounds of the listener pool fit)...
LAZY_WORK_GRACE_SECONDS = 18.0
# ...and whoever is still waiting is told to ask again, all at once, within this.
RESTART_NOTICE_SECONDS = 5
EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ShutdownHook = Callable[[], None]

_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")
_REQUEST_TIMEOUT = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


class Rejected(Exception):
    """A request answered with `status` and a short reason (logged on one line, no traceback)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class RequestTimeoutH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, plus a deadline for a request's head.

    uvicorn has no header read timeout: its keep-alive timer is disarmed by any byte, so a client sending one
    header byte a second would hold a connection for ever. Here a timer starts when the connection opens (and
    again after each response) and closes the connection unless a complete request head has arrived by then.
    """

    header_timeout = HEADER_TIMEOUT_SECONDS
    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._disarm_once_head_arrived()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._arm_head_timer()  # waiting for the next request on a kept-alive connection
        self._disarm_once_head_arrived()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def _arm_head_timer(self) -> None:
        self._cancel_head_timer()
        self._head_timer = self.loop.call_later(self.header_timeout, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _disarm_once_head_arrived(self) -> None:
        if self.conn.their_state is not h11.IDLE:
            self._cancel_head_timer()

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self.transport.write(_REQUEST_TIMEOUT)
            self.transport.close()


async def _respond(
    send: Send,
    status: int,
    text: str,
    headers: list[tuple[bytes, bytes]] | None = None,
    *,
    content_type: bytes = b"text/plain; charset=utf-8",
) -> None:
    body = text.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return None


async def read_body(scope: Scope, receive: Receive, *, max_bytes: int, timeout: float) -> bytes:
    """The whole body, or Rejected(413/408). A client that goes away raises Rejected(499)."""
    declared = _header(scope, b"content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > max_bytes):
        raise Rejected(413, "body too large")
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout):
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise Rejected(499, "client went away")
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > max_bytes:
                    raise Rejected(413, "body too large")
                chunks.append(chunk)
                if not message.get("more_body", False):
                    return b"".join(chunks)
    except TimeoutError:
        raise Rejected(408, "body not received in time") from None


class SlackRequestChecker:
    """Signature first (401), then encoding and shape (400): what passes is a request Bolt can handle."""

    def __init__(self, signing_secret: str) -> None:
        self._verifier = SignatureVerifier(signing_secret)

    def check(self, scope: Scope, body: bytes) -> str:
        timestamp = _header(scope, b"x-slack-request-timestamp")
        signature = _header(scope, b"x-slack-signature")
        if timestamp is None or signature is None:
            raise Rejected(401, "no Slack signature")
        if not _TIMESTAMP.fullmatch(timestamp) or not _SIGNATURE.fullmatch(signature):
            raise Rejected(401, "malformed Slack signature headers")
        try:
            text = body.decode("utf-8")  # SignatureVerifier would decode it too, and raise
        except UnicodeDecodeError:
            raise Rejected(400, "body is not UTF-8") from None
        if not self._verifier.is_valid(body=text, timestamp=timestamp, signature=signature):
            raise Rejected(401, "invalid or stale Slack signature")
        content_type = (_header(scope, b"content-type") or "").split(";")[0].strip().lower()
        if content_type == "application/json":
            check_event_body(text)
        elif content_type == "application/x-www-form-urlencoded":
            check_form_body(text)
        else:
            raise Rejected(400, "unexpected content type")
        return text


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise Rejected(400, f"{what} is not JSON") from None
    if _depth(value) > MAX_PAYLOAD_DEPTH:  # Bolt copies payloads recursively: a deep one would end in a traceback
        raise Rejected(400, f"{what} is nested too deep")
    if not isinstance(value, dict):
        raise Rejected(400, f"{what} is not a JSON object")
    if not isinstance(value.get("type"), str):
        raise Rejected(400, f"{what} has no type")
    return value


def _depth(value: object) -> int:
    """How deep objects and lists nest in `value` (counted without recursion)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def check_event_body(text: str) -> None:
    body = _json_object(text, "event body")
    if body["type"] == "event_callback" and not isinstance(body.get("event"), dict):
        raise Rejected(400, "event_callback without an event")


def check_form_body(text: str) -> None:
    try:
        form = urllib.parse.parse_qs(text, keep_blank_values=True, strict_parsing=bool(text), max_num_fields=200)
    except ValueError:
        raise Rejected(400, "malformed form body") from None
    if "payload" in form:
        payload = _json_object(form["payload"][0], "payload")
        if payload["type"] == "block_actions":
            actions = payload.get("actions")
            if not isinstance(actions, list) or not actions or not all(isinstance(a, dict) for a in actions):
                raise Rejected(400, "block_actions without actions")
        return
    if "command" in form or "ssl_check" in form:
        return
    raise Rejected(400, "form body is neither a command nor an interaction")


class SlackFront:
    """The ASGI application: routes, limits, checks, then `app.dispatch` (which hands the work to a thread)."""

    def __init__(
        self,
        app: App,
        signing_secret: str,
        *,
        on_shutdown: ShutdownHook | None = None,
        max_body_bytes: int = MAX_BODY_BYTES,
        body_timeout: float | None = None,
        health: Callable[[], dict[str, Any]] | None = None,
        metrics: Callable[[], bytes] | None = None,
    ) -> None:
        self.app = app
        self.health = health  # what /healthz adds: the queue's depth and live workers (read on another thread)
        self.metrics = metrics  # GET /metrics (None: off); a scrape reads files in multiprocess mode: not on the loop
        self.checker = SlackRequestChecker(signing_secret)
        self.on_shutdown = on_shutdown
        self.max_body_bytes = max_body_bytes
        self.body_timeout = BODY_TIMEOUT_SECONDS if body_timeout is None else body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)
        # Anything else (websocket) is not ours: returning without accepting makes the server refuse it.

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                # In-flight HTTP requests have finished (or the grace period ran out): now lazy work may finish.
                try:
                    if self.on_shutdown is not None:
                        await asyncio.get_running_loop().run_in_executor(None, self.on_shutdown)
                except Exception:
                    logger.exception("shutdown hook failed")
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path, method = scope["path"], scope["method"]
        if path == METRICS_PATH and self.metrics is not None:
            if method in {"GET", "HEAD"}:
                body = await asyncio.get_running_loop().run_in_executor(None, self.metrics)
                await _respond(send, 200, body.decode(), content_type=metrics.CONTENT_TYPE.encode())
            else:
                await _respond(send, 405, "Method Not Allowed", [(b"allow", b"GET, HEAD")])
            return
        if path == HEALTH_PATH:
            if method in {"GET", "HEAD"}:
                health = {"status": "ok", "role": "web", **(self.health() if self.health else {"queue": "in-process"})}
                await _respond(send, 200, json.dumps(health), content_type=b"application/json")
            else:
                await _respond(send, 405, "Method Not Allowed", [(b"allow", b"GET, HEAD")])
            return
        if path != EVENTS_PATH:
            await _respond(send, 404, "Not Found")
            return
        if method != "POST":
            await _respond(send, 405, "Method Not Allowed", [(b"allow", b"POST")])
            return
        try:
            body = await read_body(scope, receive, max_bytes=self.max_body_bytes, timeout=self.body_timeout)
            text = self.checker.check(scope, body)
        except Rejected as rejected:
            client = (scope.get("client") or ("?",))[0]
            _rejections.warning("rejected request from %s: %d %s", client, rejected.status, rejected.reason)
            if rejected.status != 499:
                # The rest of a refused body is not read: close rather than keep the connection alive.
                await _respond(send, rejected.status, rejected.reason, [(b"connection", b"close")])
            return
        request = BoltRequest(
            body=text, query=scope.get("query_string", b"").decode("latin-1"), headers=_bolt_headers(scope)
        )
        with metrics.ACK_SECONDS.time():
            response = self.app.dispatch(request)
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, vs in response.headers.items() for v in vs]
        body_bytes = (response.body or "").encode()
        headers = [h for h in headers if h[0] != b"content-length"]
        headers.append((b"content-length", str(len(body_bytes)).encode()))
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": body_bytes})


# Bolt reads these to run one lazy listener inside `dispatch` (its FaaS adapters re-invoke themselves that way).
# Slack's signature doesn't cover headers: from outside they would run a whole lookup on the event loop.
_BOLT_INTERNAL_HEADERS = "x-slack-bolt-"


def _bolt_headers(scope: Scope) -> dict[str, str | Sequence[str]]:
    headers: dict[str, list[str]] = {}
    for key, value in scope["headers"]:
        name = key.decode("latin-1").lower()
        if not name.startswith(_BOLT_INTERNAL_HEADERS):
            headers.setdefault(name, []).append(value.decode("latin-1"))
    return dict(headers)


def drain_lazy_work(
    services: Services, grace: float = LAZY_WORK_GRACE_SECONDS, tell_within: float = RESTART_NOTICE_SECONDS
) -> ShutdownHook:
    """The shutdown hook (no new HTTP request arrives by then): lookups already started or queued get `grace`
    seconds to post their answers; everyone still waiting after that is told the bot restarted and to ask
    again, within `tell_within` seconds. Never an ack followed by silence."""

    def hook() -> None:
        if services.watch is not None:  # no standby from now on; one running puts back what it hasn't started
            services.watch.close()
        if services.sender is not None:  # jobs acked but not yet in Redis go there: the workers answer them
            services.sender.close()
        work = services.lazy_work
        logger.info("shutting down: waiting up to %.0f s for %d lookups in flight", grace, work.in_flight)
        told = work.drain(grace, functools.partial(tell_restarted, services), tell_within=tell_within)
        logger.info("shut down: %d people told to ask again", told)

    return hook


def load_settings() -> Settings:
    """The environment's settings, or one line on stderr and exit status 2."""
    try:
        return Settings.from_env()
    except ConfigError as error:
        print(startup_line(error), file=sys.stderr)
        raise SystemExit(2) from None


def create_asgi_app() -> SlackFront:
    """Build the bot from the environment (every worker process does, from the same environment)."""
    settings = load_settings()
    # Both the head and the body of a request must arrive within this (each).
    RequestTimeoutH11Protocol.header_timeout = settings.http_request_timeout_seconds
    configure_logging(settings.log_level)
    try:
        settings.require_all("http")
        app, services = build_app(settings, build_answerer(settings, use_demo=settings.demo))
    except ConfigError as error:
        print(startup_line(error), file=sys.stderr)
        raise SystemExit(2) from None
    assert settings.slack_signing_secret is not None  # create_app required it
    settle_after_start()
    return SlackFront(
        app,
        settings.slack_signing_secret.get_secret_value(),
        on_shutdown=drain_lazy_work(services, grace=settings.shutdown_grace_seconds),
        body_timeout=settings.http_request_timeout_seconds,
        health=services.watch.health if services.watch is not None else None,
        metrics=functools.partial(metrics.scrape, functools.partial(_gauges, services)) if settings.metrics else None,
    )


def _gauges(services: Services) -> None:
    """What a scrape reads at its moment: the queue as web last saw it, and the log lines dropped so far."""
    metrics.LOG_LINES_DROPPED.set(dropped_lines())
    if services.watch is not None:
        metrics.QUEUE_DEPTH.set(services.watch.depth or 0)
        metrics.LIVE_WORKERS.set(services.watch.live_workers or 0)


def main() -> None:
    """The Procfile's `web`: `PORT` (default 3000), `WEB_CONCURRENCY` processes (default 1)."""
    settings = load_settings()
    raise_open_files_limit()  # before the server and its workers open anything
    workers = settings.web_concurrency
    front = create_asgi_app()  # fails fast, with one line, before any worker starts
    logging.getLogger("uvicorn.error").setLevel(logging.INFO)
    config = uvicorn.Config(
        # Several processes each build their own app from the same environment.
        "bot.asgi:create_asgi_app" if workers > 1 else front,
        factory=workers > 1,
        host="0.0.0.0",  # noqa: S104 - the platform routes $PORT to us
        port=settings.port,
        workers=workers,
        http=RequestTimeoutH11Protocol,
        lifespan="on",
        timeout_keep_alive=5,
        # Past this many connections (or requests in progress) a new request gets a quick 503, and Slack sends it
        # again later: descriptors are left for the calls to Capillary, Slack and Redis.
        limit_concurrency=settings.max_connections,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        access_log=False,
        log_config=None,
        server_header=False,
    )
    if workers > 1:
        sock = config.bind_socket()
        uvicorn.supervisors.Multiprocess(config, sockets=[sock]).run()
    else:
        uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
