from __future__ import annotations

import re
from datetime import timedelta

import pytest

from blocks.errors import render_error
from blocks.limits import MAX_MESSAGE_TEXT, text_length
from blocks.mrkdwn import escape
from blocks.summary import SummaryOptions, render_summary
from bot.domain import errors as domain_errors
from bot.domain.coupon import CodeCase
from bot.domain.coupon_state import CouponState
from bot.domain.coupon_summary import CustomerCoupons, summarize
from bot.domain.customer import Identifier, IdentifierKind
from bot.domain.errors import (
    ActionLimitReached,
    CapillaryAuthError,
    CapillaryBadResponse,
    CapillaryForbidden,
    CapillaryHeldBack,
    CapillaryReportedError,
    CapillaryUnavailable,
    CouponsBotError,
    CustomerNotFound,
    InvalidCommand,
    InvalidCustomerId,
    InvalidViewState,
)
from bot.domain.view_state import Surface, ViewState, ViewStateCodec
from tests.conftest import NOW, coupon_json, full_coupons, make_coupon, sample_bytes
from tests.support.blockkit import CONTROL_SEQUENCE, all_texts, assert_valid_message, button_texts, find_button

CODEC = ViewStateCodec("secret")


def render(coupons: list, *, view: ViewState | None = None, case: CodeCase = CodeCase.LOWER, **options: object):
    summary = summarize(CustomerCoupons(565032176, case, tuple(coupons), NOW), NOW)
    view = view or ViewState(565032176, case)
    opts = SummaryOptions(encode=CODEC.encode, **options)  # type: ignore[arg-type]
    return render_summary(summary, view, opts)


def stamp(days: float) -> str:
    return (NOW + timedelta(days=days)).isoformat()


def mixed() -> list:
    return [
        make_coupon(
            id=1,
            code="act1",
            validTill=stamp(3),
            activeFrom=stamp(-3),
            redemptionsLeft=3,
            isRedeemed=True,
            redemptionInfo=[{"dateISO": stamp(-1)}, {"dateISO": stamp(-2)}],
        ),
        make_coupon(
            id=2,
            code="up1",
            activeFrom=stamp(2),
            validTill=stamp(30),
            couponDiscountType="PERC",
            discountValue=15,
            discountValueAsDouble=15,
            discountUpto=500,
        ),
        make_coupon(
            id=3,
            code="red1",
            isRedeemed=True,
            redemptionsLeft=0,
            redemptionInfo=[{"dateISO": "2026-11-20T10:00:00Z", "redeemedAt": {"name": "DocStore"}}],
        ),
        make_coupon(id=4, code="exp1", validTill="2026-10-31T23:59:59Z"),
    ]


def test_expected_output_for_each_group() -> None:
    message = render(mixed())
    assert_valid_message(message.blocks)
    assert message.text == "Coupons for customer 565032176: 1 active · 1 upcoming · 1 redeemed · 1 expired"
    texts = [b.get("text", {}).get("text", "") for b in message.blocks]
    assert message.blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Coupons · customer 565032176", "emoji": True},
    }
    assert texts[1] == "*1* active · *1* upcoming · *1* redeemed · *1* expired"
    active = next(t for t in texts if t.startswith("`act1`"))
    assert active == ("`act1` · *test-lekhana-2*\n10 off · valid till Sat 28 Nov 2026 · used 2×, 3 left")
    upcoming = next(t for t in texts if t.startswith("`up1`"))
    assert "15% off, up to 500" in upcoming and "starts Fri 27 Nov 2026" in upcoming
    redeemed = next(t for t in texts if t.startswith("`red1`"))
    assert "redeemed <!date^1795168800^{date_short_pretty} at {time}|2026-11-20 10:00 UTC> at DocStore" in redeemed
    expired = next(t for t in texts if t.startswith("`exp1`"))
    assert "expired Sat 31 Oct 2026" in expired and "left" not in expired
    # groups in order, each introduced by its title
    titles = [t.split(" · ")[0] for t in texts if t.startswith(":")]
    assert titles == [
        ":large_green_circle: *Active*",
        ":hourglass_flowing_sand: *Upcoming*",
        ":white_check_mark: *Redeemed*",
        ":no_entry_sign: *Expired*",
    ]
    assert button_texts(message.blocks) == ["Series details"] * 4 + ["Refresh", "Share with channel"]


