"""A rendered message: Block Kit blocks plus the plain text Slack shows in notifications."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Message:
    text: str
    blocks: list[dict[str, Any]]
    ok: bool = True  # False for errors and usage: never shared with a channel
    # What went wrong, for whoever drew this for an admin rather than an agent (`coupons-bot preview`).
    error: Exception | None = field(default=None, compare=False, repr=False)
