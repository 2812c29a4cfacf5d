"""Validation of rendered Block Kit against slack_sdk's models and Slack's limits, and helpers to read blocks.

Every block is parsed with `slack_sdk.models.blocks`, validated, and serialised again; the result must equal
what the bot rendered. slack_sdk silently drops what it does not model (an unknown field, an unknown element
type, an empty text) and turns some invalid shapes into valid ones (a text object of an unknown type becomes
mrkdwn), so a difference in the round trip is something Slack would reject or read differently. No
normalisation is applied: everything the bot renders round-trips exactly (checked with slack_sdk 3.33 and
3.48), `verbatim` and `emoji` included, so there is nothing equivalent-but-different to forgive.

On top of slack_sdk, the limits Slack documents are checked here directly, so that the check does not depend on
which of them a given slack_sdk version happens to enforce.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from blocks.limits import (
    MAX_BUTTON_VALUE,
    MAX_MESSAGE_BLOCKS,
    MAX_MESSAGE_TEXT,
    MAX_SECTION_FIELDS,
    MAX_SECTION_TEXT,
    MAX_VIEW_BLOCKS,
    text_length,
)

MAX_ID = 255  # action_id, block_id, callback_id
MAX_FIELD_TEXT = 2000
MAX_BUTTON_TEXT = 75
MAX_HEADER_TEXT = 150
MAX_MODAL_TITLE = 24  # also submit and close
MAX_PRIVATE_METADATA = 3000


class BlockKitError(AssertionError):
    """Rendered Block Kit that Slack would reject; the message lists every problem found."""


def _differences(rendered: Any, parsed: Any, path: str) -> Iterator[str]:
    if isinstance(rendered, dict) and isinstance(parsed, dict):
        for key in rendered.keys() - parsed.keys():
            yield f"{path}.{key}: dropped by slack_sdk ({rendered[key]!r:.60})"
        for key in parsed.keys() - rendered.keys():
            yield f"{path}.{key}: added by slack_sdk ({parsed[key]!r:.60})"
        for key in rendered.keys() & parsed.keys():
            yield from _differences(rendered[key], parsed[key], f"{path}.{key}")
    elif isinstance(rendered, list) and isinstance(parsed, list) and len(rendered) == len(parsed):
        for index, (a, b) in enumerate(zip(rendered, parsed, strict=True)):
            yield from _differences(a, b, f"{path}[{index}]")
    elif rendered != parsed:
        yield f"{path}: {rendered!r:.60} became {parsed!r:.60} in slack_sdk's round trip"


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    """Every object inside a block, the block itself included, in document order."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _text_of(node: Any) -> str:
    return node.get("text", "") if isinstance(node, dict) and isinstance(node.get("text"), str) else ""


def _block_problems(raw: Any, where: str) -> list[str]:
    if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
        return [f"{where}: not a block: {raw!r:.80}"]
    problems: list[str] = []
    try:
        block = Block.parse(raw)
        if block is None:
            problems.append(f"{where}: unknown block type {raw['type']!r}")
        else:
            problems += _differences(raw, block.to_dict(), where)  # to_dict() runs slack_sdk's validation first
    except SlackObjectFormationError as exc:
        problems.append(f"{where}: {exc}")
    except (TypeError, ValueError, KeyError, AttributeError) as exc:  # a required field missing, an unknown one
        problems.append(f"{where}: slack_sdk cannot build a {raw['type']} block: {exc}")

    kind = raw["type"]
    if kind == "section":
        if len(_text_of(raw.get("text"))) > MAX_SECTION_TEXT:
            problems.append(f"{where}: section text over {MAX_SECTION_TEXT} characters")
        fields = raw.get("fields", [])
        if len(fields) > MAX_SECTION_FIELDS:
            problems.append(f"{where}: {len(fields)} fields, more than {MAX_SECTION_FIELDS}")
        if any(len(_text_of(field)) > MAX_FIELD_TEXT for field in fields):
            problems.append(f"{where}: a field's text is over {MAX_FIELD_TEXT} characters")
        if "text" not in raw and not fields:
            problems.append(f"{where}: section with neither text nor fields")
    if kind == "header":
        text = raw.get("text")
        if not isinstance(text, dict) or text.get("type") != "plain_text":
            problems.append(f"{where}: header text must be plain_text")
        elif len(_text_of(text)) > MAX_HEADER_TEXT:
            problems.append(f"{where}: header text over {MAX_HEADER_TEXT} characters")
    if len(raw.get("block_id", "")) > MAX_ID:
        problems.append(f"{where}: block_id over {MAX_ID} characters")
    for node in _walk(raw):
        if node.get("type") in {"mrkdwn", "plain_text"} and not _text_of(node).strip():
            problems.append(f"{where}: empty {node['type']} text")
        if node.get("type") == "button":
            label = node.get("text")
            if not isinstance(label, dict) or label.get("type") != "plain_text" or not _text_of(label):
                problems.append(f"{where}: button without a plain_text label")
            elif len(_text_of(label)) > MAX_BUTTON_TEXT:
                problems.append(f"{where}: button label over {MAX_BUTTON_TEXT} characters")
            if not node.get("action_id"):
                problems.append(f"{where}: button without an action_id (the bot routes every click by it)")
            if len(node.get("value", "")) > MAX_BUTTON_VALUE:
                problems.append(f"{where}: button value over {MAX_BUTTON_VALUE} characters")
        if len(node.get("action_id", "")) > MAX_ID:
            problems.append(f"{where}: action_id over {MAX_ID} characters")
    return problems


