"""Issue 26: can a coupon be used now (the check), and resend / extend / issue (the actions), driven through
signed requests against a loopback Capillary that also answers the coupon calls."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import redis

from bot.coupon_actions import ActionForm
from bot.demo.actions import DemoState
from bot.domain.action_ids import (
    BLOCK_CASE,
    BLOCK_CODE,
    BLOCK_EXPIRY,
    BLOCK_REASON,
    BLOCK_SERIES,
    BLOCK_WHO,
    INPUT_CASE,
    INPUT_CODE,
    INPUT_EXPIRY,
    INPUT_REASON,
    INPUT_SERIES,
    INPUT_WHO,
    SHORTCUT_LOOKUP,
    VIEW_ACTION_DONE,
    VIEW_ACTION_FORM,
    VIEW_ANSWER,
)
from bot.domain.coupon import CodeCase
from bot.domain.coupon_actions import ActionKind, ActionSettings
from bot.settings import Settings
from bot.store.redis import RedisStore
from bot.wiring import build_answerer, build_app
from tests.conftest import NOW, AuditLines, CapillaryStandIn, bot_env, coupon_json, envelope
from tests.support.blockkit import all_texts, assert_valid_message, assert_valid_view, button_texts, find_button
from tests.support.loopback import Recorded, Reply
from tests.support.redis_server import RedisServer
from tests.support.slack import (
    SIGNING_SECRET,
    VIEW_ID,
    FakeSlack,
    block_actions_payload,
    click_button,
    click_in_view,
    send_action,
    send_command,
    send_payload,
    shortcut_payload,
    view_submission_payload,
    wait_until_idle,
)

CUSTOMER = 930000001
BOSS = "U0BOSS01"
AGENT = "U0AGENT1"
ACTIONS_ON = {"COUPONS_ACTIONS": "resend,extend,issue", "COUPONS_ACTION_USER_IDS": BOSS}
ACTIONS_ON["COUPONS_GOODWILL_SERIES_IDS"] = "871204"

V2_OK = {
    "redemption": [
        {
            "isRedeemable": True,
            "warnings": [],
            "code": "WELCOME10",
            "redemptionsLeft": 1,
            "couponseries": {"validTillDate": "2027-01-31T00:00:00Z"},
        }
    ],
    "redemptionStatus": {"status": True, "code": 700, "message": "Coupon isRedeem successful"},
    "warnings": [],
}
V2_EXPIRED = {
    "redemption": [
        {
            "isRedeemable": False,
            "warnings": [{"status": False, "code": 713, "message": "Coupon has expired"}],
            "code": "WELCOME10",
            "redemptionsLeft": 1,
        }
    ],
    "redemptionStatus": {"status": False, "code": 713, "message": "Coupon has expired"},
    "warnings": [],
}
RESENT = {
    "response": {
        "status": {"success": "true", "code": "200", "message": "SUCCESS"},
        "coupons": {
            "coupon": [{"code": "WELCOME10", "item_status": {"success": "true", "code": "700", "message": "Resent"}}]
        },
    }
}


def expiry_answer(code: int | None = None) -> dict[str, Any]:
    refused = [{"couponCode": "WELCOME10", "expiryDate": "x", "errorCode": code, "errorMessage": "no"}] if code else []
    entity = {"totalCount": 1, "failedCount": len(refused), "successCount": 1 - len(refused)}
    return {"entity": {**entity, "unprocessedCoupons": refused}, "warnings": [], "errors": [], "success": True}


class CouponCallsStandIn(CapillaryStandIn):
    """The conftest stand-in, plus the coupon calls: `checks` (v2), `checks_v11`, `resends`, `expiries`, `issues`
    (each a Reply, or a list given in turn)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: dict[str, Reply | list[Reply]] = {
            "/v2/coupon/is_redeemable": Reply(body=V2_OK),
            "/v1.1/coupon/isredeemable": Reply(404, {"errors": [{"code": 404, "message": "no such path"}]}),
            "/v1.1/coupon/resend": Reply(body=RESENT),
            "/v2/coupon/bulk/expiry": Reply(body=expiry_answer()),
            "/v2/coupon/issue": Reply(
                body={"code": "GW00001", "seriesId": 871204, "validTill": "2026-12-25T00:00:00Z"}
            ),
        }

    def _route(self, request: Recorded) -> Reply:
        answer = self.calls.get(request.path)
        if answer is None:
            return super()._route(request)
        if isinstance(answer, list):
            return answer.pop(0) if len(answer) > 1 else answer[0]
        return answer

    def made(self, path: str) -> list[Recorded]:
        return self.server.matching(path)


