"""`coupons-bot preview` and the built-in demo data."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.__main__ import main
from bot.demo.customers import ERROR_CUSTOMERS, LARGE_CUSTOMER, MIXED_CUSTOMER, demo_answer
from bot.domain.coupon import CodeCase
from bot.domain.coupon_state import CouponState, classify
from bot.settings import Settings
from bot.wiring import build_answerer
from tests.conftest import NOW, CapillaryStandIn, full_coupons
from tests.support.blockkit import all_texts, assert_valid_message
from tests.support.loopback import Reply, nowhere_url
from tests.support.slack import FakeSlack, send_command

NO_CAPILLARY = (
    "CAPILLARY_BASE_URL",
    "CAPILLARY_CLUSTER",
    "CAPILLARY_USERNAME",
    "CAPILLARY_PASSWORD",
    "CAPILLARY_OAUTH_CLIENT_KEY",
    "CAPILLARY_OAUTH_CLIENT_SECRET",
    "COUPONS_DEMO",
)


@pytest.fixture
def no_capillary(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in NO_CAPILLARY:
        monkeypatch.delenv(name, raising=False)


def test_preview_prints_the_demo_summary_as_text(no_capillary: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["preview", str(MIXED_CUSTOMER), "lower"]) == 0
    out = capsys.readouterr()
    assert "showing built-in demo data" in out.err
    lines = out.out.splitlines()
    assert lines[0] == "Coupons · Asha Example"
    assert lines[3] == "3 active · 1 upcoming · 2 redeemed · 2 expired"
    assert lines[4] == "  Gold tier · 1,850 points · customer 565032176 · mobile ••••••••1001 · email a•••@example.com"
    assert "Demo data, not a real customer" in out.out and "codes in lower case" in out.out
    for title in ("● Active · 3", "◔ Upcoming · 1", "✔ Redeemed · 2", "✖ Expired · 2"):
        assert title in lines
    assert "    `tt6wzp7xnw` · Weekend 250 off, 5 uses   [Series details]" in lines
    assert "used 2×, 3 left" in out.out and "at MarvelAuto_Store" in out.out
    assert lines[-1].strip() == "[Refresh] [Share with channel]"
    assert "<!date" not in out.out and "&lt;" not in out.out


def test_preview_json_is_valid_block_kit(no_capillary: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["preview", str(LARGE_CUSTOMER), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert_valid_message(payload["blocks"])
    assert payload["blocks"][1]["text"]["text"] == "*100* active · *100* upcoming · *100* redeemed · *100* expired"
    assert payload["text"].startswith("Coupons for customer 565032177")


@pytest.mark.parametrize(
    ("customer", "words"),
    [
        ("400000404", "no customer with ID 400000404"),
        ("400000400", "not a valid customer ID"),
        ("400000401", "credentials"),
        ("400000403", "may not see"),
        ("400000502", "isn't answering"),
    ],
)
def test_preview_errors_print_the_slack_message_and_exit_non_zero(
    no_capillary: None, capsys: pytest.CaptureFixture[str], customer: str, words: str
) -> None:
    assert main(["preview", customer]) == 1
    out = capsys.readouterr().out
    assert words in out and "Demo mode" in out


def test_preview_bad_input_exits_non_zero(no_capillary: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["preview", "12abc"]) == 1
    assert "not a customer ID" in capsys.readouterr().out


def test_preview_with_credentials_calls_capillary(
    monkeypatch: pytest.MonkeyPatch, capillary: CapillaryStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CAPILLARY_BASE_URL", capillary.url)
    monkeypatch.setenv("CAPILLARY_USERNAME", "store.server")
    monkeypatch.setenv("CAPILLARY_PASSWORD", "server123")
    monkeypatch.delenv("COUPONS_DEMO", raising=False)
    assert main(["preview", "565032176", "lower"]) == 0
    out = capsys.readouterr()
    assert "demo" not in (out.err + out.out).lower()
    assert "0 active · 0 upcoming · 0 redeemed · 7 expired" in out.out
    assert len(capillary.coupon_calls()) == 1


def test_demo_customers_cover_every_state_relative_to_today() -> None:
    for today in (NOW, NOW + timedelta(days=400)):
        body = demo_answer(MIXED_CUSTOMER, CodeCase.AS_IT_IS, today)
        coupons = full_coupons(body)
        states = {classify(c, today) for c in coupons}
        assert states == set(CouponState)
        redeemed = [c for c in coupons if classify(c, today) is CouponState.REDEEMED]
        assert all(c.redemption_info and c.last_redemption.redeemed_at for c in redeemed)  # type: ignore[union-attr]
    assert set(ERROR_CUSTOMERS) == {400000400, 400000401, 400000403, 400000404, 400000204, 400000500, 400000502}


def test_demo_codes_follow_the_case_asked_for() -> None:
    codes = {
        case: [c["code"] for c in demo_answer(MIXED_CUSTOMER, case, NOW)["entity"]]  # type: ignore[index]
        for case in CodeCase
    }
    assert all(c.islower() or c.isdigit() for c in "".join(codes[CodeCase.LOWER]) if c.isalpha())
    assert codes[CodeCase.UPPER] == [c.upper() for c in codes[CodeCase.AS_IT_IS]]
    assert any(c != c.lower() and c != c.upper() for c in codes[CodeCase.AS_IT_IS])


def test_the_slack_app_uses_demo_data_only_when_asked(
    make_app: Any, slack: FakeSlack, capillary: CapillaryStandIn
) -> None:
    app, answerer = make_app(COUPONS_DEMO="1")
    assert answerer.service.demo
    send_command(app, f"{MIXED_CUSTOMER}", response_url=slack.response_url())
    [answer] = slack.wait_responses(1)
    texts = " ".join(all_texts(answer["blocks"]))
    assert "Demo data" in texts and "*3* active" in texts
    assert capillary.coupon_calls() == []
    _, real = make_app()
    assert not real.service.demo


def test_credentials_select_the_real_backend() -> None:
    settings = Settings.from_env({"CAPILLARY_CLUSTER": "eu", "CAPILLARY_USERNAME": "u", "CAPILLARY_PASSWORD": "p"})
    answerer = build_answerer(settings, use_demo=False)
    assert not answerer.service.demo and answerer.connection_label == "https://eu.api.capillarytech.com/"


def test_installed_console_script_runs_from_another_directory(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "coupons-bot"
    # Buffered output, as at a terminal's pipe: the preview ends without Python's teardown, after flushing.
    env = {k: v for k, v in os.environ.items() if k not in NO_CAPILLARY and k != "PYTHONUNBUFFERED"}

    def run(*command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False)

    result = run(str(script), "preview", "565032176")
    assert result.returncode == 0, result.stderr
    assert "3 active · 1 upcoming · 2 redeemed · 2 expired" in result.stdout
    assert result.stdout.endswith("[Refresh] [Share with channel]\n")  # all of it, though teardown is skipped
    assert result.stderr == "No Capillary settings: showing built-in demo data.\n"
    module = run(sys.executable, "-m", "bot", "preview", "400000404")
    assert module.returncode == 1 and "no customer with ID 400000404" in module.stdout
    # A payload larger than Python's own output buffer (8 KiB) still arrives whole before the process ends.
    large = run(str(script), "preview", str(LARGE_CUSTOMER), "--json")
    assert large.returncode == 0 and len(large.stdout) > 8192
    assert json.loads(large.stdout)["blocks"]


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"CAPILLARY_CLUSTER": "eu"}, "CAPILLARY_USERNAME and CAPILLARY_PASSWORD"),
        ({"CAPILLARY_USERNAME": "store.server", "CAPILLARY_PASSWORD": "x"}, "CAPILLARY_BASE_URL"),
    ],
)
def test_preview_refuses_half_a_capillary_configuration_as_serve_does(
    no_capillary: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    settings: dict[str, str],
    named: str,
) -> None:
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    assert main(["preview", str(MIXED_CUSTOMER)]) == 2
    out = capsys.readouterr()
    assert out.out == ""
    [line] = out.err.splitlines()
    assert line.startswith("coupons-bot: configuration error: ") and named in line
    assert "demo" not in line.lower().split(";")[0]


def test_preview_reads_its_words_as_slash_command_text(no_capillary: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["preview", str(MIXED_CUSTOMER), "lower", "extra"]) == 1
    out = capsys.readouterr()
    assert "nothing more" in out.out and "usage" not in out.err.lower()
    assert main(["preview", "help"]) == 0  # asking for help is not an error
    assert "/coupons 565032176 lower" in capsys.readouterr().out
    assert main(["preview", "9223372036854775808"]) == 1
    assert "too large" in capsys.readouterr().out


def test_words_after_preview_are_read_as_slash_command_text_whatever_they_look_like(
    no_capillary: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["preview", str(MIXED_CUSTOMER), "--json", "lower"]) == 0  # --json anywhere, the rest in order
    assert "codes in lower case" in json.dumps(json.loads(capsys.readouterr().out))
    assert main(["preview", "-x", str(MIXED_CUSTOMER)]) == 1  # a word like an option: Slack's answer, not argparse's
    assert "nothing more" in capsys.readouterr().out
    assert main(["preview", "lower", str(MIXED_CUSTOMER)]) == 1
    assert "Put the code case after the customer" in capsys.readouterr().out


def test_the_terminal_shows_no_emoji_codes_and_no_info_lines(
    no_capillary: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.terminal_preview import mrkdwn_to_text

    assert mrkdwn_to_text(":dart: Target at 10:30:15 `:keep:`") == "Target at 10:30:15 `:keep:`"
    monkeypatch.setenv("COUPONS_LOG_LEVEL", "INFO")
    assert main(["preview", "400000404"]) == 1
    assert logging.getLogger("bot").getEffectiveLevel() == logging.WARNING  # INFO lines stay out of the terminal


@pytest.fixture
def real_capillary(no_capillary: None, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """Point the preview at `url` as a real Capillary, with timeouts short enough for a test."""

    def point_at(url: str) -> None:
        monkeypatch.setenv("CAPILLARY_BASE_URL", url)
        monkeypatch.setenv("CAPILLARY_USERNAME", "store.server")
        monkeypatch.setenv("CAPILLARY_PASSWORD", "server123")
        monkeypatch.setenv("COUPONS_CONNECT_TIMEOUT_SECONDS", "0.2")
        monkeypatch.setenv("COUPONS_READ_TIMEOUT_SECONDS", "0.2")
        monkeypatch.setenv("COUPONS_UPSTREAM_DEADLINE_SECONDS", "0.5")

    return point_at


def _diagnosis(capsys: pytest.CaptureFixture[str]) -> str:
    out = capsys.readouterr()
    assert out.out.startswith("⚠")  # the agent's message is still printed, as before
    [line] = [line for line in out.err.splitlines() if line.startswith("Capillary at ")]
    assert "server123" not in out.err + out.out
    return line


def test_preview_names_an_unresolvable_host(
    real_capillary: Callable[[str], None], capsys: pytest.CaptureFixture[str]
) -> None:
    real_capillary("https://capillary.example.invalid/")  # .invalid never resolves (RFC 6761)
    assert main(["preview", "565032176"]) == 1
    assert _diagnosis(capsys) == "Capillary at https://capillary.example.invalid: name not resolved."


def test_preview_names_a_refused_connection(
    real_capillary: Callable[[str], None], capsys: pytest.CaptureFixture[str]
) -> None:
    url = nowhere_url()
    real_capillary(url)
    assert main(["preview", "565032176"]) == 1
    assert _diagnosis(capsys) == f"Capillary at {url.rstrip('/')}: connection refused."


def test_preview_names_a_tls_failure(
    real_capillary: Callable[[str], None], capillary: CapillaryStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    real_capillary(capillary.url.replace("http://", "https://"))  # plain HTTP where TLS is expected
    assert main(["preview", "565032176"]) == 1
    line = _diagnosis(capsys)
    assert line.startswith(f"Capillary at {capillary.url.replace('http://', 'https://').rstrip('/')}: TLS failure")


def test_preview_names_a_timeout(real_capillary: Callable[[str], None], capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as silent:  # accepts connections (the kernel's backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        real_capillary(url + "/")
        assert main(["preview", "565032176"]) == 1
    assert _diagnosis(capsys) == f"Capillary at {url}: timed out (connect 0.2 s, read 0.2 s)."


@pytest.mark.parametrize(("status", "says"), [(401, "refused (HTTP 401)"), (403, "not allowed (HTTP 403)")])
def test_preview_names_the_username_a_refusal_was_for(
    real_capillary: Callable[[str], None],
    capillary: CapillaryStandIn,
    capsys: pytest.CaptureFixture[str],
    status: int,
    says: str,
) -> None:
    body = {"errors": [{"code": 4000 if status == 403 else 401, "message": "no"}]}
    capillary.answers[565032176] = Reply(status, body)
    real_capillary(capillary.url)
    assert main(["preview", "565032176"]) == 1
    line = _diagnosis(capsys)
    assert line.startswith(f"Capillary at {capillary.url.rstrip('/')}: CAPILLARY_USERNAME 'store.server' ")
    assert says in line


def test_preview_says_nothing_more_when_capillary_answers_about_the_customer(
    real_capillary: Callable[[str], None], capillary: CapillaryStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    real_capillary(capillary.url)
    assert main(["preview", "400000404"]) == 1  # not found: the setup works
    out = capsys.readouterr()
    assert "no customer with ID 400000404" in out.out and "Capillary at" not in out.err
