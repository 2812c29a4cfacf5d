"""Clicks on a coupons message, as signed `block_actions` payloads shaped like Slack's."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.demo.customers import LARGE_COUPON_COUNT, LARGE_CUSTOMER, demo_answer
from bot.domain.coupon import CodeCase
from tests.conftest import NOW, CapillaryStandIn
from tests.support.blockkit import all_texts, assert_valid_message, button_texts, buttons, find_button
from tests.support.loopback import Reply, nowhere_url
from tests.support.slack import (
    FakeSlack,
    block_actions_payload,
    click_button,
    send_action,
    send_command,
    wait_until_idle,
)


@pytest.fixture
def large(capillary: CapillaryStandIn) -> None:
    body = json.dumps(demo_answer(LARGE_CUSTOMER, CodeCase.LOWER, NOW)).encode()
    capillary.answers[LARGE_CUSTOMER] = Reply(body=body, headers={"Content-Type": "application/json"})


class Agent:
    """Drives one ephemeral message the way an agent would: each click's answer replaces the message."""

    def __init__(self, app: Any, slack: FakeSlack) -> None:
        self.app, self.slack, self.clicks = app, slack, 0

    def command(self, text: str) -> dict[str, Any]:
        send_command(self.app, text, response_url=self.slack.response_url("cmd"))
        return self.slack.wait_responses(1, name="cmd")[0]

    def click(
        self,
        message: dict[str, Any],
        label: str,
        *,
        button: dict[str, Any] | None = None,
        block_message: dict[str, Any] | None = None,
        user: str = "U0AGENT1",
        value: str | None = None,
    ) -> dict[str, Any]:
        self.clicks += 1
        name = f"click{self.clicks}"
        button = button or find_button(message["blocks"], label)
        assert button["text"]["text"] == label
        action = {
            "action_id": button["action_id"],
            "value": value if value is not None else button["value"],
            "text": button["text"],
        }
        payload = block_actions_payload(
            action, response_url=self.slack.response_url(name), message=block_message, user=user
        )
        assert send_action(self.app, payload).status == 200
        return self.slack.wait_responses(1, name=name)[0]


def test_expand_then_collapse_series_details(make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn) -> None:
    app, _ = make_app()
    agent = Agent(app, slack)
    first = agent.command("565032176 lower")
    expanded = agent.click(first, "Series details")
    assert expanded["replace_original"] is True
    assert_valid_message(expanded["blocks"])
    text = " ".join(all_texts(expanded["blocks"]))
    assert ":mag: *test-lekhana-2* — series 68579" in text
    assert "*Bill:*" not in text and "NO_VALUE" not in text  # nothing set: nothing said
    assert "any store, any day and hour" in text
    assert "no limit on redemptions per customer" in text and "no limit on coupons per customer" in text
    assert "each coupon usable" not in text  # not in this series: not shown
    assert button_texts(expanded["blocks"]).count("Hide details") == 1
    collapsed = agent.click(expanded, "Hide details")
    assert ":mag:" not in " ".join(all_texts(collapsed["blocks"]))
    assert len(capillary.coupon_calls()) == 1  # every click inside the cache lifetime reuses the lookup


def test_a_details_button_says_what_is_under_it(make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn) -> None:
    series_a = json.loads(capillary.answers[565032176].body)  # type: ignore[union-attr,arg-type]
    for coupon in series_a["entity"]:
        coupon["series"]["id"] = coupon["seriesId"] = 90 + coupon["id"] % 2  # two series, side by side
    capillary.answers[565032176] = Reply(body=series_a)
    app, _ = make_app()
    agent = Agent(app, slack)
    message = agent.command("565032176 lower")
    message = agent.click(message, "Series details")
    # The first page shows 5 of the 7 expired coupons, three of them of the opened series: the details open under
    # the coupon clicked, and only its button says "Hide details".
    page_end = ["Next ▶", "Refresh", "Share with channel"]
    assert button_texts(message["blocks"]) == ["Hide details"] + ["Series details"] * 4 + page_end
    blocks = message["blocks"]
    opened = next(
        i for i, b in enumerate(blocks) if b.get("accessory", {}).get("text", {}).get("text") == "Hide details"
    )
    assert ":mag:" in blocks[opened + 1]["text"]["text"]
    assert " ".join(all_texts(blocks)).count(":mag:") == 1
    message = agent.click(message, "Series details")  # the next coupon, of the other series
    assert button_texts(message["blocks"]) == ["Hide details"] * 2 + ["Series details"] * 3 + page_end
    assert " ".join(all_texts(message["blocks"])).count(":mag:") == 2
    assert_valid_message(message["blocks"])