def active_coupon(**overrides: Any) -> dict[str, Any]:
    series = {**coupon_json()["series"], "validTillDate": "2027-01-31T00:00:00Z"}
    fields = {
        "code": "WELCOME10",
        "activeFrom": "2026-11-01T00:00:00Z",
        "validTill": "2026-12-31T23:59:59Z",
        "isRedeemed": False,
        "redeemed": False,
        "redemptionsLeft": 1,
        "redemptionInfo": [],
        "series": series,
    }
    return coupon_json(**{**fields, **overrides})


@pytest.fixture
def cap() -> Iterator[CouponCallsStandIn]:
    stand_in = CouponCallsStandIn()
    stand_in.answers[CUSTOMER] = Reply(body=envelope([active_coupon(), coupon_json(code="OLD1")]))
    yield stand_in
    stand_in.server.close()


Build = Callable[..., Any]


@pytest.fixture
def build(slack: FakeSlack, cap: CouponCallsStandIn) -> Build:
    """The real app against the loopback servers, with the action settings the wiring is to pass (see the report)."""

    def make(store: Any = None, **env: str) -> Any:
        settings = Settings.from_env(bot_env(slack, cap, **env))
        answerer = build_answerer(settings, use_demo=False, clock=lambda: NOW, store=store)
        answerer.actions = ActionSettings.of(settings)
        return build_app(settings, answerer)[0]

    return make


def command(app: Any, slack: FakeSlack, text: str, name: str, user: str = AGENT) -> dict[str, Any]:
    send_command(app, text, response_url=slack.response_url(name), user=user)
    [message] = slack.wait_responses(1, name=name)
    assert_valid_message(message["blocks"])
    return message


def text_of(message: dict[str, Any]) -> str:
    return "\n".join(all_texts(message["blocks"]))


# --- 1. the check -----------------------------------------------------------------------------------------


def test_the_coupon_in_focus_says_it_can_be_used_now(build: Build, slack: FakeSlack, cap: CouponCallsStandIn) -> None:
    app = build()
    message = command(app, slack, f"{CUSTOMER} code:welcome10", "c1")
    text = text_of(message)
    assert ":white_check_mark: *Usable now* — This coupon can be used right now." in text
    assert "1 use left · valid till Thu 31 Dec 2026" in text  # the coupon's own expiry, not the series'
    [call] = cap.made("/v2/coupon/is_redeemable")
    assert call.query == {"id": [str(CUSTOMER)], "code": ["WELCOME10"], "details": ["true"]}
    assert not cap.made("/v1.1/coupon/isredeemable")


def test_a_refusal_is_said_in_words_with_v11_when_v2_gives_no_reason(
    build: Build, slack: FakeSlack, cap: CouponCallsStandIn
) -> None:
    no_reason = json.loads(json.dumps(V2_EXPIRED))
    no_reason["redemption"][0]["warnings"] = []
    no_reason["redemptionStatus"] = {"status": False}
    v11 = {
        "response": {
            "status": {"success": "false", "code": 500, "message": "All requests have failed due to errors"},
            "coupons": {
                "redeemable": {
                    "code": "WELCOME10",
                    "is_redeemable": "false",
                    "item_status": {"success": "false", "code": 713, "message": "Coupon has expired"},
                }
            },
        }
    }
    cap.calls["/v2/coupon/is_redeemable"] = Reply(body=no_reason)
    cap.calls["/v1.1/coupon/isredeemable"] = Reply(body=v11)
    text = text_of(command(build(), slack, f"{CUSTOMER} code:WELCOME10", "c1"))
    assert ":no_entry: *Not usable now* — This coupon expired on Thu 31 Dec 2026. (code 713)" in text
    assert cap.made("/v1.1/coupon/isredeemable")[0].query["format"] == ["json"]


