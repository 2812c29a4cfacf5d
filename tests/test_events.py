"""DMs, mentions and the Home tab through signed `event_callback` requests, Web API at a local fake."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import CapillaryStandIn
from tests.support.blockkit import all_texts, assert_valid_message, assert_valid_view
from tests.support.slack import BOT_USER, FakeSlack, send_event, wait_until_idle


def dm(text: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "message",
        "channel": "D0DM0001",
        "channel_type": "im",
        "user": "U0AGENT1",
        "text": text,
        "ts": "1700000000.000200",
        **extra,
    }


def posted_texts(call: dict[str, Any]) -> str:
    blocks = call["blocks"] if isinstance(call["blocks"], list) else json.loads(call["blocks"])
    assert_valid_message(blocks)
    return " ".join(all_texts(blocks))


@pytest.mark.parametrize(
    "text",
    [
        "565032176",
        "565032176 lower",
        "coupons 565032176 as_it_is",
        "/coupons 565032176",
        "Coupons 565032176 LOWER",
        # As Slack sends what people type and paste (issue 25):
        "565032176.",
        "565032176\u00a0lower",  # a no-break space
        "\u200b565\u200b032176\u200f",  # zero-width spaces and a right-to-left mark, from a web page
        "coupons: ‘565032176’",
        "<https://support.example/ticket/1|565032176>",  # a linked ID: its label
        "<@U0AGENT2> <#C0SUPPORT|support> 565032176",  # a colleague and a channel named in passing
    ],
)
def test_each_dm_form_gets_the_summary_as_a_normal_message(
    make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn, text: str
) -> None:
    app, _ = make_app()
    assert send_event(app, dm(text)).status == 200
    [posted] = slack.wait_api("chat.postMessage")
    assert posted["channel"] == "D0DM0001"
    texts = posted_texts(posted)
    assert "*7* expired" in texts
    assert "Series details" in texts and "Share with channel" not in texts
    [call] = capillary.coupon_calls()
    assert call.path == "/v2/customers/565032176/coupons"


@pytest.mark.parametrize("text", ["help", "hi", "what is 565032176?", ""])
def test_anything_else_in_a_dm_gets_usage(
    make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn, text: str
) -> None:
    app, _ = make_app()
    send_event(app, dm(text))
    [posted] = slack.wait_api("chat.postMessage")
    assert "565032176 lower" in posted_texts(posted)
    assert capillary.coupon_calls() == []


def test_a_mention_in_a_thread_is_answered_privately_in_that_thread(
    make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn
) -> None:
    app, _ = make_app()
    event = {
        "type": "app_mention",
        "channel": "C0SUPPORT",
        "user": "U0AGENT1",
        "text": f"<@{BOT_USER}> 565032176",
        "ts": "1700000000.000300",
        "thread_ts": "1700000000.000100",
    }
    send_event(app, event)
    [posted] = slack.wait_api("chat.postEphemeral")
    assert posted["channel"] == "C0SUPPORT" and posted["user"] == "U0AGENT1"
    assert posted["thread_ts"] == "1700000000.000100"
    texts = posted_texts(posted)
    assert "*7* expired" in texts and "Share with channel" in texts
    assert slack.api_calls("chat.postMessage") == []


@pytest.mark.parametrize("refusal", ["not_in_channel", "channel_not_found"])
def test_a_mention_where_the_bot_is_not_a_member_is_answered_in_the_dm(
    make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn, refusal: str
) -> None:
    app, _ = make_app()
    slack.not_a_member["C0ELSEWHERE"] = refusal
    event = {"type": "app_mention", "channel": "C0ELSEWHERE", "user": "U0AGENT1", "text": f"<@{BOT_USER}> 565032176"}
    send_event(app, event)
    [posted] = slack.wait_api("chat.postMessage")
    assert posted["channel"] == "U0AGENT1"  # the person's DM with the bot
    blocks = posted["blocks"] if isinstance(posted["blocks"], list) else json.loads(posted["blocks"])
    assert_valid_message(blocks)
    assert "/invite @Coupons" in blocks[0]["elements"][0]["text"]
    assert "*7* expired" in posted_texts(posted)


def test_a_dm_in_a_thread_is_answered_in_that_thread(
    make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn
) -> None:
    app, _ = make_app()
    send_event(app, dm("565032176", thread_ts="1700000000.000001"))
    [posted] = slack.wait_api("chat.postMessage")
    assert posted["thread_ts"] == "1700000000.000001"


def test_a_redelivered_event_is_answered_once(make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn) -> None:
    app, _ = make_app()
    assert send_event(app, dm("565032176"), event_id="EvSAME").status == 200
    assert send_event(app, dm("565032176"), event_id="EvSAME", retry_num=1).status == 200
    assert send_event(app, dm("565032176"), event_id="EvSAME", retry_num=2, retry_reason="http_timeout").status == 200
    wait_until_idle(app)
    [posted] = slack.api_calls("chat.postMessage")
    assert "*7* expired" in posted_texts(posted)
    assert len(capillary.coupon_calls()) == 1


def test_a_timeout_retry_whose_first_delivery_never_arrived_is_answered(
    make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn
) -> None:
    app, _ = make_app()
    assert send_event(app, dm("565032176"), event_id="EvLOST", retry_num=1, retry_reason="http_timeout").status == 200
    [posted] = slack.wait_api("chat.postMessage")
    assert "*7* expired" in posted_texts(posted)


def test_a_replayed_command_is_answered_once(make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn) -> None:
    from slack_bolt.request import BoltRequest

    from tests.support.slack import command_body, signed_headers

    app, _ = make_app()
    body = command_body("565032176", response_url=slack.response_url("replay"))
    for _ in range(5):  # the same signed request, captured and sent again within the five minutes
        assert app.dispatch(BoltRequest(body=body, headers=signed_headers(body))).status == 200
    wait_until_idle(app)
    assert len(slack.responses("replay")) == 1 and len(capillary.coupon_calls()) == 1


@pytest.mark.parametrize(
    "event",
    [
        dm("565032176", user=BOT_USER, bot_id="BBOT0001"),  # our own message
        dm("565032176", bot_id="B0OTHER", user="U0OTHERBOT"),  # another bot
        dm("565032176", subtype="bot_message", bot_id="B0OTHER"),
        {**dm(""), "subtype": "message_changed", "message": {"text": "565032176", "user": "U0AGENT1"}},
        {**dm(""), "subtype": "message_deleted", "previous_message": {"text": "565032176"}},
        {"type": "message", "channel": "C0SUPPORT", "channel_type": "channel", "user": "U0AGENT1", "text": "565032176"},
    ],
)
def test_messages_that_are_not_a_person_asking_are_acknowledged_and_ignored(
    make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn, event: dict[str, Any]
) -> None:
    app, _ = make_app()
    assert send_event(app, event).status == 200  # a 404 would make Slack retry
    wait_until_idle(app)
    assert [r.path for r in slack.server.requests] == ["/api/auth.test"]  # Bolt's, when the app was built
    assert capillary.coupon_calls() == []


def test_home_tab_is_published(make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn) -> None:
    app, _ = make_app()
    send_event(app, {"type": "app_home_opened", "user": "U0AGENT1", "channel": "D0DM0001", "tab": "home"})
    [published] = slack.wait_api("views.publish")
    view = published["view"] if isinstance(published["view"], dict) else json.loads(published["view"])
    assert published["user_id"] == "U0AGENT1"
    assert_valid_view(view)
    texts = " ".join(all_texts(view["blocks"]))
    assert "/coupons 565032176 lower" in texts and "`565032176`" in texts
    assert capillary.url.removesuffix("/") in texts
    assert "You can look up customers" in texts


def test_messages_tab_opened_publishes_nothing(make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn) -> None:
    app, _ = make_app()
    assert send_event(app, {"type": "app_home_opened", "user": "U0AGENT1", "tab": "messages"}).status == 200
    wait_until_idle(app)
    # Bolt's auth.test when the app was built, and nothing since: no views.publish, nor anything else.
    assert [r.path for r in slack.server.requests] == ["/api/auth.test"]


def test_a_rate_limited_web_api_call_is_retried(make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn) -> None:
    from tests.support.loopback import Reply

    slack.queued["chat.postMessage"] = [Reply(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"})]
    app, _ = make_app()
    send_event(app, dm("565032176"))
    calls = slack.wait_api("chat.postMessage", count=2)
    assert len(calls) == 2 and calls[0] == calls[1]


def test_a_mention_whose_private_answer_slack_refuses_is_answered_in_the_dm(
    make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn
) -> None:
    from tests.support.loopback import Reply

    slack.queued["chat.postEphemeral"] = [Reply(body={"ok": False, "error": "restricted_action"})]
    app, _ = make_app()
    mention = {"type": "app_mention", "channel": "C0SUPPORT", "user": "U0AGENT1", "text": f"<@{BOT_USER}> 565032176"}
    send_event(app, mention, event_id="EvRestricted")
    [posted] = slack.wait_api("chat.postMessage")
    assert posted["channel"] == "U0AGENT1"
    assert "wouldn't show this in the channel" in posted_texts(posted) and "*7* expired" in posted_texts(posted)


def rich_text(*elements: dict[str, Any]) -> list[dict[str, Any]]:
    """A message's blocks as Slack's composer sends them: one rich_text block, one section."""
    return [
        {
            "type": "rich_text",
            "block_id": "Xy1",
            "elements": [{"type": "rich_text_section", "elements": list(elements)}],
        }
    ]


def test_an_email_in_a_dm_as_slack_sends_it_answers_with_that_customers_coupons(
    make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn
) -> None:
    app, _ = make_app(COUPONS_DEMO="1")
    email = {"type": "link", "url": "mailto:asha@example.com", "text": "asha@example.com"}
    send_event(app, dm("<mailto:asha@example.com|asha@example.com>", blocks=rich_text(email)))
    [posted] = slack.wait_api("chat.postMessage")
    texts = posted_texts(posted)
    assert "Coupons · Asha Example" in texts and "*3* active" in texts and "email a•••@example.com" in texts
    assert "not an email address" not in texts


def test_a_mention_sent_as_blocks_only_is_read_from_its_blocks(
    make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn
) -> None:
    app, _ = make_app()
    said = ({"type": "user", "user_id": BOT_USER}, {"type": "text", "text": "\u00a0coupons “565032176”. lower"})
    send_event(
        app, {"type": "app_mention", "channel": "C0SUPPORT", "user": "U0AGENT1", "text": "", "blocks": rich_text(*said)}
    )
    [posted] = slack.wait_api("chat.postEphemeral")
    assert "*7* expired" in posted_texts(posted)
    [call] = capillary.coupon_calls()
    assert call.path == "/v2/customers/565032176/coupons"
