"""Slack's limits on what a message or view may hold, and a way to measure a rendered one."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
# Slack rejects bigger messages with `msg_blocks_too_long`; the exact figure is undocumented.
MAX_MESSAGE_TEXT = 10_000


def text_length(blocks: Iterable[dict[str, Any]]) -> int:
    """Characters of every text object in the blocks: the measure `MAX_MESSAGE_TEXT` is about."""
    total = 0
    pending: list[Any] = list(blocks)
    while pending:  # a walk without recursion: every answer is measured before it is sent
        node = pending.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "text" and isinstance(value, str):
                    total += len(value)
                elif key != "value" and isinstance(value, (dict, list)):
                    pending.append(value)
        elif isinstance(node, list):
            pending.extend(node)
    return total


@dataclass(frozen=True)
class Budget:
    """How much a renderer may put on one surface."""

    max_blocks: int
    max_text: int

    def fits(self, blocks: list[dict[str, Any]]) -> bool:
        return len(blocks) <= self.max_blocks and text_length(blocks) <= self.max_text


MESSAGE_BUDGET = Budget(MAX_MESSAGE_BLOCKS, MAX_MESSAGE_TEXT)
# A modal holds 100 blocks. Slack documents no total for a view's text, so the message's figure is kept.
VIEW_BUDGET = Budget(MAX_VIEW_BLOCKS, MAX_MESSAGE_TEXT)
