"""Answered once: before the ack this process's own memory decides (no network); with Redis, a second check
after the ack decides across processes."""

from __future__ import annotations

import socket
import time
from typing import Any

from bot.replays import Replays
from bot.store import MemoryStore
from bot.store.redis import RedisStore

EVENT = {"type": "event_callback", "event_id": "Ev1", "event": {"type": "message"}}
COMMAND = {"command": "/coupons", "trigger_id": "1.2.abc"}


def test_in_one_process_the_check_before_the_ack_is_the_check() -> None:
    replays = Replays(MemoryStore(1024 * 1024))
    assert replays.first_here(EVENT) and not replays.first_here(EVENT)
    assert replays.first_here(COMMAND) and not replays.first_here(COMMAND)
    assert replays.first_anywhere(EVENT)  # nothing shared to ask
    assert replays.first_here({"type": "url_verification"})  # no key: always answered


def test_processes_sharing_redis_answer_once_between_them(redis_server: Any) -> None:
    workers = [Replays(RedisStore(redis_server.url)) for _ in range(2)]
    body = {**EVENT, "event_id": "EvShared"}
    assert all(worker.first_here(body) for worker in workers)  # each process sees it for the first time
    assert [worker.first_anywhere(body) for worker in workers] == [True, False]  # one of them answers


def test_the_check_before_the_ack_never_waits_on_redis() -> None:
    with socket.socket() as silent:  # accepts connections, never answers: a Redis on a bad day
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        replays = Replays(RedisStore(f"redis://127.0.0.1:{silent.getsockname()[1]}/0"))
        started = time.monotonic()
        assert replays.first_here({**EVENT, "event_id": "EvSlowRedis"})
        assert time.monotonic() - started < 0.05
