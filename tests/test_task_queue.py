"""Ack in `web`, answer in `worker`s: the Procfile's processes on a real Redis, a worker killed mid-way, the
standby that answers when no worker is live, and a job answered once however often it is delivered."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import redis

from bot.jobs import Job, JobFunctions, run_once
from bot.store.redis import RedisStore
from bot.task_queue import STANDBY_AFTER_SECONDS, QueueWatch, TaskQueue
from tests.conftest import CapillaryStandIn, bot_env, sample_bytes
from tests.support.loopback import Reply
from tests.support.processes import (
    Web,
    discard_all,
    launch_web,
    launch_worker,
    procfile_env,
    procfile_line,
    start_web,
    start_worker,
)
from tests.support.redis_server import RedisServer, until_redis_sees
from tests.support.slack import BOT_TOKEN, FakeSlack, command_body, signed_headers

CUSTOMER = 565032176
Processes = list[subprocess.Popen[bytes]]


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    return redis_server.url


@pytest.fixture
def processes() -> Iterator[Processes]:
    started: Processes = []
    yield started
    discard_all(started)


def post_command(web: Web, text: str, response_url: str) -> int:
    body = command_body(text, response_url=response_url)
    headers = {k: v[0] for k, v in signed_headers(body).items()}
    return httpx.post(web.base + "/slack/events", content=body, headers=headers, timeout=5).status_code


def health(web: Web) -> dict[str, object]:
    answer: dict[str, object] = httpx.get(web.base + "/healthz", timeout=2).json()
    return answer


def test_a_worker_without_redis_exits_2_with_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        ["sh", "-c", "exec " + procfile_line("worker")],
        cwd=tmp_path,
        env=procfile_env(SLACK_BOT_TOKEN=BOT_TOKEN, COUPONS_DEMO="1"),
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.decode().strip().splitlines() == [
        "coupons-bot worker needs REDIS_URL: without it, web answers every request itself"
    ]


def test_web_queues_the_lookup_and_a_worker_answers_it(
    slack: FakeSlack,
    capillary: CapillaryStandIn,
    redis_url: str,
    tmp_path: Path,
    processes: list[subprocess.Popen[bytes]],
) -> None:
    env = bot_env(slack, capillary, REDIS_URL=redis_url)
    web = start_web(env, tmp_path)
    processes.append(web.process)
    assert post_command(web, "565032176", slack.response_url("queued")) == 200
    # No worker yet: the job waits in Redis, and /healthz says so.
    until_redis_sees(redis_url, lambda: health(web).get("queue_depth") == 1)
    assert health(web) | {"queue_depth": 1} == {
        "status": "ok",
        "role": "web",
        "queue": "redis",
        "queue_depth": 1,
        "live_workers": 0,
        "answering_in_web": False,
    }
    assert slack.responses("queued") == [] and capillary.coupon_calls() == []  # web itself fetched nothing
    processes.append(start_worker(env, tmp_path).process)
    [answer] = slack.wait_responses(1, name="queued")
    assert "*7* expired" in json.dumps(answer["blocks"])
    until_redis_sees(redis_url, lambda: health(web)["live_workers"] == 1 and health(web)["queue_depth"] == 0)


def test_a_worker_killed_mid_way_loses_nothing_and_nothing_is_answered_twice(
    slack: FakeSlack,
    capillary: CapillaryStandIn,
    redis_url: str,
    tmp_path: Path,
    processes: list[subprocess.Popen[bytes]],
) -> None:
    customers = [CUSTOMER + n for n in range(40)]
    for customer in customers:
        capillary.answers[customer] = Reply(body=sample_bytes("lower"), held=True)
    # Capillary holds every answer until the kill: on a loaded machine, posting 40 commands can outlast the tests'
    # usual 3 s read timeout, and this test is about jobs kept, not deadlines. Not longer: the killed worker's fetch
    # locks live for a deadline, and a redelivered job waits up to half of one for them (14 s → about 13 s).
    env = bot_env(
        slack, capillary, REDIS_URL=redis_url, COUPONS_UPSTREAM_DEADLINE_SECONDS="14", COUPONS_READ_TIMEOUT_SECONDS="10"
    )
    doomed, survivor, web = launch_worker(env, tmp_path), launch_worker(env, tmp_path), launch_web(env, tmp_path)
    processes += [doomed.process, survivor.process, web.process]
    for process in (doomed, survivor, web):
        process.ready()
    for customer in customers:
        assert post_command(web, str(customer), slack.response_url(f"c{customer}")) == 200
    # Each worker runs 8 jobs at once and takes no more: with 16 fetches under way, and Capillary holding every
    # answer, both are full and the rest wait in the queue. Kill one without warning, mid-way through all it took.
    capillary.wait_coupon_calls(16)
    doomed.process.send_signal(signal.SIGKILL)
    assert doomed.process.wait(5) == -signal.SIGKILL
    capillary.server.release()
    killed_at = time.monotonic()
    for customer in customers:
        [answer] = slack.wait_responses(1, name=f"c{customer}", timeout=max(0.1, killed_at + 30 - time.monotonic()))
        assert "*7* expired" in json.dumps(answer["blocks"]), answer
    # Everything was answered within 30 s of the kill; now make sure no answer came twice.
    until_redis_sees(redis_url, lambda: health(web)["queue_depth"] == 0)
    assert [len(slack.responses(f"c{customer}")) for customer in customers] == [1] * len(customers)


def test_a_job_delivered_twice_is_answered_once(redis_url: str) -> None:
    store = RedisStore(redis_url)
    answered: list[str] = []
    functions = JobFunctions()

    def command_answer(body: dict[str, object]) -> None:
        answered.append(str(body["text"]))

    command_answer.__name__ = "command.answer"
    functions.add(command_answer)
    job = Job("j1", "command.answer", "command=%2Fcoupons&text=565032176", "http", None, True)
    run_once(functions, store, job)
    run_once(functions, store, Job.from_message(job.to_message()))  # redelivered after its worker died
    assert answered == ["565032176"]


def test_two_functions_with_one_name_are_refused() -> None:
    functions = JobFunctions()

    def redraw() -> None: ...

    functions.add(redraw)
    with pytest.raises(ValueError, match="redraw"):
        functions.add(redraw)


def test_with_no_live_worker_for_15_s_web_answers_queued_jobs_itself(redis_url: str) -> None:
    now = [0.0]
    functions = JobFunctions()
    ran = threading.Event()

    def command_answer() -> None:
        ran.set()

    command_answer.__name__ = "command.answer"
    functions.add(command_answer)
    queue = TaskQueue(redis_url, functions, RedisStore(redis_url))
    watch = QueueWatch(queue, threads=2, monotonic=lambda: now[0])
    try:
        queue.send(Job("j2", "command.answer", "command=%2Fcoupons", "http", None, True))
        watch.check()
        assert watch.health() == {"queue": "redis", "queue_depth": 1, "live_workers": 0, "answering_in_web": False}
        now[0] = STANDBY_AFTER_SECONDS - 0.1
        watch.check()
        assert not watch.answering_here
        now[0] = STANDBY_AFTER_SECONDS
        watch.check()
        assert watch.answering_here
        assert ran.wait(10)  # the queued job was run here
        queue.beat("another-host:1")  # a worker is back: web stops answering itself
        watch.check()
        assert not watch.answering_here and watch.health()["live_workers"] == 1
    finally:
        watch.close()
        queue.close()


def test_sigterm_lets_a_worker_finish_what_it_started(
    slack: FakeSlack,
    capillary: CapillaryStandIn,
    redis_url: str,
    tmp_path: Path,
    processes: list[subprocess.Popen[bytes]],
) -> None:
    capillary.answers[CUSTOMER] = Reply(body=sample_bytes("lower"), delay=1.0)
    env = bot_env(slack, capillary, REDIS_URL=redis_url)
    worker, web = launch_worker(env, tmp_path), launch_web(env, tmp_path)
    processes += [worker.process, web.process]
    for process in (worker, web):
        process.ready()
    assert post_command(web, "565032176", slack.response_url("late")) == 200
    capillary.wait_coupon_calls(1)
    os.kill(worker.process.pid, signal.SIGTERM)
    assert worker.process.wait(15) == 0
    [answer] = slack.wait_responses(1, name="late")
    assert "*7* expired" in json.dumps(answer["blocks"])


def test_a_job_another_live_worker_is_running_is_not_run_again(redis_url: str) -> None:
    ran: list[str] = []
    functions = JobFunctions()

    def command_answer() -> None:
        ran.append("answered")

    command_answer.__name__ = "command.answer"
    functions.add(command_answer)
    queue = TaskQueue(redis_url, functions, RedisStore(redis_url))
    client = redis.Redis.from_url(redis_url)
    job = Job("j3", "command.answer", "command=%2Fcoupons", "http", None, True)
    try:
        # Another worker took it and still beats (it was slow to renew its broker heartbeat): not run here.
        client.set("coupons-bot:job:j3:running", json.dumps({"worker": "other:1", "broker": "b-other"}))
        queue.beat("other:1")
        queue._run(job.to_message())
        assert ran == []
        # That worker is gone (no beat for long): this one answers.
        client.zadd("coupons-bot:workers", {"other:1": 0})
        queue._run(job.to_message())
        assert ran == ["answered"]
        queue._run(job.to_message())  # and a third delivery finds it answered
        assert ran == ["answered"]
    finally:
        queue.close()


def test_stopping_the_standby_leaves_the_broker_as_it_was(redis_url: str) -> None:
    now = [0.0]
    queue = TaskQueue(redis_url, JobFunctions(), RedisStore(redis_url))
    watch = QueueWatch(queue, threads=1, monotonic=lambda: now[0])
    before = len(queue.broker.middleware)
    try:
        for _ in range(3):
            now[0] += STANDBY_AFTER_SECONDS
            watch.check()
            assert watch.answering_here
            queue.beat("back:1")
            watch.check()
            assert not watch.answering_here
            queue.leave("back:1")
        assert len(queue.broker.middleware) == before
    finally:
        watch.close()
        queue.close()


def test_a_burst_of_lookups_is_acked_at_once_and_each_answered_once(
    slack: FakeSlack, capillary: CapillaryStandIn, redis_url: str, tmp_path: Path, processes: Processes
) -> None:
    customers = [CUSTOMER + n for n in range(40)]
    for customer in customers:
        capillary.answers[customer] = Reply(body=sample_bytes("lower"))
    env = bot_env(slack, capillary, REDIS_URL=redis_url)
    started = [launch_worker(env, tmp_path), launch_worker(env, tmp_path), web := launch_web(env, tmp_path)]
    processes += [process.process for process in started]
    for process in started:
        process.ready()
    bodies = [command_body(str(c), response_url=slack.response_url(f"b{c}")) for c in customers * 2]

    # One client, a new connection per request as Slack's deliveries come: `httpx.post` would build a client (and
    # its TLS context) per request, and 30 threads doing that timed the test's own interpreter lock, not web's.
    client = httpx.Client(timeout=10, limits=httpx.Limits(max_keepalive_connections=0))

    def ack_seconds(body: str) -> float:
        headers = {k: v[0] for k, v in signed_headers(body).items()}
        started = time.monotonic()
        assert client.post(web.base + "/slack/events", content=body, headers=headers).status_code == 200
        return time.monotonic() - started

    with client, ThreadPoolExecutor(30) as pool:  # 80 lookups, every customer twice, as fast as 30 connections go
        acks = list(pool.map(ack_seconds, bodies))
    assert max(acks) < 3.0
    for customer in customers:
        answers = slack.wait_responses(2, name=f"b{customer}")
        assert all("*7* expired" in json.dumps(answer["blocks"]) for answer in answers)
    until_redis_sees(redis_url, lambda: health(web)["queue_depth"] == 0)
    assert all(len(slack.responses(f"b{customer}")) == 2 for customer in customers)


@pytest.mark.parametrize("mode", ["http", "socket_mode"])
def test_a_job_carries_the_request_as_bolt_gave_it_in_either_mode(mode: str) -> None:
    from slack_bolt.request import BoltRequest

    payload = {"type": "block_actions", "user": {"id": "U0AGENT1"}, "team": {"id": "T0TEAM01"}, "actions": [{}]}
    if mode == "http":
        lazy = BoltRequest(
            body="payload=" + json.dumps(payload), headers={"content-type": "application/x-www-form-urlencoded"}
        )
    else:
        lazy = BoltRequest(body=payload, mode="socket_mode")
    lazy.lazy_function_name = "click.redraw"
    lazy.context["access_allowed"] = False
    job = Job.from_message(json.loads(json.dumps(Job.of(lazy).to_message())))  # through Redis, as JSON
    again = job.request()
    assert job.function == "click.redraw" and again.mode == mode
    assert again.body == payload and again.context.user_id == "U0AGENT1"
    assert again.context["access_allowed"] is False
