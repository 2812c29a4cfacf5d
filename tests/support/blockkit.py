"""Validation of rendered Block Kit against slack_sdk's models and Slack's message-level limits."""

from __future__ import annotations

import re
from typing import Any

from slack_sdk.models.blocks import Block

from blocks.limits import (
    MAX_BUTTON_VALUE,
    MAX_MESSAGE_BLOCKS,
    MAX_MESSAGE_TEXT,
    MAX_SECTION_FIELDS,
    MAX_SECTION_TEXT,
    MAX_VIEW_BLOCKS,
    text_length,
)


def _check_blocks(blocks: list[dict[str, Any]]) -> None:
    action_ids: list[str] = []
    for raw in blocks:
        block = Block.parse(raw)
        assert block is not None, raw
        block.validate_json()
        assert block.to_dict() == raw or raw.get("type") in {"section", "context", "actions", "header", "divider"}
        if raw["type"] == "section":
            assert len(raw.get("text", {}).get("text", "")) <= MAX_SECTION_TEXT
            assert len(raw.get("fields", [])) <= MAX_SECTION_FIELDS
        elements = raw.get("elements", []) if raw["type"] == "actions" else [raw.get("accessory") or {}]
        for element in elements:
            if element.get("type") == "button":
                assert len(element["value"]) <= MAX_BUTTON_VALUE
                action_ids.append(element["action_id"])
    assert len(action_ids) == len(set(action_ids)), "action_ids must be unique within a message"


def assert_valid_message(blocks: list[dict[str, Any]]) -> None:
    assert 0 < len(blocks) <= MAX_MESSAGE_BLOCKS
    assert text_length(blocks) <= MAX_MESSAGE_TEXT
    _check_blocks(blocks)


def assert_valid_view(view: dict[str, Any]) -> None:
    assert view["type"] == "home"
    assert 0 < len(view["blocks"]) <= MAX_VIEW_BLOCKS
    _check_blocks(view["blocks"])


CONTROL_SEQUENCE = re.compile(r"<(?:!|@|#|https?:|mailto:)")


def all_texts(blocks: list[dict[str, Any]]) -> list[str]:
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                found.append(node["text"])
            for key, value in node.items():
                if key != "value":
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(blocks)
    return found


def find_button_texts(blocks: list[dict[str, Any]]) -> list[str]:
    labels = []
    for block in blocks:
        elements = block.get("elements", []) if block["type"] == "actions" else [block.get("accessory") or {}]
        labels += [e["text"]["text"] for e in elements if e.get("type") == "button"]
    return labels
