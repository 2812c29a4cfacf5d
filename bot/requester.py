"""Who asked, and from where: Slack IDs only, read from what Bolt already parsed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the preview reads no Slack request: it need not import Bolt
    from slack_bolt import BoltContext


@dataclass(frozen=True)
class Requester:
    team_id: str | None = None
    user_id: str | None = None
    channel_id: str | None = None

    @classmethod
    def of(cls, context: BoltContext) -> Requester:
        return cls(team_id=context.team_id, user_id=context.user_id, channel_id=context.channel_id)

    @property
    def in_direct_message(self) -> bool:
        """A DM or group DM with the bot or between people: Slack's IDs for those start with D (names lie)."""
        return (self.channel_id or "").startswith("D")


def part(body: dict[str, Any], key: str) -> dict[str, Any]:
    """`body[key]` when it is an object, else an empty one: Slack payloads differ by kind."""
    value = body.get(key)
    return value if isinstance(value, dict) else {}


def is_from_a_person(event: dict[str, Any]) -> bool:
    """A person's own message or mention: not a bot's (ours included), not an edit, deletion or join."""
    return bool(event.get("user")) and not event.get("bot_id") and not event.get("subtype")


def asks_as_a_person(body: dict[str, Any]) -> bool:
    """Whether a request is a person asking (to be checked and answered), not a bot's message or an edit."""
    event = body.get("event")
    return not isinstance(event, dict) or is_from_a_person(event)