def test_a_redeemed_coupon_never_shows_up_as_usable() -> None:
    message = render(
        [make_coupon(code="gone", isRedeemed=True, redemptionsLeft=0, validTill=stamp(30), activeFrom=stamp(-3))]
    )
    assert "*0* active" in message.blocks[1]["text"]["text"]
    line = next(b["text"]["text"] for b in message.blocks if b.get("text", {}).get("text", "").startswith("`gone`"))
    assert "valid till" not in line and "left" not in line


def test_empty_customer() -> None:
    message = render([])
    assert_valid_message(message.blocks)
    assert message.blocks[1]["text"]["text"] == "This customer has no coupons."


def test_codes_appear_in_the_case_asked_for_and_samples_render() -> None:
    for name, case in (("lower", CodeCase.LOWER), ("default", CodeCase.UPPER)):
        coupons = full_coupons(sample_bytes(name))
        message = render(coupons, case=case)
        assert_valid_message(message.blocks)
        codes = re.findall(r"`([^`]+)`", " ".join(all_texts(message.blocks)))
        assert codes and all(c == (c.lower() if case is CodeCase.LOWER else c.upper()) for c in codes)
        assert ("lower case" if case is CodeCase.LOWER else "upper case") in message.blocks[2]["elements"][0]["text"]


HOSTILE = "<!channel> <@U123> <#C1|x> <https://evil.example|click> & *bold* `tick` " + "x" * 3000


def test_hostile_strings_are_escaped_everywhere() -> None:
    coupon = coupon_json(
        code=HOSTILE,
        seriesName=HOSTILE,
        isRedeemed=True,
        redemptionsLeft=0,
        redemptionInfo=[{"dateISO": stamp(-1), "redeemedAt": {"name": HOSTILE}}],
    )
    coupon["series"].update(
        description=HOSTILE,
        termsAndConditions=HOSTILE,
        seriesCode=HOSTILE,
        discountCode=HOSTILE,
        storeIdsJson='["<!here>"]',
        redeemAtStore=None,
        brands=[HOSTILE],
        redemptionRange='{"dom": ["<!everyone>"]}',
    )
    parsed = make_coupon(**coupon)
    view = ViewState(565032176, CodeCase.LOWER, expanded=(parsed.series.id,))  # type: ignore[union-attr]
    message = render([parsed], view=view)
    assert_valid_message(message.blocks)
    for text in all_texts(message.blocks):
        assert not CONTROL_SEQUENCE.search(text.replace("<!date^", "")), text
    assert "&lt;!channel&gt;" in " ".join(all_texts(message.blocks))
    for block in message.blocks:
        if block["type"] in {"section"}:
            assert block["text"].get("verbatim") is True


def many(count: int, state: str) -> list:
    coupons = []
    for n in range(count):
        options = {"id": n, "code": f"c{n:04d}", "seriesName": "S" * 80}
        if state == "active":
            options.update(validTill=stamp(1 + n), activeFrom=stamp(-1))
        elif state == "upcoming":
            options.update(activeFrom=stamp(1 + n), validTill=stamp(500))
        elif state == "redeemed":
            options.update(
                isRedeemed=True,
                redemptionsLeft=0,
                redemptionInfo=[{"dateISO": stamp(-1 - n), "redeemedAt": {"name": "N" * 80}}],
            )
        else:
            options.update(validTill=stamp(-1 - n))
        coupons.append(make_coupon(**options))
    return coupons


def test_four_hundred_coupons_fit_with_full_counts() -> None:
    coupons = many(100, "active") + many(100, "upcoming") + many(100, "redeemed") + many(100, "expired")
    message = render(coupons)
    assert_valid_message(message.blocks)
    assert message.blocks[1]["text"]["text"] == "*100* active · *100* upcoming · *100* redeemed · *100* expired"
    assert "showing 1–5" in " ".join(all_texts(message.blocks))


def test_worst_case_with_expanded_series_still_fits() -> None:
    coupons = []
    for state in ("active", "upcoming", "redeemed", "expired"):
        for coupon in many(30, state):
            raw = coupon.model_dump(by_alias=True, mode="json")
            raw["series"] = coupon_json()["series"] | {
                "id": 1000 + coupon.id % 3,
                "description": "D" * 900,
                "termsAndConditions": "T" * 900,
            }
            coupons.append(make_coupon(**raw))
    view = ViewState(565032176, CodeCase.LOWER, expanded=(1000, 1001, 1002))
    message = render(coupons, view=view, page_size=10)
    assert_valid_message(message.blocks)
    assert text_length(message.blocks) <= MAX_MESSAGE_TEXT


