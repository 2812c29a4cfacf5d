"""/coupons through real signed requests dispatched to the app, answers recorded at a local response_url."""

from __future__ import annotations

import time
from typing import Any

from slack_bolt.request import BoltRequest

from tests.conftest import CapillaryStandIn, sample_bytes
from tests.support.blockkit import all_texts, assert_valid_message
from tests.support.loopback import Reply
from tests.support.slack import FakeSlack, command_body, send_command, signed_headers, wait_until_idle


def test_lookup_answers_privately_with_the_summary(
    make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn
) -> None:
    app, _ = make_app()
    response = send_command(app, "565032176 lower", response_url=slack.response_url())
    assert response.status == 200 and response.body == ""
    [answer] = slack.wait_responses(1)
    assert answer["response_type"] == "ephemeral"
    assert_valid_message(answer["blocks"])
    assert answer["blocks"][1]["text"]["text"] == "*0* active · *0* upcoming · *0* redeemed · *7* expired"
    assert "`tt6wzp7xnw`" in " ".join(all_texts(answer["blocks"]))
    [call] = capillary.coupon_calls()
    assert call.path == "/v2/customers/565032176/coupons" and call.query == {"coupon_code_case": ["LOWER"]}


def test_help_and_empty_text_show_usage_without_calling_capillary(
    make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn
) -> None:
    app, _ = make_app()
    for n, text in enumerate(("", "help")):
        send_command(app, text, response_url=slack.response_url(f"h{n}"))
        [answer] = slack.wait_responses(1, name=f"h{n}")
        assert "/coupons 565032176 lower" in " ".join(all_texts(answer["blocks"]))
    assert capillary.coupon_calls() == []


def test_bad_input_gets_an_error_and_usage_and_no_capillary_call(
    make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn
) -> None:
    app, _ = make_app()
    bad = ["５６５０３２１７６", "-5", "12abc", "1" * 30, "565032176 lower extra", "565032176 sideways"]
    for n, text in enumerate(bad):
        send_command(app, text, response_url=slack.response_url(f"b{n}"))
        [answer] = slack.wait_responses(1, name=f"b{n}")
        text_out = " ".join(all_texts(answer["blocks"]))
        assert ":warning:" in text_out and "/coupons 565032176" in text_out
        assert_valid_message(answer["blocks"])
    assert capillary.coupon_calls() == []


def test_a_slow_capillary_does_not_delay_the_ack(make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn) -> None:
    capillary.answers[565032176] = Reply(body=sample_bytes("lower"), delay=1.5)  # longer than any ack may take
    app, _ = make_app(COUPONS_READ_TIMEOUT_SECONDS="6", COUPONS_UPSTREAM_DEADLINE_SECONDS="8")
    started = time.monotonic()
    response = send_command(app, "565032176", response_url=slack.response_url())
    assert response.status == 200
    assert time.monotonic() - started < 1.0
    [answer] = slack.wait_responses(1, timeout=10)
    assert time.monotonic() - started >= 1.5
    assert "*7* expired" in answer["blocks"][1]["text"]["text"]


def test_errors_become_messages_a_person_can_act_on(
    make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn
) -> None:
    capillary.answers[404] = Reply(404, {"errors": [{"code": 8015, "message": "Customer not found"}]})
    capillary.answers[401] = Reply(401, "")
    capillary.answers[502] = Reply(502, "<html>Bad gateway</html>", {"Content-Type": "text/html"})
    capillary.answers[204] = Reply(404, {"errors": [{"code": "NO_COUPONS_FOUND", "message": "none"}]})
    app, _ = make_app(COUPONS_UPSTREAM_DEADLINE_SECONDS="1")
    expected = {
        404: "no customer with ID 404",
        401: "credentials",
        502: "isn't answering",
        204: "This customer has no coupons.",
    }
    for customer, words in expected.items():
        send_command(app, str(customer), response_url=slack.response_url(f"e{customer}"))
        [answer] = slack.wait_responses(1, name=f"e{customer}")
        assert_valid_message(answer["blocks"])
        assert words in " ".join(all_texts(answer["blocks"])), customer


def test_unsigned_or_stale_requests_reach_no_listener(
    make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn
) -> None:
    app, _ = make_app()
    body = command_body("565032176", response_url=slack.response_url())
    for headers in (
        signed_headers(body, secret="wrong-secret"),
        {k: v for k, v in signed_headers(body).items() if k != "x-slack-signature"},
        signed_headers(body, timestamp=int(time.time()) - 6 * 60),
    ):
        assert app.dispatch(BoltRequest(body=body, headers=headers)).status == 401
    wait_until_idle(app)
    assert [r.path for r in slack.server.requests] == ["/api/auth.test"]  # Bolt's, when the app was built
    assert capillary.server.requests == []


def test_coupons_currency_reaches_the_message(make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn) -> None:
    app, _ = make_app(COUPONS_CURRENCY="₹")
    send_command(app, "565032176 lower", response_url=slack.response_url())
    [answer] = slack.wait_responses(1)
    texts = " ".join(all_texts(answer["blocks"]))
    assert "₹10 off" in texts and "₹10% off" not in texts


def test_what_was_typed_is_never_repeated_raw(make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn) -> None:
    from tests.support.blockkit import CONTROL_SEQUENCE

    app, _ = make_app()
    typed = ["99000-01001", "(+91)9900001001", "asha.rao_example.com", "<!channel>", "<https://evil.example|Click>"]
    for n, text in enumerate(typed):
        send_command(app, text, response_url=slack.response_url(f"t{n}"))
        [answer] = slack.wait_responses(1, name=f"t{n}")
        problem = " ".join(all_texts(answer["blocks"][:1])) + answer["text"]  # the usage's own examples follow
        assert problem.startswith(":warning:")
        assert "9900001001" not in problem and "01001" not in problem and "asha.rao" not in problem
        shown = " ".join(all_texts(answer["blocks"])) + answer["text"]
        assert not CONTROL_SEQUENCE.search(shown), shown
    assert capillary.coupon_calls() == []