def _blocks_problems(blocks: Any, max_blocks: int, surface: str) -> list[str]:
    if not isinstance(blocks, list) or not blocks:
        return [f"a {surface} needs a non-empty list of blocks"]
    problems: list[str] = []
    if len(blocks) > max_blocks:
        problems.append(f"{len(blocks)} blocks, more than the {max_blocks} a {surface} may hold")
    for index, raw in enumerate(blocks):
        problems += _block_problems(raw, f"block {index}")
    objects = list(_walk(blocks))
    action_ids = [node["action_id"] for node in objects if isinstance(node.get("action_id"), str)]
    block_ids = [raw["block_id"] for raw in blocks if isinstance(raw, dict) and "block_id" in raw]
    for name, ids in (("action_id", action_ids), ("block_id", block_ids)):
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            problems.append(f"{name}s must be unique within a {surface}: {repeated} repeat")
    return problems


def _raise(problems: list[str]) -> None:
    if problems:
        raise BlockKitError("invalid Block Kit:\n  " + "\n  ".join(problems))


def assert_valid_message(blocks: list[dict[str, Any]]) -> None:
    problems = _blocks_problems(blocks, MAX_MESSAGE_BLOCKS, "message")
    if isinstance(blocks, list) and text_length(blocks) > MAX_MESSAGE_TEXT:
        problems.append(f"{text_length(blocks)} characters of text, more than {MAX_MESSAGE_TEXT}")
    _raise(problems)


def _plain_text_problems(view: dict[str, Any], key: str, *, required: bool) -> list[str]:
    if key not in view:
        return [f"a modal needs a {key}"] if required else []
    text = view[key]
    if not isinstance(text, dict) or text.get("type") != "plain_text" or not _text_of(text):
        return [f"{key} must be non-empty plain_text"]
    if len(_text_of(text)) > MAX_MODAL_TITLE:
        return [f"{key} over {MAX_MODAL_TITLE} characters"]
    return []


def assert_valid_view(view: dict[str, Any]) -> None:
    """A Home tab (`views.publish`) or a modal (`views.open` / `views.update` / `views.push`)."""
    kind = view.get("type")
    if kind not in {"home", "modal"}:
        _raise([f"view type {kind!r}: expected 'home' or 'modal'"])
    problems = _blocks_problems(view.get("blocks"), MAX_VIEW_BLOCKS, f"{kind} view")
    if kind == "modal":
        problems += _plain_text_problems(view, "title", required=True)
        problems += _plain_text_problems(view, "submit", required=False)
        problems += _plain_text_problems(view, "close", required=False)
    else:
        problems += [f"a Home tab cannot have a {key}" for key in ("title", "submit", "close") if key in view]
    if len(view.get("callback_id", "")) > MAX_ID:
        problems.append(f"callback_id over {MAX_ID} characters")
    if len(view.get("private_metadata", "")) > MAX_PRIVATE_METADATA:
        problems.append(f"private_metadata over {MAX_PRIVATE_METADATA} characters")
    if not problems:  # the blocks parse: now the view as a whole, through slack_sdk too
        try:
            problems += _differences(view, View(**view).to_dict(), "view")
        except (TypeError, ValueError, SlackObjectFormationError) as exc:
            problems.append(f"view: {exc}")
    _raise(problems)


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


def buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every button in the blocks (section accessories, actions elements), in the order Slack shows them."""
    return [node for node in _walk(blocks) if node.get("type") == "button"]


def button_texts(blocks: list[dict[str, Any]]) -> list[str]:
    return [button["text"]["text"] for button in buttons(blocks)]


def find_button(blocks: list[dict[str, Any]], text: str) -> dict[str, Any]:
    """The first button labelled `text`."""
    for button in buttons(blocks):
        if button["text"]["text"] == text:
            return button
    raise AssertionError(f"no button {text!r} among {button_texts(blocks)}")