def test_text_length_counts_every_text_object_at_any_depth_and_no_button_value() -> None:
    button = {"type": "button", "text": {"type": "plain_text", "text": "f"}, "value": "x" * 100}
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "abc"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "de"}, "accessory": button},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "ghij"}, ["kl", {"text": "mn"}]]},
        {"type": "actions", "elements": [button], "block_id": "footer text"},
    ]
    assert text_length(blocks) == len("abc") + len("de") + len("f") + len("ghij") + len("mn") + len("f")


def test_paging_buttons_carry_the_next_view() -> None:
    message = render(many(12, "active"))
    next_button = find_button(message.blocks, "Next ▶")
    assert CODEC.decode(next_button["value"]).offset(CouponState.ACTIVE) == 5
    last = render(many(12, "active"), view=ViewState(565032176, CodeCase.LOWER, offsets=(10, 0, 0, 0)))
    labels = button_texts(last.blocks)
    assert "◀ Previous" in labels and "Next ▶" not in labels
    assert "showing 11–12" in " ".join(all_texts(last.blocks))


def test_dm_messages_have_no_share_button_and_shared_ones_no_buttons() -> None:
    dm = render(mixed(), view=ViewState(565032176, CodeCase.LOWER, surface=Surface.MESSAGE))
    assert "Share with channel" not in button_texts(dm.blocks)
    summary = summarize(CustomerCoupons(565032176, CodeCase.LOWER, tuple(mixed()), NOW), NOW)
    shared = render_summary(summary, ViewState(565032176, CodeCase.LOWER), SummaryOptions(shared_by="U0AGENT1"))
    assert_valid_message(shared.blocks)
    assert button_texts(shared.blocks) == []
    assert "shared by <@U0AGENT1>" in " ".join(all_texts(shared.blocks))


def test_escape() -> None:
    assert escape("<!here> & <@U1>") == "&lt;!here&gt; &amp; &lt;@U1&gt;"


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (InvalidCommand("bad id"), "bad id"),
        (InvalidViewState("x"), "/coupons"),
        (InvalidCustomerId("x"), "not a valid customer ID"),
        (CustomerNotFound("x"), "no customer with ID 565032176"),
        (CapillaryAuthError("x"), "credentials"),
        (CapillaryForbidden("x"), "may not see"),
        (CapillaryUnavailable("Capillary did not answer in time"), "Try again in a minute"),
        (CapillaryBadResponse("Capillary answered with a web page instead of data"), "web page"),
        (CapillaryReportedError("<!channel> broke", code=9999), "&lt;!channel&gt; broke (code 9999)"),
    ],
)
def test_every_error_has_a_message_that_says_what_to_do(error: CouponsBotError, words: str) -> None:
    message = render_error(error, customer_id=565032176, contact="#support-tools", retry_value="v")
    assert_valid_message(message.blocks)
    assert not message.ok
    text = " ".join(all_texts(message.blocks))
    assert words in text
    assert "no coupons" not in text.lower()
    retry = isinstance(error, CapillaryUnavailable | CapillaryBadResponse | CapillaryReportedError)
    assert ("Try again" in button_texts(message.blocks)) is retry


def _one_of(kind: type[CouponsBotError]) -> CouponsBotError:
    if kind is ActionLimitReached:
        return ActionLimitReached(20)
    if issubclass(kind, CapillaryHeldBack):
        return kind("held back", retry_after=30.0)
    return kind("what happened")


@pytest.mark.parametrize(
    "kind",
    [k for k in vars(domain_errors).values() if isinstance(k, type) and issubclass(k, CouponsBotError)],
    ids=lambda kind: kind.__name__,
)
@pytest.mark.parametrize("identifier", [None, Identifier(IdentifierKind.EMAIL, "asha@example.com")])
def test_the_words_of_every_error_are_filled_in_whether_looked_up_by_id_or_identifier(
    kind: type[CouponsBotError], identifier: Identifier | None
) -> None:
    customer_id = None if identifier else 565032176
    message = render_error(_one_of(kind), customer_id=customer_id, contact="#support-tools", identifier=identifier)
    assert_valid_message(message.blocks)
    assert message.text and "{" not in message.text and "asha@" not in message.text


