"""Validation of rendered Block Kit against slack_sdk's models and Slack's limits, and helpers to read blocks.

Every block is parsed with `slack_sdk.models.blocks`, validated, and serialised again; the result must equal
what the bot rendered. slack_sdk silently drops what it does not model (an unknown field, an unknown element
type, an empty text) and turns some invalid shapes into valid ones (a text object of an unknown type becomes
mrkdwn), so a difference in the round trip is something Slack would reject or read differently. No
normalisation is applied: everything the bot renders round-trips exactly (checked with slack_sdk 3.33 and
3.48), `verbatim` and `emoji` included, so there is nothing equivalent-but-different to forgive.

On top of slack_sdk, the limits Slack documents are checked here directly, so that the check does not depend on
which of them a given slack_sdk version happens to enforce; and so are rules slack_sdk does not model: a link
button's URL, what a context block may hold, a modal's submit button when it has inputs.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterator
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

# Slack's limits, from its Block Kit reference (docs.slack.dev/reference/block-kit: blocks, block elements, views).
# Written here, not imported from blocks/limits.py: a wrong figure there must fail these checks, not be copied.
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100  # a modal or a Home tab
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_ACTIONS_ELEMENTS = 25
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_BUTTON_URL = 3000
MAX_ID = 255  # action_id, block_id, callback_id
MAX_MODAL_TITLE = 24  # also submit and close
MAX_PRIVATE_METADATA = 3000
MAX_INPUT_LABEL = 2000
MAX_INPUT_HINT = 2000
MAX_PLACEHOLDER = 150
# The one figure Slack does not document: past about this much text in a message's blocks it answers
# `msg_blocks_too_long`. Counted here by the check's own measure (`_text_total`).
MAX_MESSAGE_TEXT = 10_000
# A context block shows images and text; anything interactive (a button, a select...) belongs in an actions block
# or a section's accessory.
CONTEXT_ELEMENT_TYPES = frozenset({"image", "mrkdwn", "plain_text"})


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


def _text_total(blocks: list[Any]) -> int:
    """Characters of every text in the blocks, at any depth; a button's `value` is not shown, so not counted."""
    return sum(len(v) for node in _walk(blocks) for k, v in node.items() if k == "text" and isinstance(v, str))


def _is_web_url(url: Any) -> bool:
    parts = urllib.parse.urlsplit(url) if isinstance(url, str) else None
    return parts is not None and parts.scheme in {"http", "https"} and bool(parts.hostname)


def _text_of(node: Any) -> str:
    return node.get("text", "") if isinstance(node, dict) and isinstance(node.get("text"), str) else ""


def _sdk_problems(raw: dict[str, Any], where: str) -> list[str]:
    """What slack_sdk refuses, drops or changes in the block's round trip."""
    try:
        block = Block.parse(raw)
        if block is None:
            return [f"{where}: unknown block type {raw['type']!r}"]
        return list(_differences(raw, block.to_dict(), where))  # to_dict() runs slack_sdk's validation first
    except SlackObjectFormationError as exc:
        return [f"{where}: {exc}"]
    except (TypeError, ValueError, KeyError, AttributeError) as exc:  # a required field missing, an unknown one
        return [f"{where}: slack_sdk cannot build a {raw['type']} block: {exc}"]


def _section_problems(raw: dict[str, Any]) -> Iterator[str]:
    if len(_text_of(raw.get("text"))) > MAX_SECTION_TEXT:
        yield f"section text over {MAX_SECTION_TEXT} characters"
    fields = raw.get("fields", [])
    if len(fields) > MAX_SECTION_FIELDS:
        yield f"{len(fields)} fields, more than {MAX_SECTION_FIELDS}"
    if any(len(_text_of(field)) > MAX_FIELD_TEXT for field in fields):
        yield f"a field's text is over {MAX_FIELD_TEXT} characters"
    if "text" not in raw and not fields:
        yield "section with neither text nor fields"


