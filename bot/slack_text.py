"""Text as Slack sends it → the text a person typed: the one cleaning that the text of every entry point
(slash command, DM, mention, message shortcut, lookup modal) goes through before it is read.

Slack writes a typed email as `<mailto:asha@example.com|asha@example.com>`, links as `<https://…|label>`, people
and channels as `<@U…>` and `<#C…|name>`, and `&`, `<`, `>` as entities; people paste non-breaking spaces,
zero-width and bidirectional characters, curly quotes and a full stop at the end of a sentence.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bot.domain.invisible import without_invisible

# <mailto:a@b.c|a@b.c>, <tel:+91…|+91 …>, <https://…|label>, <@U…>, <#C…|name>, <!here>, <!subteam^S…>; and
# the `:` or `,` after it (`<@bot>: 565032176`)
_MARKUP = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>([:,]?)")
_ADDRESS_SCHEMES = ("mailto:", "tel:")
_OTHER_SPACES = re.compile(r"[^\S\n]")  # no-break, thin, ideographic… spaces, tabs: all a plain space
_QUOTES = "\"'`“”‘’‚‛„‟«»‹›"  # the curly ones are the point
_SENTENCE_END = ".,;!?…"
# Quotes around a word, or around what follows `code:` / `mobile:`: `code:“WELCOME10”`, `'565032176'.`
# Each run is tried from its start only, and whole (`++`): a long run can't make the search quadratic.
_WRAPPING_QUOTES = re.compile(rf"(?<![^\s:])[{_QUOTES}]++|(?<![{_QUOTES}])[{_QUOTES}]++(?=[{_SENTENCE_END}]*+(?:\s|$))")
# `565032176.` or `asha@example.com,`: no identifier, code or case word ends in one of these.
_TRAILING_PUNCTUATION = re.compile(rf"(?<![{_SENTENCE_END}])[{_SENTENCE_END}]++(?=\s|$)")
_RICH_TEXT_DEPTH = 5  # rich_text → list → section → element, with room to spare


def plain_text(text: str | None) -> str:
    """`<mailto:asha@example.com|asha@example.com>.` → `asha@example.com`; `code:“WELCOME10”` → `code:WELCOME10`.

    Addresses (mailto:, tel:) become the address, other links their label (or the URL when there is none);
    mentions of people and channels go, `<!here>` reads `@here`; entities are undone; invisible characters go;
    every kind of space becomes a plain one (line breaks stay); quotes around a word and punctuation that ends
    one go.
    """
    text = _MARKUP.sub(_unwrap, without_invisible(text or ""))
    text = _OTHER_SPACES.sub(" ", _unescape(text))
    return _TRAILING_PUNCTUATION.sub("", _WRAPPING_QUOTES.sub("", text))


def _unwrap(markup: re.Match[str]) -> str:
    target, label, after = markup[1], markup[2], markup[3]
    if target[:1] in "@#":  # a person (the bot, a colleague) or a channel: who is asked, not who is looked up
        return " "
    if target.startswith("!"):  # <!here>, <!subteam^S…|@team>: not a customer, and refused as one
        return (label or "@" + target[1:].partition("^")[0]) + after
    for scheme in _ADDRESS_SCHEMES:
        if target.startswith(scheme):
            return target.removeprefix(scheme) + after
    return (label or target) + after


def _unescape(text: str) -> str:
    # `&amp;` last, so that a typed `&lt;` (sent as `&amp;lt;`) stays `&lt;`.
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def message_text(message: Mapping[str, Any]) -> str:
    """A message's (or event's) `text`; when that is empty, its `rich_text` blocks written in the same markup, so
    that `plain_text` reads both alike."""
    text = message.get("text")
    if isinstance(text, str) and text.strip():
        return text
    blocks = message.get("blocks")
    if not isinstance(blocks, list):
        return ""
    return "\n".join(_markup(block) for block in blocks if isinstance(block, dict) and block.get("type") == "rich_text")


def _markup(element: object, depth: int = 0) -> str:
    """One rich_text element as Slack's `text` would have it."""
    if not isinstance(element, dict) or depth > _RICH_TEXT_DEPTH:
        return ""
    kind, shown = element.get("type"), element.get("text")
    label = _escape(shown) if isinstance(shown, str) else ""
    match kind:
        case "text":
            return label
        case "link":
            url = _escape(str(element.get("url", "")))
            return f"<{url}|{label}>" if label else f"<{url}>"
        case "user":
            return f"<@{element.get('user_id', '')}>"
        case "channel":
            return f"<#{element.get('channel_id', '')}>"
        case "usergroup":
            return f"<!subteam^{element.get('usergroup_id', '')}>"
        case "broadcast":
            return f"<!{element.get('range', '')}>"
        case "emoji":
            return f":{element.get('name', '')}:"
    children = element.get("elements")
    if not isinstance(children, list):
        return label  # a kind this reader does not know: its text, if it has one
    # Sections of a list or of the block are lines; the elements of one section run on.
    between = "\n" if kind in {"rich_text", "rich_text_list"} else ""
    return between.join(_markup(child, depth + 1) for child in children)
