"""Finding a customer by what the agent has (issue 13): every row of the input table and every answer of
Capillary's lookup, through signed Slack requests against the loopback Capillary."""

from __future__ import annotations

import gc
import json
import threading
from typing import Any

import pytest

from bot.after_answer import answering
from bot.capillary.auth import BasicLogin
from bot.capillary.client import CapillaryClient
from bot.customer_service import CustomerOutcome, CustomerService
from bot.lookup_answers import Ask
from bot.requester import Requester
from bot.store import MemoryStore
from tests.conftest import NOT_FOUND, AuditLines, CapillaryStandIn, customer_json
from tests.support.blockkit import all_texts, assert_valid_message, buttons, find_button
from tests.support.loopback import Recorded, Reply
from tests.support.slack import FakeSlack, click_button, send_command, send_event
from tests.test_events import dm, posted_texts

MOBILE, EMAIL, CARD, EXTERNAL = "919900000001", "asha@example.com", "EXMPL0000000000001", "EXAMPLE-000001"
CUSTOMER = 565032176
HEADER_LINE = "*Gold* tier · 1,850 points · customer 565032176 · mobile ••••••••0001 · email a•••@example.com"


def found(**overrides: Any) -> Reply:
    return Reply(body=customer_json(CUSTOMER, **overrides))


def register_asha(capillary: CapillaryStandIn) -> None:
    for key in (("mobile", MOBILE), ("email", EMAIL), ("cardnumber", CARD), ("externalId", EXTERNAL)):
        capillary.lookups[key] = found()


def ask(app: Any, slack: FakeSlack, text: str, name: str) -> dict[str, Any]:
    send_command(app, text, response_url=slack.response_url(name))
    [answer] = slack.wait_responses(1, name=name)
    assert_valid_message(answer["blocks"])
    return answer


def text_of(answer: dict[str, Any]) -> str:
    return " ".join(all_texts(answer["blocks"]))


def assert_no_pii(answer: dict[str, Any]) -> None:
    raw = json.dumps(answer, ensure_ascii=False)
    for value in (MOBILE, MOBILE[2:], EMAIL, "asha@"):
        assert value not in raw, value


@pytest.mark.parametrize(
    ("typed", "name", "value", "kind"),
    [
        (f"mobile:{MOBILE}", "mobile", MOBILE, "mobile"),
        ("+91 99000 00001", "mobile", MOBILE, "mobile"),
        ("+919900000001", "mobile", MOBILE, "mobile"),
        ("mobile:+91-9900.000001", "mobile", MOBILE, "mobile"),
        (f"email:{EMAIL}", "email", EMAIL, "email"),
        ("Asha@Example.com", "email", EMAIL, "email"),
        (f"card:{CARD}", "cardnumber", CARD, "card"),
        (f"external:{EXTERNAL}", "externalId", EXTERNAL, "external"),
    ],
)
def test_each_identifier_finds_the_customer_and_shows_who_it_is(
    make_app: Any,
    slack: FakeSlack,
    capillary: CapillaryStandIn,
    audit: AuditLines,
    typed: str,
    name: str,
    value: str,
    kind: str,
) -> None:
    register_asha(capillary)
    app, _ = make_app()
    answer = ask(app, slack, f"{typed} lower", "r")
    assert answer["blocks"][0]["text"]["text"] == "Coupons · Asha Example"
    assert answer["blocks"][2]["elements"][0]["text"] == HEADER_LINE
    assert "*7* expired" in answer["blocks"][1]["text"]["text"]
    assert_no_pii(answer)
    [lookup] = capillary.lookup_calls()
    assert lookup.query == {
        "source": ["INSTORE"],
        "embed": ["points,mlp"],
        "identifierName": [name],
        "identifierValue": [value],
    }
    [coupons] = capillary.coupon_calls()
    assert coupons.path == f"/v2/customers/{CUSTOMER}/coupons" and coupons.query == {"coupon_code_case": ["LOWER"]}
    assert capillary.profile_calls() == []  # the lookup brought the profile
    [line] = audit.lines
    assert line["identifier_kind"] == kind and line["customer_id"] == CUSTOMER and line["outcome"] == "ok"
    assert value not in json.dumps(line) and MOBILE[-6:] not in json.dumps(line)


def test_a_customer_id_fetches_the_profile_at_the_same_time_as_the_coupons(
    make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn, audit: AuditLines
) -> None:
    capillary.profiles[CUSTOMER] = found()
    both_asked = threading.Barrier(2, timeout=5)  # broken unless both calls are in flight together
    route = capillary.server.route

    def together(request: Recorded) -> Reply:
        if request.path in (f"/v2/customers/{CUSTOMER}", f"/v2/customers/{CUSTOMER}/coupons"):
            both_asked.wait()
        return route(request)

    capillary.server.route = together
    app, _ = make_app()
    answer = ask(app, slack, str(CUSTOMER), "r")
    assert not both_asked.broken
    assert answer["blocks"][0]["text"]["text"] == "Coupons · Asha Example"
    assert answer["blocks"][2]["elements"][0]["text"] == HEADER_LINE
    [profile] = capillary.profile_calls()
    assert profile.query == {"source": ["INSTORE"], "embed": ["points,mlp"]}
    assert capillary.lookup_calls() == []
    [line] = audit.lines
    assert "identifier_kind" not in line and line["customer_id"] == CUSTOMER


