"""Demo customers, built from Capillary's published sample responses with dates moved relative to today."""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from importlib import resources
from typing import Any

from bot.domain.coupon import CodeCase

MIXED_CUSTOMER = 565032176  # the documentation's example customer
LARGE_CUSTOMER = 565032177
LARGE_COUPON_COUNT = 400


@dataclass(frozen=True)
class DemoError:
    status: int
    body: str
    content_type: str = "application/json"


def _error(status: int, code: str, message: str) -> DemoError:
    return DemoError(
        status,
        json.dumps(
            {
                "entity": None,
                "warnings": [],
                "success": False,
                "errors": [{"status": False, "code": code, "message": message}],
            }
        ),
    )


# One customer per documented error, so every friendly message can be seen without Capillary.
ERROR_CUSTOMERS: dict[int, DemoError] = {
    400000400: _error(400, "INVALID_CUSTOMER_ID", "Invalid customer id"),
    400000401: _error(401, "UNAUTHORIZED", "Invalid authentication"),
    400000403: _error(403, "FORBIDDEN", "Access denied"),
    400000404: _error(404, "CUSTOMER_NOT_FOUND", "Customer not found for the given identifiers"),
    400000204: _error(404, "NO_COUPONS_FOUND", "No coupons found for the customer"),
    400000500: _error(500, "INTERNAL_SERVER_ERROR", "Internal server error"),
    400000502: DemoError(502, "<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html"),
}


@cache
def _sample(name: str) -> Any:
    """A sample answer from `data/`, read once: callers copy it before changing anything."""
    return json.loads((resources.files("bot.demo") / "data" / f"sample-{name}.json").read_text())


def _stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _coupon(
    template: int,
    coupon_id: int,
    code: str,
    now: datetime,
    *,
    issued_days_ago: int,
    starts_in_days: int | None = None,
    valid_days: int,
    redeemed_days_ago: tuple[int, ...] = (),
    redemptions_left: int = 1,
    series_id: int | None = None,
    series_name: str | None = None,
    discount: tuple[str, float, float] | None = None,
) -> dict[str, Any]:
    sample = _sample(("response-default-case", "response-lower-case")[template])
    coupon: dict[str, Any] = copy.deepcopy(sample["entity"][0])
    issued = now - timedelta(days=issued_days_ago)
    start = now + timedelta(days=starts_in_days) if starts_in_days is not None else issued
    end = (now + timedelta(days=valid_days)).replace(hour=23, minute=59, second=59, microsecond=0)
    coupon.update(
        id=coupon_id,
        code=code,
        trimmedCode=code,
        createdDate=_stamp(issued),
        issuedOn=_stamp(issued),
        activeFrom=_stamp(start),
        validTill=_stamp(end),
        isRedeemed=bool(redeemed_days_ago),
        redeemed=bool(redeemed_days_ago),
        redemptionsLeft=redemptions_left,
        issuedTo=MIXED_CUSTOMER,
        redemptionInfo=[
            {
                "id": coupon_id * 10 + n,
                "date": _stamp(now - timedelta(days=days)),
                "dateISO": _stamp(now - timedelta(days=days)),
                "transactionNumber": f"TXN{coupon_id % 100000:05d}{n}",
                "redeemedAt": {"code": "store123", "name": "MarvelAuto_Store"},
            }
            for n, days in enumerate(redeemed_days_ago)
        ],
        reversedRedemptionInfo=[],
    )
    series = coupon["series"]
    if series_id is not None:
        series["id"] = coupon["seriesId"] = series_id
    if series_name is not None:
        coupon["seriesName"] = coupon["description"] = series["description"] = series_name
    series["validTillDate"] = _stamp(now + timedelta(days=365))
    # The samples' series totals (6 issued, 0 redeemed) and "valid 30 days after issue" would contradict the demo
    # coupons drawn beneath them (redeemed, valid for months): the demo states neither.
    for claim in ("numIssued", "numRedeemed", "validDaysFromCreation"):
        series.pop(claim, None)
    if discount is not None:
        kind, value, cap = discount
        coupon.update(couponDiscountType=kind, discountValue=value, discountValueAsDouble=value, discountUpto=cap)
        series.update(discountType=kind, discountValue=value, discountUpto=cap)
    return coupon


