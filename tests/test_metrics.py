"""GET /metrics on the Procfile's web: Prometheus' text, every label a kind and never a customer, and with
PROMETHEUS_MULTIPROC_DIR the figures of every process on the host (web's and the workers')."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.metrics import endpoint
from tests.conftest import CapillaryStandIn, bot_env
from tests.support.processes import Web, discard_all, start_web, start_worker
from tests.support.redis_server import RedisServer
from tests.support.slack import FakeSlack, command_body, signed_headers

CUSTOMER = 565032176


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    discard_all(started)


def look_up(web: Web, slack: FakeSlack, name: str) -> None:
    body = command_body(str(CUSTOMER), response_url=slack.response_url(name))
    headers = {k: v[0] for k, v in signed_headers(body).items()}
    assert httpx.post(web.base + "/slack/events", content=body, headers=headers, timeout=5).status_code == 200
    [answer] = slack.wait_responses(1, name=name)
    assert "*7* expired" in json.dumps(answer["blocks"])


def sample(text: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{key}="{value}"' for key, value in labels.items())
    match = re.search(rf"^{re.escape(name)}\{{{re.escape(wanted)}\}} (\S+)$", text, re.MULTILINE)
    assert match is not None, f"{name}{{{wanted}}} not in the scrape"
    return float(match[1])


def test_a_lookup_shows_in_the_scrape_and_no_label_names_a_customer(
    slack: FakeSlack, capillary: CapillaryStandIn, tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    web = start_web(bot_env(slack, capillary), tmp_path)
    processes.append(web.process)
    look_up(web, slack, "m1")
    scrape = httpx.get(web.base + "/metrics", timeout=5)
    assert scrape.status_code == 200 and scrape.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = scrape.text
    assert sample(text, "coupons_requests_total", action="command", outcome="ok") == 1
    assert sample(text, "coupons_cache_lookups_total", result="miss") == 1
    assert sample(text, "coupons_capillary_requests_total", endpoint="v2/customers/{id}/coupons", status="200") == 1
    assert "coupons_ack_seconds_count" in text and "coupons_answer_seconds_bucket" in text
    assert "coupons_log_lines_dropped" in text
    assert str(CUSTOMER) not in text


def test_metrics_can_be_turned_off(
    slack: FakeSlack, capillary: CapillaryStandIn, tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    web = start_web(bot_env(slack, capillary, COUPONS_METRICS="0"), tmp_path)
    processes.append(web.process)
    assert httpx.get(web.base + "/metrics", timeout=5).status_code == 404


def test_with_a_shared_directory_a_scrape_adds_up_web_and_the_workers(
    slack: FakeSlack,
    capillary: CapillaryStandIn,
    tmp_path: Path,
    redis_server: RedisServer,
    processes: list[subprocess.Popen[bytes]],
) -> None:
    shared = tmp_path / "metrics"
    shared.mkdir()
    env = bot_env(slack, capillary, REDIS_URL=redis_server.url, PROMETHEUS_MULTIPROC_DIR=str(shared))
    processes.append(start_worker(env, tmp_path).process)
    web = start_web(env, tmp_path)
    processes.append(web.process)
    look_up(web, slack, "m2")
    text = httpx.get(web.base + "/metrics", timeout=5).text
    # The worker answered (and called Capillary); web only acked: the scrape has both.
    assert sample(text, "coupons_requests_total", action="command", outcome="ok") >= 1
    assert sample(text, "coupons_capillary_requests_total", endpoint="v2/customers/{id}/coupons", status="200") >= 1
    assert "coupons_ack_seconds_count" in text


@pytest.mark.parametrize(
    ("path", "label"),
    [
        ("/v2/customers/565032176/coupons?format=json", "v2/customers/{id}/coupons"),
        ("v2/customers/565032176", "v2/customers/{id}"),
        ("/v2/customers/lookup/customerDetails", "v2/customers/lookup/customerDetails"),
        ("/v3/oauth/token/generate", "v3/oauth/token/generate"),
    ],
)
def test_an_endpoint_label_never_carries_a_customer(path: str, label: str) -> None:
    assert endpoint(path) == label