def _context_problems(raw: dict[str, Any]) -> Iterator[str]:
    elements = raw.get("elements", [])
    if len(elements) > MAX_CONTEXT_ELEMENTS:
        yield f"{len(elements)} context elements, more than {MAX_CONTEXT_ELEMENTS}"
    for element in elements:
        element_type = element.get("type") if isinstance(element, dict) else None
        if element_type not in CONTEXT_ELEMENT_TYPES:
            yield f"a context block holds images and text only, not a {element_type}"


def _actions_problems(raw: dict[str, Any]) -> Iterator[str]:
    if len(raw.get("elements", [])) > MAX_ACTIONS_ELEMENTS:
        yield f"{len(raw['elements'])} actions elements, more than {MAX_ACTIONS_ELEMENTS}"


def _input_problems(raw: dict[str, Any]) -> Iterator[str]:
    label = raw.get("label")
    if not isinstance(label, dict) or label.get("type") != "plain_text" or not _text_of(label):
        yield "input without a plain_text label"
    elif len(_text_of(label)) > MAX_INPUT_LABEL:
        yield f"input label over {MAX_INPUT_LABEL} characters"
    if len(_text_of(raw.get("hint"))) > MAX_INPUT_HINT:
        yield f"input hint over {MAX_INPUT_HINT} characters"
    element = raw.get("element")
    if isinstance(element, dict) and len(_text_of(element.get("placeholder"))) > MAX_PLACEHOLDER:
        yield f"placeholder over {MAX_PLACEHOLDER} characters"


def _header_problems(raw: dict[str, Any]) -> Iterator[str]:
    text = raw.get("text")
    if not isinstance(text, dict) or text.get("type") != "plain_text":
        yield "header text must be plain_text"
    elif len(_text_of(text)) > MAX_HEADER_TEXT:
        yield f"header text over {MAX_HEADER_TEXT} characters"


def _button_problems(node: dict[str, Any]) -> Iterator[str]:
    label = node.get("text")
    if not isinstance(label, dict) or label.get("type") != "plain_text" or not _text_of(label):
        yield "button without a plain_text label"
    elif len(_text_of(label)) > MAX_BUTTON_TEXT:
        yield f"button label over {MAX_BUTTON_TEXT} characters"
    if not node.get("action_id"):
        yield "button without an action_id (the bot routes every click by it)"
    if len(node.get("value", "")) > MAX_BUTTON_VALUE:
        yield f"button value over {MAX_BUTTON_VALUE} characters"
    if "url" in node:
        if not _is_web_url(node["url"]):
            yield f"button url {node['url']!r:.60} is not an http(s) URL"
        elif len(node["url"]) > MAX_BUTTON_URL:
            yield f"button url over {MAX_BUTTON_URL} characters"


_BY_KIND = {
    "section": _section_problems,
    "context": _context_problems,
    "actions": _actions_problems,
    "input": _input_problems,
    "header": _header_problems,
}


def _own_problems(raw: dict[str, Any]) -> Iterator[str]:
    """Slack's rules, checked here whatever slack_sdk checks."""
    if raw["type"] in _BY_KIND:
        yield from _BY_KIND[raw["type"]](raw)
    if len(raw.get("block_id", "")) > MAX_ID:
        yield f"block_id over {MAX_ID} characters"
    for node in _walk(raw):
        if node.get("type") in {"mrkdwn", "plain_text"} and not _text_of(node).strip():
            yield f"empty {node['type']} text"
        if node.get("type") == "button":
            yield from _button_problems(node)
        if len(node.get("action_id", "")) > MAX_ID:
            yield f"action_id over {MAX_ID} characters"


def _block_problems(raw: Any, where: str) -> list[str]:
    if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
        return [f"{where}: not a block: {raw!r:.80}"]
    return _sdk_problems(raw, where) + [f"{where}: {problem}" for problem in _own_problems(raw)]


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
    if isinstance(blocks, list) and _text_total(blocks) > MAX_MESSAGE_TEXT:
        problems.append(f"{_text_total(blocks)} characters of text, more than {MAX_MESSAGE_TEXT}")
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
        blocks = view.get("blocks")
        has_input = isinstance(blocks, list) and any(isinstance(b, dict) and b.get("type") == "input" for b in blocks)
        if has_input and "submit" not in view:
            problems.append("a modal with input blocks needs a submit")
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
