from __future__ import annotations

from blocks.series_details import series_detail_lines
from bot.domain.coupon import CouponSeries
from tests.conftest import coupon_json


def details(**overrides: object) -> dict[str, str]:
    series = CouponSeries.model_validate(coupon_json()["series"] | overrides)
    return dict(series_detail_lines(series))


def test_sentinels_in_plain_words() -> None:
    lines = details(redemptionPerCouponMaxLimit=-1)
    assert lines["Bill"] == "minimum none · maximum no maximum"
    assert lines["Limits"] == (
        "redemptions per coupon no limit · redemptions per user no limit · days between redemptions no limit · "
        "vouchers per user no limit"
    )
    assert lines["Where"] == "all stores · brands all · products all · categories all · any day, any hour"
    assert "no redemption start date" in lines["Validity"]
    assert "coupons valid 30 days after issue" in lines["Validity"]
    assert lines["Discount"] == "10 off, no cap (on bill)"
    assert lines["Codes"] == "series code WIYHXBMY · discount code NO_VALUE"
    assert lines["Series totals"] == "6 issued · 0 redeemed"


def test_real_values_are_shown() -> None:
    lines = details(
        minBillAmount=500,
        maxBillAmount=20000,
        maxRedemptionsInSeriesPerUser=4,
        minDaysBetweenRedemption=7,
        redeemAtStore="[101, 102]",
        brands=[{"name": "Acme"}],
        categories=["Shoes"],
        discountType="PERC",
        discountValue=15,
        discountUpto=300,
        redemptionValidFrom="2026-12-01T00:00:00Z",
        redemptionRange='{"dom": ["-1"], "dow": ["6", "7"], "hours": ["10", "11"]}',
    )
    assert lines["Bill"] == "minimum 500 · maximum 20,000"
    assert "redemptions per user 4" in lines["Limits"] and "days between redemptions 7" in lines["Limits"]
    assert lines["Where"] == (
        "stores 101, 102 · brands Acme · products all · categories Shoes · days of week 6, 7; hours 10, 11"
    )
    assert lines["Discount"] == "15% off, up to 300 (on bill)"
    assert "redeemable from <!date^" in lines["Validity"]


def test_missing_and_malformed_fields_do_not_break_the_details() -> None:
    lines = details(
        storeIdsJson="not json",
        redeemAtStore=None,
        redemptionRange="{",
        validTillDate=None,
        maxVouchersPerUser=None,
        redemptionPerCouponMaxLimit=None,
        maxRedemptionsInSeriesPerUser=None,
        minDaysBetweenRedemption=None,
        numIssued=None,
        discountValue=None,
    )
    assert lines["Where"].startswith("all stores")
    assert lines["Limits"] == "none stated"
    assert "series has no end date" in lines["Validity"]
    assert lines["Series totals"] == "unknown issued · 0 redeemed"
    assert lines["Discount"] == "not given"
