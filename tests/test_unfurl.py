"""Member Care links unfold (issue 27): signed `link_shared` events → `chat.unfurl` at the fake Slack, the
lookups at the loopback Capillary; and the card's button, which opens the full answer privately."""

from __future__ import annotations

import functools
import json
import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from slack_bolt.adapter.socket_mode.internals import run_bolt_app, send_response
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from bot.domain.view_state import ViewState
from bot.listeners.links import member_care_customer, read_hosts
from bot.lookup_answers import Ask
from bot.requester import Requester
from bot.settings import Settings
from bot.wiring import build_answerer, build_app
from tests.conftest import (
    NOW,
    AuditLines,
    CapillaryStandIn,
    bot_env,
    coupon_json,
    customer_json,
    envelope,
    sample_bytes,
)
from tests.support.blockkit import all_texts, assert_valid_message, assert_valid_view, buttons, find_button
from tests.support.loopback import Reply
from tests.support.slack import (
    TEAM,
    FakeSlack,
    event_request,
    link_shared_event,
    send_event,
    send_payload,
    unfurl_click_payload,
    wait_until_idle,
)

CUSTOMER = 565032176
HOST = "care.example.com"
LINK = f"https://{HOST}/member-care/ui/{CUSTOMER}"
FULL_CONTACTS = ("919900000001", "9900000001", "asha@example.com", "asha@")
MASKED_CONTACTS = ("mobile ••••••••0001", "email a•••@example.com")


def with_active_coupons(count: int) -> Reply:
    """The lower-case sample (seven expired coupons) and `count` active ones, the first expiring soonest."""
    expired = json.loads(sample_bytes("lower"))["entity"]
    active = [
        coupon_json(id=39100000 + n, code=f"ACTIVE{n:02d}", validTill=f"2027-01-{n + 1:02d}T23:59:59Z")
        for n in range(count)
    ]
    return Reply(body=envelope(active + expired))


@pytest.fixture
def care_app(monkeypatch: pytest.MonkeyPatch, make_app: Any, capillary: CapillaryStandIn) -> Callable[..., Any]:
    """The app with Member Care links of HOST (and one more host) unfolding, and Asha's profile to show."""
    capillary.profiles[CUSTOMER] = Reply(body=customer_json(CUSTOMER))
    capillary.answers[CUSTOMER] = with_active_coupons(5)
    return functools.partial(make_app, COUPONS_MEMBER_CARE_HOSTS=f"{HOST.upper()}, https://other-care.example.com/")


def unfurled_blocks(call: dict[str, Any], url: str = LINK) -> list[dict[str, Any]]:
    unfurls = call["unfurls"] if isinstance(call["unfurls"], dict) else json.loads(call["unfurls"])
    blocks: list[dict[str, Any]] = unfurls[url]["blocks"]
    assert_valid_message(blocks)
    return blocks


def codes_in(texts: str) -> set[str]:
    return set(re.findall(r"`([A-Za-z0-9_-]+)`", texts))


@pytest.mark.parametrize(("source", "channel"), [("conversations_history", "C0SUPPORT"), ("composer", "COMPOSER")])
def test_an_allowed_posters_link_unfolds_into_no_more_than_share_shows(
    care_app: Any, slack: FakeSlack, capillary: CapillaryStandIn, audit: AuditLines, source: str, channel: str
) -> None:
    app, answerer = care_app()
    event = link_shared_event(LINK, source=source, channel=channel)
    assert send_event(app, event).status == 200
    [call] = slack.wait_api("chat.unfurl")
    assert (call["unfurl_id"], call["source"]) == (event["unfurl_id"], source)
    blocks = unfurled_blocks(call)
    texts = " ".join(all_texts(blocks))
    assert "Coupons · Asha Example" in texts and "*Gold* tier" in texts and "1,850 points" in texts
    assert all(masked in texts for masked in MASKED_CONTACTS)
    assert not any(full in json.dumps(call, ensure_ascii=False) for full in FULL_CONTACTS)
    assert [b["text"]["text"] for b in buttons(blocks)] == ["Open privately"]

    # What Share would post for everyone: the card says nothing it doesn't.
    requester = Requester(TEAM, "U0AGENT1", "C0SUPPORT")
    shared = answerer.answer(ViewState(CUSTOMER), Ask(requester, "share", shared_by="U0AGENT1"))
    shared_texts = " ".join(all_texts(shared.blocks))
    card_counts = next(b["text"]["text"] for b in blocks if b["type"] == "section")
    assert card_counts in shared_texts and "active" in card_counts
    assert blocks[2]["elements"][0]["text"] in shared_texts  # who: the shared header's line, masked the same
    assert codes_in(texts) == {"ACTIVE00", "ACTIVE01", "ACTIVE02"} and "and 2 more" in texts
    assert codes_in(texts) <= codes_in(shared_texts)
    [line] = [line for line in audit.lines if line["event"] == "coupons.unfurl"]
    assert line["outcome"] == "ok" and line["customer_id"] == CUSTOMER


