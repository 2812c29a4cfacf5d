"""Who may look customers up: every entry point, one middleware, no Capillary call for a refusal."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import AuditLines, CapillaryStandIn
from tests.support.blockkit import all_texts, find_button
from tests.support.slack import (
    BOT_USER,
    FakeSlack,
    click_button,
    send_command,
    send_event,
    wait_until_idle,
)

ALLOWED, STRANGER = "U0AGENT1", "U0STRANGER"


def refused_text(payload: dict[str, Any]) -> str:
    blocks = payload["blocks"] if isinstance(payload["blocks"], list) else json.loads(payload["blocks"])
    return " ".join(all_texts(blocks))


def test_a_listed_user_is_served_and_an_unlisted_one_refused(
    make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn, audit: AuditLines
) -> None:
    app, _ = make_app(COUPONS_ALLOWED_USER_IDS=ALLOWED, COUPONS_SUPPORT_CONTACT="#support-tools")
    send_command(app, "565032176", user=ALLOWED, response_url=slack.response_url("ok"))
    assert "*7* expired" in refused_text(slack.wait_responses(1, name="ok")[0])
    response = send_command(app, "565032176", user=STRANGER, response_url=slack.response_url("no"))
    assert response.status == 200
    body = json.loads(response.body)
    assert body["response_type"] == "ephemeral"
    assert "Ask #support-tools for access" in refused_text(body)
    assert len(capillary.coupon_calls()) == 1
    denied = [line for line in audit.lines if line["decision"] == "denied"]
    assert denied == [{**denied[0], "user": STRANGER, "channel": "C0SUPPORT", "team": "T0TEAM01", "outcome": "denied"}]


def test_user_group_members_are_allowed_and_the_membership_is_cached(
    make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn
) -> None:
    slack.usergroups["S0AGENTS"] = [ALLOWED]
    app, _ = make_app(COUPONS_ALLOWED_USERGROUP_IDS="S0AGENTS")
    for n in range(2):
        send_command(app, "565032176", user=ALLOWED, response_url=slack.response_url(f"g{n}"))
        assert "*7* expired" in refused_text(slack.wait_responses(1, name=f"g{n}")[0])
    stranger = send_command(app, "565032176", user=STRANGER, response_url=slack.response_url("s"))
    assert "can't look up" in stranger.body
    assert len(slack.api_calls("usergroups.users.list")) == 1
    assert len(capillary.coupon_calls()) == 1


def test_an_unreadable_user_group_grants_nobody(make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn) -> None:
    app, _ = make_app(COUPONS_ALLOWED_USERGROUP_IDS="S0MISSING")
    response = send_command(app, "565032176", user=ALLOWED, response_url=slack.response_url())
    assert "can't look up" in response.body
    assert capillary.coupon_calls() == []


def test_listed_channels_and_dms_only(make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn) -> None:
    app, _ = make_app(COUPONS_ALLOWED_USER_IDS=ALLOWED, COUPONS_ALLOWED_CHANNEL_IDS="C0OK")
    assert (
        "can't look up"
        in send_command(app, "565032176", channel="C0SUPPORT", response_url=slack.response_url("x")).body
    )
    send_command(app, "565032176", channel="C0OK", response_url=slack.response_url("c"))
    slack.wait_responses(1, name="c")
    send_command(
        app, "565032176", channel="D0DM0001", channel_name="directmessage", response_url=slack.response_url("d")
    )
    slack.wait_responses(1, name="d")
    assert len(capillary.coupon_calls()) == 1  # the second lookup came from the cache


def test_a_click_by_someone_not_allowed_is_refused(
    make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn
) -> None:
    app, _ = make_app(COUPONS_ALLOWED_USER_IDS=ALLOWED)
    send_command(app, "565032176", user=ALLOWED, response_url=slack.response_url("cmd"))
    message = slack.wait_responses(1, name="cmd")[0]
    button = find_button(message["blocks"], "Refresh")
    assert click_button(app, button, user=STRANGER, response_url=slack.response_url("click")).status == 200
    [answer] = slack.wait_responses(1, name="click")
    assert answer["replace_original"] is False and answer["response_type"] == "ephemeral"
    assert "can't look up" in refused_text(answer)
    assert len(capillary.coupon_calls()) == 1


def test_dm_and_mention_refusals_are_private(make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn) -> None:
    app, _ = make_app(COUPONS_ALLOWED_USER_IDS=ALLOWED)
    send_event(
        app,
        {"type": "message", "channel": "D0DM0009", "channel_type": "im", "user": STRANGER, "text": "565032176"},
        event_id="Ev1",
    )
    [dm] = slack.wait_api("chat.postMessage")
    assert dm["channel"] == "D0DM0009" and "can't look up" in refused_text(dm)
    send_event(
        app,
        {
            "type": "app_mention",
            "channel": "C0SUPPORT",
            "user": STRANGER,
            "text": f"<@{BOT_USER}> 565032176",
            "thread_ts": "1.2",
        },
        event_id="Ev2",
    )
    [mention] = slack.wait_api("chat.postEphemeral")
    assert mention["user"] == STRANGER and mention["thread_ts"] == "1.2"
    assert "can't look up" in refused_text(mention)
    wait_until_idle(app)
    assert capillary.coupon_calls() == []
    assert len(slack.api_calls("chat.postMessage")) == 1 and len(slack.api_calls("chat.postEphemeral")) == 1


def test_the_home_tab_tells_a_refused_user(make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn) -> None:
    app, _ = make_app(COUPONS_ALLOWED_USER_IDS=ALLOWED)
    send_event(app, {"type": "app_home_opened", "user": STRANGER, "tab": "home"}, event_id="Ev3")
    [published] = slack.wait_api("views.publish")
    view = published["view"] if isinstance(published["view"], dict) else json.loads(published["view"])
    texts = " ".join(all_texts(view["blocks"]))
    assert "You can't look up customers" in texts
    # Nothing about the set-up for someone who is refused: not the Capillary host, not even that there is one.
    assert capillary.url.removesuffix("/") not in texts and "Capillary at" not in texts and "127.0.0.1" not in texts


def test_every_lookup_and_click_writes_one_audit_line(
    make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn, audit: AuditLines
) -> None:
    app, _ = make_app()
    send_command(app, "565032176 lower", response_url=slack.response_url("cmd"))
    message = slack.wait_responses(1, name="cmd")[0]
    button = find_button(message["blocks"], "Series details")
    click_button(app, button, response_url=slack.response_url("click"))
    slack.wait_responses(1, name="click")
    lookup, click = audit.lines
    assert lookup["event"] == "coupons.command" and click["event"] == "coupons.toggle_series"
    for line in (lookup, click):
        assert {line["team"], line["user"], line["channel"]} == {"T0TEAM01", "U0AGENT1", "C0SUPPORT"}
        assert line["customer_id"] == 565032176 and line["case"] == "LOWER"
        assert line["decision"] == "allowed" and line["outcome"] == "ok"
        assert line["counts"] == {"active": 0, "upcoming": 0, "redeemed": 0, "expired": 7}
        assert "time" in line and "duration_ms" in line
    assert lookup["cache"] == "miss" and lookup["attempts"] == 1 and lookup["upstream_ms"] >= 0
    assert click["cache"] == "hit" and click["attempts"] == 0


def test_an_open_bot_warns_at_start_up(make_app: Any, caplog: Any) -> None:
    import logging

    with caplog.at_level(logging.WARNING, logger="bot.start_checks"):
        make_app()
        assert "every member of the workspace can look customers up" in caplog.text
        caplog.clear()
        make_app(COUPONS_ALLOWED_USER_IDS=ALLOWED)
        assert "every member" not in caplog.text


def test_with_a_channel_list_share_is_offered_and_accepted_only_in_listed_channels(
    make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn, audit: AuditLines
) -> None:
    from tests.support.blockkit import button_texts

    app, _ = make_app(COUPONS_ALLOWED_CHANNEL_IDS="C0OK")
    send_command(app, "565032176", channel="C0OK", response_url=slack.response_url("ok"))
    in_channel = slack.wait_responses(1, name="ok")[0]
    assert "Share with channel" in button_texts(in_channel["blocks"])
    # A DM between two people: the private answer comes, but nothing in it can post the customer there.
    send_command(app, "565032176", channel="D0PEOPLE1", response_url=slack.response_url("dm"))
    in_dm = slack.wait_responses(1, name="dm")[0]
    assert "*7* expired" in refused_text(in_dm)
    assert "Share with channel" not in button_texts(in_dm["blocks"])
    # A Share button carried into the DM (or forged from another message) is refused there.
    share = find_button(in_channel["blocks"], "Share with channel")
    click_button(app, share, channel="D0PEOPLE1", response_url=slack.response_url("share"))
    [answer] = slack.wait_responses(1, name="share")
    assert answer["response_type"] == "ephemeral" and "can't be shared" in refused_text(answer)
    assert audit.lines[-1]["event"] == "coupons.share" and audit.lines[-1]["outcome"] == "denied"


def test_a_channel_named_directmessage_is_not_a_dm(
    make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn
) -> None:
    app, _ = make_app(COUPONS_ALLOWED_CHANNEL_IDS="C0OK")
    response = send_command(
        app, "565032176", channel="C0OTHER", channel_name="directmessage", response_url=slack.response_url()
    )
    assert "can't look up" in response.body
    assert capillary.coupon_calls() == []
