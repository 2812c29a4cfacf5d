"""What a request to `/slack/events` must be before Bolt sees it: a whole body in time and not too large, signed by
Slack (the only signature check: Bolt's own is off behind this front), UTF-8, and shaped as Slack sends it.
A refusal is a `Rejected` with a status and a short reason, so junk costs one log line and never a traceback."""

from __future__ import annotations

import asyncio
import json
import re
import urllib.parse
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from slack_sdk.signature import SignatureVerifier

# Slack's payloads nest a dozen levels at most (rich-text blocks, views); far deeper is not Slack.
MAX_PAYLOAD_DEPTH = 64
# Slack's payloads are a few kilobytes; anything far larger is not Slack.
MAX_BODY_BYTES = 256 * 1024

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]

_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")


class Rejected(Exception):
    """A request answered with `status` and a short reason (logged on one line, no traceback)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return None


async def read_body(scope: Scope, receive: Receive, *, max_bytes: int, timeout: float) -> bytes:
    """The whole body, or Rejected(413/408). A client that goes away raises Rejected(499)."""
    declared = header(scope, b"content-length")
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
        timestamp = header(scope, b"x-slack-request-timestamp")
        signature = header(scope, b"x-slack-signature")
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
        content_type = (header(scope, b"content-type") or "").split(";")[0].strip().lower()
        if content_type == "application/json":
            check_event_body(text)
        elif content_type == "application/x-www-form-urlencoded":
            check_form_body(text)
        else:
            raise Rejected(400, "unexpected content type")
        return text


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