def test_an_unknown_code_shows_its_number_and_capillarys_words_masked(
    build: Build, slack: FakeSlack, cap: CouponCallsStandIn
) -> None:
    odd = json.loads(json.dumps(V2_EXPIRED))
    odd["redemption"][0]["warnings"] = [{"code": 7999, "message": "held for asha@example.com 919900001001"}]
    cap.calls["/v2/coupon/is_redeemable"] = Reply(body=odd)
    text = text_of(command(build(), slack, f"{CUSTOMER} code:WELCOME10", "c1"))
    assert "Capillary's code 7999: held for a•••@example.com ••••••••1001" in text
    assert "asha@" not in text and "919900001001" not in text


def test_the_check_button_puts_the_coupon_on_top_and_a_redraw_reuses_the_check(
    build: Build, slack: FakeSlack, cap: CouponCallsStandIn
) -> None:
    app = build()
    message = command(app, slack, str(CUSTOMER), "c1")
    assert "Check WELCOME10" in button_texts(message["blocks"])
    assert "Check OLD1" not in button_texts(message["blocks"])  # expired: nothing to check
    click_button(app, find_button(message["blocks"], "Check WELCOME10"), response_url=slack.response_url("k1"))
    [checked] = slack.wait_responses(1, name="k1")
    assert_valid_message(checked["blocks"])
    assert ":dart: *Coupon `WELCOME10`*" in text_of(checked) and "*Usable now*" in text_of(checked)
    click_button(app, find_button(checked["blocks"], "Check WELCOME10"), response_url=slack.response_url("k2"))
    assert "*Usable now*" in text_of(slack.wait_responses(1, name="k2")[0])
    assert len(cap.made("/v2/coupon/is_redeemable")) == 1  # within the cache lifetime: one call


def test_a_failed_check_still_shows_the_coupons(build: Build, slack: FakeSlack, cap: CouponCallsStandIn) -> None:
    cap.calls["/v2/coupon/is_redeemable"] = Reply(403, {"errors": [{"code": 4000, "message": "Access denied"}]})
    text = text_of(command(build(), slack, f"{CUSTOMER} code:WELCOME10", "c1"))
    assert "*Couldn't check whether it can be used*" in text and "`OLD1`" in text


# --- 2. actions -------------------------------------------------------------------------------------------


def focus_message(app: Any, slack: FakeSlack, name: str, user: str = BOSS) -> dict[str, Any]:
    return command(app, slack, f"{CUSTOMER} code:WELCOME10", name, user=user)


def open_form(app: Any, slack: FakeSlack, message: dict[str, Any], label: str, *, count: int = 1) -> dict[str, Any]:
    click_button(app, find_button(message["blocks"], label), response_url=slack.response_url("c1"), user=BOSS)
    view = slack.wait_api("views.open", count)[-1]["view"]
    form = json.loads(view) if isinstance(view, str) else view
    assert_valid_view(form)
    assert form["callback_id"] == VIEW_ACTION_FORM
    return form


def submit(app: Any, form: dict[str, Any], reason: str, **extra: Any) -> dict[str, Any]:
    values: dict[str, Any] = {BLOCK_REASON: {INPUT_REASON: {"type": "plain_text_input", "value": reason}}}
    if "day" in extra:
        values[BLOCK_EXPIRY] = {INPUT_EXPIRY: {"type": "datepicker", "selected_date": extra["day"]}}
    if "series" in extra:
        values[BLOCK_SERIES] = {INPUT_SERIES: {"type": "static_select", "selected_option": {"value": extra["series"]}}}
    response = send_payload(app, view_submission_payload(form, values, user=BOSS))
    assert response.status == 200
    return json.loads(response.body) if response.body else {}


def updated_views(slack: FakeSlack) -> list[dict[str, Any]]:
    views = [c["view"] for c in slack.api_calls("views.update")]
    return [json.loads(v) if isinstance(v, str) else v for v in views]


