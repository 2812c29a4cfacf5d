"""Block Kit → readable terminal text, for `coupons-bot preview`."""

from __future__ import annotations

import html
import re
from typing import Any

_DATE_TOKEN = re.compile(r"<!date\^[0-9]+\^[^|>]*\|([^>]*)>")
_MENTION = re.compile(r"<@([A-Z0-9]+)>")
_OTHER_EMOJI = re.compile(r"(?<![\w:`]):[a-z][a-z0-9_+-]*: ?")
_EMOJI = {
    ":large_green_circle:": "●",
    ":hourglass_flowing_sand:": "◔",
    ":white_check_mark:": "✔",
    ":no_entry_sign:": "✖",
    ":warning:": "⚠",
    ":mag:": "»",
    ":test_tube:": "⚗",
    ":grey_question:": "?",
    ":twisted_rightwards_arrows:": "⇄",
}


def mrkdwn_to_text(text: str) -> str:
    text = _DATE_TOKEN.sub(r"\1", text)
    text = _MENTION.sub(r"@\1", text)
    for code, symbol in _EMOJI.items():
        text = text.replace(code, symbol)
    text = _OTHER_EMOJI.sub("", text)  # a terminal shows `:dart:` literally: drop what has no symbol here
    text = re.sub(r"(?<![\w`])\*([^*\n]+)\*(?![\w`])", r"\1", text)
    text = re.sub(r"(?<![\w`])_([^_\n]+)_(?![\w`])", r"\1", text)
    return html.unescape(text)


def _buttons(elements: list[dict[str, Any]]) -> str:
    return " ".join(f"[{e['text']['text']}]" for e in elements if e.get("type") == "button")


def blocks_to_text(blocks: list[dict[str, Any]]) -> str:
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            title = block["text"]["text"]
            lines += [title, "═" * len(title)]
        elif kind == "section":
            body = mrkdwn_to_text(block.get("text", {}).get("text", ""))
            accessory = block.get("accessory")
            if accessory and accessory.get("type") == "button":
                first, newline, rest = body.partition("\n")  # the button ends the first line
                body = f"{first}   {_buttons([accessory])}{newline}{rest}"
            indent = "    " if body.startswith("`") else ""
            if not indent and lines and lines[-1]:
                lines.append("")  # a group title or a details block starts a new paragraph
            lines += [indent + line for line in body.splitlines()]
        elif kind == "context":
            lines.append("  " + "\n  ".join(mrkdwn_to_text(e.get("text", "")) for e in block.get("elements", [])))
        elif kind == "actions":
            lines.append("  " + _buttons(block.get("elements", [])))
        elif kind == "divider":
            lines.append("─" * 40)
        if kind in {"context", "header"}:
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"
