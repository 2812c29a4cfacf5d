"""The shortcuts and the lookup modal, end to end: signed payloads in, Web API calls out, every view checked."""

from __future__ import annotations

import json
from typing import Any

import pytest

from blocks.modal import render_lookup_form
from bot.demo.customers import LARGE_CUSTOMER, demo_answer
from bot.domain.action_ids import (
    BLOCK_CASE,
    BLOCK_CODE,
    BLOCK_WHO,
    INPUT_CASE,
    INPUT_CODE,
    INPUT_WHO,
    SHORTCUT_FROM_MESSAGE,
    SHORTCUT_LOOKUP,
)
from bot.domain.coupon import CodeCase
from tests.conftest import NOW, AuditLines, CapillaryStandIn, coupon_json, envelope
from tests.support.blockkit import (
    all_texts,
    assert_valid_message,
    assert_valid_view,
    button_texts,
    buttons,
    find_button,
)
from tests.support.loopback import Reply
from tests.support.slack import (
    VIEW_ID,
    FakeSlack,
    click_button,
    click_in_view,
    message_shortcut_payload,
    send_command,
    send_payload,
    shortcut_payload,
    view_submission_payload,
    wait_until_idle,
)

CUSTOMER = 565032176
STRANGER = "U0STRANGER"


def sent_view(call: dict[str, Any]) -> dict[str, Any]:
    view = call["view"]
    view = json.loads(view) if isinstance(view, str) else view
    assert_valid_view(view)
    return view


def texts(view_or_message: dict[str, Any]) -> str:
    blocks = view_or_message["blocks"]
    return "\n".join(all_texts(json.loads(blocks) if isinstance(blocks, str) else blocks))


def form_values(who: str, code: str = "", case: str = "UPPER") -> dict[str, Any]:
    option = {"text": {"type": "plain_text", "text": case}, "value": case}
    return {
        BLOCK_WHO: {INPUT_WHO: {"type": "plain_text_input", "value": who}},
        BLOCK_CODE: {INPUT_CODE: {"type": "plain_text_input", "value": code or None}},
        BLOCK_CASE: {INPUT_CASE: {"type": "static_select", "selected_option": option}},
    }


def open_form(app: Any, slack: FakeSlack) -> dict[str, Any]:
    payload = shortcut_payload(SHORTCUT_LOOKUP)
    assert send_payload(app, payload).status == 200
    [opened] = slack.wait_api("views.open")
    assert opened["trigger_id"] == payload["trigger_id"]
    return sent_view(opened)


def submit(app: Any, form: dict[str, Any], who: str, code: str = "", case: str = "UPPER") -> dict[str, Any]:
    """Submit the form; the ack's JSON body (what Slack does with the modal at once)."""
    response = send_payload(app, view_submission_payload(form, form_values(who, code, case)))
    assert response.status == 200
    ack = json.loads(response.body)
    if ack.get("response_action") == "update":
        assert_valid_view(ack["view"])
    return ack


def answer_in_modal(app: Any, slack: FakeSlack, who: str = str(CUSTOMER), **form: str) -> dict[str, Any]:
    ack = submit(app, open_form(app, slack), who, **form)
    assert ack["response_action"] == "update" and "Looking up " in texts(ack["view"])
    [update] = slack.wait_api("views.update")
    assert update["view_id"] == VIEW_ID and "hash" not in update  # the form's hash is gone once it was replaced
    return sent_view(update)


def test_the_global_shortcut_opens_the_form(make_app: Any, slack: FakeSlack, audit: AuditLines) -> None:
    app, _ = make_app()
    form = open_form(app, slack)
    assert [block.get("block_id") for block in form["blocks"]] == [BLOCK_WHO, BLOCK_CODE, BLOCK_CASE]
    assert form["submit"]["text"] == "Look up"
    assert [(line["event"], line["outcome"]) for line in audit.lines] == [("coupons.shortcut", "form_opened")]


def test_a_valid_submission_puts_the_answer_in_the_modal(
    make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn, audit: AuditLines
) -> None:
    app, _ = make_app()
    answer = answer_in_modal(app, slack, case="LOWER")
    assert answer["title"]["text"] == "Coupons" and "submit" not in answer
    assert f"Coupons · customer {CUSTOMER}" in texts(answer) and "`tt6wzp7xnw`" in texts(answer)
    labels = button_texts(answer["blocks"])
    assert "Send to me" in labels and "Refresh" in labels and "Share with channel" not in labels
    assert capillary.coupon_calls()[0].query["coupon_code_case"] == ["LOWER"]
    [lookup] = [line for line in audit.lines if line["event"] == "coupons.modal"]
    assert (lookup["outcome"], lookup["customer_id"], lookup["case"]) == ("ok", CUSTOMER, "LOWER")