def test_no_action_buttons_unless_switched_on_and_named(build: Build, slack: FakeSlack) -> None:
    assert "Resend" not in button_texts(focus_message(build(), slack, "off")["blocks"])
    app = build(**ACTIONS_ON)
    assert "Resend" not in button_texts(focus_message(app, slack, "agent", user=AGENT)["blocks"])
    labels = button_texts(focus_message(app, slack, "boss")["blocks"])
    assert {"Resend", "Extend expiry", "Issue goodwill coupon"} <= set(labels)


def test_a_strangers_forged_click_is_refused_audited_and_calls_nothing(
    build: Build, slack: FakeSlack, cap: CouponCallsStandIn, audit: AuditLines
) -> None:
    app = build(**ACTIONS_ON)
    boss_view = focus_message(app, slack, "boss")
    resend = find_button(boss_view["blocks"], "Resend")  # a real button, clicked by someone else
    action = {"action_id": resend["action_id"], "value": resend["value"]}
    send_action(app, block_actions_payload(action, response_url=slack.response_url("forged"), user=AGENT))
    [refusal] = slack.wait_responses(1, name="forged")
    assert "You can't change customers' coupons with this bot." in text_of(refusal)
    wait_until_idle(app)
    assert not slack.api_calls("views.open") and not cap.made("/v1.1/coupon/resend")
    denied = [line for line in audit.lines if line["event"] == "coupons.action_resend"]
    assert denied == [denied[0]] and denied[0]["decision"] == "denied" and denied[0]["user"] == AGENT


def test_resend_asks_for_a_reason_then_sends_once_however_often_it_is_submitted(
    build: Build, slack: FakeSlack, cap: CouponCallsStandIn, audit: AuditLines
) -> None:
    cap.profiles[CUSTOMER] = Reply(body={"id": CUSTOMER, "profiles": [{"firstName": "Asha", "identifiers": [
        {"type": "mobile", "value": "919900001001"}]}]})  # fmt: skip
    app = build(**ACTIONS_ON)
    form = open_form(app, slack, focus_message(app, slack, "boss"), "Resend")
    what = " ".join(all_texts(form["blocks"]))
    assert "send coupon `WELCOME10` to customer 930000001 (Asha · mobile ••••••••1001) again" in what
    assert submit(app, form, "   ") == {
        "response_action": "errors",
        "errors": {BLOCK_REASON: "Say why (a ticket number will do)."},
    }
    assert submit(app, form, "ticket 4471 from asha@example.com")["response_action"] == "update"
    assert submit(app, form, "ticket 4471 from asha@example.com")["response_action"] == "update"  # a double click
    wait_until_idle(app)
    [resend] = cap.made("/v1.1/coupon/resend")
    assert resend.query == {"format": ["json"], "code": ["WELCOME10"], "mobile": ["919900001001"]}
    outcomes = [" ".join(all_texts(v["blocks"])) for v in updated_views(slack)]
    assert sum("was sent to customer 930000001 again" in o for o in outcomes) == 2
    assert sum("already submitted" in o for o in outcomes) == 1
    [line] = [a for a in audit.lines if a["event"] == "coupons.action_resend" and a["outcome"] == "done"]
    assert line["user"] == BOSS and line["customer_id"] == CUSTOMER and line["code"] == "WELCOME10"
    assert line["reason"] == "ticket •••• from a•••@example.com" and line["result"] == "700"


