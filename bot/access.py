"""Who may look customers up. Slack has no per-command permissions, so the bot decides, in one place.

The decision runs before Slack's ack, so it never waits on the network: user-group membership is fetched
in the background, once per TTL, one request at a time, and the last good list is served meanwhile.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError

from bot.delivery import slack_reason
from bot.requester import Requester
from bot.store import Store

logger = logging.getLogger(__name__)


class GroupMembers:
    """Members of the allowed user groups as last fetched; None until a first fetch succeeded."""

    def __init__(
        self, usergroup_ids: frozenset[str], fetch: Callable[[str], frozenset[str]], *, ttl_seconds: float = 300.0
    ) -> None:
        self.usergroup_ids = usergroup_ids
        self._fetch = fetch
        self._ttl = ttl_seconds
        self._refresh_lock = threading.Lock()
        self._members: dict[str, frozenset[str]] = {}
        self._started_in: int | None = None
        self._start_lock = threading.Lock()
        self._first_refresh = threading.Event()
        self._closed = threading.Event()

    def contains(self, user_id: str) -> bool:
        self.start()
        return any(user_id in members for members in self._members.values())

    def start(self, *, wait_seconds: float = 0.0) -> None:
        """Refresh now and then once per TTL, in the background; wait up to `wait_seconds` for the first list."""
        if not self.usergroup_ids:
            return
        # Threads don't survive a fork: the refresher runs in the process that serves requests.
        if self._started_in != os.getpid():
            with self._start_lock:
                if self._started_in != os.getpid():
                    self._started_in = os.getpid()
                    threading.Thread(target=self._refresh_forever, name="coupons-usergroups", daemon=True).start()
        self._first_refresh.wait(wait_seconds)

    def refresh(self) -> None:
        """Fetch every group once; a group that fails keeps its last good list (none: it grants nobody)."""
        with self._refresh_lock:
            for group in sorted(self.usergroup_ids):
                try:
                    self._members = {**self._members, group: self._fetch(group)}
                except (SlackClientError, OSError) as error:
                    logger.warning("usergroups.users.list failed for %s: %s", group, slack_reason(error))
        self._first_refresh.set()

    def close(self) -> None:
        """Stop the refresher (at its next wake-up, at once when it is waiting)."""
        self._closed.set()

    def _refresh_forever(self) -> None:
        while not self._closed.is_set():
            try:
                self.refresh()
            except Exception:  # an odd answer must not stop the refresher: the next round may do better
                logger.exception("refreshing user-group membership failed")
            self._closed.wait(self._ttl)


def shared_members(
    store: Store, fetch: Callable[[str], frozenset[str]], *, ttl_seconds: float = 300.0
) -> Callable[[str], frozenset[str]]:
    """`fetch` through the store: processes sharing it ask Slack once per TTL between them, not once each."""

    def members(usergroup_id: str) -> frozenset[str]:
        key = f"usergroup:{usergroup_id}"
        cached = store.get(key)
        if cached is not None:
            return frozenset(json.loads(cached))
        found = fetch(usergroup_id)
        store.set(key, json.dumps(sorted(found)).encode(), ttl_seconds)
        return found

    return members


def usergroup_fetcher(client: WebClient) -> Callable[[str], frozenset[str]]:
    def fetch(usergroup_id: str) -> frozenset[str]:
        return frozenset(client.usergroups_users_list(usergroup=usergroup_id).get("users") or ())

    return fetch


class AccessPolicy:
    """Allowed when the user is listed or in a listed user group and, if channels are listed, the request
    comes from a listed channel, a DM, or no channel at all (a global shortcut or a modal: private). With
    nothing listed, everyone in the workspace is allowed."""

    def __init__(
        self,
        *,
        user_ids: frozenset[str] = frozenset(),
        channel_ids: frozenset[str] = frozenset(),
        groups: GroupMembers | None = None,
    ) -> None:
        self.user_ids = user_ids
        self.channel_ids = channel_ids
        self.groups = groups

    def allows(self, requester: Requester) -> bool:
        if not requester.user_id:
            return False
        # No channel: a global shortcut or a modal, which only the person sees, like a DM.
        if (
            self.channel_ids
            and requester.channel_id
            and not requester.in_direct_message
            and requester.channel_id not in self.channel_ids
        ):
            return False
        if not (self.user_ids or (self.groups and self.groups.usergroup_ids)):
            return True
        if requester.user_id in self.user_ids:
            return True
        return self.groups is not None and self.groups.contains(requester.user_id)

    def may_share(self, requester: Requester) -> bool:
        """Share posts customer data for everyone in a channel: with a channel list, only in those channels."""
        return not self.channel_ids or requester.channel_id in self.channel_ids