def _mixed(now: datetime) -> list[dict[str, Any]]:
    pct = ("PERC", 10, 0)
    return [
        _coupon(0, 33267197, "Er07Bcj8", now, issued_days_ago=10, valid_days=20, discount=pct),
        _coupon(0, 33267198, "H306orH2", now, issued_days_ago=25, valid_days=5, discount=pct),
        _coupon(
            1,
            39004111,
            "Tt6wZp7xnw",
            now,
            issued_days_ago=40,
            valid_days=45,
            redeemed_days_ago=(12, 3),
            redemptions_left=3,
            series_id=68580,
            series_name="Weekend 250 off, 5 uses",
            discount=("ABS", 250, 0),
        ),
        _coupon(
            1,
            39004112,
            "ZiwY7lzgw8",
            now,
            issued_days_ago=1,
            starts_in_days=3,
            valid_days=33,
            series_id=68581,
            series_name="Birthday month 15%",
            discount=("PERC", 15, 500),
        ),
        _coupon(
            1,
            39004113,
            "Hu1dH75hny",
            now,
            issued_days_ago=30,
            valid_days=10,
            redeemed_days_ago=(2,),
            redemptions_left=0,
        ),
        _coupon(
            1,
            39004114,
            "VmqVzcvymt",
            now,
            issued_days_ago=60,
            valid_days=-20,
            redeemed_days_ago=(35,),
            redemptions_left=0,
        ),
        _coupon(
            1,
            36501088,
            "W2jjud9yrguaprdur52o",
            now,
            issued_days_ago=90,
            valid_days=-10,
            series_id=68377,
            series_name="test-lekhana",
        ),
        _coupon(0, 33267199, "Oo8hF7divr", now, issued_days_ago=120, valid_days=-40, discount=pct),
    ]


def bulk_coupons(count: int, now: datetime) -> list[dict[str, Any]]:
    """`count` coupons spread evenly over the four states and seven series (the large demo customer, benchmarks)."""
    coupons = []
    for n in range(count):
        kind = n % 4
        series = 70000 + n % 7
        options: dict[str, Any] = {"series_id": series, "series_name": f"Campaign {series}"}
        if kind == 0:
            options.update(valid_days=5 + n % 60)
        elif kind == 1:
            options.update(valid_days=40 + n % 30, starts_in_days=1 + n % 20)
        elif kind == 2:
            options.update(valid_days=-(n % 90) + 30, redeemed_days_ago=(1 + n % 50,), redemptions_left=0)
        else:
            options.update(valid_days=-(1 + n % 200))
        coupons.append(_coupon(n % 2, 50000000 + n, f"Bulk{n:04d}x", now, issued_days_ago=200, **options))
    return coupons


DEMO_CUSTOMERS: dict[int, Callable[[datetime], list[dict[str, Any]]]] = {
    MIXED_CUSTOMER: _mixed,
    LARGE_CUSTOMER: functools.partial(bulk_coupons, LARGE_COUPON_COUNT),
}


def apply_case(code: str, case: CodeCase) -> str:
    if case is CodeCase.LOWER:
        return code.lower()
    if case is CodeCase.UPPER:
        return code.upper()
    return code


def demo_answer(customer_id: int, case: CodeCase, now: datetime) -> DemoError | dict[str, Any]:
    """The body Capillary would send for this demo customer, or the error it would answer with."""
    build = DEMO_CUSTOMERS.get(customer_id)
    if build is None:  # an error's customer, or nobody: not found
        return ERROR_CUSTOMERS.get(customer_id, ERROR_CUSTOMERS[400000404])
    coupons = build(now)
    for coupon in coupons:
        coupon["code"] = coupon["trimmedCode"] = apply_case(coupon["code"], case)
    return {"entity": coupons, "warnings": [], "errors": [], "success": True}


