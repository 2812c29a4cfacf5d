from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from bot.capillary.coupons import parse_coupons
from bot.domain.coupon import Coupon, DiscountType
from tests.conftest import coupon_json, full_coupons, make_coupon, sample_bytes


def test_default_case_sample_parses() -> None:
    coupons = full_coupons(sample_bytes("default"))
    assert [c.code for c in coupons] == ["ER07BCJ8", "H306ORH2"]
    first = coupons[0]
    assert first.expires_at == datetime(2020, 5, 18, 23, 59, 59, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    assert first.redemptions_left == -1
    assert first.discount is not None and first.discount.kind is DiscountType.PERCENT
    assert first.issued_at is not None and first.issued_at.label == "webstore1"
    assert first.series is not None and first.series.max_bill_amount == 9007199254740991


def test_lower_case_sample_parses() -> None:
    coupons = full_coupons(sample_bytes("lower"))
    assert len(coupons) == 7
    assert all(c.code == c.code.lower() for c in coupons)
    assert coupons[0].discount_value_as_double == 10.0
    assert coupons[0].display_series_name == "test-lekhana-2"
    page = parse_coupons(sample_bytes("lower"))
    assert page.errors == [] and page.success is True


def test_deprecated_boolean_discount_type_is_ignored_for_coupon_discount_type() -> None:
    coupon = make_coupon(discountType=True, couponDiscountType="PERC", discountValue=15, discountValueAsDouble=None)
    assert coupon.discount is not None
    assert coupon.discount.kind is DiscountType.PERCENT and coupon.discount.value == 15


def test_discount_cap_only_when_positive() -> None:
    assert make_coupon(discountUpto=0).discount.cap is None  # type: ignore[union-attr]
    assert make_coupon(discountUpto=500).discount.cap == 500  # type: ignore[union-attr]


def test_iso_timestamps_win_over_the_older_fields() -> None:
    coupon = make_coupon(
        validTill="2024-10-31T23:59:59Z",
        validTillISO="2024-10-31T23:59:59+05:30",
        activeFrom="2024-10-01T00:00:00Z",
        activeFromISO="2024-10-01T00:00:00+05:30",
    )
    assert coupon.expires_at == datetime(2024, 10, 31, 18, 29, 59, tzinfo=UTC)
    assert coupon.starts_at == datetime(2024, 9, 30, 18, 30, tzinfo=UTC)


def test_a_timestamp_without_offset_is_taken_as_utc() -> None:
    assert make_coupon(validTill="2024-10-31T23:59:59").expires_at == datetime(2024, 10, 31, 23, 59, 59, tzinfo=UTC)


def test_sparse_coupon_with_nulls_and_missing_objects() -> None:
    coupon = Coupon.model_validate_json(
        b'{"id": 1, "code": "A", "series": null, "issuedAt": null, "validTill": null, "redemptionsLeft": null,'
        b' "redemptionInfo": null, "seriesName": null, "couponDiscountType": null, "discountValue": null}'
    )
    assert coupon.series is None and coupon.expires_at is None and coupon.discount is None
    assert coupon.times_redeemed == 0 and coupon.last_redemption is None
    assert coupon.display_series_name == ""


def test_both_redemption_entry_namings_are_read() -> None:
    coupon = make_coupon(
        isRedeemed=True,
        redemptionInfo=[
            {
                "id": 7,
                "date": "2024-10-12T10:00:00Z",
                "dateISO": "2024-10-12T10:00:00+05:30",
                "transactionNumber": "12121212",
                "redeemedAt": {"code": "doc123", "name": "DocStore"},
            },
            {"redeemedOnISO": "2024-10-20T09:00:00Z", "somethingNew": {"kept": True}},
            {"date": "not a date"},
        ],
        reversedRedemptionInfo=[{"id": 7, "reversedOn": "2024-10-13T00:00:00Z"}],
    )
    entries = coupon.redemption_info or []
    assert entries[0].redeemed_when == datetime(2024, 10, 12, 4, 30, tzinfo=UTC)
    assert entries[0].redeemed_at is not None and entries[0].redeemed_at.label == "DocStore"
    assert entries[1].redeemed_when == datetime(2024, 10, 20, 9, 0, tzinfo=UTC)
    assert entries[1].model_extra == {"somethingNew": {"kept": True}}
    assert entries[2].redeemed_when is None
    assert coupon.last_redemption is entries[1]
    assert coupon.times_redeemed == 2  # three entries, one reversed


@pytest.mark.parametrize("value", ["next tuesday", ""])
def test_a_malformed_validity_date_is_an_error_not_a_guess(value: str) -> None:
    with pytest.raises(ValidationError):  # "" is not "no expiry": such a coupon is skipped and counted, not active
        Coupon.model_validate(coupon_json(validTill=value))
    with pytest.raises(ValidationError):
        Coupon.model_validate_json(json.dumps(coupon_json(validTill=value)))


def test_errors_as_bare_strings_are_kept() -> None:
    page = parse_coupons(b'{"entity": [], "errors": ["busy"]}')
    assert page.errors is not None and page.errors[0].message == "busy"


def test_a_lookup_reads_the_series_in_brief_and_its_terms_on_demand() -> None:
    from bot.capillary.coupons import SeriesCatalog
    from bot.domain.coupon import CouponSeries, SeriesSummary

    body = sample_bytes("lower")
    coupons = parse_coupons(body).entity or []
    full = full_coupons(body)
    # A list leaves where and when each coupon was issued unread; a lookup with a coupon in focus reads it too.
    issuance = {"issued_at", "issued_on", "issued_on_iso"}
    assert [c.model_dump(exclude={"series"} | issuance) for c in coupons] == [
        c.model_dump(exclude={"series"} | issuance) for c in full
    ]
    assert all(c.issued_at is None and c.issued_on is None for c in coupons)
    assert any(c.issued_at is not None for c in full) and any(c.issued_on is not None for c in full)
    focused = parse_coupons(body, focused=True).entity or []
    assert [c.model_dump(exclude={"series"}) for c in focused] == [c.model_dump(exclude={"series"}) for c in full]
    first = coupons[0]
    assert isinstance(first.series, SeriesSummary) and not isinstance(first.series, CouponSeries)
    assert first.display_series_name == full[0].display_series_name and first.discount == full[0].discount
    catalog = SeriesCatalog(body)
    assert dict(catalog) == {c.series.id: c.series for c in reversed(full) if c.series}


def test_one_odd_series_does_not_hide_the_others_terms() -> None:
    from bot.capillary.coupons import SeriesCatalog

    good = coupon_json()
    odd = coupon_json(id=2)
    odd["series"] = {**odd["series"], "id": 99, "validTillDate": "next tuesday"}
    body = json.dumps({"entity": [good, odd]}).encode()
    assert set(SeriesCatalog(body)) == {good["series"]["id"]}
    assert dict(SeriesCatalog(b"<html>")) == {}


def test_one_opened_series_is_read_alone_and_reads_as_the_full_pass_does() -> None:
    from datetime import UTC, datetime

    from bot.capillary.coupons import SeriesCatalog, _read_one_series, _read_series
    from bot.demo.customers import bulk_coupons

    bodies = [
        sample_bytes("lower"),
        sample_bytes("default"),
        json.dumps({"entity": bulk_coupons(50, datetime.now(UTC))}).encode(),
        json.dumps({"entity": bulk_coupons(50, datetime.now(UTC))}, indent=2).encode(),
    ]
    for body in bodies:
        every = _read_series(body)
        assert every and all(_read_one_series(body, series_id) == every[series_id] for series_id in every)
        catalog = SeriesCatalog(body)
        assert all(catalog[series_id] == every[series_id] for series_id in every)
    # A series whose object doesn't start with its id, or names a brace in a string, is still found.
    reordered = coupon_json()
    series = dict(reordered["series"])
    series.pop("description")
    reordered["series"] = {"description": "a } in {text", **series}
    body = json.dumps({"entity": [reordered]}).encode()
    assert _read_one_series(body, series["id"]) is None  # not in the shape looked for …
    assert SeriesCatalog(body)[series["id"]].description == "a } in {text"  # … so every series is read
    braces = coupon_json()
    series = dict(braces["series"])
    series["description"] = 'say "}{" \\ here'
    braces["series"] = series
    body = json.dumps({"entity": [braces]}).encode()
    found = _read_one_series(body, series["id"])
    assert found is not None and found.description == 'say "}{" \\ here'
