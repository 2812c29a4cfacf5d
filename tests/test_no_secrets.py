"""A full lookup with known secrets configured: none of them, no coupon code and no response_url is logged."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from bot.audit_log import audit_logger
from bot.log_setup import configure_logging
from tests.conftest import NOT_FOUND, CapillaryStandIn, customer_json, sample_bytes
from tests.support.blockkit import find_button
from tests.support.loopback import Reply
from tests.support.slack import (
    BOT_TOKEN,
    SIGNING_SECRET,
    FakeSlack,
    click_button,
    send_command,
)

PASSWORD = "Sup3r-Secret-Passw0rd"


@pytest.fixture
def production_logging() -> Iterator[None]:
    yield
    for handler in list(audit_logger.handlers):
        if getattr(handler, "coupons_audit", False):
            audit_logger.removeHandler(handler)
    audit_logger.propagate = True
    logging.getLogger("bot").setLevel(logging.NOTSET)


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
def test_logs_of_a_full_lookup_hold_no_secret(
    make_app: Any,
    slack: FakeSlack,
    capillary: CapillaryStandIn,
    capsys: pytest.CaptureFixture[str],
    production_logging: None,
    level: str,
) -> None:
    capillary.answers[565032176] = [
        Reply(503, "<html>busy</html>"),
        Reply(body=sample_bytes("lower"), headers={"Content-Type": "application/json"}),
    ]
    configure_logging(level)
    app, _ = make_app(CAPILLARY_PASSWORD=PASSWORD, COUPONS_LOG_LEVEL=level)
    send_command(app, "565032176 lower", response_url=slack.response_url("cmd-secret-url"))
    message = slack.wait_responses(1, name="cmd-secret-url")[0]
    button = find_button(message["blocks"], "Refresh")
    click_button(app, button, response_url=slack.response_url("click-secret-url"))
    slack.wait_responses(1, name="click-secret-url")
    send_command(app, "400", response_url=slack.response_url("err-secret-url"))  # an error path too
    slack.wait_responses(1, name="err-secret-url")

    out = capsys.readouterr()
    logged = out.out + out.err
    audit_lines = [json.loads(line) for line in out.out.splitlines() if line.startswith("{")]
    assert len(audit_lines) == 3  # the lookup, the click, the failed lookup: one line each
    assert audit_lines[0]["attempts"] == 2
    md5 = hashlib.md5(PASSWORD.encode(), usedforsecurity=False).hexdigest()
    secrets = [
        BOT_TOKEN,
        SIGNING_SECRET,
        PASSWORD,
        md5,
        base64.b64encode(f"store.server:{md5}".encode()).decode(),
        "secret-url",
        "tt6wzp7xnw",
        "ziwy7lzgw8",
        "w2jjud9yrguaprdur52o",
    ]
    for secret in secrets:
        assert secret not in logged, secret
    # and none of them travels in a button value either
    values = json.dumps(message["blocks"])
    for secret in (BOT_TOKEN, SIGNING_SECRET, PASSWORD, md5):
        assert secret not in values


def test_logs_never_hold_a_mobile_number_or_an_email(
    make_app: Any,
    slack: FakeSlack,
    capillary: CapillaryStandIn,
    capsys: pytest.CaptureFixture[str],
    production_logging: None,
) -> None:
    """Lookups by mobile and email — found, not found, a failing profile, a click — at DEBUG: neither appears."""
    mobile, email = "919900000001", "asha@example.com"
    capillary.lookups[("mobile", mobile)] = Reply(body=customer_json(565032176))
    capillary.lookups[("email", email)] = Reply(200, NOT_FOUND)
    capillary.profiles[565032176] = Reply(500, "down")
    configure_logging("DEBUG")
    app, _ = make_app(COUPONS_LOG_LEVEL="DEBUG", COUPONS_UPSTREAM_DEADLINE_SECONDS="1")
    send_command(app, "+91 99000 00001 lower", response_url=slack.response_url("m"))
    message = slack.wait_responses(1, name="m")[0]
    send_command(app, "Asha@Example.com", response_url=slack.response_url("e"))
    slack.wait_responses(1, name="e")
    click_button(app, find_button(message["blocks"], "Refresh"), response_url=slack.response_url("c"))
    slack.wait_responses(1, name="c")

    out = capsys.readouterr()
    logged = out.out + out.err
    audit_lines = [json.loads(line) for line in out.out.splitlines() if line.startswith("{")]
    assert [line.get("identifier_kind") for line in audit_lines] == ["mobile", "email", None]
    for value in (mobile, mobile[2:], "99000 00001", email, "Asha@Example.com", "asha@"):
        assert value.lower() not in logged.lower(), value