def test_an_opened_series_is_read_from_the_lookup_and_an_unreadable_one_says_so() -> None:
    from bot.capillary.coupons import SeriesCatalog, parse_coupons

    body = sample_bytes("lower")
    coupons = tuple(parse_coupons(body).entity or ())
    view = ViewState(565032176, CodeCase.LOWER, expanded=(coupons[0].id,))
    for catalog, expected in ((SeriesCatalog(body), "*Terms:*"), ({}, "No terms can be shown")):
        summary = summarize(CustomerCoupons(565032176, CodeCase.LOWER, coupons, NOW, series=catalog), NOW)
        message = render_summary(summary, view, SummaryOptions(encode=CODEC.encode))
        assert_valid_message(message.blocks)
        assert any(expected in text for text in all_texts(message.blocks))


def _texts(message: object) -> str:
    return "\n".join(all_texts(message.blocks))  # type: ignore[attr-defined]


def test_a_redemption_shows_its_time_and_transaction_and_details_list_every_one() -> None:
    coupon = make_coupon(
        id=7,
        code="red7",
        isRedeemed=True,
        redemptionsLeft=0,
        redemptionInfo=[
            {"dateISO": "2026-11-20T10:05:00Z", "transactionNumber": "TX-1", "redeemedAt": {"name": "DocStore"}},
            {"dateISO": "2026-11-22T14:30:00+05:30", "transactionNumber": 4242, "redeemedAt": {"name": "Mall"}},
            {"dateISO": "2026-11-21T09:00:00Z", "transactionNumber": ""},
        ],
    )
    row = next(t for t in all_texts(render([coupon]).blocks) if t.startswith("`red7`"))
    assert "redeemed <!date^1795338000^{date_short_pretty} at {time}|2026-11-22 14:30 UTC+05:30> at Mall" in row
    assert "transaction 4242" in row and "used 3×" in row
    opened = _texts(render([coupon], view=ViewState(565032176, CodeCase.LOWER, expanded=(7,))))
    assert "*Redemptions of `red7`:*" in opened
    assert "• <!date^1795169100^{date_short_pretty} at {time}|2026-11-20 10:05 UTC> at DocStore · transaction TX-1" in (
        opened
    )
    assert "• <!date^1795251600^{date_short_pretty} at {time}|2026-11-21 09:00 UTC>\n" in opened + "\n"
    assert opened.index("at Mall") < opened.index("2026-11-21 09:00") < opened.index("at DocStore")  # latest first


def test_amounts_carry_the_currency_and_percentages_do_not() -> None:
    coupons = [
        make_coupon(id=1, code="abs1", discountValue=250, discountValueAsDouble=250),
        make_coupon(
            id=2, code="perc1", couponDiscountType="PERC", discountValue=15, discountValueAsDouble=15, discountUpto=500
        ),
    ]
    for currency, absolute, capped in (
        ("₹", "₹250 off", "15% off, up to ₹500"),
        ("INR", "INR 250 off", "up to INR 500"),
    ):
        text = _texts(render(coupons, currency=currency))
        assert absolute in text and capped in text
    assert "250 off" in _texts(render(coupons)) and "₹" not in _texts(render(coupons))


def test_a_day_is_the_day_capillary_means_for_every_viewer() -> None:
    # validTill is the end of the day in the org's zone: an agent east of UTC must not see the next day.
    utc_end = make_coupon(id=1, code="utc", validTill="2026-11-30T23:59:59Z")
    ist_end = make_coupon(id=2, code="ist", validTill="2026-12-01T23:59:59+05:30")
    texts = all_texts(render([utc_end, ist_end]).blocks)
    assert "valid till Mon 30 Nov 2026" in next(t for t in texts if t.startswith("`utc`"))
    assert "valid till Tue 1 Dec 2026" in next(t for t in texts if t.startswith("`ist`"))
    assert not any("<!date" in t and "valid till" in t for t in texts)


def test_notes_read_as_english_and_name_the_zone_and_single_use_is_not_noise() -> None:
    message = render([make_coupon(id=1, code="one", redemptionsLeft=1)], case=CodeCase.AS_IT_IS)
    notes = message.blocks[2]["elements"][0]["text"]
    assert "codes as they were created" in notes
    assert "|2026-11-25 12:00 UTC>" in notes
    assert "use left" not in _texts(message)
