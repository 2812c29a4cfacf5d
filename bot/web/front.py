"""The ASGI application uvicorn serves: routes, then the checks of `request_checks`, then Bolt's `dispatch`.

* `GET /healthz` → 200, without touching Capillary or Slack; `GET /metrics` when on; other paths → 404, a wrong
  method → 405;
* a request to `/slack/events` is read and checked (`request_checks`: 408, 413, 401, 400) before Bolt sees it;
* `app.dispatch` (middleware and the ack) runs on the event loop itself. It never waits on the network (the
  ack may not: `tests/test_ack_never_waits.py`) and takes a fraction of a millisecond, so a hop to a thread would
  only add latency: the lookup it starts would wait for the thread, and the ack for the loop to take it back;
* on shutdown, once in-flight requests have finished, the shutdown hook runs (`shutdown.drain_and_close`).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from slack_bolt import App
from slack_bolt.request import BoltRequest

from bot import metrics
from bot.log_rate import RateLimitedLog
from bot.web.request_checks import MAX_BODY_BYTES, Message, Receive, Rejected, Scope, SlackRequestChecker, read_body

logger = logging.getLogger(__name__)
# Junk requests can come by the thousand a second: a few lines a minute say what it is, and a count the rest.
_rejections = RateLimitedLog(logger)

# Slack sends a whole request at once; a client that needs longer is not Slack (or is attacking).
BODY_TIMEOUT_SECONDS = 10.0
EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"
# Bolt reads these to run one lazy listener inside `dispatch` (its FaaS adapters re-invoke themselves that way).
# Slack's signature doesn't cover headers: from outside they would run a whole lookup on the event loop.
_BOLT_INTERNAL_HEADERS = "x-slack-bolt-"

Send = Callable[[Message], Awaitable[None]]
ShutdownHook = Callable[[], None]


class SlackFront:
    """`app` must be built with Bolt's own signature check off (`build_app(..., verified_in_front=True)`): the
    signature is checked here, once."""

    def __init__(
        self,
        app: App,
        signing_secret: str,
        *,
        on_shutdown: ShutdownHook | None = None,
        body_timeout: float | None = None,
        health: Callable[[], dict[str, Any]] | None = None,
        metrics: Callable[[], bytes] | None = None,
    ) -> None:
        self.app = app
        self.health = health  # what /healthz adds: the queue's depth and live workers (read on another thread)
        self.metrics = metrics  # GET /metrics (None: off); a scrape reads files in multiprocess mode: not on the loop
        self.checker = SlackRequestChecker(signing_secret)
        self.on_shutdown = on_shutdown
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
        if path == HEALTH_PATH or (path == METRICS_PATH and self.metrics is not None):
            if method not in {"GET", "HEAD"}:
                await _respond(send, 405, "Method Not Allowed", [(b"allow", b"GET, HEAD")])
            elif path == METRICS_PATH and self.metrics is not None:
                body = await asyncio.get_running_loop().run_in_executor(None, self.metrics)
                await _respond(send, 200, body.decode(), content_type=metrics.CONTENT_TYPE.encode())
            else:
                health = {"status": "ok", "role": "web", **(self.health() if self.health else {"queue": "in-process"})}
                await _respond(send, 200, json.dumps(health), content_type=b"application/json")
            return
        if path != EVENTS_PATH:
            await _respond(send, 404, "Not Found")
            return
        if method != "POST":
            await _respond(send, 405, "Method Not Allowed", [(b"allow", b"POST")])
            return
        try:
            body = await read_body(scope, receive, max_bytes=MAX_BODY_BYTES, timeout=self.body_timeout)
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
        await _send(
            send, response.status, (response.body or "").encode(), [h for h in headers if h[0] != b"content-length"]
        )


async def _respond(
    send: Send,
    status: int,
    text: str,
    headers: list[tuple[bytes, bytes]] | None = None,
    *,
    content_type: bytes = b"text/plain; charset=utf-8",
) -> None:
    await _send(send, status, text.encode(), [(b"content-type", content_type), *(headers or [])])


async def _send(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    """The response, its length added to `headers`."""
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _bolt_headers(scope: Scope) -> dict[str, str | Sequence[str]]:
    headers: dict[str, list[str]] = {}
    for key, value in scope["headers"]:
        name = key.decode("latin-1").lower()
        if not name.startswith(_BOLT_INTERNAL_HEADERS):
            headers.setdefault(name, []).append(value.decode("latin-1"))
    return dict(headers)
