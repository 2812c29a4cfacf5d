"""Nothing before Slack's ack waits on the network: membership is known in advance, refusals go out later.

The web front runs `app.dispatch` on its event loop, so a dispatch that touched a socket would hold up every
other request of the process, not only its own."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError

from bot.access import AccessPolicy, GroupMembers
from bot.requester import Requester
from tests.conftest import CapillaryStandIn
from tests.support.blockkit import find_button
from tests.support.loopback import Reply
from tests.support.slack import (
    FakeSlack,
    click_button,
    function_executed_event,
    link_shared_event,
    send_command,
    send_event,
    send_payload,
    shortcut_payload,
    view_submission_payload,
    wait_until_idle,
)
from tests.test_shortcuts import SHORTCUT_LOOKUP, form_values, open_form

AGENT = Requester("T0TEAM01", "U0AGENT1", "C0SUPPORT")


class SlowGroups:
    """A `usergroups.users.list` that answers only when told to, and counts its calls."""

    def __init__(self) -> None:
        self.calls = 0
        self.release = threading.Event()
        self.fail = False

    def fetch(self, group: str) -> frozenset[str]:
        self.calls += 1
        self.release.wait(10)
        if self.fail:
            raise SlackApiError("ratelimited", {"ok": False, "error": "ratelimited"})  # type: ignore[arg-type]
        return frozenset({"U0AGENT1"})


def test_membership_is_read_without_waiting_and_fails_closed_until_first_fetched() -> None:
    groups = SlowGroups()
    members = GroupMembers(frozenset({"S0AGENTS"}), groups.fetch)
    policy = AccessPolicy(groups=members)
    started = time.monotonic()
    decisions = [policy.allows(AGENT) for _ in range(20)]
    assert time.monotonic() - started < 0.5
    assert decisions == [False] * 20  # never fetched: the group grants nobody yet
    assert groups.calls == 1  # 20 requests, one list call in the background
    groups.release.set()
    members.start(wait_seconds=5)
    assert policy.allows(AGENT)


def test_a_failed_refresh_keeps_the_last_good_list() -> None:
    groups = SlowGroups()
    groups.release.set()
    members = GroupMembers(frozenset({"S0AGENTS"}), groups.fetch)
    members.refresh()
    groups.fail = True
    members.refresh()  # Slack answers 429: the members fetched before still count
    assert AccessPolicy(groups=members).allows(AGENT)


def test_a_refused_dm_is_acked_before_the_refusal_is_posted(
    make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn
) -> None:
    slack.queued["chat.postMessage"] = [Reply(body={"ok": True, "ts": "1.1"}, delay=3)]
    app, _ = make_app(COUPONS_ALLOWED_USER_IDS="U0SOMEONE")
    event = {"type": "message", "channel": "D0DM0009", "channel_type": "im", "user": "U0AGENT1", "text": "565032176"}
    started = time.monotonic()
    assert send_event(app, event, event_id="EvRefused").status == 200
    assert time.monotonic() - started < 0.5
    [posted] = slack.wait_api("chat.postMessage")
    assert posted["channel"] == "D0DM0009" and "can't look up" in str(posted["blocks"])
    assert capillary.coupon_calls() == []


def test_processes_sharing_a_store_ask_slack_for_a_group_once() -> None:
    from bot.access import shared_members
    from bot.store import MemoryStore

    groups = SlowGroups()
    groups.release.set()
    store = MemoryStore(1024 * 1024)
    workers = [GroupMembers(frozenset({"S0AGENTS"}), shared_members(store, groups.fetch)) for _ in range(3)]
    for members in workers:
        members.refresh()
    assert groups.calls == 1
    assert all(AccessPolicy(groups=members).allows(AGENT) for members in workers)


SOCKET_CALLS = ("connect", "connect_ex", "send", "sendall", "sendto", "sendmsg", "recv", "recv_into", "recvfrom")


@contextlib.contextmanager
def sockets_refused_in_this_thread() -> Iterator[list[str]]:
    """Every socket operation (and name lookup) this thread attempts fails, and is listed; other threads' go
    ahead."""
    this_thread = threading.get_ident()
    attempted: list[str] = []

    def refused_here(name: str, original: Any) -> Any:
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if threading.get_ident() == this_thread:
                attempted.append(name)
                raise OSError(f"{name} before the ack")
            return original(*args, **kwargs)

        return guarded

    with pytest.MonkeyPatch.context() as patch:
        for name in SOCKET_CALLS:
            patch.setattr(socket.socket, name, refused_here(name, getattr(socket.socket, name)))
        patch.setattr(socket, "getaddrinfo", refused_here("getaddrinfo", socket.getaddrinfo))
        yield attempted


def test_no_request_touches_a_socket_before_its_ack(
    make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn
) -> None:
    app, _ = make_app()
    refusing, _ = make_app(COUPONS_ALLOWED_USER_IDS="U0SOMEONE")
    send_command(app, "565032176 lower", response_url=slack.response_url("first"))
    [first] = slack.wait_responses(1, name="first")
    form = open_form(app, slack)
    dm = {"type": "message", "channel": "D0DM0009", "channel_type": "im", "user": "U0AGENT1", "text": "565032176"}
    mention = {"type": "app_mention", "channel": "C0SUPPORT", "user": "U0AGENT1", "text": "<@UBOT0001> 565032176"}
    with sockets_refused_in_this_thread() as attempted:
        acks = [
            send_command(app, "565032176 upper", response_url=slack.response_url("command")),
            click_button(app, find_button(first["blocks"], "Next ▶"), response_url=slack.response_url("click")),
            send_event(app, dm, event_id="EvDm"),
            send_event(app, {**mention, "ts": "1700000000.000100"}, event_id="EvMention"),
            send_event(app, {"type": "app_home_opened", "user": "U0AGENT1", "tab": "home"}, event_id="EvHome"),
            send_payload(app, shortcut_payload(SHORTCUT_LOOKUP)),
            send_payload(app, view_submission_payload(form, form_values("565032176"))),
            send_command(refusing, "565032176", response_url=slack.response_url("refused")),
            send_event(refusing, dm, event_id="EvRefusedDm"),
        ]
    assert attempted == []
    assert [ack.status for ack in acks] == [200] * len(acks)
    # Everything was answered after its ack, from the listener threads.
    wait_until_idle(app)
    wait_until_idle(refusing)
    assert len(slack.wait_responses(1, name="command")) == len(slack.wait_responses(1, name="click")) == 1
    # The DM's answer, the mention's, and the refused DM's notice; the Home tab; the form, and its answer.
    assert len(slack.api_calls("chat.postMessage")) + len(slack.api_calls("chat.postEphemeral")) == 3
    assert len(slack.api_calls("views.publish")) == 1
    assert len(slack.api_calls("views.open")) == 2 and len(slack.api_calls("views.update")) == 1
    assert "can't look up" in str(acks[-2].body)  # a refused command: the ack itself says so


def test_links_the_workflow_step_checks_and_actions_touch_no_socket_before_their_ack(
    make_app: Any, slack: FakeSlack
) -> None:
    app, _ = make_app(
        COUPONS_DEMO="1",
        COUPONS_MEMBER_CARE_HOSTS="care.example.com",
        COUPONS_ACTIONS="resend,extend",
        COUPONS_ACTION_USER_IDS="U0AGENT1",
    )
    send_command(app, "565032176 code:H306ORH2", response_url=slack.response_url("focus"))
    [focused] = slack.wait_responses(1, name="focus")
    link = link_shared_event("https://care.example.com/member-care/ui/565032176")
    step = function_executed_event({"user_context": {"id": "U0AGENT1"}, "customer": "565032176"})
    with sockets_refused_in_this_thread() as attempted:
        acks = [
            send_event(app, link, event_id="EvLink"),
            send_event(app, step, event_id="EvStep"),
            click_button(app, find_button(focused["blocks"], "Check H306ORH2"), response_url=slack.response_url("c")),
            click_button(app, find_button(focused["blocks"], "Resend"), response_url=slack.response_url("r")),
        ]
    assert attempted == []
    assert [ack.status for ack in acks] == [200] * len(acks)
    wait_until_idle(app)
    # Each was done after its ack: the card, the step's outputs, the check redrawn, and the Resend (its form, or
    # why it can't be done for this demo coupon).
    assert slack.wait_api("chat.unfurl") and slack.wait_api("functions.completeSuccess")
    assert slack.wait_responses(1, name="c")
    assert slack.api_calls("views.open") or slack.wait_responses(1, name="r")
