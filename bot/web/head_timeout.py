"""The one patch on uvicorn's private API: a deadline for a request's head, on uvicorn's h11 protocol.

uvicorn has no header read timeout: its keep-alive timer is disarmed by any byte, so a client sending one header
byte a second would hold a connection for ever. `H11Protocol` is not public, so the patch is pinned to the
uvicorn versions it is tested on (the same range as pyproject.toml's); `require_tested_uvicorn` refuses to
start on any other, rather than serve without the timeout.
"""

from __future__ import annotations

import asyncio
import re

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from bot.errors import StartupError

# Lowest tested, and first untested, version: keep in step with pyproject.toml (a test compares them).
TESTED_UVICORN = ((0, 30), (0, 56))
_REQUEST_TIMEOUT = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


def require_tested_uvicorn(version: str | None = None) -> None:
    """Refuse to start on a uvicorn this patch was not tested with: one line, not a server without the timeout."""
    version = uvicorn.__version__ if version is None else version
    (low, high), parts = TESTED_UVICORN, re.match(r"(\d+)\.(\d+)", version)
    if parts is None or not low <= (int(parts[1]), int(parts[2])) < high:
        raise StartupError(
            f"uvicorn {version} is not a version the bot's header timeout was tested with "
            f"({'.'.join(map(str, low))} to before {'.'.join(map(str, high))}); install one in that range"
        )


class RequestTimeoutH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, plus a deadline for a request's head: a timer starts when the connection opens
    (and again after each response) and closes the connection unless a complete request head has arrived by then.

    What it relies on from `H11Protocol`: the four callbacks below, and its `transport`, `loop` and `conn` (the
    h11 connection, whose `their_state` is IDLE until a request head has been read)."""

    header_timeout = 10.0
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
