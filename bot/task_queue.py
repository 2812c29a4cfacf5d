"""The task queue over Redis: `web` acks and queues a job, `worker` processes run it (Dramatiq's Redis broker).

Why Dramatiq: its workers are threads running plain functions (our listeners are synchronous), and its Redis
broker gives a job back to the queue when the worker that took it stops sending heartbeats — a SIGKILLed or
vanished worker's jobs are run by another one. A job stays in Redis until a worker has run it (acked), so a
worker that is killed mid-way loses nothing; `jobs.run_once` keeps a redelivered job from being answered twice.

Redis keys: the queue `coupons-bot-queue:lookups` (message ids) and its `.msgs` hash, each worker's unacked ids
in `coupons-bot-queue:__acks__.<broker id>.lookups`, Dramatiq's heartbeats in `coupons-bot-queue:__heartbeats__`,
the doorbell idle workers wait on, `coupons-bot-queue:lookups.doorbell`, and the live `worker` processes in
`coupons-bot:workers` (a sorted set of heartbeat times, read by `/healthz` and by `web`'s standby).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import dramatiq
import redis
from dramatiq.broker import MessageProxy
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer
from dramatiq.errors import ConnectionClosed
from dramatiq.middleware import Interrupt, Retries, TimeLimit
from slack_bolt.lazy_listener import LazyListenerRunner
from slack_bolt.request import BoltRequest

from bot.jobs import Job, JobFunctions, run_once
from bot.log_rate import RateLimitedLog
from bot.replays import Replays
from bot.store import Store

logger = logging.getLogger(__name__)

NAMESPACE = "coupons-bot-queue"
QUEUE_NAME = "lookups"
WORKERS_KEY = "coupons-bot:workers"
# A worker process says it is alive this often; one silent for WORKER_LIVE_SECONDS counts as gone.
HEARTBEAT_SECONDS = 1.0
WORKER_LIVE_SECONDS = 5.0
# With no live worker for this long, `web` runs the queued jobs itself until a worker is back.
STANDBY_AFTER_SECONDS = 15.0
# An idle consumer waits this long on its queue's doorbell before it looks at the queue again (and beats).
IDLE_WAIT_SECONDS = 1
# Doorbell rings kept at most (one per job sent; an idle consumer takes one to wake).
DOORBELL_LENGTH = 1000
# A worker whose broker heartbeat is this old is dead: the next maintenance puts its jobs back on the queue.
BROKER_HEARTBEAT_TIMEOUT_MS = 5000
# Maintenance (looking for dead workers' jobs) runs on this many broker commands in a million: an idle consumer
# makes about one a second, so a dead worker's jobs are back on the queue a second or two after it is found dead.
MAINTENANCE_CHANCE = 250_000
# A job that failed outright (it can't: every listener answers its own errors) is kept this long, not a week.
DEAD_JOB_TTL_MS = 10 * 60 * 1000
# Each job's own ceiling: a lookup is bounded by its deadline and delivery by Slack's timeouts well before this.
JOB_TIME_LIMIT_MS = 120_000
# After Redis failed to take a job, web answers in-process for this long before trying the queue again.
RETRY_QUEUE_AFTER_SECONDS = 5.0
# Jobs acked but not yet handed to Redis, at most; past that (a slow Redis) web answers in-process.
MAX_WAITING_TO_SEND = 1000
# How long web's standby worker gets to finish what it started when it stops.
STANDBY_STOP_MS = 10_000


class TaskQueue:
    """The queue, from any role: `send` a job (web), run jobs (`worker`, or web's standby), and what `/healthz`
    reports (depth, live workers)."""

    def __init__(self, redis_url: str, functions: JobFunctions, store: Store) -> None:
        self.client = redis.Redis.from_url(redis_url, socket_timeout=2.0, socket_connect_timeout=2.0)
        self.broker = _WakeableRedisBroker(  # type: ignore[no-untyped-call]
            client=self.client,
            namespace=NAMESPACE,
            heartbeat_timeout=BROKER_HEARTBEAT_TIMEOUT_MS,
            maintenance_chance=MAINTENANCE_CHANCE,
            dead_message_ttl=DEAD_JOB_TTL_MS,
            middleware=[TimeLimit(time_limit=JOB_TIME_LIMIT_MS), Retries(max_retries=0)],
        )
        self._functions = functions
        self._store = store
        self.actor: dramatiq.Actor[[dict[str, Any]], None] = dramatiq.Actor(
            self._run, broker=self.broker, actor_name="answer", queue_name=QUEUE_NAME, priority=0, options={}
        )

    def _run(self, message: dict[str, Any]) -> None:
        # Nothing escapes to Dramatiq, which would log the whole message: the request, a typed mobile included.
        try:
            job = Job.from_message(message)
        except (TypeError, ValueError):
            logger.warning("a job this version can't read was dropped")
            return
        try:
            if self._claim(job):
                run_once(self._functions, self._store, job)
        except (Exception, Interrupt) as error:  # Interrupt: Dramatiq's time limit, a BaseException
            logger.error("job %s (%s) failed: %s", job.id, job.function, type(error).__name__)

    def _claim(self, job: Job) -> bool:
        """Whether to run `job` here: not while another worker that is still alive runs it. Dramatiq hands a job to
        another worker when the first one's heartbeat stops; a worker that was only slow to beat (Redis away a
        few seconds) still runs it, and the person would be answered twice."""
        key = f"coupons-bot:job:{job.id}:running"
        me = json.dumps({"worker": worker_id(), "broker": self.broker.broker_id})
        try:
            if self.client.set(key, me, nx=True, px=JOB_TIME_LIMIT_MS):
                return True
            owner = self.client.get(key)
            text = owner.decode() if isinstance(owner, bytes) else owner
            if text is not None and text != me and self._alive(json.loads(text)):
                logger.warning("job %s is being answered by a worker still alive: not run again", job.id)
                return False
            self.client.set(key, me, px=JOB_TIME_LIMIT_MS)  # its worker died: this one answers
            return True
        except (redis.RedisError, OSError, ValueError):
            return True  # Redis away: answer, twice rather than never

    def _alive(self, owner: dict[str, Any]) -> bool:
        """A worker process beats in `coupons-bot:workers`; a broker (web's standby too) in Dramatiq's heartbeats."""
        now = time.time() * 1000
        beats = [
            self.client.zscore(WORKERS_KEY, str(owner.get("worker"))),
            self.client.zscore(f"{NAMESPACE}:__heartbeats__", str(owner.get("broker"))),
        ]
        return any(beat is not None and now - beat < BROKER_HEARTBEAT_TIMEOUT_MS for beat in beats)

    def send(self, job: Job) -> None:
        """Queue `job` and wake an idle worker; raises redis' errors (and Dramatiq's `ConnectionError`) when Redis
        can't take it."""
        self.actor.send(job.to_message())
        bell = doorbell(QUEUE_NAME)
        try:
            with self.client.pipeline(transaction=False) as pipe:
                pipe.lpush(bell, b"1")
                pipe.ltrim(bell, 0, DOORBELL_LENGTH - 1)
                pipe.execute()
        except (redis.RedisError, OSError):  # the job is queued: an idle worker looks again within a second
            logger.info("the doorbell could not be rung")

    def depth(self) -> int:
        """Jobs waiting (not yet taken by a worker)."""
        return int(self.client.llen(f"{NAMESPACE}:{QUEUE_NAME}"))

    def live_workers(self) -> int:
        since = (time.time() - WORKER_LIVE_SECONDS) * 1000
        return int(self.client.zcount(WORKERS_KEY, since, "+inf"))

    def beat(self, worker_id: str) -> None:
        """A worker process is alive (and forget those long gone)."""
        now = time.time() * 1000
        with self.client.pipeline() as pipe:
            pipe.zadd(WORKERS_KEY, {worker_id: now})
            pipe.zremrangebyscore(WORKERS_KEY, "-inf", now - 3600_000)
            pipe.execute()

    def leave(self, worker_id: str) -> None:
        self.client.zrem(WORKERS_KEY, worker_id)

    def worker(self, threads: int) -> dramatiq.Worker:
        worker = dramatiq.Worker(self.broker, queues={QUEUE_NAME}, worker_threads=threads)
        # Take no more jobs than there are threads: the rest stay queued for other workers.
        worker.queue_prefetch = threads
        return worker

    def close(self) -> None:
        self.broker.close()


