from __future__ import annotations

from blocks.series_details import series_detail_lines
from bot.domain.coupon import CouponSeries
from tests.conftest import coupon_json


def details(*, name: str = "", currency: str | None = None, **overrides: object) -> dict[str, str]:
    series = CouponSeries.model_validate(coupon_json()["series"] | overrides)
    return dict(series_detail_lines(series, name=name, currency=currency))


def test_sentinels_in_plain_words_and_only_what_is_set() -> None:
    lines = details(redemptionPerCouponMaxLimit=-1)
    assert "Bill" not in lines  # no minimum, Capillary's "no maximum": nothing to say
    assert lines["Limits"] == (
        "each coupon usable any number of times · no limit on redemptions per customer · "
        "no limit on coupons per customer"
    )
    assert lines["Where"] == "any store, any day and hour"
    assert lines["Validity"] == "series valid till Thu 31 Oct 2024 · each coupon valid 30 days after issue"
    assert lines["Discount"] == "10 off the bill"  # an amount has no maximum to mention
    assert lines["Codes"] == "series code WIYHXBMY"  # discount code NO_VALUE is Capillary's "none"
    assert lines["Series totals"] == "6 issued · 0 redeemed"
    assert "NO_VALUE" not in " ".join(lines.values()) and "none" not in " ".join(lines.values())


def test_about_does_not_repeat_the_series_name() -> None:
    assert "About" not in details(name="test-lekhana-2", description="test-lekhana-2")
    assert details(name="test-lekhana-2", description="Diwali offer for gold members")["About"] == (
        "Diwali offer for gold members"
    )


def test_real_values_are_shown_in_words_with_the_currency() -> None:
    lines = details(
        currency="₹",
        minBillAmount=500,
        maxBillAmount=20000,
        maxRedemptionsInSeriesPerUser=4,
        minDaysBetweenRedemption=7,
        maxVouchersPerUser=1,
        redemptionPerCouponMaxLimit=2,
        redeemAtStore="[101, 102]",
        brands=[{"name": "Acme"}],
        categories=["Shoes"],
        discountType="PERC",
        discountValue=15,
        discountUpto=300,
        discountCode="GOLD15",
        redemptionValidFrom="2026-12-01T00:00:00Z",
        redemptionRange='{"dom": ["-1"], "dow": ["6", "7"], "hours": ["10", "11"]}',
    )
    assert lines["Bill"] == "at least ₹500 and at most ₹20,000"
    assert lines["Limits"] == (
        "each coupon usable twice · at most 4 redemptions per customer · at most 1 coupon per customer · "
        "at least 7 days between redemptions"
    )
    assert (
        lines["Where"] == "only at stores 101, 102 · brands Acme · categories Shoes · days of week 6, 7; hours 10, 11"
    )
    assert lines["Discount"] == "15% off the bill, up to ₹300"
    assert lines["Codes"] == "series code WIYHXBMY · discount code GOLD15"
    assert "redeemable from Tue 1 Dec 2026" in lines["Validity"]
    assert details(minBillAmount=500, currency="INR")["Bill"] == "at least INR 500"
    assert details(maxBillAmount=900)["Bill"] == "at most 900"


def test_missing_and_malformed_fields_do_not_break_the_details() -> None:
    lines = details(
        storeIdsJson="not json",
        redeemAtStore=None,
        redemptionRange="{",
        validTillDate=None,
        validDaysFromCreation=None,
        maxVouchersPerUser=None,
        redemptionPerCouponMaxLimit=None,
        maxRedemptionsInSeriesPerUser=None,
        minDaysBetweenRedemption=None,
        numIssued=None,
        discountValue=None,
        seriesCode="",
        discountCode="",
    )
    assert lines["Where"] == "any store, any day and hour"
    assert lines["Series totals"] == "0 redeemed"
    for label in ("Limits", "Validity", "Discount", "Codes", "Bill"):
        assert label not in lines


def test_a_percentage_states_no_maximum_in_words() -> None:
    lines = details(discountType="PERC", discountValue=10, discountUpto=0)
    assert lines["Discount"] == "10% off the bill, no maximum"