def test_two_processes_sharing_redis_send_once(
    build: Build, slack: FakeSlack, cap: CouponCallsStandIn, redis_server: RedisServer
) -> None:
    redis.Redis.from_url(redis_server.url).flushall()
    first = build(RedisStore(redis_server.url), **ACTIONS_ON)
    second = build(RedisStore(redis_server.url), **ACTIONS_ON)
    cap.calls["/v1.1/coupon/resend"] = Reply(body=RESENT, delay=0.5)  # the other process arrives meanwhile
    form = open_form(first, slack, focus_message(first, slack, "boss"), "Resend")
    threads = [threading.Thread(target=submit, args=(app, form, "ticket 1")) for app in (first, second, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wait_until_idle(first)
    wait_until_idle(second)
    assert len(cap.made("/v1.1/coupon/resend")) == 1
    outcomes = [" ".join(all_texts(v["blocks"])) for v in updated_views(slack)]
    assert sum("was sent to customer 930000001 again" in o for o in outcomes) == 3


def test_extend_is_checked_against_the_offer_in_the_form_and_capillarys_refusal_shows_under_the_date(
    build: Build, slack: FakeSlack, cap: CouponCallsStandIn
) -> None:
    app = build(**ACTIONS_ON)
    form = open_form(app, slack, focus_message(app, slack, "boss"), "Extend expiry")
    ack = submit(app, form, "goodwill", day="2027-02-01")  # the offer ends on 31 Jan
    assert ack["response_action"] == "errors" and "can't be extended past it" in ack["errors"][BLOCK_EXPIRY]
    assert not cap.made("/v2/coupon/bulk/expiry")
    cap.calls["/v2/coupon/bulk/expiry"] = Reply(body=expiry_answer(691))  # Capillary knows better
    assert submit(app, form, "goodwill", day="2027-01-20")["response_action"] == "update"
    wait_until_idle(app)
    [call] = cap.made("/v2/coupon/bulk/expiry")
    assert call.method == "PUT" and call.json()["couponCodes"] == [
        {"couponCode": "WELCOME10", "expiryDate": "2027-01-20T23:59:59+00:00"}
    ]
    again = updated_views(slack)[-1]
    assert again["callback_id"] == VIEW_ACTION_FORM  # the form stays open, the refusal under the date
    blocks = again["blocks"]
    under = blocks[[b.get("block_id") for b in blocks].index(BLOCK_EXPIRY) + 1]
    assert "Capillary refused this date" in under["text"]["text"] and "(code 691)" in under["text"]["text"]
    assert again["private_metadata"] != form["private_metadata"]  # a new key: the next try is a new action


def test_extend_done_redraws_the_customers_message(build: Build, slack: FakeSlack, cap: CouponCallsStandIn) -> None:
    app = build(**ACTIONS_ON)
    form = open_form(app, slack, focus_message(app, slack, "boss"), "Extend expiry")
    extended = envelope([active_coupon(validTill="2027-01-20T23:59:59Z"), coupon_json(code="OLD1")])
    cap.answers[CUSTOMER] = Reply(body=extended)
    submit(app, form, "goodwill", day="2027-01-20")
    redrawn = slack.wait_responses(1, name="c1")[0]  # the message the button was on
    assert redrawn["replace_original"] is True and "valid till Wed 20 Jan 2027" in text_of(redrawn)
    wait_until_idle(app)
    assert "is now valid till Wed 20 Jan 2027" in " ".join(all_texts(updated_views(slack)[-1]["blocks"]))


def test_issue_only_from_the_goodwill_series(build: Build, slack: FakeSlack, cap: CouponCallsStandIn) -> None:
    app = build(**ACTIONS_ON)
    form = open_form(app, slack, focus_message(app, slack, "boss"), "Issue goodwill coupon")
    assert submit(app, form, "late delivery", series="68579")["response_action"] == "errors"
    assert submit(app, form, "late delivery", series="871204")["response_action"] == "update"
    wait_until_idle(app)
    [call] = cap.made("/v2/coupon/issue")
    assert call.json() == {"seriesId": 871204, "customer": {"id": CUSTOMER}}
    assert "A goodwill coupon `GW00001` was issued" in " ".join(all_texts(updated_views(slack)[-1]["blocks"]))


def test_the_daily_limit_refuses_the_next_action_with_the_reason(
    build: Build, slack: FakeSlack, cap: CouponCallsStandIn
) -> None:
    app = build(COUPONS_ACTION_DAILY_LIMIT="1", **ACTIONS_ON)
    message = focus_message(app, slack, "boss")
    submit(app, open_form(app, slack, message, "Resend"), "ticket 1")
    slack.wait_api("views.update")
    click_button(app, find_button(message["blocks"], "Resend"), response_url=slack.response_url("again"), user=BOSS)
    [refusal] = slack.wait_responses(1, name="again")
    assert "You have reached today's limit of 1 coupon actions." in text_of(refusal)
    wait_until_idle(app)
    assert len(cap.made("/v1.1/coupon/resend")) == 1 and len(slack.api_calls("views.open")) == 1


# --- 3. in the lookup modal (the shortcut's window) --------------------------------------------------------

PUSHED_ID = "V0PUSHED1"  # the form pushed over the lookup modal (VIEW_ID) has an ID of its own


def as_view(call: dict[str, Any]) -> dict[str, Any]:
    raw = call["view"]
    view: dict[str, Any] = json.loads(raw) if isinstance(raw, str) else raw
    assert_valid_view(view)
    return view


def lookup_modal(app: Any, slack: FakeSlack, user: str = BOSS) -> dict[str, Any]:
    """The "Look up coupons" window answered for the coupon in focus, as `user` sees it."""
    opened, updated = len(slack.api_calls("views.open")), len(slack.api_calls("views.update"))
    send_payload(app, shortcut_payload(SHORTCUT_LOOKUP, user=user))
    form = as_view(slack.wait_api("views.open", opened + 1)[opened])
    option = {"text": {"type": "plain_text", "text": "UPPER"}, "value": "UPPER"}
    values = {
        BLOCK_WHO: {INPUT_WHO: {"type": "plain_text_input", "value": str(CUSTOMER)}},
        BLOCK_CODE: {INPUT_CODE: {"type": "plain_text_input", "value": "WELCOME10"}},
        BLOCK_CASE: {INPUT_CASE: {"type": "static_select", "selected_option": option}},
    }
    assert json.loads(send_payload(app, view_submission_payload(form, values, user=user)).body)["response_action"]
    answer = as_view(slack.wait_api("views.update", updated + 1)[updated])
    assert answer["callback_id"] == VIEW_ANSWER and ":dart: *Coupon `WELCOME10`*" in text_of(answer)
    return answer


def submit_pushed(app: Any, form: dict[str, Any], reason: str) -> dict[str, Any]:
    """Submit a form pushed over the modal: Slack names the form's own view, not the modal under it."""
    values = {BLOCK_REASON: {INPUT_REASON: {"type": "plain_text_input", "value": reason}}}
    payload = view_submission_payload(form, values, user=BOSS)
    payload["view"]["id"] = PUSHED_ID
    response = send_payload(app, payload)
    assert response.status == 200
    return json.loads(response.body) if response.body else {}


def views_updated(slack: FakeSlack, view_id: str) -> list[dict[str, Any]]:
    return [as_view(call) for call in slack.api_calls("views.update") if call["view_id"] == view_id]


def test_resend_in_the_lookup_modal_pushes_the_form_sends_once_and_redraws_the_modal(
    build: Build, slack: FakeSlack, cap: CouponCallsStandIn, audit: AuditLines
) -> None:
    app = build(**ACTIONS_ON)
    answer = lookup_modal(app, slack)
    assert {"Resend", "Extend expiry", "Issue goodwill coupon", "Send to me"} <= set(button_texts(answer["blocks"]))
    click_in_view(app, find_button(answer["blocks"], "Resend"), view=answer, user=BOSS)
    [pushed] = slack.wait_api("views.push")
    form = as_view(pushed)
    assert form["callback_id"] == VIEW_ACTION_FORM and "send coupon `WELCOME10`" in text_of(form)
    assert len(slack.api_calls("views.open")) == 1  # only the shortcut's: nothing opened over the modal
    cap.answers[CUSTOMER] = Reply(body=envelope([active_coupon(), coupon_json(code="OLD1"), coupon_json(code="NEW2")]))
    first = submit_pushed(app, form, "ticket 4471")
    assert first["response_action"] == "update" and "Working on it" in text_of(first["view"])
    assert submit_pushed(app, form, "ticket 4471")["response_action"] == "update"  # a double click
    wait_until_idle(app)
    assert len(cap.made("/v1.1/coupon/resend")) == 1
    outcomes = [text_of(v) for v in views_updated(slack, PUSHED_ID)]  # in the pushed form: no second push
    assert sum("was sent to customer 930000001 again" in o for o in outcomes) == 2
    assert len(slack.api_calls("views.push")) == 1
    _, redrawn = views_updated(slack, VIEW_ID)  # the answer, then once (not for the replay) with fresh coupons
    assert redrawn["callback_id"] == VIEW_ANSWER and "`NEW2`" in text_of(redrawn) and "`NEW2`" not in text_of(answer)
    assert "Resend" in button_texts(redrawn["blocks"])
    [line] = [a for a in audit.lines if a["event"] == "coupons.action_resend" and a["outcome"] == "done"]
    assert line["user"] == BOSS and line["customer_id"] == CUSTOMER


def test_a_strangers_forged_click_in_the_lookup_modal_is_refused_over_it_and_calls_nothing(
    build: Build, slack: FakeSlack, cap: CouponCallsStandIn, audit: AuditLines
) -> None:
    app = build(**ACTIONS_ON)
    resend = find_button(lookup_modal(app, slack)["blocks"], "Resend")  # the boss's button, clicked by another
    stranger_view = lookup_modal(app, slack, user=AGENT)
    assert "Resend" not in button_texts(stranger_view["blocks"])
    click_in_view(app, resend, view=stranger_view, user=AGENT)
    [pushed] = slack.wait_api("views.push")
    refusal = as_view(pushed)
    assert refusal["callback_id"] == VIEW_ACTION_DONE
    assert "You can't change customers' coupons with this bot." in text_of(refusal)
    wait_until_idle(app)
    assert not cap.made("/v1.1/coupon/resend") and len(slack.api_calls("views.push")) == 1
    denied = [line for line in audit.lines if line["event"] == "coupons.action_resend"]
    assert denied == [denied[0]] and denied[0]["decision"] == "denied" and denied[0]["user"] == AGENT


def test_a_form_keeps_the_modal_it_was_pushed_over_and_forms_opened_before_still_read() -> None:
    from bot.domain.view_state import ViewStateCodec

    codec = ViewStateCodec(SIGNING_SECRET)
    form = ActionForm(ActionKind.RESEND, "0" * 32, "view", parent_view=VIEW_ID)
    assert ActionForm.decode(codec, form.encode(codec)) == form
    older = codec.sign("|".join(["a1", "resend", "0" * 32, "view", "", "", ""]))  # seven fields, no modal
    assert ActionForm.decode(codec, older).parent_view is None


def test_demo_actions_change_the_demo_customer_in_memory() -> None:
    state = DemoState()
    when = datetime(2026, 12, 4, 12, tzinfo=UTC)
    assert state.is_redeemable(565032176, "H306ORH2", when)["redemptionStatus"]["code"] == 700
    assert state.is_redeemable(565032176, "W2JJUD9YRGUAPRDUR52O", when)["redemptionStatus"]["code"] == 713
    body = {"couponSeriesId": 14162, "couponCodes": [{"couponCode": "H306ORH2", "expiryDate": "2027-01-20T23:59:59Z"}]}
    assert state.extend(565032176, body, when)["entity"]["failedCount"] == 0
    [coupon] = [c for c in state.answer(565032176, CodeCase.UPPER, when)["entity"] if c["code"] == "H306ORH2"]  # type: ignore[index]
    assert coupon["validTill"] == "2027-01-20T23:59:59Z"
    issued = state.issue(565032176, 871204, when)["code"]
    assert issued in [c["code"] for c in state.answer(565032176, CodeCase.UPPER, when)["entity"]]  # type: ignore[index]


def test_incr_counts_atomically_and_keeps_its_first_expiry(redis_server: RedisServer) -> None:
    from bot.store import MemoryStore

    ticks = [0.0]
    for store in (MemoryStore(1 << 20, clock=lambda: ticks[0]), RedisStore(redis_server.url, prefix="incr-test:")):
        store.delete("n")
        counts: list[int] = []

        def count(s: Any = store, into: list[int] = counts) -> None:
            into.append(s.incr("n", 60))

        threads = [threading.Thread(target=count) for _ in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(counts) == list(range(1, 21))
        assert store.incr("n", 1) == 21 and store.get("n") == b"21"
    ticks[0] = 61.0  # the memory store's first expiry (60 s) holds, not the later call's 1 s
    assert MemoryStore(1 << 20).incr("fresh", 5) == 1
