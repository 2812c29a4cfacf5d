"""A rendered message: Block Kit blocks plus the plain text Slack shows in notifications."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Message:
    text: str
    blocks: list[dict[str, Any]]
    ok: bool = True  # False for errors and usage: never shared with a channel
