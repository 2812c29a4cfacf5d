"""Issue 25: what an agent reads says nothing odd, nothing twice and nothing the data contradicts."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.__main__ import main
from bot.demo.customers import MIXED_CUSTOMER
from bot.domain.coupon import CodeCase
from bot.domain.view_state import ViewState
from tests.conftest import make_coupon
from tests.support.blockkit import all_texts
from tests.test_preview import NO_CAPILLARY
from tests.test_render_summary import render, stamp


def test_no_coupons_says_nothing_about_coupons_below() -> None:
    texts = " ".join(all_texts(render([], profile_unreadable=True).blocks))
    assert "This customer has no coupons." in texts and "couldn't be read" in texts
    assert "complete" not in texts
    with_coupons = " ".join(all_texts(render([make_coupon(id=1, code="a1")], profile_unreadable=True).blocks))
    assert "the coupons below are complete" in with_coupons


def test_amounts_without_a_currency_are_explained_once() -> None:
    coupons = [make_coupon(id=n, code=f"a{n}", couponDiscountType="ABS", discountValue=10) for n in (1, 2)]
    texts = all_texts(render(coupons).blocks)
    assert sum("amounts in the store's currency" in t for t in texts) == 1
    assert not any("store's currency" in t for t in all_texts(render(coupons, currency="₹").blocks))


def test_the_focus_card_has_no_empty_phrases_and_heads_the_redemptions_with_their_count() -> None:
    coupon = make_coupon(
        id=1,
        code="act1",
        validTill=stamp(3),
        activeFrom=stamp(-3),
        redemptionsLeft=None,
        isRedeemed=True,
        redemptionInfo=[{"dateISO": stamp(-1)}, {"dateISO": stamp(-2)}],
    )
    blocks = render([coupon], view=ViewState(565032176, CodeCase.LOWER, focus="act1")).blocks
    card, details = all_texts(blocks[1:2]), " ".join(all_texts(blocks[2:3]))
    assert "uses not given" not in " ".join(card)
    assert not any(line.startswith("*Redemptions* (") for t in card for line in t.splitlines())
    assert "*Redemptions* (2):\n• " in details


def test_demo_series_claim_nothing_their_coupons_contradict(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in NO_CAPILLARY:
        monkeypatch.delenv(name, raising=False)
    for code in ("tt6wzp7xnw", "er07bcj8"):
        assert main(["preview", str(MIXED_CUSTOMER), "lower", f"code:{code}"]) == 0
        out = capsys.readouterr().out
        assert "0 redeemed" not in out and "30 days after issue" not in out


def test_the_message_shortcut_names_every_identifier_kind() -> None:
    manifest = yaml.safe_load((Path(__file__).resolve().parent.parent / "manifest.yml").read_text())
    [shortcut] = [s for s in manifest["features"]["shortcuts"] if s["callback_id"] == "coupons_from_message"]
    for kind in ("ID", "mobile", "email", "card", "external ID"):
        assert kind in shortcut["description"]
