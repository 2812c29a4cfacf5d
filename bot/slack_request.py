"""Reading who and where a Slack request comes from, whatever its kind (command, click, event)."""

from __future__ import annotations

from typing import Any

from bot.access import AccessSubject
from bot.audit_log import Requester


def requester_of(body: dict[str, Any]) -> Requester:
    event = body.get("event") if isinstance(body.get("event"), dict) else {}
    user = body.get("user") if isinstance(body.get("user"), dict) else {}
    channel = body.get("channel") if isinstance(body.get("channel"), dict) else {}
    container = body.get("container") if isinstance(body.get("container"), dict) else {}
    team = body.get("team") if isinstance(body.get("team"), dict) else {}
    return Requester(
        team_id=body.get("team_id") or team.get("id"),
        user_id=body.get("user_id") or user.get("id") or event.get("user"),
        channel_id=body.get("channel_id") or channel.get("id") or container.get("channel_id") or event.get("channel"),
    )


def is_direct_message(body: dict[str, Any], channel_id: str | None) -> bool:
    event = body.get("event") if isinstance(body.get("event"), dict) else {}
    return (
        body.get("channel_name") == "directmessage"
        or event.get("channel_type") == "im"
        or (channel_id or "").startswith("D")
    )


def is_from_a_person(event: dict[str, Any]) -> bool:
    """A person's own message or mention: not a bot's (ours included), not an edit, deletion or join."""
    return bool(event.get("user")) and not event.get("bot_id") and not event.get("subtype")


def access_subject_of(body: dict[str, Any]) -> AccessSubject | None:
    """The person to check, or None for requests that are not a person asking (bot messages, edits...)."""
    event = body.get("event") if isinstance(body.get("event"), dict) else None
    if event is not None and not is_from_a_person(event):
        return None
    requester = requester_of(body)
    if not requester.user_id:
        return None
    return AccessSubject(requester.user_id, requester.channel_id, is_direct_message(body, requester.channel_id))