@pytest.mark.parametrize(
    ("who", "code", "field", "words"),
    [
        ("12abc", "", BLOCK_WHO, "is not a customer ID"),
        ("help", "", BLOCK_WHO, "Type the customer"),
        ("565032176 extra words", "", BLOCK_WHO, "nothing more"),
        ("565032176", "WEL.COME", BLOCK_CODE, "letters, digits"),
        ("565032176", "X" * 41, BLOCK_CODE, "at most 40"),
    ],
)
def test_invalid_input_is_shown_in_the_form_without_calling_capillary(
    make_app: Any,
    slack: FakeSlack,
    capillary: CapillaryStandIn,
    audit: AuditLines,
    who: str,
    code: str,
    field: str,
    words: str,
) -> None:
    app, _ = make_app()
    ack = submit(app, open_form(app, slack), who, code)
    assert ack["response_action"] == "errors"
    assert list(ack["errors"]) == [field] and words in ack["errors"][field]
    wait_until_idle(app)
    assert capillary.coupon_calls() == [] and slack.api_calls("views.update") == []
    assert audit.lines[-1]["event"] == "coupons.modal" and audit.lines[-1]["outcome"] == "invalid_input"


def test_buttons_in_the_modal_redraw_the_modal(make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn) -> None:
    app, _ = make_app()
    answer = answer_in_modal(app, slack)
    assert (
        click_in_view(app, find_button(answer["blocks"], "Series details"), view=answer, view_hash="h7").status == 200
    )
    [_, update] = slack.wait_api("views.update", count=2)
    assert update["view_id"] == VIEW_ID and update["hash"] == "h7"  # an older click can't overwrite a newer answer
    opened = sent_view(update)
    assert "Hide details" in button_texts(opened["blocks"]) and ":mag:" in texts(opened)
    click_in_view(app, find_button(opened["blocks"], "Refresh"), view=opened, view_hash="h8")
    refreshed = sent_view(slack.wait_api("views.update", count=3)[2])
    assert "Hide details" in button_texts(refreshed["blocks"])
    wait_until_idle(app)
    assert len(capillary.coupon_calls()) == 2  # Refresh skipped the cache; the toggle did not call Capillary
    assert slack.api_calls("chat.postEphemeral") == [] and slack.api_calls("chat.postMessage") == []


def test_send_to_me_posts_the_answer_in_the_dm_with_the_bot(
    make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn, audit: AuditLines
) -> None:
    app, _ = make_app()
    answer = answer_in_modal(app, slack, code="tt6wzp7xnw")
    click_in_view(app, find_button(answer["blocks"], "Send to me"), view=answer)
    [posted] = slack.wait_api("chat.postMessage")
    assert posted["channel"] == "U0AGENT1"
    blocks = json.loads(posted["blocks"]) if isinstance(posted["blocks"], str) else posted["blocks"]
    assert_valid_message(blocks)
    labels = button_texts(blocks)
    assert "Refresh" in labels and "Send to me" not in labels and "Share with channel" not in labels
    assert ":dart: *Coupon `tt6wzp7xnw`*" in texts(posted)  # the focus came along (the code as Capillary sent it)
    assert [line["event"] for line in audit.lines][-1] == "coupons.send_to_me"


def test_the_message_shortcut_prefills_the_form_and_never_logs_the_message(
    make_app: Any, slack: FakeSlack, audit: AuditLines, caplog: pytest.LogCaptureFixture
) -> None:
    app, _ = make_app()
    text = "Hi, customer <mailto:priya@example.com|priya@example.com> (id 565032176) says code WELCOME10 fails"
    send_payload(app, message_shortcut_payload(SHORTCUT_FROM_MESSAGE, text, response_url=slack.response_url()))
    form = sent_view(slack.wait_api("views.open")[0])
    initial = {b["block_id"]: b["element"].get("initial_value") for b in form["blocks"] if b["type"] == "input"}
    assert initial[BLOCK_WHO] == "priya@example.com" and initial[BLOCK_CODE] == "WELCOME10"
    send_payload(app, message_shortcut_payload(SHORTCUT_FROM_MESSAGE, "can you check this one?", response_url="x"))
    empty = sent_view(slack.wait_api("views.open", count=2)[1])
    assert "No customer ID, mobile number, email" in texts(empty)
    assert not any(b["element"].get("initial_value") for b in empty["blocks"] if b["type"] == "input")
    wait_until_idle(app)
    logged = "\n".join(audit.raw) + caplog.text
    assert "priya" not in logged and "WELCOME10" not in logged and "check this" not in logged
    assert [line["outcome"] for line in audit.lines] == ["form_opened", "nothing_found"]