@dataclass(frozen=True)
class DemoPerson:
    first_name: str
    last_name: str
    tier: str
    points: float
    mobile: str
    email: str
    card: str
    external_id: str


# Who the demo customers are: each answers by ID, mobile, email, card number and external ID (README's table).
DEMO_PEOPLE: dict[int, DemoPerson] = {
    MIXED_CUSTOMER: DemoPerson(
        "Asha", "Example", "Gold", 1850.0, "919900001001", "asha@example.com", "EXMPL0000000000001", "EXAMPLE-000001"
    ),
    LARGE_CUSTOMER: DemoPerson(
        "Ravi", "Sample", "Silver", 420.0, "919900001002", "ravi@example.com", "EXMPL0000000000002", "EXAMPLE-000002"
    ),
}
# Identifiers that show the lookup's own answers: registered in another source (8065), merged (warning 8069).
NOT_IN_SOURCE_MOBILE = "919900008065"
MERGED_EMAIL = "merged@example.com"


def demo_profile(customer_id: int, *, warnings: tuple[int, ...] = ()) -> dict[str, Any] | None:
    """The body of `GET /v2/customers/{id}` (or `customerDetails`) for a demo customer; None for anyone else."""
    person = DEMO_PEOPLE.get(customer_id)
    if person is None:
        return None
    body: dict[str, Any] = copy.deepcopy(_sample("customer-details"))
    identifiers = [
        {"type": "mobile", "value": person.mobile},
        {"type": "email", "value": person.email},
        {"type": "externalId", "value": person.external_id},
        {"type": "cardNumber", "value": person.card, "seriesId": 19, "statusLabel": "ACTIVE"},
    ]
    profile = body["profiles"][0]
    profile.update(
        firstName=person.first_name,
        lastName=person.last_name,
        userId=customer_id,
        identifiers=identifiers,
        identifiersAll=identifiers[:3],
        commChannels=[
            {"type": "mobile", "value": person.mobile, "primary": True, "verified": True},
            {"type": "email", "value": person.email, "primary": True, "verified": False},
        ],
    )
    body["id"] = customer_id
    body["pointsSummary"].update(currentSlab=person.tier, loyaltyPoints=person.points)
    body["loyaltyProgramDetails"] = body["loyaltyProgramDetails"][:1]
    body["loyaltyProgramDetails"][0].update(currentSlab=person.tier, loyaltyPoints=person.points)
    body["warnings"] = [{"status": False, "code": code, "message": "Merged customer found"} for code in warnings]
    return body


def lookup_error(status: int, code: int, message: str) -> DemoError:
    return DemoError(status, json.dumps({"errors": [{"status": False, "code": code, "message": message}]}))


def demo_lookup(identifier_name: str, value: str) -> DemoError | dict[str, Any]:
    """`GET /v2/customers/lookup/customerDetails` for the demo: the demo people by any identifier."""
    fields = {"mobile": "mobile", "email": "email", "cardnumber": "card", "externalId": "external_id"}
    if identifier_name not in fields:
        return lookup_error(200, 8013, "Invalid identifier name")
    if identifier_name == "mobile" and value == NOT_IN_SOURCE_MOBILE:
        return lookup_error(200, 8065, "User not found for given source")
    if identifier_name == "email" and value == MERGED_EMAIL:
        return demo_profile(MIXED_CUSTOMER, warnings=(8069,)) or {}
    for customer_id, person in DEMO_PEOPLE.items():
        if getattr(person, fields[identifier_name]) == value:
            return demo_profile(customer_id) or {}
    return lookup_error(200, 8015, "Customer not found for the given identifiers")
