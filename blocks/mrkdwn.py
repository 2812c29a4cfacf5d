"""The one escape for mrkdwn, and the small pieces of text every renderer shares."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from bot.domain.invisible import without_invisible

Block = dict[str, Any]
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def escape(text: object) -> str:
    """Make any string safe inside mrkdwn: `<!channel>`, `<@U1>` and links from data render as plain text."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


def one_line(text: object, limit: int) -> str:
    """Text as it may be shown: invisible controls gone (a bidirectional one would reorder what follows it), one
    line, bounded. Not escaped: for plain_text, or for `escape`."""
    return truncate(" ".join(without_invisible(str(text), keep_joiners=True).split()), limit)


def clean(text: object, limit: int = 80) -> str:
    """Data for mrkdwn: one line, bounded, its formatting characters inert, escaped (truncated first, so an entity
    is never cut in half). A series or store name can't make what follows it bold, italic, struck or code."""
    return escape(inert(one_line(text, limit)))


def inert(text: str) -> str:
    """mrkdwn has no escape for `*` `_` `~` and backticks, so those that Slack could read as formatting are swapped
    for look-alikes: every `*`, `~` and backtick, and a `_` at a word's edge (`MarvelAuto_Store` keeps its own,
    as `:twisted_rightwards_arrows:` shows Slack never reads one inside a word)."""
    return _FORMATTING.sub(lambda mark: _LOOK_ALIKES[mark[0]], text)


_LOOK_ALIKES = {"*": "∗", "~": "∼", "`": "ˋ", "_": "ˍ"}  # look-alikes on purpose
_FORMATTING = re.compile(r"[*~`]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")


def code(text: object, limit: int = 60) -> str:
    """Inline code: nothing formats inside it but a backtick, which would end it early, so it is swapped for a
    look-alike (an `_` in a code stays, to be copied as it is)."""
    return f"`{escape(one_line(str(text).replace('`', 'ˋ'), limit))}`" if str(text).strip() else "_(no code)_"


def zone_label(when: datetime) -> str:
    """`UTC`, `UTC+05:30`: the zone a fallback time is written in (a time without one means nothing)."""
    offset = when.utcoffset()
    if not offset:
        return "UTC"
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes > 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def moment(when: datetime, token: str = "{date_short_pretty} at {time}") -> str:  # noqa: S107
    """A moment as a Slack date token: every viewer sees it in their own time zone; the fallback names its zone."""
    fallback = f"{when.strftime('%Y-%m-%d %H:%M')} {zone_label(when)}"
    return f"<!date^{int(when.timestamp())}^{token}|{escape(fallback)}>"


def day(when: datetime) -> str:
    """A calendar day as Capillary means it: the date in the timestamp's own zone (the org's), the same for
    every viewer. `validTill` is 23:59:59 of that day in the org's zone; a Slack date token would show an agent
    east of it the next day. English names whatever the process's locale (strftime's would follow it)."""
    return f"{_WEEKDAYS[when.weekday()]} {when.day} {_MONTHS[when.month - 1]} {when.year}"


def mrkdwn(text: str) -> dict[str, Any]:
    # verbatim: Slack must not auto-link or auto-mention anything in text that came from data.
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def plain(text: str, limit: int = 75) -> dict[str, Any]:
    return {"type": "plain_text", "text": truncate(without_invisible(text, keep_joiners=True), limit), "emoji": True}


def section(text: str) -> Block:
    return {"type": "section", "text": mrkdwn(truncate(text, 3000))}


def context(*texts: str) -> Block:
    return {"type": "context", "elements": [mrkdwn(truncate(t, 3000)) for t in texts[:10]]}


def button(text: str, action_id: str, value: str) -> dict[str, Any]:
    return {"type": "button", "text": plain(text), "action_id": action_id, "value": value}


def actions(*elements: dict[str, Any], block_id: str) -> Block:
    return {"type": "actions", "elements": list(elements[:25]), "block_id": block_id}


def input_block(block_id: str, label: str, element: dict[str, Any], **extra: Any) -> Block:
    return {"type": "input", "block_id": block_id, "label": plain(label), "element": element, **extra}


def modal(
    callback_id: str, title: str, blocks: list[Block], *, submit: str | None = None, metadata: str | None = None
) -> dict[str, Any]:
    """A modal view: a form has `submit` (and Cancel), an answer only Close."""
    view: dict[str, Any] = {"type": "modal", "callback_id": callback_id, "title": plain(title, 24)}
    if submit:
        view["submit"] = plain(submit, 24)
    view["close"] = plain("Cancel" if submit else "Close", 24)
    if metadata is not None:
        view["private_metadata"] = metadata
    view["blocks"] = blocks
    return view
