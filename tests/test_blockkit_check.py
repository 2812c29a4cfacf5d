"""The Block Kit check itself: it fails on what Slack would reject and passes on everything the bot renders."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from blocks.errors import render_error
from blocks.help import render_usage
from blocks.home import render_home
from blocks.summary import SummaryOptions, render_summary
from bot.demo.customers import LARGE_CUSTOMER, MIXED_CUSTOMER, demo_answer
from bot.domain.coupon import CodeCase
from bot.domain.coupon_summary import CustomerCoupons, summarize
from bot.domain.errors import CapillaryUnavailable, CustomerNotFound
from bot.domain.view_state import Surface, ViewState, ViewStateCodec
from tests.conftest import NOW, full_coupons
from tests.support.blockkit import BlockKitError, assert_valid_message, assert_valid_view, buttons

Block = dict[str, Any]
CODEC = ViewStateCodec("secret")


def text(value: str = "hello", kind: str = "mrkdwn") -> dict[str, Any]:
    return {"type": kind, "text": value, "verbatim": True} if kind == "mrkdwn" else {"type": kind, "text": value}


def button(label: str = "Go", action_id: str = "go", value: str = "v") -> dict[str, Any]:
    return {"type": "button", "text": text(label, "plain_text"), "action_id": action_id, "value": value}


def good_message() -> list[Block]:
    return [
        {"type": "header", "text": text("Coupons", "plain_text")},
        {"type": "section", "text": text("*3* active"), "accessory": button("Series details", "toggle:0")},
        {"type": "context", "elements": [text("Fetched today")]},
        {"type": "divider"},
        {"type": "actions", "block_id": "footer", "elements": [button("Refresh", "refresh"), button("Share", "share")]},
    ]


def test_a_well_formed_message_passes() -> None:
    assert_valid_message(good_message())


def test_the_limits_themselves_pass() -> None:
    blocks = [{"type": "section", "text": text("x" * 3000)}]
    blocks += [{"type": "divider"} for _ in range(49)]
    assert_valid_message(blocks)
    assert_valid_message(
        [
            {
                "type": "section",
                "block_id": "b" * 255,
                "fields": [text(f"field {n}") for n in range(10)],
                "accessory": button(action_id="a" * 255, value="v" * 2000),
            }
        ]
    )


def test_a_malformed_date_token_is_not_its_concern() -> None:
    # Slack shows the fallback text for a token it cannot read; the renderer's tests check the tokens.
    assert_valid_message([{"type": "section", "text": text("valid till <!date^soon^{date_pretty}|tomorrow")}])


def _set(path: str, value: Any) -> Callable[[list[Block]], None]:
    """A change to `good_message()`: `path` like `1.accessory.text`; a value of `...` deletes the key."""

    def change(blocks: list[Block]) -> None:
        *parents, last = path.split(".")
        node: Any = blocks
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if value is ...:
            del node[last]
        elif isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return change


BROKEN: dict[str, tuple[Callable[[list[Block]], None], str]] = {
    "unknown block type": (_set("3", {"type": "coupon_card"}), "unknown block type 'coupon_card'"),
    "not a block": (_set("3", "divider"), "not a block"),
    "section text over 3000": (_set("1.text.text", "x" * 3001), "3000 characters"),
    "section without text or fields": (_set("1.text", ...), "neither text nor fields"),
    "eleven fields": (_set("1.fields", [text("f")] * 11), "more than 10"),
    "a field over 2000": (_set("1.fields", [text("f" * 2001)]), "over 2000 characters"),
    "empty text": (_set("2.elements.0.text", ""), "empty mrkdwn text"),
    "blank text": (_set("1.text.text", "  "), "empty mrkdwn text"),
    "button without text": (_set("1.accessory.text", ...), "button without a plain_text label"),
    "button with mrkdwn text": (_set("1.accessory.text", text("Go")), "plain_text label"),
    "button label over 75": (_set("1.accessory.text.text", "x" * 76), "over 75 characters"),
    "button without action_id": (_set("1.accessory.action_id", ...), "without an action_id"),
    "button value over 2000": (_set("1.accessory.value", "v" * 2001), "value"),
    "action_id over 255": (_set("1.accessory.action_id", "a" * 256), "action_id"),
    "block_id over 255": (_set("4.block_id", "b" * 256), "block_id"),
    "duplicate action_id": (_set("1.accessory.action_id", "refresh"), "action_ids must be unique"),
    "duplicate action_id in one block": (
        _set("4.elements.1.action_id", "refresh"),
        "action_ids must be unique",
    ),
    "duplicate block_id": (_set("3.block_id", "footer"), "block_ids must be unique"),
    "header in mrkdwn": (_set("0.text", text("Coupons")), "header text must be plain_text"),
    "header over 150": (_set("0.text.text", "x" * 151), "150"),
    "a field slack_sdk drops": (_set("1.colour", "red"), "1.colour: dropped by slack_sdk"),
    "a nested field slack_sdk drops": (_set("1.accessory.tooltip", "hi"), "accessory.tooltip: dropped"),
    "unknown element type": (_set("2.elements.0.type", "emoji_text"), "elements[0]"),
    "unknown text type": (_set("1.text.type", "markdown"), "became 'mrkdwn'"),
    "text as a bare string": (_set("1.text", "*3* active"), "1.text"),
    "bad button style": (_set("1.accessory.style", "blue"), "style"),
    "26 elements in actions": (
        _set("4.elements", [button(action_id=f"b{n}") for n in range(26)]),
        "26 actions elements, more than 25",
    ),
    "a link button whose url is not a URL": (_set("1.accessory.url", "coupons for 565032176"), "not an http(s) URL"),
    "a link button to another scheme": (_set("1.accessory.url", "javascript:alert(1)"), "not an http(s) URL"),
    "a link button url over 3000": (_set("1.accessory.url", "https://example.com/" + "x" * 2981), "url over 3000"),
    "a button in a context block": (
        _set("2.elements", [text("Fetched today"), button("Refresh", "again")]),
        "images and text only, not a button",
    ),
    "a select in a context block": (
        _set("2.elements", [{"type": "static_select", "action_id": "pick", "options": []}]),
        "images and text only, not a static_select",
    ),
    "eleven context elements": (_set("2.elements", [text(f"t{n}") for n in range(11)]), "11 context elements"),
}


def test_the_checks_own_limits_are_slacks() -> None:
    """Written from Slack's Block Kit reference, not taken from the renderers' blocks/limits.py."""
    from tests.support import blockkit

    assert "blocks.limits" not in blockkit.__dict__ and "blocks.limits" not in Path(blockkit.__file__).read_text()
    assert (blockkit.MAX_MESSAGE_BLOCKS, blockkit.MAX_VIEW_BLOCKS) == (50, 100)
    assert (blockkit.MAX_SECTION_TEXT, blockkit.MAX_SECTION_FIELDS, blockkit.MAX_FIELD_TEXT) == (3000, 10, 2000)
    assert (blockkit.MAX_BUTTON_TEXT, blockkit.MAX_BUTTON_VALUE, blockkit.MAX_BUTTON_URL) == (75, 2000, 3000)
    assert (blockkit.MAX_CONTEXT_ELEMENTS, blockkit.MAX_ACTIONS_ELEMENTS, blockkit.MAX_HEADER_TEXT) == (10, 25, 150)
    assert (blockkit.MAX_MODAL_TITLE, blockkit.MAX_PRIVATE_METADATA, blockkit.MAX_ID) == (24, 3000, 255)


def test_a_link_button_and_a_context_of_text_and_images_pass() -> None:
    blocks = good_message()
    blocks[1]["accessory"]["url"] = "https://example.com/coupons?customer=1"
    image = {"type": "image", "image_url": "https://example.com/logo.png", "alt_text": "logo"}
    blocks[2]["elements"] = [text("Fetched today"), text("by", "plain_text"), image, *[text(f"{n}") for n in range(7)]]
    assert_valid_message(blocks)


@pytest.mark.parametrize("name", BROKEN)
def test_broken_blocks_fail(name: str) -> None:
    change, problem = BROKEN[name]
    blocks = copy.deepcopy(good_message())
    change(blocks)
    with pytest.raises(BlockKitError) as failure:
        assert_valid_message(blocks)
    assert problem in str(failure.value), str(failure.value)


def test_message_block_count() -> None:
    with pytest.raises(BlockKitError, match="51 blocks, more than the 50"):
        assert_valid_message([{"type": "divider"}] * 51)
    with pytest.raises(BlockKitError, match="non-empty list"):
        assert_valid_message([])


def test_message_text_total() -> None:
    blocks = [{"type": "section", "text": text("x" * 2500)} for _ in range(4)]
    assert_valid_message(blocks)  # exactly 10,000
    blocks.append({"type": "context", "elements": [text("x")]})
    with pytest.raises(BlockKitError, match="10001 characters of text"):
        assert_valid_message(blocks)


def test_every_problem_is_reported_at_once() -> None:
    blocks = [*good_message(), {"type": "coupon_card"}]
    blocks[1]["text"]["text"] = "x" * 3001
    with pytest.raises(BlockKitError) as failure:
        assert_valid_message(blocks)
    assert "block 1: " in str(failure.value) and "block 5: unknown block type" in str(failure.value)


# Views


def modal(**fields: Any) -> dict[str, Any]:
    return {
        "type": "modal",
        "title": text("Coupons", "plain_text"),
        "blocks": good_message(),
        **fields,
    }


INPUT = {
    "type": "input",
    "block_id": "who",
    "label": text("Customer", "plain_text"),
    "element": {"type": "plain_text_input", "action_id": "who", "placeholder": text("p" * 150, "plain_text")},
}
SUBMIT = text("Look up", "plain_text")


def test_a_modal_with_inputs_passes_with_a_submit() -> None:
    assert_valid_view(modal(blocks=[INPUT], submit=SUBMIT))


def test_home_and_modal_views_pass() -> None:
    assert_valid_view({"type": "home", "blocks": good_message()})
    assert_valid_view({"type": "home", "blocks": [{"type": "divider"}] * 100})
    assert_valid_view(
        modal(
            title=text("t" * 24, "plain_text"),
            submit=text("s" * 24, "plain_text"),
            close=text("c" * 24, "plain_text"),
            callback_id="c" * 255,
            private_metadata="m" * 3000,
        )
    )


@pytest.mark.parametrize(
    ("view", "problem"),
    [
        ({"type": "workflow_step", "blocks": good_message()}, "expected 'home' or 'modal'"),
        ({"blocks": good_message()}, "expected 'home' or 'modal'"),
        ({"type": "home", "blocks": [{"type": "divider"}] * 101}, "101 blocks, more than the 100"),
        ({"type": "home", "blocks": []}, "non-empty list"),
        ({"type": "home", "blocks": [{"type": "coupon_card"}]}, "unknown block type"),
        ({"type": "home", "blocks": good_message(), "submit": text("Go", "plain_text")}, "Home tab cannot have"),
        ({"type": "home", "blocks": good_message(), "colour": "red"}, "view.colour: dropped by slack_sdk"),
        ({"type": "modal", "blocks": good_message()}, "a modal needs a title"),
        (modal(title=text("t" * 25, "plain_text")), "title over 24"),
        (modal(title=text("Coupons")), "title must be non-empty plain_text"),
        (modal(submit=text("s" * 25, "plain_text")), "submit over 24"),
        (modal(close=text("c" * 25, "plain_text")), "close over 24"),
        (modal(callback_id="c" * 256), "callback_id over 255"),
        (modal(private_metadata="m" * 3001), "private_metadata over 3000"),
        (modal(blocks=[*good_message(), {"type": "actions", "elements": [button(action_id="go")] * 2}]), "unique"),
        (modal(blocks=[INPUT]), "a modal with input blocks needs a submit"),
        (modal(blocks=[{**INPUT, "label": text("l" * 2001, "plain_text")}], submit=SUBMIT), "label over 2000"),
        (modal(blocks=[{**INPUT, "hint": text("h" * 2001, "plain_text")}], submit=SUBMIT), "hint over 2000"),
    ],
)
def test_broken_views_fail(view: dict[str, Any], problem: str) -> None:
    with pytest.raises(BlockKitError) as failure:
        assert_valid_view(view)
    assert problem in str(failure.value), str(failure.value)


# What the bot renders


def _summary(customer: int, view: ViewState, **options: Any) -> list[Block]:
    body = demo_answer(customer, view.case, NOW)
    assert isinstance(body, dict)
    coupons = full_coupons(body)
    summary = summarize(CustomerCoupons(customer, view.case, tuple(coupons), NOW, demo=True), NOW)
    return render_summary(summary, view, SummaryOptions(**options)).blocks


def rendered_messages() -> dict[str, list[Block]]:
    every_series = tuple(
        c["series"]["id"]
        for c in demo_answer(MIXED_CUSTOMER, CodeCase.UPPER, NOW)["entity"]  # type: ignore[index]
    )
    mixed = ViewState(MIXED_CUSTOMER, CodeCase.UPPER)
    large = ViewState(LARGE_CUSTOMER, CodeCase.LOWER)
    return {
        "summary": _summary(MIXED_CUSTOMER, mixed, encode=CODEC.encode),
        "every series open": _summary(
            MIXED_CUSTOMER, ViewState(MIXED_CUSTOMER, CodeCase.UPPER, expanded=every_series), encode=CODEC.encode
        ),
        "in a DM": _summary(
            MIXED_CUSTOMER, ViewState(MIXED_CUSTOMER, CodeCase.UPPER, surface=Surface.MESSAGE), encode=CODEC.encode
        ),
        "shared": _summary(MIXED_CUSTOMER, mixed, shared_by="U0AGENT1"),
        "400 coupons": _summary(LARGE_CUSTOMER, large, encode=CODEC.encode),
        "400 coupons, a middle page": _summary(
            LARGE_CUSTOMER, ViewState(LARGE_CUSTOMER, CodeCase.LOWER, offsets=(50, 50, 50, 50)), encode=CODEC.encode
        ),
        "usage": render_usage().blocks,
        "usage after a mistake": render_usage("`12abc` is not a customer ID").blocks,
        "not found": render_error(CustomerNotFound("no"), customer_id=404, contact="#support").blocks,
        "try again": render_error(
            CapillaryUnavailable("down"), customer_id=1, contact="#support", retry_value="v", demo=True
        ).blocks,
    }


@pytest.mark.parametrize("name", rendered_messages())
def test_what_the_bot_renders_passes(name: str) -> None:
    blocks = rendered_messages()[name]
    assert_valid_message(blocks)
    json.dumps(blocks)  # and it is plain JSON


def test_the_rendered_summary_really_has_what_the_check_looks_at() -> None:
    # The check has something to find: buttons in accessories and in actions blocks, block_ids, every block kind.
    blocks = rendered_messages()["every series open"]
    assert {b["type"] for b in blocks} == {"header", "section", "context", "actions"}
    assert len(buttons(blocks)) == len({b["action_id"] for b in buttons(blocks)}) > 2
    assert any("accessory" in b for b in blocks) and any("block_id" in b for b in blocks)


@pytest.mark.parametrize("allowed", [True, False])
@pytest.mark.parametrize("demo", [True, False])
def test_the_home_tab_passes(allowed: bool, demo: bool) -> None:
    view = render_home(connection="https://eu.api.capillarytech.com/", allowed=allowed, demo=demo, contact="#support")
    assert_valid_view(view)
