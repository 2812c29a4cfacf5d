"""Input nested deeper than anyone sends it — a Slack payload, Capillary's error or profile body — gets a clear
answer, never a traceback: 400 for Slack, "unexpected answer" from Capillary, the coupons when only the profile
is odd."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.web.request_checks import MAX_PAYLOAD_DEPTH, Rejected, check_event_body, check_form_body
from tests.conftest import CapillaryStandIn, sample_bytes
from tests.support.blockkit import all_texts
from tests.support.loopback import Reply
from tests.support.slack import FakeSlack, send_command

CUSTOMER = 565032176


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [MAX_PAYLOAD_DEPTH + 1, 500, 100_000])
def test_a_slack_payload_nested_too_deep_is_a_400(depth: int) -> None:
    event = '{"type": "event_callback", "event": {"type": "message", "deep": ' + nested(depth) + "}}"
    with pytest.raises(Rejected) as refused:
        check_event_body(event)
    assert refused.value.status == 400
    with pytest.raises(Rejected) as refused:
        check_form_body(
            "payload="
            + json.dumps({"type": "block_actions", "actions": [{"deep": 1}]})[:-1]
            + ', "x": '
            + nested(depth)
            + "}"
        )
    assert refused.value.status == 400


def test_a_payload_as_deep_as_slacks_passes() -> None:
    check_event_body('{"type": "event_callback", "event": {"type": "message", "blocks": ' + nested(12) + "}}")


def test_a_capillary_error_nested_10000_deep_is_an_unexpected_answer(
    make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn
) -> None:
    capillary.answers[CUSTOMER] = Reply(500, '{"errors": ' + nested(10_000) + "}")
    app, _ = make_app()
    send_command(app, str(CUSTOMER), response_url=slack.response_url("deep"))
    [answer] = slack.wait_responses(1, name="deep")
    text = " ".join(all_texts(answer["blocks"]))
    assert "Capillary" in text and "Something went wrong" not in text and "*7* expired" not in text


def test_a_profile_nested_10000_deep_still_shows_the_coupons(
    make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn
) -> None:
    capillary.answers[CUSTOMER] = Reply(body=sample_bytes("lower"))
    capillary.profiles[CUSTOMER] = Reply(body='{"entity": ' + nested(10_000) + "}")
    app, _ = make_app()
    send_command(app, str(CUSTOMER), response_url=slack.response_url("profile"))
    [answer] = slack.wait_responses(1, name="profile")
    assert "*7* expired" in json.dumps(answer["blocks"])
