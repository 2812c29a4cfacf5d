"""The Workflow Builder step "Get customer coupons" (issue 27): signed `function_executed` events, the step
ended with functions.completeSuccess / completeError at the fake Slack, lookups at the loopback Capillary."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from slack_bolt.adapter.socket_mode.internals import run_bolt_app, send_response
from slack_sdk.socket_mode.request import SocketModeRequest

from bot.lookup_answers import LookupAnswerer
from bot.settings import Settings
from bot.wiring import build_answerer, build_app
from tests.conftest import NOW, AuditLines, CapillaryStandIn, bot_env, customer_json
from tests.support.loopback import Reply
from tests.support.slack import (
    EXECUTION_TOKEN,
    FakeSlack,
    event_request,
    function_executed_event,
    send_event,
    wait_until_idle,
)
from tests.test_ack_never_waits import sockets_refused_in_this_thread
from tests.test_unfurl import RecordingSocketClient, with_active_coupons

CUSTOMER = 565032176
AGENT = {"id": "U0AGENT1", "secret": "c2VjcmV0"}  # Workflow Builder's "Person who used this workflow"


@pytest.fixture
def asha(capillary: CapillaryStandIn) -> CapillaryStandIn:
    capillary.profiles[CUSTOMER] = Reply(body=customer_json(CUSTOMER))
    capillary.answers[CUSTOMER] = with_active_coupons(25)
    capillary.lookups[("mobile", "919900000001")] = Reply(body=customer_json(CUSTOMER))
    return capillary


def run_step(app: Any, slack: FakeSlack, inputs: dict[str, Any], *, expect: str) -> dict[str, Any]:
    """Run the step; the one completion it ends with (`functions.completeSuccess` or `…completeError`)."""
    assert send_event(app, function_executed_event(inputs)).status == 200
    [completion] = slack.wait_api(expect)
    wait_until_idle(app)
    assert len(slack.api_calls("functions.completeSuccess")) + len(slack.api_calls("functions.completeError")) == 1
    assert completion["function_execution_id"] == "Fx0EXEC001"
    [request] = slack.server.matching(f"/api/{expect}")
    assert request.headers["authorization"] == f"Bearer {EXECUTION_TOKEN}"  # this run's token, as Bolt's own
    return completion


@pytest.mark.parametrize("customer", [str(CUSTOMER), "+91 99000 00001"])
def test_the_step_outputs_a_known_customers_coupons(
    make_app: Any, slack: FakeSlack, asha: CapillaryStandIn, audit: AuditLines, customer: str
) -> None:
    app, _ = make_app()
    completion = run_step(app, slack, {"user_context": AGENT, "customer": customer}, expect="functions.completeSuccess")
    outputs = json.loads(completion["outputs"])
    codes = [f"ACTIVE{n:02d}" for n in range(20)]  # the first 20 of 25, soonest to expire first
    assert outputs == {
        "customer_id": "565032176",
        "customer_name": "Asha Example",
        "active_count": 25,
        "upcoming_count": 0,
        "redeemed_count": 0,
        "expired_count": 7,
        "active_codes": ", ".join(codes),
        "summary": "Asha Example (customer 565032176, Gold tier): 25 active · 0 upcoming · 0 redeemed · 7 expired",
    }
    assert not any(pii in completion["outputs"] for pii in ("9900000001", "asha@", "••"))
    [line] = audit.lines
    assert (line["event"], line["user"], line["outcome"], line["customer_id"]) == (
        "coupons.workflow_step",
        "U0AGENT1",
        "ok",
        CUSTOMER,
    )


def test_a_code_puts_that_coupon_in_the_summary(make_app: Any, slack: FakeSlack, asha: CapillaryStandIn) -> None:
    app, _ = make_app()
    inputs = {"user_context": AGENT, "customer": str(CUSTOMER), "code": "active03"}
    outputs = json.loads(run_step(app, slack, inputs, expect="functions.completeSuccess")["outputs"])
    assert outputs["summary"].endswith("; coupon ACTIVE03 is active")


@pytest.mark.parametrize(
    ("customer", "words"),
    [
        ("400000404", "Capillary has no customer with ID 400000404."),
        ("mobile:919900000002", "No customer with mobile ••••0002"),
        ("400000500", "Capillary isn't answering right now"),
        ("12abc", "That is not a customer ID: use digits 0–9 only"),  # the words /coupons uses
        ("", "Type the customer, as you would after /coupons."),
    ],
)
def test_a_lookup_that_fails_ends_the_step_with_the_usual_words(
    make_app: Any, slack: FakeSlack, asha: CapillaryStandIn, customer: str, words: str
) -> None:
    asha.answers[400000500] = Reply(500, {"errors": [{"code": 500, "message": "Internal error"}]})
    app, _ = make_app(COUPONS_UPSTREAM_DEADLINE_SECONDS="1")
    completion = run_step(app, slack, {"user_context": AGENT, "customer": customer}, expect="functions.completeError")
    assert words in completion["error"]


@pytest.mark.parametrize("user_context", [{"id": "U0STRANGER", "secret": "x"}, None])
def test_a_workflow_run_by_someone_not_allowed_fails_without_a_lookup(
    make_app: Any, slack: FakeSlack, asha: CapillaryStandIn, audit: AuditLines, user_context: Any
) -> None:
    app, _ = make_app(COUPONS_ALLOWED_USER_IDS="U0AGENT1")
    inputs = {"user_context": user_context, "customer": str(CUSTOMER)}
    completion = run_step(app, slack, inputs, expect="functions.completeError")
    assert "You can't look up customers' coupons with this bot." in completion["error"]
    assert asha.coupon_calls() == [] and asha.profile_calls() == []
    assert [(line["decision"], line["outcome"]) for line in audit.lines] == [("denied", "denied")]


def test_an_unexpected_error_still_ends_the_step_with_a_reference(
    monkeypatch: pytest.MonkeyPatch, make_app: Any, slack: FakeSlack, asha: CapillaryStandIn
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(LookupAnswerer, "find_lookup", broken)
    app, _ = make_app()
    completion = run_step(app, slack, {"user_context": AGENT, "customer": "1"}, expect="functions.completeError")
    assert "Something went wrong on our side (ref `" in completion["error"]


def test_the_ack_does_not_wait_for_capillary(make_app: Any, slack: FakeSlack, asha: CapillaryStandIn) -> None:
    app, _ = make_app()
    with sockets_refused_in_this_thread() as attempted:
        ack = send_event(app, function_executed_event({"user_context": AGENT, "customer": str(CUSTOMER)}))
    assert ack.status == 200 and attempted == []
    slack.wait_api("functions.completeSuccess")  # completed afterwards, from the lazy half


def test_the_step_runs_in_socket_mode_too(slack: FakeSlack, asha: CapillaryStandIn) -> None:
    settings = Settings.from_env(bot_env(slack, asha, SLACK_APP_TOKEN="xapp-1-test-app-token"))
    app = build_app(settings, build_answerer(settings, use_demo=False, clock=lambda: NOW), socket_mode=True)[0]
    body, _ = event_request(function_executed_event({"user_context": AGENT, "customer": str(CUSTOMER)}))
    request = SocketModeRequest(type="events_api", envelope_id="env-2", payload=json.loads(body))
    client = RecordingSocketClient()
    send_response(client, request, run_bolt_app(app, request), time.time())  # type: ignore[arg-type]
    assert [response.envelope_id for response in client.sent] == ["env-2"]
    [completion] = slack.wait_api("functions.completeSuccess")
    assert json.loads(completion["outputs"])["active_count"] == 25