def test_the_prefilled_form_submits_like_typed_input(make_app: Any, slack: FakeSlack) -> None:
    app, _ = make_app()
    text = "customer 565032176 says code tt6wzp7xnw is refused"
    send_payload(app, message_shortcut_payload(SHORTCUT_FROM_MESSAGE, text, response_url=slack.response_url()))
    form = sent_view(slack.wait_api("views.open")[0])
    initial = {b["block_id"]: b["element"].get("initial_value") or "" for b in form["blocks"] if b["type"] == "input"}
    assert submit(app, form, initial[BLOCK_WHO], initial[BLOCK_CODE])["response_action"] == "update"
    answer = sent_view(slack.wait_api("views.update")[0])
    assert ":dart: *Coupon `tt6wzp7xnw`*" in texts(answer)


def test_a_present_code_is_shown_on_top_in_full(make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn) -> None:
    redeemed = coupon_json(
        code="WELCOME10",
        validTill="2026-12-31T23:59:59Z",
        issuedOn="2026-10-01T09:00:00Z",
        issuedAt={"id": 7, "name": "Koramangala"},
        redemptionsLeft=3,
        redemptionInfo=[
            {
                "id": 1,
                "dateISO": "2026-11-20T10:15:00Z",
                "transactionNumber": "TXN-778",
                "redeemedAt": {"name": "MG Road"},
            },
            {
                "id": 2,
                "dateISO": "2026-11-22T18:40:00Z",
                "transactionNumber": "TXN-901",
                "redeemedAt": {"name": "Indiranagar"},
            },
        ],
    )
    capillary.answers[930000001] = Reply(body=envelope([coupon_json(code="OTHER1"), redeemed]))
    app, _ = make_app()
    answer = answer_in_modal(app, slack, who="930000001", code="welcome10")
    top = texts({"blocks": answer["blocks"][1:3]})  # right under the header: the coupon, then its series' terms
    assert ":dart: *Coupon `WELCOME10`*" in top and "Active" in top and "used 2×, 3 left" in top
    assert "*Valid* from" in top and "*Redemptions* (2)" in top
    assert "· issued Thu 1 Oct 2026 at Koramangala" in top  # read for the coupon in focus only
    assert "at MG Road · transaction TXN-778" in top and "at Indiranagar · transaction TXN-901" in top
    assert "<!date^1795169700^{date_short_pretty} at {time}|2026-11-20 10:15 UTC>" in top  # date and time, each
    assert ":mag:" in top and "*Terms:*" in top  # viewer's own time zone; the series' terms already open
    assert "*1* active" in texts(answer) and "`OTHER1`" in texts(answer)  # and the usual summary below


def test_an_absent_code_says_so_and_how_many_were_checked(
    make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn
) -> None:
    app, _ = make_app()
    send_command(app, "565032176 code:WELCOME10 lower", response_url=slack.response_url("c"))
    [message] = slack.wait_responses(1, name="c")
    assert_valid_message(message["blocks"])
    assert "Customer 565032176 has no coupon WELCOME10 (checked 7 coupons)" in message["text"]
    assert "Customer 565032176 has no coupon WELCOME10 (checked 7 coupons)." in texts(message)
    assert "*7* expired" in texts(message) and "`tt6wzp7xnw`" in texts(message)  # the summary still follows


def test_the_focus_survives_button_clicks(make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn) -> None:
    app, _ = make_app()
    send_command(app, "565032176 CODE:Tt6wZp7xNw lower", response_url=slack.response_url("c"))
    [message] = slack.wait_responses(1, name="c")
    assert ":dart: *Coupon `tt6wzp7xnw`*" in texts(message)
    for label in ("Refresh", "Series details"):
        name = label.split()[0].lower()
        click_button(app, find_button(message["blocks"], label), response_url=slack.response_url(name))
        [again] = slack.wait_responses(1, name=name)
        assert_valid_message(again["blocks"])
        assert ":dart: *Coupon `tt6wzp7xnw`*" in texts(again)
        assert "· issued Fri 11 Oct 2024 at MarvelAuto_Store" in texts(again)  # cached bytes read with the issuance
        assert max(len(b["value"]) for b in buttons(again["blocks"])) <= 2000