def test_source_and_account_come_from_the_settings(
    make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn
) -> None:
    register_asha(capillary)
    app, _ = make_app(CAPILLARY_LOOKUP_SOURCE="WECHAT", CAPILLARY_LOOKUP_ACCOUNT_ID="wx-account-1")
    ask(app, slack, f"mobile:{MOBILE}", "r")
    [lookup] = capillary.lookup_calls()
    assert lookup.query["source"] == ["WECHAT"] and lookup.query["accountId"] == ["wx-account-1"]


@pytest.mark.parametrize(
    "typed",
    [
        "email:asha@",
        "asha@example",
        "email:",
        "mobile:99000abc01",
        "mobile:1234567",
        "+1234567890123456",
        "+91 99000 0000x",
        "card:",
        "card: ",
        "external:",
        "sms:919900000001",
    ],
)
def test_malformed_identifiers_get_usage_and_no_capillary_call(
    make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn, audit: AuditLines, typed: str
) -> None:
    app, _ = make_app()
    answer = ask(app, slack, typed, "r")
    words = text_of(answer)
    assert ":warning:" in words and "mobile:" in words and "/coupons" in words
    assert capillary.server.requests == []
    assert [line["outcome"] for line in audit.lines] == ["invalid_input"]


@pytest.mark.parametrize(
    ("reply", "expected", "outcome"),
    [
        (Reply(200, NOT_FOUND), "No customer with mobile ••••0001 (source INSTORE).", "not_found"),
        (Reply(404, NOT_FOUND), "No customer with mobile ••••0001 (source INSTORE).", "not_found"),
        (
            Reply(200, {"errors": [{"status": False, "code": 8065, "message": "User not found for given source"}]}),
            "The customer with mobile ••••0001 is not registered in source INSTORE.",
            "not_in_source",
        ),
        (
            Reply(400, {"errors": [{"status": False, "code": 8013, "message": "Invalid identifier"}]}),
            "Capillary doesn't accept a mobile to find customers here.",
            "invalid_identifier",
        ),
        (Reply(401, ""), "Capillary refused the bot's credentials.", "auth_error"),
        (Reply(403, {"errors": [{"code": 4000, "message": "Access denied"}]}), "may not see", "forbidden"),
        (Reply(500, "oops"), "isn't answering", "upstream_unavailable"),
        (Reply(429, ""), "isn't answering", "upstream_unavailable"),
        (
            Reply(502, "<html>Bad gateway</html>", {"Content-Type": "text/html"}),
            "isn't answering",
            "upstream_unavailable",
        ),
        (Reply(200, "<html>login</html>", {"Content-Type": "text/html"}), "web page", "bad_response"),
    ],
)
def test_lookup_errors_become_messages_that_never_show_the_identifier(
    make_app: Any,
    slack: FakeSlack,
    capillary: CapillaryStandIn,
    audit: AuditLines,
    reply: Reply,
    expected: str,
    outcome: str,
) -> None:
    capillary.lookups[("mobile", MOBILE)] = reply
    app, _ = make_app(COUPONS_UPSTREAM_DEADLINE_SECONDS="1")
    answer = ask(app, slack, "+91 99000 00001", "r")
    assert expected in text_of(answer)
    assert_no_pii(answer)
    assert capillary.coupon_calls() == []
    [line] = audit.lines
    assert line["outcome"] == outcome and line["identifier_kind"] == "mobile" and "customer_id" not in line


def test_not_in_source_names_the_setting(make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn) -> None:
    capillary.lookups[("email", EMAIL)] = Reply(404, {"errors": [{"code": 8065, "message": "not in source"}]})
    app, _ = make_app(CAPILLARY_LOOKUP_SOURCE="MARTJACK")
    words = text_of(ask(app, slack, EMAIL, "r"))
    assert "The customer with email a•••@example.com is not registered in source MARTJACK." in words
    assert "CAPILLARY_LOOKUP_SOURCE" in words


@pytest.mark.parametrize("code", [8069, 91009])
@pytest.mark.parametrize("where", ["warnings", "errors"])
def test_a_merged_customer_is_shown_with_a_note(
    make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn, code: int, where: str
) -> None:
    capillary.lookups[("cardnumber", CARD)] = found(**{where: [{"status": False, "code": code, "message": "Merged"}]})
    app, _ = make_app()
    answer = ask(app, slack, f"card:{CARD}", "r")
    line = answer["blocks"][2]["elements"][0]["text"]
    assert line.startswith(HEADER_LINE) and "merged profile" in line
    assert len(capillary.coupon_calls()) == 1


