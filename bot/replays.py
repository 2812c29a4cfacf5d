"""Each event and each trigger is answered once, by whichever process gets it first.

Slack redelivers an event it thinks went unanswered (same `event_id`); a captured request replayed within the
signature's five minutes carries the same `trigger_id` (commands, clicks, shortcuts, submissions). The check
before the ack stays inside this process, because the ack never waits on the network; with a shared store
(Redis) a second check, after the ack and before any work, makes it once across processes. A store that is
unreachable lets the request through: answered twice rather than never.
"""

from __future__ import annotations

from typing import Any

from bot.store import MemoryStore, Store

# Slack retries an event for about an hour in all, and a request's signature is good for five minutes.
REPLAY_WINDOW_SECONDS = 3600.0
LOCAL_BYTES = 8 * 1024 * 1024  # ~100k keys of this process's own


class Replays:
    def __init__(self, store: Store, *, window_seconds: float = REPLAY_WINDOW_SECONDS) -> None:
        self._window = window_seconds
        self._local = MemoryStore(LOCAL_BYTES) if store.shared else store
        self._shared = store if store.shared else None

    def first_here(self, body: dict[str, Any]) -> bool:
        """Before the ack: not seen by this process (no network)."""
        key = once_key(body)
        return key is None or self._local.add(key, b"1", self._window)

    def first_anywhere(self, body: dict[str, Any]) -> bool:
        """After the ack: not seen by any process sharing the store."""
        key = once_key(body)
        return self._shared is None or key is None or self._shared.add(key, b"1", self._window)


def once_key(body: dict[str, Any]) -> str | None:
    event_id = body.get("event_id")
    if body.get("type") == "event_callback" and isinstance(event_id, str) and event_id:
        return f"seen:event:{event_id}"
    trigger_id = body.get("trigger_id")
    if isinstance(trigger_id, str) and trigger_id:
        return f"seen:trigger:{trigger_id}"
    return None