def test_paging_reaches_every_coupon_of_a_400_coupon_customer(
    make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn, large: None
) -> None:
    app, _ = make_app()
    agent = Agent(app, slack)
    message = agent.command(f"{LARGE_CUSTOMER} lower")
    assert message["blocks"][1]["text"]["text"] == "*100* active · *100* upcoming · *100* redeemed · *100* expired"
    seen: set[str] = set()
    for group in ("active", "upcoming", "redeemed", "expired"):
        current = message
        while True:
            assert_valid_message(current["blocks"])
            group_codes = _codes_in_group(current["blocks"], group)
            seen |= group_codes
            next_buttons = [b for b in buttons(current["blocks"]) if b["action_id"] == f"coupons_page:{group}:next"]
            if not next_buttons:
                break
            [next_button] = next_buttons
            current = agent.click(current, "Next ▶", button=next_button)
            assert current["blocks"][1]["text"]["text"].startswith("*100* active")
    assert len(seen) == LARGE_COUPON_COUNT
    assert len(capillary.coupon_calls()) == 1


def _codes_in_group(blocks: list[dict[str, Any]], group: str) -> set[str]:
    codes, current = set(), None
    for block in blocks:
        text = block.get("text", {}).get("text", "") if block["type"] == "section" else ""
        if text.startswith(":"):
            current = text.split("*")[1].lower()
        elif text.startswith("`") and current == group:
            codes.add(text.split("`")[1])
    return codes


def test_refresh_fetches_again_and_says_when(make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn) -> None:
    app, _ = make_app()
    agent = Agent(app, slack)
    message = agent.command("565032176 lower")
    refreshed = agent.click(message, "Refresh")
    assert len(capillary.coupon_calls()) == 2
    assert refreshed["replace_original"] is True
    assert "Fetched <!date^" in " ".join(all_texts(refreshed["blocks"]))


def test_share_posts_in_channel_without_buttons(make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn) -> None:
    app, _ = make_app()
    agent = Agent(app, slack)
    message = agent.command("565032176 lower")
    shared = agent.click(message, "Share with channel")
    assert shared["response_type"] == "in_channel"
    assert shared["replace_original"] is False
    assert button_texts(shared["blocks"]) == []
    assert "shared by <@U0AGENT1>" in " ".join(all_texts(shared["blocks"]))
    assert_valid_message(shared["blocks"])


@pytest.mark.parametrize("tamper", ["garbage", "1.565032177.l.0-0-0-0..e.0123456789abcdef", "", "x" * 2000])
def test_tampered_values_get_a_polite_answer_and_no_capillary_call(
    make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn, tamper: str
) -> None:
    app, _ = make_app()
    agent = Agent(app, slack)
    message = agent.command("565032176 lower")
    answer = agent.click(message, "Refresh", value=tamper)
    assert "This message is out of date" in " ".join(all_texts(answer["blocks"]))
    assert "/coupons" in " ".join(all_texts(answer["blocks"]))
    assert len(capillary.coupon_calls()) == 1


def test_a_click_after_the_cache_was_emptied_still_works(
    make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn
) -> None:
    app, _ = make_app()
    agent = Agent(app, slack)
    message = agent.command("565032176 lower")
    # A restart, or another worker: a new app with an empty cache and the same signing secret.
    other_app, _ = make_app()
    expanded = Agent(other_app, slack).click(message, "Series details")
    assert ":mag:" in " ".join(all_texts(expanded["blocks"]))
    assert len(capillary.coupon_calls()) == 2


def test_an_expired_response_url_falls_back_to_post_ephemeral(
    make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn
) -> None:
    app, _ = make_app()
    agent = Agent(app, slack)
    message = agent.command("565032176 lower")
    slack.expired_response_urls.add("stale")
    button = find_button(message["blocks"], "Series details")
    click_button(app, button, response_url=slack.response_url("stale"))
    [posted] = slack.wait_api("chat.postEphemeral")
    assert posted["channel"] == "C0SUPPORT" and posted["user"] == "U0AGENT1"
    assert ":mag:" in json.dumps(posted["blocks"])