@pytest.mark.parametrize(
    "reply", [Reply(500, "down"), Reply(200, {}), Reply(404, NOT_FOUND), Reply(200, "<html></html>")]
)
def test_coupons_show_when_the_profile_cannot_be_read(
    make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn, audit: AuditLines, reply: Reply
) -> None:
    capillary.profiles[CUSTOMER] = reply
    app, _ = make_app(COUPONS_UPSTREAM_DEADLINE_SECONDS="1")
    answer = ask(app, slack, str(CUSTOMER), "r")
    assert answer["blocks"][0]["text"]["text"] == f"Coupons · customer {CUSTOMER}"
    assert "*7* expired" in answer["blocks"][1]["text"]["text"]
    assert "profile couldn't be read" in answer["blocks"][2]["elements"][0]["text"]
    assert [line["outcome"] for line in audit.lines] == ["ok"]


def test_a_profile_that_failed_leaves_no_cycle_holding_the_coupons(make_app: Any, capillary: CapillaryStandIn) -> None:
    # The bot runs the collector rarely (`gc_tuning`): coupons kept alive by a cycle (the profile's error raised
    # in the frame holding them) stayed until a full collection, 200 MB more for each 100,000-coupon customer.
    capillary.profiles[CUSTOMER] = Reply(404, NOT_FOUND)
    _, answerer = make_app(COUPONS_CACHE_TTL_SECONDS="0")  # nothing kept: only a cycle could hold the coupons
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        with answering():
            message = answerer.answer_text(str(CUSTOMER), Ask(Requester("T0TEAM01", "U0AGENT1"), "command"))
        gc.collect()
        cyclic = {type(thing).__name__ for thing in gc.garbage}
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert "profile couldn't be read" in " ".join(all_texts(message.blocks))
    assert "ListedCoupon" not in cyclic, sorted(cyclic)


def test_buttons_carry_the_customer_id_and_clicks_reuse_the_cached_customer(
    make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn
) -> None:
    register_asha(capillary)
    app, answerer = make_app()
    answer = ask(app, slack, f"mobile:{MOBILE}", "first")
    for button in buttons(answer["blocks"]):
        assert f".{CUSTOMER}." in button["value"] and MOBILE[-4:] not in button["value"]
    click_button(app, find_button(answer["blocks"], "Next ▶"), response_url=slack.response_url("click"))
    [redrawn] = slack.wait_responses(1, name="click")
    assert redrawn["blocks"][2]["elements"][0]["text"] == HEADER_LINE
    ask(app, slack, "+91 99000 00001 upper", "again")
    # One lookup, no profile call (the lookup brought it), the coupons once: everything else came from the cache.
    assert len(capillary.lookup_calls()) == 1 and capillary.profile_calls() == []
    assert len(capillary.coupon_calls()) == 1
    keys = list(answerer.service.store._cache.keys())
    assert any(key.startswith("customer:who:") for key in keys)
    for key in keys:
        assert MOBILE[-4:] not in key and "asha" not in key and "mobile" not in key


def test_a_dm_and_a_mention_take_identifiers_too(make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn) -> None:
    register_asha(capillary)
    app, _ = make_app()
    send_event(app, dm(f"coupons {EMAIL} lower"), event_id="EvDM")
    [posted] = slack.wait_api("chat.postMessage")
    assert "Asha Example" in posted_texts(posted)
    mention = {"type": "app_mention", "channel": "C0SUPPORT", "user": "U0AGENT1", "ts": "1700000000.000300"}
    send_event(app, {**mention, "text": "<@UBOT0001> external:EXAMPLE-000001"}, event_id="EvMention")
    [ephemeral] = slack.wait_api("chat.postEphemeral")
    assert "Asha Example" in posted_texts(ephemeral)
    assert len(capillary.lookup_calls()) == 2


def test_a_kept_profile_is_read_at_once_and_a_refresh_asks_capillary_again(capillary: CapillaryStandIn) -> None:
    capillary.profiles[CUSTOMER] = [
        found(pointsSummary={"loyaltyPoints": 1850}),
        found(pointsSummary={"loyaltyPoints": 9}),
    ]
    service = CustomerService(
        CapillaryClient(capillary.url, BasicLogin("u", "p")),
        MemoryStore(1024 * 1024),
        key_secret="k" * 32,
    )
    try:
        assert points(service.profile_soon(CUSTOMER).result(timeout=5)) == 1850
        kept = service.profile_soon(CUSTOMER)
        assert kept.done()  # answered in the caller's thread: nothing was handed to another
        assert kept.result().cache_hit and points(kept.result()) == 1850
        fresh = service.profile_soon(CUSTOMER, refresh=True).result(timeout=5)
        assert not fresh.cache_hit and points(fresh) == 9
        assert len(capillary.profile_calls()) == 2
    finally:
        service.close()


def points(outcome: CustomerOutcome) -> float | None:
    summary = outcome.profile.points_summary
    return summary.loyalty_points if summary else None
