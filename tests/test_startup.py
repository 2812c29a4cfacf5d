"""Start-up with a token Slack refuses, or with Slack out of reach: one line and exit 2, never a traceback."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from bot.__main__ import main
from bot.asgi import create_asgi_app
from tests.conftest import CapillaryStandIn, bot_env
from tests.support.loopback import Reply, nowhere_url
from tests.support.slack import FakeSlack


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, slack: FakeSlack, capillary: CapillaryStandIn) -> Any:
    def apply(**extra: str) -> None:
        for name, value in bot_env(slack, capillary, COUPONS_ALLOWED_USER_IDS="U0AGENT1", **extra).items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("SLACK_APP_TOKEN", raising=False)

    return apply


def start_web() -> int:
    with pytest.raises(SystemExit) as exited:
        create_asgi_app()
    return int(exited.value.code or 0)


@pytest.mark.parametrize("start", [lambda: main(["serve"]), start_web], ids=["serve", "web"])
def test_a_refused_token_is_one_line_and_exit_2(
    environment: Any, slack: FakeSlack, capsys: pytest.CaptureFixture[str], start: Any
) -> None:
    environment()
    slack.queued["auth.test"] = [Reply(body={"ok": False, "error": "invalid_auth"})]
    assert start() == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "coupons-bot: Slack refused SLACK_BOT_TOKEN (invalid_auth); copy the Bot User OAuth Token again"
    ]


@pytest.mark.parametrize("start", [lambda: main(["serve"]), start_web], ids=["serve", "web"])
def test_slack_out_of_reach_is_one_line_and_exit_2(
    environment: Any, capsys: pytest.CaptureFixture[str], start: Any
) -> None:
    url = nowhere_url("api/")
    environment(SLACK_API_URL=url)
    assert start() == 2
    err = capsys.readouterr().err
    [line] = err.splitlines()
    assert line.startswith(f"coupons-bot: Slack could not be reached at {url} to check SLACK_BOT_TOKEN (")


def test_no_token_will_be_unused_warning_at_start(
    environment: Any, make_app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    environment()  # SLACK_BOT_TOKEN in the environment, as in production: Bolt reads it as well as our client's
    with caplog.at_level(logging.INFO):
        make_app()
    assert not [r for r in caplog.records if "will be unused" in r.getMessage()]
