"""Property-based tests: hostile strings never become Slack control sequences, hostile input never crashes."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blocks.summary import SummaryOptions, render_summary
from bot.capillary.coupons import read_response
from bot.command_text import Lookup, parse
from bot.domain.coupon import CodeCase, Coupon
from bot.domain.coupon_summary import CustomerCoupons, summarize
from bot.domain.errors import CapillaryError, InvalidCommand
from bot.domain.invisible import without_invisible
from bot.domain.view_state import ViewState, ViewStateCodec
from tests.conftest import NOW, coupon_json, sample_bytes
from tests.support.blockkit import all_texts, assert_valid_message

BOUNDED = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# The only `<…>` sequences the bot itself writes: date tokens (and the sharer's mention, not used here).
OUR_DATE_TOKEN = re.compile(r"<!date\^-?[0-9]+\^\{date_short_pretty\}(?: at \{time\})?\|[0-9 :-]+(?: UTC[0-9:+-]*)?>")
SLACK_CONTROL = re.compile(r"<[!@#]|<https?:|<mailto:|\|[^>]*>")

hostile_text = st.one_of(
    st.text(max_size=400),
    st.sampled_from(
        [
            "<!channel>",
            "<!here|here>",
            "<@U012AB3CD>",
            "<#C012AB3CD|general>",
            "<https://evil.example|click me>",
            "&lt;!channel&gt;",
            "`",
            "*_~",
            "\u202e",
            "<",
            ">",
            "&",
        ]
    ),
    st.lists(st.sampled_from(["<", "!", "@", "#", "|", ">", "&", "http", "channel", " ", "`", "\n"]), max_size=40).map(
        "".join
    ),
)
COUPON_TEXT_FIELDS = ["code", "seriesName", "description"]
SERIES_TEXT_FIELDS = ["description", "termsAndConditions", "seriesCode", "discountCode", "discountOn", "tag"]


@BOUNDED
@given(
    values=st.fixed_dictionaries({f: hostile_text for f in COUPON_TEXT_FIELDS}),
    series_values=st.fixed_dictionaries({f: hostile_text for f in SERIES_TEXT_FIELDS}),
    store=hostile_text,
    lists=st.lists(hostile_text, max_size=5),
    stores_json=hostile_text,
)
def test_no_data_string_becomes_a_control_sequence(
    values: dict[str, str], series_values: dict[str, str], store: str, lists: list[str], stores_json: str
) -> None:
    raw = coupon_json(
        **values,
        isRedeemed=True,
        redemptionsLeft=0,
        redemptionInfo=[{"dateISO": "2026-11-01T00:00:00Z", "redeemedAt": {"name": store, "code": store}}],
    )
    raw["series"].update(
        series_values,
        brands=lists,
        products=[{"name": s} for s in lists],
        storeIdsJson=stores_json,
        redeemAtStore=json.dumps(lists),
        redemptionRange=stores_json,
    )
    upcoming = coupon_json(id=2, **values, activeFrom="2027-01-01T00:00:00+05:30")
    coupons = tuple(Coupon.model_validate(c) for c in (raw, upcoming))
    summary = summarize(CustomerCoupons(1, CodeCase.AS_IT_IS, coupons, NOW), NOW)
    view = ViewState(1, CodeCase.AS_IT_IS, expanded=tuple(c.id for c in coupons))
    message = render_summary(summary, view, SummaryOptions(encode=ViewStateCodec("k").encode))
    assert_valid_message(message.blocks)
    for text in [*all_texts(message.blocks), message.text]:
        remainder = OUR_DATE_TOKEN.sub("", text)
        assert "<" not in remainder and ">" not in remainder, text
        assert not SLACK_CONTROL.search(remainder.replace("&lt;", "").replace("&gt;", ""))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=1000))
def test_the_command_parser_only_ever_answers_or_refuses(text: str) -> None:
    try:
        result = parse(text)
    except InvalidCommand as error:
        assert str(error)
        return
    assert isinstance(result, Lookup)
    if isinstance(result.who, int):
        # A customer ID in range, from digits typed as such (no look-alike becomes one).
        assert 0 < result.who < 2**63
        assert str(result.who) in without_invisible(text)
    elif result.who is not None:
        assert result.who.value.strip()


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)
SAMPLE = json.loads(sample_bytes("lower"))
COUPON_KEYS = sorted(SAMPLE["entity"][0])


def _interpret(body: bytes, status: int = 200) -> None:
    try:
        result = read_response(status, httpx.Headers({"content-type": "application/json"}), body).entity
    except CapillaryError as error:
        assert str(error)
        return
    assert isinstance(result, tuple)


@BOUNDED
@given(body=json_values, status=st.sampled_from([200, 201, 400, 401, 403, 404, 429, 500, 502, 521]))
def test_any_json_body_is_coupons_or_one_of_our_errors(body: Any, status: int) -> None:
    _interpret(json.dumps(body).encode(), status)


@BOUNDED
@given(mutations=st.lists(st.tuples(st.sampled_from(COUPON_KEYS), json_values), min_size=1, max_size=4))
def test_a_sample_with_fields_of_the_wrong_type_never_crashes(mutations: list[tuple[str, Any]]) -> None:
    body = json.loads(json.dumps(SAMPLE))
    for key, value in mutations:
        body["entity"][0][key] = value
    _interpret(json.dumps(body).encode())


@BOUNDED
@given(raw=st.binary(max_size=200))
def test_arbitrary_bytes_never_crash(raw: bytes) -> None:
    _interpret(raw)


def test_deep_nesting_and_huge_numbers() -> None:
    _interpret(b"[" * 100_000 + b"]" * 100_000)
    _interpret(b'{"entity": [{"id": 1' + b"0" * 5000 + b"}]}")
    _interpret(b'{"entity": [{"id": 1, "redemptionsLeft": 1e400}]}')
    _interpret(b'{"entity": [{"id": 1, "series": ' + b'{"a": ' * 3000 + b"1" + b"}" * 3000 + b"}]}")