def test_refused_people_get_the_refusal_where_they_asked(
    make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn, audit: AuditLines
) -> None:
    app, _ = make_app(COUPONS_ALLOWED_USER_IDS="U0AGENT1", COUPONS_SUPPORT_CONTACT="#support-tools")
    send_payload(app, shortcut_payload(SHORTCUT_LOOKUP, user=STRANGER))
    refusal = sent_view(slack.wait_api("views.open")[0])
    assert "Ask #support-tools for access" in texts(refusal)
    response = send_payload(app, view_submission_payload(render_lookup_form(), form_values("565032176"), user=STRANGER))
    ack = json.loads(response.body)
    assert ack["response_action"] == "update" and "Ask #support-tools for access" in texts(ack["view"])
    assert_valid_view(ack["view"])
    wait_until_idle(app)
    assert capillary.coupon_calls() == []
    denied = [(line["event"], line["decision"]) for line in audit.lines]
    assert denied == [("coupons.shortcut", "denied"), ("coupons.view_submission", "denied")]


def test_a_channel_list_does_not_shut_out_the_global_shortcut(
    make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn
) -> None:
    app, _ = make_app(COUPONS_ALLOWED_CHANNEL_IDS="C0OK")
    answer = answer_in_modal(app, slack)  # no channel: private, like a DM
    assert "Coupons · customer 565032176" in texts(answer)
    send_payload(app, message_shortcut_payload(SHORTCUT_FROM_MESSAGE, "565032176", response_url=slack.response_url()))
    refusal = sent_view(slack.wait_api("views.open", count=2)[1])
    assert "can't look up" in texts(refusal)  # a message in a channel that isn't listed


def test_a_replayed_submission_is_answered_once(make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn) -> None:
    app, _ = make_app()
    form = open_form(app, slack)
    payload = view_submission_payload(form, form_values("565032176"))
    first, replay = send_payload(app, payload), send_payload(app, payload)
    assert json.loads(first.body)["response_action"] == "update" and replay.body == ""
    wait_until_idle(app)
    assert len(slack.api_calls("views.update")) == 1 and len(capillary.coupon_calls()) == 1


def test_the_window_holds_more_than_a_message(make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn) -> None:
    body = json.dumps(demo_answer(LARGE_CUSTOMER, CodeCase.LOWER, NOW)).encode()
    capillary.answers[LARGE_CUSTOMER] = Reply(body=body, headers={"Content-Type": "application/json"})
    app, _ = make_app(COUPONS_PAGE_SIZE="10")
    answer = answer_in_modal(app, slack, who=str(LARGE_CUSTOMER))
    assert 50 < len(answer["blocks"]) <= 100  # ten a group: more than a message may hold
    click_in_view(app, find_button(answer["blocks"], "Send to me"), view=answer)
    [posted] = slack.wait_api("chat.postMessage")
    blocks = json.loads(posted["blocks"]) if isinstance(posted["blocks"], str) else posted["blocks"]
    assert_valid_message(blocks)  # the DM copy is fitted to a message again
    assert len(blocks) <= 50


def test_the_form_takes_a_mobile_number_as_slash_coupons_does(
    make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn, audit: AuditLines
) -> None:
    from tests.conftest import customer_json

    capillary.lookups[("mobile", "919900000001")] = Reply(body=customer_json(CUSTOMER))
    app, _ = make_app()
    ack = submit(app, open_form(app, slack), "+91 99000 00001", case="LOWER")
    assert "Looking up the customer by mobile" in texts(ack["view"]) and "9900000001" not in json.dumps(ack)
    [update] = slack.wait_api("views.update")
    answer = sent_view(update)
    assert "`tt6wzp7xnw`" in texts(answer) and "••••••••0001" in texts(answer)
    assert "9900000001" not in json.dumps(answer)
    modal_line = [line for line in audit.lines if line["event"] == "coupons.modal"][-1]
    assert modal_line["identifier_kind"] == "mobile" and modal_line["customer_id"] == CUSTOMER
