"""Text as Slack really sends it (issue 25): one cleaning (`plain_text`) for every entry point — the slash
command, a DM or mention (tests/test_events.py), the message shortcut and the lookup modal."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from blocks.modal import render_lookup_form
from bot.command_text import Lookup
from bot.domain.action_ids import BLOCK_CODE, BLOCK_WHO, SHORTCUT_FROM_MESSAGE
from bot.domain.coupon import CodeCase
from bot.domain.customer import Identifier, IdentifierKind
from bot.lookup_form import FormInput, read_form
from bot.slack_text import message_text, plain_text
from tests.conftest import CapillaryStandIn
from tests.support.blockkit import all_texts, assert_valid_message
from tests.support.slack import (
    BOT_USER,
    FakeSlack,
    message_shortcut_payload,
    send_command,
    send_payload,
    view_submission_payload,
)
from tests.test_events import rich_text
from tests.test_shortcuts import form_values, sent_view, texts


@pytest.mark.parametrize(
    ("sent", "typed"),
    [
        ("<mailto:asha@example.com|asha@example.com>", "asha@example.com"),
        ("<tel:+919900001001|+91 99000 01001>", "+919900001001"),
        (
            "see <https://crm.example/c/1|the ticket> and <https://crm.example/c/2>",
            "see the ticket and https://crm.example/c/2",
        ),
        ("<@U0AGENT2>: 565032176, <#C0SUPPORT|support>", "  565032176  "),  # `:` after a mention is the mention's
        ("<!here> 565032176", "@here 565032176"),
        ("AT&amp;T &lt;b&gt; &amp;lt;", "AT&T <b> &lt"),
        ("565032176\u00a0\u2003lower\nnext line", "565032176  lower\nnext line"),
        ("5650\u200b32176\u200e \u202eREWOL\u202c", "565032176 REWOL"),
        ("code:“WELCOME10”, O’Brien’s «565032176»…", "code:WELCOME10 O’Brien’s 565032176"),
        ("```565032176```", "565032176"),
        ("", ""),
    ],
)
def test_plain_text(sent: str, typed: str) -> None:
    assert plain_text(sent) == typed


def test_a_message_without_text_is_read_from_its_rich_text_blocks() -> None:
    blocks = rich_text(
        {"type": "user", "user_id": BOT_USER},
        {"type": "text", "text": " look up "},
        {"type": "link", "url": "mailto:asha@example.com", "text": "asha@example.com"},
        {"type": "text", "text": " & <b>", "style": {"bold": True}},
        {"type": "emoji", "name": "pray"},
    )
    blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "not a person's words"}})
    sent = message_text({"type": "message", "text": "", "blocks": blocks})
    assert sent == f"<@{BOT_USER}> look up <mailto:asha@example.com|asha@example.com> &amp; &lt;b&gt;:pray:"
    assert plain_text(sent) == "  look up asha@example.com & <b>:pray:"
    assert message_text({"text": "565032176", "blocks": blocks}) == "565032176"  # text, when there is one


def test_a_list_and_a_quote_are_lines() -> None:
    section = {"type": "rich_text_section", "elements": [{"type": "text", "text": "565032176"}]}
    block = {
        "type": "rich_text",
        "elements": [
            {"type": "rich_text_list", "style": "bullet", "elements": [section, section]},
            {"type": "rich_text_quote", "elements": [{"type": "text", "text": "lower"}]},
        ],
    }
    assert message_text({"blocks": [block]}) == "565032176\n565032176\nlower"


def test_a_slash_command_with_escaping_on_reads_a_linked_email(
    make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn
) -> None:
    app, _ = make_app(COUPONS_DEMO="1")
    send_command(app, "<mailto:asha@example.com|asha@example.com>\u00a0lower.", response_url=slack.response_url())
    [answer] = slack.wait_responses(1)
    assert_valid_message(answer["blocks"])
    shown = " ".join(all_texts(answer["blocks"]))
    assert "Coupons · Asha Example" in shown and "codes in lower case" in shown


def test_a_slash_command_with_a_quoted_code_pasted_from_elsewhere(
    make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn
) -> None:
    app, _ = make_app()
    typed = "\u200b565032176\u00a0code:“tt6wzp7xnw”."
    send_command(app, typed, response_url=slack.response_url())
    [answer] = slack.wait_responses(1)
    assert ":dart: *Coupon `tt6wzp7xnw`*" in " ".join(all_texts(answer["blocks"]))


def test_the_lookup_modal_reads_pasted_text_as_slash_coupons_does(make_app: Any, slack: FakeSlack) -> None:
    app, _ = make_app()
    who, code = "\u2068+91\u00a099000\u00a001001\u2069.", " “WELCOME10” "
    response = send_payload(app, view_submission_payload(render_lookup_form(), form_values(who, code)))
    assert json.loads(response.body)["response_action"] == "update"  # accepted, not an error under a field
    mobile = Identifier(IdentifierKind.MOBILE, "919900001001")
    assert read_form(FormInput(who, code)).lookup == Lookup(mobile, CodeCase.UPPER, "WELCOME10")
    slack.wait_api("views.update")  # the lookup's answer (here: no such customer) replaces the form


def test_a_code_field_of_invisible_characters_only_is_empty() -> None:
    assert read_form(FormInput("565032176", "\u200b\u00a0")).lookup == Lookup(565032176, CodeCase.UPPER)


def test_the_message_shortcut_finds_an_id_with_invisible_characters_in_it(make_app: Any, slack: FakeSlack) -> None:
    app, _ = make_app()
    text = "customer 5650\u200b32176 says code\u00a0“WELCOME10” fails"
    send_payload(app, message_shortcut_payload(SHORTCUT_FROM_MESSAGE, text, response_url=slack.response_url()))
    form = sent_view(slack.wait_api("views.open")[0])
    initial = {b["block_id"]: b["element"].get("initial_value") for b in form["blocks"] if b["type"] == "input"}
    assert initial[BLOCK_WHO] == "565032176" and initial[BLOCK_CODE] == "WELCOME10"
    assert "No customer ID" not in texts(form)


@pytest.mark.parametrize("run", [".", "”", "”.", "'", "<a|", " ."])
def test_a_long_run_of_one_character_is_cleaned_in_linear_time(run: str) -> None:
    """A DM may hold 40,000 characters: a pattern that backtracks over a run of them would take seconds."""
    started = time.perf_counter()
    plain_text(run * (40_000 // len(run)) + "x")
    assert time.perf_counter() - started < 1.0