def doorbell(queue_name: str) -> str:
    return f"{NAMESPACE}:{queue_name}.doorbell"


class _WakeableConsumer(_RedisConsumer):
    """Dramatiq's Redis consumer polls an idle queue (every few milliseconds, or with a delay of up to its
    timeout). This one, finding nothing and having room for more, waits instead on its queue's doorbell, a Redis
    list `TaskQueue.send` pushes to after each job: an idle worker is woken by the next job at once, and costs
    no processor time meanwhile. Pinned to Dramatiq 2's consumer (its `__next__` returns None when idle)."""

    def __init__(self, broker: RedisBroker, queue_name: str, prefetch: int, timeout: int) -> None:
        super().__init__(broker, queue_name, prefetch, timeout)  # type: ignore[no-untyped-call]
        self.timeout = 1  # no sleep of Dramatiq's own between looks at the queue: the doorbell is the wait

    def __next__(self) -> MessageProxy | None:
        message: MessageProxy | None = super().__next__()  # type: ignore[no-untyped-call]
        if message is None and self.outstanding_message_count < self.prefetch:
            try:
                self.broker.client.blpop([doorbell(self.queue_name)], timeout=IDLE_WAIT_SECONDS)
            except (redis.ConnectionError, redis.TimeoutError) as error:
                raise ConnectionClosed(error) from None  # type: ignore[no-untyped-call]
        return message


