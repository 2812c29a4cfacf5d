"""Who may look customers up. Slack has no per-command permissions, so the bot decides, in one place."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.shared import SharedInstance

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AccessSubject:
    """The person and place a request comes from."""

    user_id: str
    channel_id: str | None
    is_direct_message: bool


class AccessPolicy(SharedInstance):
    """Allowed when the user is listed or in a listed user group and, if channels are listed, the request
    comes from a listed channel or a DM. With nothing listed, everyone in the workspace is allowed."""

    def __init__(
        self,
        *,
        user_ids: frozenset[str] = frozenset(),
        channel_ids: frozenset[str] = frozenset(),
        usergroup_ids: frozenset[str] = frozenset(),
        group_ttl_seconds: float = 300.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.user_ids = user_ids
        self.channel_ids = channel_ids
        self.usergroup_ids = usergroup_ids
        self._group_ttl = group_ttl_seconds
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._groups: dict[str, tuple[float, frozenset[str]]] = {}

    @property
    def open_to_everyone(self) -> bool:
        return not (self.user_ids or self.channel_ids or self.usergroup_ids)

    def allows(self, subject: AccessSubject, client: WebClient) -> bool:
        if self.channel_ids and not subject.is_direct_message and subject.channel_id not in self.channel_ids:
            return False
        if not (self.user_ids or self.usergroup_ids):
            return True
        if subject.user_id in self.user_ids:
            return True
        return any(subject.user_id in self._members(group, client) for group in sorted(self.usergroup_ids))

    def _members(self, usergroup_id: str, client: WebClient) -> frozenset[str]:
        now = self._monotonic()
        with self._lock:
            cached = self._groups.get(usergroup_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            response = client.usergroups_users_list(usergroup=usergroup_id)
            members = frozenset(response.get("users") or ())
        except (SlackClientError, OSError) as error:
            # Fail closed: a group we cannot read grants nobody access.
            reason = error.response.get("error") if isinstance(error, SlackApiError) else type(error).__name__
            logger.warning("usergroups.users.list failed for %s: %s", usergroup_id, reason)
            return frozenset()
        with self._lock:
            self._groups[usergroup_id] = (now + self._group_ttl, members)
        return members
