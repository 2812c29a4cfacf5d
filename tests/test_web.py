"""The web front in process: Slack's signature is checked once per request, the uvicorn patch refuses versions it
was not tested on, and the shutdown hook stops every thread the bot started."""

from __future__ import annotations

import asyncio
import re
import threading
import tomllib
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from slack_sdk.signature import SignatureVerifier

import bot.web.server
from bot.errors import StartupError
from bot.web.front import SlackFront
from bot.web.head_timeout import TESTED_UVICORN, require_tested_uvicorn
from tests.conftest import CapillaryStandIn, bot_env, sample_bytes
from tests.support.loopback import Reply
from tests.support.slack import FakeSlack, command_body, signed_headers

ROOT = Path(__file__).resolve().parent.parent
CUSTOMER = 565032176


@pytest.fixture
def web_env(monkeypatch: pytest.MonkeyPatch, slack: FakeSlack, capillary: CapillaryStandIn) -> Any:
    """`create_asgi_app` reads this process's environment: the loopback servers', and the test's extras."""
    capillary.answers[CUSTOMER] = Reply(body=sample_bytes("lower"), headers={"Content-Type": "application/json"})
    monkeypatch.delenv("SLACK_APP_TOKEN", raising=False)
    monkeypatch.delenv(bot.web.server.IDENTITY_VARIABLE, raising=False)
    monkeypatch.setattr(bot.web.server, "settle_after_start", lambda: None)  # leave the collector alone
    monkeypatch.setattr(bot.web.server, "configure_logging", lambda level: None)  # and the process's logging

    def apply(**extra: str) -> None:
        for name, value in bot_env(slack, capillary, **extra).items():
            monkeypatch.setenv(name, value)

    return apply


@pytest.fixture
def front(web_env: Any) -> Iterator[SlackFront]:
    web_env()
    built = bot.web.server.create_asgi_app()
    yield built
    assert built.on_shutdown is not None
    built.on_shutdown()


def call(front: SlackFront, body: str, headers: dict[str, list[str]]) -> int:
    """POST `body` to /slack/events through the ASGI app; the status it answers."""
    scope = {
        "type": "http",
        "path": "/slack/events",
        "method": "POST",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, vs in headers.items() for v in vs],
        "client": ("10.0.0.1", 1234),
    }
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body.encode(), "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    asyncio.run(front(scope, receive, send))
    return int(sent[0]["status"])


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Every signature check anyone makes (ours or Bolt's: both use the SDK's verifier), with its verdict."""
    checks: list[bool] = []
    is_valid = SignatureVerifier.is_valid

    def counted(self: SignatureVerifier, *args: Any, **kwargs: Any) -> bool:
        checks.append(is_valid(self, *args, **kwargs))
        return checks[-1]

    monkeypatch.setattr(SignatureVerifier, "is_valid", counted)
    return checks


def test_a_good_signature_is_checked_once_and_dispatched(
    front: SlackFront, slack: FakeSlack, verifications: list[bool]
) -> None:
    body = command_body(f"{CUSTOMER} lower", response_url=slack.response_url("good"))
    assert call(front, body, signed_headers(body)) == 200
    [answer] = slack.wait_responses(1, name="good")
    assert "*7* expired" in answer["blocks"][1]["text"]["text"]
    assert verifications == [True]  # the front's check; Bolt's is off behind it


def test_a_bad_signature_is_refused_once_and_not_dispatched(
    front: SlackFront, slack: FakeSlack, capillary: CapillaryStandIn, verifications: list[bool]
) -> None:
    body = command_body(f"{CUSTOMER} lower", response_url=slack.response_url("bad"))
    assert call(front, body, signed_headers(body, secret="not-the-secret")) == 401
    assert verifications == [False]
    assert slack.responses("bad") == [] and capillary.coupon_calls() == []


def test_the_uvicorn_pin_is_the_tested_range() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    [pin] = [d for d in project["dependencies"] if d.startswith("uvicorn")]
    low, high = (tuple(int(n) for n in v.split(".")) for v in re.findall(r"[<>]=?\s*([\d.]+)", pin))
    assert (low, high) == TESTED_UVICORN
    require_tested_uvicorn()  # the one installed here is in it


@pytest.mark.parametrize("version", ["0.29.0", "0.56.0", "1.0.0", "weird"])
def test_an_untested_uvicorn_is_refused(version: str) -> None:
    with pytest.raises(StartupError, match=rf"uvicorn {version} is not a version .* tested with \(0\.30 to before"):
        require_tested_uvicorn(version)


def test_web_refuses_to_start_on_an_untested_uvicorn(
    web_env: Any, slack: FakeSlack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    web_env()
    monkeypatch.setattr(uvicorn, "__version__", "0.99.0")
    with pytest.raises(SystemExit) as exited:
        bot.web.server.create_asgi_app()
    assert exited.value.code == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("coupons-bot: uvicorn 0.99.0 is not a version the bot's header timeout was tested with")
    assert slack.api_calls("auth.test") == []  # refused before anything else


def test_the_shutdown_hook_stops_every_thread_the_bot_started(web_env: Any, slack: FakeSlack) -> None:
    before = set(threading.enumerate())
    web_env(COUPONS_ALLOWED_USERGROUP_IDS="S0AGENTS")  # a refresher thread
    slack.usergroups["S0AGENTS"] = ["U0AGENT1"]
    front = bot.web.server.create_asgi_app()
    body = command_body(f"{CUSTOMER} lower", response_url=slack.response_url("one"))
    assert call(front, body, signed_headers(body)) == 200
    slack.wait_responses(1, name="one")  # the listener and profile pools have threads now
    started = [t for t in threading.enumerate() if t not in before and t.name.startswith("coupons-")]
    assert {t.name.split("_")[0].rstrip("-0123456789") for t in started} >= {
        "coupons-listener",
        "coupons-profile",
        "coupons-usergroups",
    }
    assert front.on_shutdown is not None
    front.on_shutdown()
    for thread in started:
        thread.join(10)
    assert [t.name for t in started if t.is_alive()] == []
