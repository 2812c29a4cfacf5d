"""Identifier parsing (shared by every place an agent types a customer) and the one masking of personal data."""

from __future__ import annotations

import json

import pytest

from bot.capillary.customers import kept_profile
from bot.command_text import Lookup, parse, parse_customer
from bot.domain.coupon import CodeCase
from bot.domain.customer import (
    CustomerProfile,
    Identifier,
    IdentifierKind,
    customer_card,
    mask_email,
    mask_mobile,
    masked_identifier,
)
from bot.domain.errors import InvalidCommand
from tests.conftest import customer_json

M = IdentifierKind.MOBILE


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("565032176", 565032176),
        ("mobile:919900001001", Identifier(M, "919900001001")),
        ("+91 99000 01001", Identifier(M, "919900001001")),
        ("mobile: +91-99000.01001", Identifier(M, "919900001001")),
        ("EMAIL:Asha@Example.com", Identifier(IdentifierKind.EMAIL, "asha@example.com")),
        ("card:EXMPL0000000000001", Identifier(IdentifierKind.CARD, "EXMPL0000000000001")),
        ("external:EXAMPLE-000001", Identifier(IdentifierKind.EXTERNAL, "EXAMPLE-000001")),
    ],
)
def test_parse_customer(typed: str, expected: object) -> None:
    assert parse_customer(typed) == expected


def test_the_case_word_follows_any_identifier() -> None:
    assert parse("+91 99000 01001 lower") == Lookup(Identifier(M, "919900001001"), CodeCase.LOWER)


@pytest.mark.parametrize("typed", ["mobile:1234567", "mobile:1234567890123456", "a@b", "card:", "x:y", "1 2"])
def test_parse_customer_refuses(typed: str) -> None:
    with pytest.raises(InvalidCommand) as caught:
        parse_customer(typed)
    assert "1234567" not in str(caught.value)


def test_masks() -> None:
    assert mask_mobile("919900001001") == "••••••••1001"
    assert mask_email("asha@example.com") == "a•••@example.com"
    assert mask_email("a@example.com") == "•••@example.com"
    assert masked_identifier(Identifier(M, "919900001001")) == "••••1001"
    assert "919900001001" not in repr(Identifier(M, "919900001001"))


def test_card_of_the_reference_sample() -> None:
    card = customer_card(CustomerProfile.model_validate(customer_json(565000123)))
    assert card is not None
    assert (card.name, card.tier, card.points, card.mobile, card.email, card.merged) == (
        "Asha Example",
        "Gold",
        1850.0,
        "••••••••0001",
        "a•••@example.com",
        False,
    )
    assert customer_card(CustomerProfile.model_validate({})) is None


def test_capillary_words_shown_to_an_agent_mask_mobiles_and_emails() -> None:
    from blocks.errors import describe_error
    from bot.domain.errors import CapillaryReportedError

    error = CapillaryReportedError("Customer with mobile 919900001001 (asha@example.com) is marked as fraud", code=8003)
    text = describe_error(error, customer_id=None, contact="#help").title
    assert "919900001001" not in text and "asha@" not in text
    assert "••••••••1001" in text and "a•••@example.com" in text and "(code 8003)" in text


def test_a_kept_body_reads_back_as_the_profile_a_fetch_gave_or_as_nothing() -> None:
    body = json.dumps(customer_json(565000123)).encode()
    profile = kept_profile(body)
    assert profile is not None and profile.id == 565000123
    merged = {**customer_json(565000124), "errors": [{"code": 8069, "message": "customer merged"}]}
    kept_merged = kept_profile(json.dumps(merged).encode())
    assert kept_merged is not None and [w.code for w in kept_merged.warnings or []] == [8069]
    assert kept_profile(b"<html>a proxy's page</html>") is None
    assert kept_profile(json.dumps({**customer_json(), "id": None}).encode()) is None
    assert kept_profile(json.dumps({"errors": [{"code": 8015, "message": "not found"}]}).encode()) is None
