"""One coupon Capillary sends in a shape the bot can't read is skipped and counted; the rest are shown."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from bot.capillary.coupons import parse_coupons
from tests.conftest import AuditLines, CapillaryStandIn, coupon_json, envelope
from tests.support.blockkit import all_texts, assert_valid_message
from tests.support.loopback import Reply
from tests.support.slack import FakeSlack, send_command


def fifty_coupons(bad: dict[str, Any] | None = None) -> bytes:
    coupons = [coupon_json(id=10_000 + n, code=f"code{n:04d}") for n in range(50)]
    if bad is not None:
        coupons[17] = bad
    return json.dumps(envelope(coupons)).encode()


@pytest.mark.parametrize(
    "bad",
    [
        {k: v for k, v in coupon_json().items() if k != "id"},
        coupon_json(id=99, validTill="the thirty-first"),
        coupon_json(id=98, series="not a series"),
        "a string, not a coupon",
    ],
    ids=["no id", "unreadable date", "series not an object", "not an object"],
)
def test_one_unreadable_coupon_is_skipped_and_counted(bad: Any) -> None:
    page = parse_coupons(fifty_coupons(bad))
    assert (len(page.entity), page.skipped) == (49, 1)
    assert 10_017 not in {c.id for c in page.entity}


def test_all_good_coupons_read_in_one_pass() -> None:
    page = parse_coupons(fifty_coupons())
    assert (len(page.entity), page.skipped) == (50, 0)


def test_nothing_readable_is_still_a_bad_response() -> None:
    with pytest.raises(ValidationError):
        parse_coupons(json.dumps(envelope([{"code": "x"}, {"code": "y"}])).encode())
    with pytest.raises(ValidationError):
        parse_coupons(b'{"entity": "not a list"}')


def test_a_signed_lookup_shows_the_rest_and_says_one_couldnt_be_read(
    make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn, audit: AuditLines
) -> None:
    capillary.answers[565032176] = Reply(body=fifty_coupons(coupon_json(id=99, validTill="the thirty-first")))
    app, _ = make_app()
    # The first lookup reads Capillary's answer; the second reads the same bytes from the cache.
    for name in ("first", "cached"):
        send_command(app, "565032176", response_url=slack.response_url(name))
        [answer] = slack.wait_responses(1, name=name)
        assert_valid_message(answer["blocks"])
        texts = " ".join(all_texts(answer["blocks"]))
        assert "1 coupon couldn't be read" in texts
        assert "*49* expired" in texts
    assert len(capillary.coupon_calls()) == 1
    lookups = [line for line in audit.lines if line["event"] == "coupons.command"]
    assert [(line["outcome"], line["cache"], line["skipped"]) for line in lookups] == [
        ("ok", "miss", 1),
        ("ok", "hit", 1),
    ]
