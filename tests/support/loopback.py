"""Real HTTP servers on 127.0.0.1 (port 0) for tests: a Capillary stand-in, a fake Slack Web API, and a
recorder for what the bot posts to `response_url`s."""

from __future__ import annotations

import contextlib
import json
import selectors
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    client_port: int = 0  # the client's end of the connection: the same for requests on one kept-alive connection

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in urllib.parse.parse_qs(self.body.decode()).items()}


@dataclass
class Reply:
    status: int = 200
    body: bytes | str | dict[str, Any] | list[Any] = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drip: float = 0.0  # seconds between chunks of the body: a server that sends slowly
    chunk: int = 1024
    held: bool = False  # answered only once the test calls `release()` on the server


Route = Callable[[Recorded], Reply]


def nowhere_url(path: str = "") -> str:
    """An http:// URL on 127.0.0.1 where nothing listens: connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/{path}"


class _BusyServer(ThreadingHTTPServer):
    """Takes a burst of connections as Slack's and Capillary's servers do: the listen backlog (5 by default) would
    reset some of 40 replies arriving at once."""

    daemon_threads = True
    request_queue_size = 128


class LoopbackServer:
    """A threaded HTTP server whose answers come from `route`; every request is recorded."""

    def __init__(self, route: Route) -> None:
        self.route = route
        self.requests: list[Recorded] = []
        self._changed = threading.Condition()
        self._closing = threading.Event()
        self._released = threading.Event()  # held replies go; set by `release()`, or by `close()`
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall

            def log_message(self, *args: Any) -> None:
                pass

            def handle(self) -> None:
                with contextlib.suppress(ConnectionResetError):  # a client that hung up between requests
                    super().handle()

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                parsed = urllib.parse.urlsplit(self.path)
                request = Recorded(
                    self.command,
                    parsed.path,
                    urllib.parse.parse_qs(parsed.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length),
                    self.client_address[1],
                )
                with server._changed:
                    server.requests.append(request)
                    server._changed.notify_all()
                reply = server.route(request)
                if reply.held:
                    server._released.wait()
                if reply.delay:
                    # A "hang" ends when the test ends, so no thread outlives the suite.
                    server._closing.wait(reply.delay)
                body = reply.body
                if isinstance(body, dict | list):
                    body = json.dumps(body).encode()
                    reply.headers.setdefault("Content-Type", "application/json")
                elif isinstance(body, str):
                    body = body.encode()
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    if not reply.drip:
                        self.wfile.write(body)
                    for start in range(0, len(body), reply.chunk) if reply.drip else ():
                        self.wfile.write(body[start : start + reply.chunk])
                        self.wfile.flush()
                        if server._closing.wait(reply.drip):
                            break
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = do_PUT = _handle

        self._server = _BusyServer(("127.0.0.1", 0), Handler)
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        """`serve_forever`, woken by `close` rather than polling: `shutdown()` waits out a poll interval, per test."""
        with selectors.DefaultSelector() as selector:
            selector.register(self._server, selectors.EVENT_READ)
            selector.register(self._wake_reader, selectors.EVENT_READ)
            while not self._closing.is_set():
                for key, _ in selector.select():
                    if key.fileobj is self._server and not self._closing.is_set():
                        self._server.handle_request()  # a connection is waiting: accepted without blocking

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/"

    def wait_for(
        self,
        count: int,
        *,
        path_prefix: str = "",
        timeout: float = 10.0,
        where: Callable[[Recorded], bool] = lambda request: True,
    ) -> list[Recorded]:
        """Block until `count` requests under `path_prefix` (and `where` they hold) have arrived; fail the test if
        they don't."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [r for r in self.requests if r.path.startswith(path_prefix) and where(r)]
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"expected {count} requests to {path_prefix!r}, got {len(found)}")
                self._changed.wait(remaining)

    def matching(self, path_prefix: str) -> list[Recorded]:
        with self._changed:
            return [r for r in self.requests if r.path.startswith(path_prefix)]

    def release(self) -> None:
        """Send the replies that are `held`, and from now on send them at once."""
        self._released.set()

    def close(self) -> None:
        self._closing.set()
        self._released.set()
        self._wake_writer.send(b"x")
        self._thread.join()
        self._server.server_close()
        self._wake_reader.close()
        self._wake_writer.close()