@pytest.mark.parametrize(
    ("env", "user", "channel"),
    [
        ({"COUPONS_ALLOWED_USER_IDS": "U0AGENT1"}, "U0STRANGER", "C0SUPPORT"),  # a poster who may not look up
        ({"COUPONS_ALLOWED_CHANNEL_IDS": "C0AGENTS"}, "U0AGENT1", "C0SUPPORT"),  # a channel not on the list
        ({"COUPONS_ALLOWED_CHANNEL_IDS": "C0AGENTS"}, "U0AGENT1", "COMPOSER"),  # a preview: its channel unknown
    ],
)
def test_a_link_posted_by_someone_not_allowed_or_where_not_allowed_stays_folded(
    care_app: Any,
    slack: FakeSlack,
    capillary: CapillaryStandIn,
    audit: AuditLines,
    env: dict[str, str],
    user: str,
    channel: str,
) -> None:
    app, _ = care_app(**env)
    assert send_event(app, link_shared_event(LINK, user=user, channel=channel)).status == 200
    wait_until_idle(app)
    assert slack.api_calls("chat.unfurl") == []
    assert capillary.coupon_calls() == [] and capillary.profile_calls() == []
    assert [(line["user"], line["outcome"]) for line in audit.lines if line["decision"] == "denied"] == [
        (user, "denied")
    ]


def test_a_dm_is_no_place_for_the_card_when_sharing_is_limited_to_channels(
    care_app: Any, slack: FakeSlack, capillary: CapillaryStandIn, audit: AuditLines
) -> None:
    # A DM passes the access check (it is private), but the card would be seen by the other person in it.
    app, _ = care_app(COUPONS_ALLOWED_CHANNEL_IDS="C0AGENTS")
    send_event(app, link_shared_event(LINK, channel="D0DM0001"))
    wait_until_idle(app)
    assert slack.api_calls("chat.unfurl") == [] and capillary.coupon_calls() == []
    assert [line["event"] for line in audit.lines if line["decision"] == "denied"] == ["coupons.unfurl"]


@pytest.mark.parametrize(
    "url",
    [
        f"https://elsewhere.example.com/member-care/ui/{CUSTOMER}",
        f"https://{HOST}.evil.example/member-care/ui/{CUSTOMER}",
        f"https://evil.example/member-care/ui/{CUSTOMER}?host={HOST}",
        f"https://{HOST}/member-care/ui/{CUSTOMER}/coupons",
        f"https://{HOST}/member-care/ui/not-a-number",
        f"https://{HOST}/member-care/ui/0",
        f"ftp://{HOST}/member-care/ui/{CUSTOMER}",
    ],
)
def test_any_other_link_is_left_alone(
    care_app: Any, slack: FakeSlack, capillary: CapillaryStandIn, audit: AuditLines, url: str
) -> None:
    app, _ = care_app()
    send_event(app, link_shared_event(url))
    wait_until_idle(app)
    assert slack.api_calls("chat.unfurl") == [] and capillary.coupon_calls() == []
    assert audit.lines == []


def test_with_no_hosts_set_no_link_unfolds(
    monkeypatch: pytest.MonkeyPatch, make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn
) -> None:
    app, _ = make_app()
    assert send_event(app, link_shared_event(LINK)).status == 200
    wait_until_idle(app)
    assert slack.api_calls("chat.unfurl") == [] and capillary.coupon_calls() == []


