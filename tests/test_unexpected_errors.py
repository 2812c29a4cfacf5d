"""An exception nobody expected still ends in an answer, with a reference that finds the traceback."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest

from tests.conftest import AuditLines, CapillaryStandIn
from tests.support.blockkit import all_texts, assert_valid_message
from tests.support.slack import FakeSlack, send_command, send_event

REF = re.compile(r"ref `([0-9a-f]{8})`")


@pytest.fixture
def broken_renderer(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("renderer bug")

    monkeypatch.setattr("bot.lookup_answers.render_summary", explode)


def test_a_command_whose_renderer_raises_gets_a_reference(
    make_app: Any,
    slack: FakeSlack,
    capillary: CapillaryStandIn,
    audit: AuditLines,
    broken_renderer: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    app, _ = make_app()
    with caplog.at_level(logging.ERROR, logger="bot"):
        assert send_command(app, "565032176", response_url=slack.response_url()).status == 200
        [answer] = slack.wait_responses(1)
    text = " ".join(all_texts(answer["blocks"]))
    assert answer["response_type"] == "ephemeral" and "Something went wrong on our side" in text
    assert_valid_message(answer["blocks"])
    match = REF.search(text)
    assert match is not None
    [record] = [r for r in caplog.records if match[1] in r.getMessage()]
    assert record.exc_info is not None and "renderer bug" in str(record.exc_info[1])
    assert [line["outcome"] for line in audit.lines] == ["internal_error"]
    assert audit.lines[0]["user"] == "U0AGENT1" and audit.lines[0]["event"] == "coupons.command"


def test_a_dm_whose_renderer_raises_is_answered_in_the_dm(
    make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn, broken_renderer: None
) -> None:
    app, _ = make_app()
    event = {"type": "message", "channel": "D0DM0001", "channel_type": "im", "user": "U0AGENT1", "text": "565032176"}
    send_event(app, event, event_id="EvBroken")
    [posted] = slack.wait_api("chat.postMessage")
    assert posted["channel"] == "D0DM0001"
    assert "Something went wrong on our side" in str(posted["blocks"])


def test_an_error_before_the_ack_is_told_after_it(
    make_app: Any,
    slack: FakeSlack,
    capillary: CapillaryStandIn,
    audit: AuditLines,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def explode(*_args: Any, **_kwargs: Any) -> bool:
        raise RuntimeError("access bug")

    app, _ = make_app()
    monkeypatch.setattr("bot.access.AccessPolicy.allows", explode)
    with caplog.at_level(logging.ERROR, logger="bot"):
        send_command(app, "565032176", response_url=slack.response_url("early"))
        [answer] = slack.wait_responses(1, name="early")
    text = " ".join(all_texts(answer["blocks"]))
    match = REF.search(text)
    assert match is not None and "Something went wrong on our side" in text
    [record] = [r for r in caplog.records if match[1] in r.getMessage()]
    assert record.exc_info is not None and "access bug" in str(record.exc_info[1])
    assert [line["outcome"] for line in audit.lines] == ["internal_error"]
    assert capillary.coupon_calls() == []