def test_replies_to_response_urls_share_one_kept_alive_connection(
    make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn
) -> None:
    app, _ = make_app()
    agent = Agent(app, slack)
    message = agent.command("565032176 lower")
    agent.click(message, "Series details")
    replies = slack.server.matching("/response/")
    assert len(replies) == 2
    assert replies[0].client_port == replies[1].client_port  # no new connection (nor TLS session) per reply


def test_a_response_url_out_of_reach_falls_back_to_post_ephemeral(
    make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    unreachable = nowhere_url("response/secret-path")
    app, _ = make_app()
    send_command(app, "565032176 lower", response_url=unreachable)
    [posted] = slack.wait_api("chat.postEphemeral")
    assert posted["channel"] == "C0SUPPORT" and "565032176" in posted["text"]
    assert "response_url request failed: ConnectError" in caplog.text
    assert "secret-path" not in caplog.text  # a response_url is a credential: never logged


def test_slack_out_of_reach_every_way_is_logged_not_an_unexpected_error(
    make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    app, _ = make_app()
    app.client.base_url = nowhere_url("api/")  # Slack goes away after start-up: the Web API too
    send_command(app, "565032176 lower", response_url=nowhere_url("response/x"))
    wait_until_idle(app)
    assert "response_url request failed: ConnectError" in caplog.text
    assert "chat.postEphemeral failed (URLError): answering in the DM instead" in caplog.text
    assert "delivery through the Web API failed: URLError" in caplog.text
    assert "unexpected error" not in caplog.text  # nothing more could be done; no catch-all trying again


def test_the_fallback_in_a_channel_without_the_bot_goes_to_the_dm(
    make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn
) -> None:
    app, _ = make_app()
    message = Agent(app, slack).command("565032176 lower")
    slack.expired_response_urls.add("stale")
    slack.not_a_member["C0SUPPORT"] = "not_in_channel"
    click_button(app, find_button(message["blocks"], "Series details"), response_url=slack.response_url("stale"))
    [posted] = slack.wait_api("chat.postMessage")
    assert posted["channel"] == "U0AGENT1"
    assert "/invite @Coupons" in json.dumps(posted["blocks"]) and ":mag:" in json.dumps(posted["blocks"])


def test_clicks_on_a_normal_message_in_a_dm_replace_it(
    make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn
) -> None:
    from bot.domain.view_state import Surface, ViewState

    app, answerer = make_app()
    from bot.lookup_answers import Ask

    message = answerer.answer(
        ViewState(565032176, CodeCase.LOWER, surface=Surface.MESSAGE), Ask(answerer_requester(), "dm")
    )
    assert "Share with channel" not in button_texts(message.blocks)
    normal = {"type": "message", "ts": "1700000000.000100", "text": message.text, "blocks": message.blocks}
    answer = Agent(app, slack).click({"blocks": message.blocks}, "Series details", block_message=normal)
    assert answer["replace_original"] is True and ":mag:" in " ".join(all_texts(answer["blocks"]))


def answerer_requester() -> Any:
    from bot.audit_log import Requester

    return Requester(team_id="T0TEAM01", user_id="U0AGENT1", channel_id="D0DM")


def test_try_again_after_an_outage(make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn) -> None:
    capillary.answers[77] = [Reply(503), Reply(503), Reply(503), Reply(503), Reply(body=b'{"entity": []}')]
    app, _ = make_app(COUPONS_UPSTREAM_DEADLINE_SECONDS="0.5")
    agent = Agent(app, slack)
    failed = agent.command("77")
    assert "isn't answering" in " ".join(all_texts(failed["blocks"]))
    capillary.answers[77] = Reply(body=b'{"entity": []}')
    answer = agent.click(failed, "Try again")
    assert answer["blocks"][1]["text"]["text"] == "This customer has no coupons."


def test_sharing_with_a_spent_response_url_tells_the_agent_privately(
    make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn
) -> None:
    app, _ = make_app()
    message = Agent(app, slack).command("565032176 lower")
    slack.expired_response_urls.add("spent")
    click_button(app, find_button(message["blocks"], "Share with channel"), response_url=slack.response_url("spent"))
    [posted] = slack.wait_api("chat.postEphemeral")
    assert posted["user"] == "U0AGENT1" and "out of date" in json.dumps(posted["blocks"])