class _WakeableRedisBroker(RedisBroker):
    consumer_class = _WakeableConsumer


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class QueueLazyRunner(LazyListenerRunner):
    """Bolt's lazy-listener runner in `web` with Redis: the lazy half of a request becomes a job on the queue.

    Bolt calls `start` before the ack is sent, so the job is handed to a sender thread: the ack never waits on
    Redis. The sender makes sure no other process took the same request (a retry, a replay), then queues it.
    If Redis can't take it, the job runs here on `local` (the threads `web` uses without Redis), with a warning.
    """

    def __init__(self, queue: TaskQueue, replays: Replays, local: LazyListenerRunner, *, threads: int = 4) -> None:
        self.logger = logger
        self._queue = queue
        self._replays = replays
        self._local = local
        self._sender = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="coupons-enqueue")
        self._unavailable = RateLimitedLog(logger, lines_per_interval=1)
        self._down_until = -float("inf")
        self._waiting = threading.BoundedSemaphore(MAX_WAITING_TO_SEND)

    def start(self, function: Any, request: BoltRequest) -> None:
        # A Redis that failed a moment ago, or a backlog a slow Redis built up: the work runs here at once.
        if time.monotonic() < self._down_until or not self._waiting.acquire(blocking=False):
            self._local.start(function, request)
            return
        self._sender.submit(self._send, Job.of(request), function, request)

    def _send(self, job: Job, function: Any, request: BoltRequest) -> None:
        try:
            if not self._replays.first_anywhere(job.payload):  # another process took this request
                return
            self._queue.send(job)
        except (redis.RedisError, dramatiq.errors.ConnectionError, OSError) as error:
            self._down_until = time.monotonic() + RETRY_QUEUE_AFTER_SECONDS
            self._unavailable.warning(
                "the task queue is unavailable (%s): answering in this process", type(error).__name__
            )
            self._local.start(function, request)
        finally:
            self._waiting.release()

    def close(self) -> None:
        self._sender.shutdown(wait=True)


class QueueWatch:
    """`web`'s view of the queue, refreshed on a thread once a second (so `/healthz` never waits on Redis), and
    its standby: when no worker has been live for `STANDBY_AFTER_SECONDS`, `web` runs queued jobs itself until
    one is back, so an acked request is never left unanswered because every worker is down."""

    def __init__(self, queue: TaskQueue, *, threads: int, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._queue = queue
        self._monotonic = monotonic
        self._threads = threads
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="coupons-queue-watch", daemon=True)
        self._standby: dramatiq.Worker | None = None
        self._workers_seen = monotonic()  # grace at start: workers may be starting beside us
        self.depth: int | None = None
        self.live_workers: int | None = None

    @property
    def answering_here(self) -> bool:
        return self._standby is not None

    def start(self) -> None:
        self._thread.start()

    def health(self) -> dict[str, Any]:
        return {
            "queue": "redis",
            "queue_depth": self.depth,
            "live_workers": self.live_workers,
            "answering_in_web": self.answering_here,
        }

    def check(self) -> None:
        """One look at the queue (the thread does this every `HEARTBEAT_SECONDS`)."""
        try:
            self.depth, self.live_workers = self._queue.depth(), self._queue.live_workers()
        except (redis.RedisError, OSError):
            self.depth = self.live_workers = None
            return
        now = self._monotonic()
        if self.live_workers:
            self._workers_seen = now
            if self._standby is not None:
                logger.warning("a worker is live again: web stops answering queued lookups itself")
                self._stop_standby()
        elif self._standby is None and now - self._workers_seen >= STANDBY_AFTER_SECONDS:
            logger.warning(
                "no worker has been live for %.0f s: web answers queued lookups itself (start `coupons-bot worker`)",
                now - self._workers_seen,
            )
            self._standby = self._queue.worker(self._threads)
            self._standby.start()

    def _watch(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            try:
                self.check()
            except Exception:
                logger.warning("watching the task queue failed", exc_info=True)

    def _stop_standby(self) -> None:
        standby, self._standby = self._standby, None
        if standby is None:
            return
        standby.stop(timeout=STANDBY_STOP_MS)  # what it took but hadn't started goes back on the queue
        # Each Dramatiq Worker adds a middleware of its own to the broker and never takes it away.
        broker = self._queue.broker
        broker.middleware[:] = [m for m in broker.middleware if getattr(m, "worker", None) is not standby]

    def close(self) -> None:
        """Stop watching (no standby starts any more), then stop the standby if there is one."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(HEARTBEAT_SECONDS * 5)
        self._stop_standby()
