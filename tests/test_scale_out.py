"""More than one process: the Procfile's `web` with WEB_CONCURRENCY=2 and two `worker`s sharing a real Redis, and
the default single process with its in-process store. Either way: one answer per event, clicks served from the shared
cache, one Capillary call for N identical lookups."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.conftest import CapillaryStandIn, bot_env, sample_bytes
from tests.support.loopback import Reply
from tests.support.processes import Web, discard_all, launch_web, launch_worker, start_web, stop_all
from tests.support.redis_server import RedisServer
from tests.support.slack import FakeSlack, block_actions_payload, command_body, event_request, signed_headers

CUSTOMER = 565032176


@pytest.fixture(params=["one process, in-process store", "two processes, Redis"])
def web(request: pytest.FixtureRequest, slack: FakeSlack, capillary: CapillaryStandIn, tmp_path: Path) -> Iterator[Web]:
    capillary.answers[CUSTOMER] = Reply(body=sample_bytes("lower"), delay=1.0)
    # Room for a loaded machine: a waiter gives up on the lock after half its deadline and then fetches itself.
    extra: dict[str, str] = {"COUPONS_UPSTREAM_DEADLINE_SECONDS": "20", "COUPONS_READ_TIMEOUT_SECONDS": "15"}
    workers: list[Web] = []
    if "Redis" in request.param:
        server: RedisServer = request.getfixturevalue("redis_server")  # empty: nothing cached by an earlier test
        extra |= {"REDIS_URL": server.url, "WEB_CONCURRENCY": "2"}
        workers = [launch_worker(bot_env(slack, capillary, **extra), tmp_path) for _ in range(2)]
    web = launch_web(bot_env(slack, capillary, **extra), tmp_path)
    try:
        for process in [*workers, web]:  # started side by side, each waited for
            process.ready()
        yield web
    finally:
        discard_all(process.process for process in [web, *workers])


def post(web: Web, body: str, headers: dict[str, list[str]]) -> int:
    # A new connection each time, as Slack's deliveries come: the kernel spreads them over the workers.
    with httpx.Client(timeout=10) as client:
        response = client.post(web.base + "/slack/events", content=body, headers={k: v[0] for k, v in headers.items()})
    return response.status_code


def test_an_event_and_its_retries_are_answered_once(web: Web, slack: FakeSlack, capillary: CapillaryStandIn) -> None:
    dm = {"type": "message", "channel": "D0DM0001", "channel_type": "im", "user": "U0AGENT1", "text": "565032176"}
    deliveries = [
        event_request(dm, event_id="EvScale"),
        event_request(dm, event_id="EvScale", retry_num=1, retry_reason="http_timeout"),
        event_request(dm, event_id="EvScale", retry_num=2, retry_reason="http_error"),
        event_request(dm, event_id="EvScale", retry_num=3, retry_reason="connection_failed"),
    ]
    with ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(lambda request: post(web, *request), deliveries))
    assert statuses == [200] * 4
    slack.wait_api("chat.postMessage")
    # A later, different event is answered too; once it is, the first one's duplicates have had their chance.
    post(web, *event_request(dm, event_id="EvLater"))
    assert len(slack.wait_api("chat.postMessage", 2)) == 2
    assert len(slack.api_calls("chat.postMessage")) == 2


def test_clicks_right_after_a_lookup_are_served_from_the_shared_cache(
    web: Web, slack: FakeSlack, capillary: CapillaryStandIn
) -> None:
    body = command_body("565032176 lower", response_url=slack.response_url("cmd"))
    assert post(web, body, signed_headers(body)) == 200
    [message] = slack.wait_responses(1, name="cmd")
    button = next(
        element
        for block in message["blocks"]
        for element in [block.get("accessory") or {}]
        if element.get("text", {}).get("text") == "Series details"
    )
    for n in range(10):
        action = {"action_id": button["action_id"], "value": button["value"]}
        payload = block_actions_payload(action, response_url=slack.response_url(f"click{n:02d}"))
        form = urllib.parse.urlencode({"payload": json.dumps(payload)})
        assert post(web, form, signed_headers(form)) == 200
    for n in range(10):
        slack.wait_responses(1, name=f"click{n:02d}")
    assert len(capillary.coupon_calls()) == 1


def test_forty_identical_lookups_make_one_capillary_call(
    web: Web, slack: FakeSlack, capillary: CapillaryStandIn
) -> None:
    bodies = [command_body("565032176", response_url=slack.response_url(f"r{n:02d}")) for n in range(40)]
    with ThreadPoolExecutor(40) as pool:
        statuses = list(pool.map(lambda body: post(web, body, signed_headers(body)), bodies))
    assert statuses == [200] * 40
    for n in range(40):
        [answer] = slack.wait_responses(1, name=f"r{n:02d}")
        assert "*7* expired" in json.dumps(answer["blocks"])
    assert len(capillary.coupon_calls()) == 1


def test_with_redis_down_lookups_still_work(slack: FakeSlack, capillary: CapillaryStandIn, tmp_path: Path) -> None:
    from tests.support.redis_server import free_port

    capillary.answers[CUSTOMER] = Reply(body=sample_bytes("lower"))
    port = free_port()  # nobody listens there
    web = start_web(bot_env(slack, capillary, REDIS_URL=f"redis://:hunter2@127.0.0.1:{port}/0"), tmp_path)
    try:
        for n in range(3):
            body = command_body("565032176", response_url=slack.response_url(f"down{n}"))
            assert post(web, body, signed_headers(body)) == 200
            [answer] = slack.wait_responses(1, name=f"down{n}")
            assert "*7* expired" in json.dumps(answer["blocks"])
    finally:
        stop_all([web.process])
    warnings = [line for line in web.stderr().splitlines() if "Redis store unavailable" in line]
    assert len(warnings) == 1  # once, then at most once a minute
    assert "hunter2" not in web.stderr() and str(port) not in warnings[0]
