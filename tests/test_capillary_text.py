"""Capillary's words in a message (issue 25): invisible controls never reach Slack, and a series or store name
never changes the formatting of what follows it."""

from __future__ import annotations

import re

from blocks.help import render_usage
from blocks.mrkdwn import code
from blocks.summary import SummaryOptions, coupon_text, render_summary
from bot.domain.coupon import CodeCase
from bot.domain.coupon_state import CouponState
from bot.domain.coupon_summary import CustomerCoupons, summarize
from bot.domain.customer import CustomerCard
from bot.domain.view_state import ViewState, ViewStateCodec
from tests.conftest import NOW, make_coupon
from tests.support.blockkit import all_texts, assert_valid_message

# Right-to-left override and isolate, left-to-right mark, zero-width space, word joiner, byte order mark.
INVISIBLE = "\u202e\u2067\u200e\u200b\u2060\ufeff"
HIDDEN_CHARACTER = re.compile("[\u061c\u200b\u200e\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
# What Slack could read as formatting: `*`, `~` and backticks anywhere, `_` at a word's edge.
FORMATTING = re.compile(r"[*~`]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
HOSTILE_NAME = "*Flat 50%* off ~today~ `only` _online_"
INERT_NAME = "∗Flat 50%∗ off ∼today∼ ˋonlyˋ ˍonlineˍ"  # the look-alikes shown instead


def redeemed_at(store: str, series_name: str) -> str:
    coupon = make_coupon(
        seriesName=series_name,
        isRedeemed=True,
        redemptionsLeft=0,
        redemptionInfo=[{"dateISO": "2026-11-20T10:15:00Z", "redeemedAt": {"name": store}, "transactionNumber": 7}],
    )
    return coupon_text(coupon, CouponState.REDEEMED)


def test_invisible_controls_in_capillary_data_never_reach_slack() -> None:
    coupon = make_coupon(
        code=f"ab{INVISIBLE}12",
        seriesName=f"{INVISIBLE}Diwali{INVISIBLE} sale",
        isRedeemed=True,
        redemptionsLeft=0,
        redemptionInfo=[{"dateISO": "2026-11-20T10:15:00Z", "redeemedAt": {"name": f"MG{INVISIBLE} Road\u202e"}}],
    )
    summary = summarize(CustomerCoupons(565032176, CodeCase.AS_IT_IS, (coupon,), NOW), NOW)
    card = CustomerCard(565032176, name="Asha\u202e elpmaxE", tier=f"Gold{INVISIBLE}")
    options = SummaryOptions(encode=ViewStateCodec("secret").encode, customer=card)
    view = ViewState(565032176, CodeCase.AS_IT_IS, expanded=(coupon.id,), focus="ab12")
    message = render_summary(summary, view, options)
    assert_valid_message(message.blocks)
    shown = all_texts(message.blocks)
    assert not [text for text in [*shown, message.text] if HIDDEN_CHARACTER.search(text)]
    joined = " ".join(shown)
    assert ":dart: *Coupon `ab12`*" in joined and "*Diwali sale*" in joined and "at MG Road" in joined
    assert "Coupons · Asha elpmaxE" in joined and "*Gold* tier" in joined


def test_joiners_that_draw_a_word_are_kept() -> None:
    name = "क्\u200dष offer 👩\u200d💻"  # a zero-width joiner inside a Devanagari conjunct and an emoji sequence
    assert f"*{name}*" in coupon_text(make_coupon(seriesName=name), CouponState.ACTIVE)


def test_formatting_characters_in_a_series_name_are_inert() -> None:
    plain = coupon_text(make_coupon(seriesName="NAME"), CouponState.ACTIVE)
    hostile = coupon_text(make_coupon(seriesName=HOSTILE_NAME), CouponState.ACTIVE)
    assert hostile == plain.replace("NAME", INERT_NAME)
    assert FORMATTING.findall(hostile) == FORMATTING.findall(plain)  # only the renderer's own marks


def test_formatting_characters_in_a_store_name_are_inert() -> None:
    plain = redeemed_at("STORE", "NAME")
    for store in ("_Main_ Store", "Main Store*", "~Outlet", "`", "Store_ 9"):
        hostile = redeemed_at(store, "NAME")
        assert FORMATTING.findall(hostile) == FORMATTING.findall(plain), hostile


def test_an_underscore_inside_a_word_or_a_code_is_kept() -> None:
    text = redeemed_at("MarvelAuto_Store", "test_lekhana")
    assert "*test_lekhana*" in text and "at MarvelAuto_Store" in text
    assert code("_WELCOME_10_") == "`_WELCOME_10_`"


def test_the_bots_own_messages_keep_their_formatting() -> None:
    [problem, *_] = render_usage("Give the card number after `card:`, e.g. `card:EXMPL0000000000001`.").blocks
    assert problem["text"]["text"] == ":warning: Give the card number after `card:`, e.g. `card:EXMPL0000000000001`."