def test_the_hosts_setting_and_customer_pages_are_read_strictly() -> None:
    hosts = read_hosts(" Care.Example.com ,https://other.example.com:8443/x,, ")
    assert hosts == frozenset({"care.example.com", "other.example.com"})
    assert member_care_customer(f"https://CARE.example.com/member-care/ui/{CUSTOMER}/?tab=1", hosts) == CUSTOMER
    assert member_care_customer(f"http://other.example.com:8443/member-care/ui/{CUSTOMER}", hosts) == CUSTOMER
    assert member_care_customer("https://care.example.com/member-care/ui/99999999999999999999", hosts) is None
    assert member_care_customer("https://[broken/member-care/ui/1", hosts) is None
    assert read_hosts("") == frozenset()


def test_only_the_customers_that_can_be_shown_unfold(
    care_app: Any, slack: FakeSlack, capillary: CapillaryStandIn, audit: AuditLines
) -> None:
    app, _ = care_app()
    unknown = f"https://{HOST}/member-care/ui/400000404"
    send_event(app, link_shared_event(unknown, LINK))
    [call] = slack.wait_api("chat.unfurl")
    assert list(call["unfurls"]) == [LINK]
    outcomes = {line["customer_id"]: line["outcome"] for line in audit.lines}
    assert outcomes == {400000404: "not_found", CUSTOMER: "ok"}


def test_open_privately_shows_the_full_answer_in_a_modal_to_whoever_clicks(
    care_app: Any, slack: FakeSlack, capillary: CapillaryStandIn
) -> None:
    app, _ = care_app()
    send_event(app, link_shared_event(LINK))
    [call] = slack.wait_api("chat.unfurl")
    button = find_button(unfurled_blocks(call), "Open privately")
    assert send_payload(app, unfurl_click_payload(button, url=LINK, user="U0AGENT2")).status == 200
    [opened] = slack.wait_api("views.open")
    assert "Looking up customer 565032176" in json.dumps(opened["view"], ensure_ascii=False)
    [updated] = slack.wait_api("views.update")
    view = updated["view"] if isinstance(updated["view"], dict) else json.loads(updated["view"])
    assert_valid_view(view)
    texts = " ".join(all_texts(view["blocks"]))
    assert "Series details" in texts and "Send to me" in texts and "Share with channel" not in texts
    assert all(masked in texts for masked in MASKED_CONTACTS)


def test_open_privately_is_refused_to_someone_not_allowed(
    care_app: Any, slack: FakeSlack, capillary: CapillaryStandIn
) -> None:
    app, _ = care_app(COUPONS_ALLOWED_USER_IDS="U0AGENT1")
    send_event(app, link_shared_event(LINK))
    [call] = slack.wait_api("chat.unfurl")
    fetched = len(capillary.coupon_calls())
    button = find_button(unfurled_blocks(call), "Open privately")
    send_payload(app, unfurl_click_payload(button, url=LINK, user="U0STRANGER"))
    [refusal] = slack.wait_api("chat.postEphemeral")
    assert refusal["user"] == "U0STRANGER" and "can't look up" in refusal["text"]
    wait_until_idle(app)
    assert slack.api_calls("views.open") == [] and len(capillary.coupon_calls()) == fetched


class RecordingSocketClient:
    """The side of slack_sdk's Socket Mode client that Bolt's adapter answers through."""

    def __init__(self) -> None:
        import logging

        self.logger = logging.getLogger("tests.socket_mode")
        self.sent: list[SocketModeResponse] = []

    def send_socket_mode_response(self, response: SocketModeResponse) -> None:
        self.sent.append(response)


def test_a_link_unfolds_in_socket_mode_too(
    monkeypatch: pytest.MonkeyPatch, slack: FakeSlack, capillary: CapillaryStandIn
) -> None:
    env = bot_env(slack, capillary, SLACK_APP_TOKEN="xapp-1-test-app-token", COUPONS_MEMBER_CARE_HOSTS=HOST)
    settings = Settings.from_env(env)
    app = build_app(settings, build_answerer(settings, use_demo=False, clock=lambda: NOW), socket_mode=True)[0]
    body, _ = event_request(link_shared_event(LINK), event_id="EvSocket")
    request = SocketModeRequest(type="events_api", envelope_id="env-1", payload=json.loads(body))
    client = RecordingSocketClient()
    send_response(client, request, run_bolt_app(app, request), time.time())  # type: ignore[arg-type]
    assert [response.envelope_id for response in client.sent] == ["env-1"]  # acked at once
    [call] = slack.wait_api("chat.unfurl")
    assert "Coupons · customer 565032176" in " ".join(all_texts(unfurled_blocks(call)))
