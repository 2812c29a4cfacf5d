"""`coupons-bot worker`: run the jobs `web` queued — fetch, render, deliver — until SIGTERM.

On SIGTERM (or SIGINT) a worker takes no new job, finishes the ones it started within the shutdown grace, and
puts back on the queue the ones it had taken but not started, for other workers. Any number of workers, on any
number of hosts, share one Redis.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading

from bot.errors import ConfigError
from bot.gc_tuning import settle_after_start
from bot.process_limits import raise_open_files_limit
from bot.settings import Settings
from bot.task_queue import HEARTBEAT_SECONDS, worker_id
from bot.wiring import build_answerer, build_app, close_services

logger = logging.getLogger(__name__)


def run_worker(settings: Settings, *, stop: threading.Event | None = None) -> int:
    if settings.redis_url is None:
        print("coupons-bot worker needs REDIS_URL: without it, web answers every request itself", file=sys.stderr)
        return 2
    settings.require_all("worker")
    raise_open_files_limit()
    _, services = build_app(settings, build_answerer(settings, use_demo=settings.demo), role="worker")
    queue = services.queue
    if queue is None:
        raise ConfigError("REDIS_URL does not name a usable Redis")
    stop = stop or _stop_on_signals()
    me = worker_id()
    worker = queue.worker(settings.max_concurrent_upstream)
    worker.start()
    settle_after_start()
    logger.info("worker %s running %d jobs at a time", me, settings.max_concurrent_upstream)
    try:
        while True:
            try:
                queue.beat(me)
            except Exception as error:  # Redis away: the broker's own reconnects cover the jobs
                logger.warning("worker heartbeat failed (%s)", type(error).__name__)
            if stop.wait(HEARTBEAT_SECONDS):
                break
    finally:
        logger.info("worker %s stopping: finishing started jobs within %.0f s", me, settings.shutdown_grace_seconds)
        worker.stop(timeout=int(settings.shutdown_grace_seconds * 1000))
        try:
            queue.leave(me)
        except Exception:
            logger.warning("worker %s could not say it left", me)
        close_services(services)
    return 0


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stop.set())
    return stop
