"""Start-up with a token Slack refuses, or with Slack out of reach: one line and exit 2, never a traceback."""

from __future__ import annotations

import logging
import os
import socket
from typing import Any

import pytest

from bot.__main__ import main
from bot.web.server import create_asgi_app
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


@pytest.mark.parametrize("start", [lambda: main(["serve"]), start_web], ids=["serve", "web"])
def test_slack_answering_wrongly_is_not_blamed_on_the_token(
    environment: Any, slack: FakeSlack, capsys: pytest.CaptureFixture[str], start: Any
) -> None:
    environment()
    page = Reply(503, "<html>Service Unavailable</html>", headers={"Content-Type": "text/html"})
    slack.queued["auth.test"] = [page] * 5  # the SDK's own retries get the same page
    assert start() == 2
    [line] = capsys.readouterr().err.splitlines()
    assert "HTTP 503" in line and "copy" not in line and "start the bot again when Slack is back" in line


def test_a_refused_app_token_is_one_line_and_exit_2(
    environment: Any, slack: FakeSlack, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    environment()
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1-refused")
    slack.queued["apps.connections.open"] = [Reply(body={"ok": False, "error": "invalid_auth"})]
    assert main(["serve"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "coupons-bot: Slack refused SLACK_APP_TOKEN (invalid_auth); copy the app-level token (with "
        "connections:write) again"
    ]


def test_every_missing_setting_is_named_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in [n for n in os.environ if n.startswith(("SLACK_", "CAPILLARY_", "COUPONS_", "REDIS_"))]:
        monkeypatch.delenv(name)
    assert main(["serve"]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert "CAPILLARY_BASE_URL (or CAPILLARY_CLUSTER) is not set" in line
    assert "SLACK_BOT_TOKEN is not set" in line and "SLACK_SIGNING_SECRET is not set" in line


def test_a_port_in_use_is_one_line_and_exit_2(environment: Any, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        environment(PORT=str(port))
        assert main(["serve"]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"coupons-bot: cannot listen on port {port} (") and line.endswith("set PORT to a free one")
