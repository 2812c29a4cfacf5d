"""The Procfile's `web`: uvicorn, one event loop per process, and our ASGI front (`front.py`) in front of Bolt.

Why an event loop: a thread-per-connection server (gunicorn's sync/threaded workers) is held by any client that
sends slowly, so a few dozen slow connections stop it acknowledging Slack. Here a connection costs a socket and a
small parser until it is complete (`head_timeout.py` bounds how long); only a whole, verified request reaches Bolt.

Start-up happens once for the whole server: the first process reads the settings and makes the start-up checks
(`start_checks`: Slack accepts the token, the warnings), and fails with one line before anything listens. With
`WEB_CONCURRENCY` > 1 it then supervises that many processes; each builds its own app from the same environment
and the bot identity the supervisor got (in `IDENTITY_VARIABLE`), asking Slack nothing, as does a process uvicorn
starts again after one died.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
from collections.abc import Callable
from typing import TypeVar

import uvicorn

from bot import metrics
from bot.errors import ConfigError, startup_line
from bot.gc_tuning import limit_malloc_arenas, settle_after_start
from bot.log_setup import configure_logging, dropped_lines
from bot.process_limits import default_max_connections, raise_open_files_limit
from bot.services import Services
from bot.settings import Settings
from bot.start_checks import BotIdentity, start_checks
from bot.web.front import SlackFront
from bot.web.head_timeout import RequestTimeoutH11Protocol, require_tested_uvicorn
from bot.web.shutdown import GRACEFUL_SHUTDOWN_SECONDS, drain_and_close
from bot.wiring import build_answerer, build_app

logger = logging.getLogger(__name__)
# Set by the supervisor for the processes it starts: its auth.test answer (ids, no secret). Not a setting.
IDENTITY_VARIABLE = "COUPONS_WEB_BOT_IDENTITY"
T = TypeVar("T")


def main() -> None:
    """The Procfile's `web`: `PORT` (default 3000), `WEB_CONCURRENCY` processes (default 1)."""
    limit_malloc_arenas()
    settings = _or_exit(Settings.from_env)
    configure_logging(settings.log_level)
    identity = _or_exit(functools.partial(_check_once, settings))
    open_files = raise_open_files_limit()  # before the server and its processes open anything
    workers = settings.web_concurrency
    if workers > 1:
        os.environ[IDENTITY_VARIABLE] = json.dumps(identity)  # the environment the processes are started with
    logging.getLogger("uvicorn.error").setLevel(logging.INFO)
    uvicorn.run(  # uvicorn's public entry: one server, or a supervisor of `workers` processes
        # Several processes each build their own app (uvicorn imports it by name in each).
        "bot.web.server:create_asgi_app" if workers > 1 else _or_exit(lambda: build_front(settings, identity)),
        factory=workers > 1,
        host="0.0.0.0",  # noqa: S104 - the platform routes $PORT to us
        port=settings.port,
        workers=workers,
        http=RequestTimeoutH11Protocol,
        lifespan="on",
        timeout_keep_alive=5,
        # Past this many connections (or requests in progress) a new request gets a quick 503, and Slack sends it
        # again later: descriptors are left for the calls to Capillary, Slack and Redis.
        limit_concurrency=settings.max_connections or default_max_connections(open_files),
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        access_log=False,
        log_config=None,
        server_header=False,
    )


def create_asgi_app() -> SlackFront:
    """One process's app, from the environment: uvicorn calls this in each process it starts. Started without the
    supervisor (no identity passed), it makes the start-up checks itself."""
    limit_malloc_arenas()
    settings = _or_exit(Settings.from_env)
    configure_logging(settings.log_level)
    passed = os.environ.get(IDENTITY_VARIABLE)
    front = _or_exit(lambda: build_front(settings, json.loads(passed) if passed else _check_once(settings)))
    logger.info("web process %d ready", os.getpid())
    return front


def build_front(settings: Settings, identity: BotIdentity) -> SlackFront:
    """The bot for this process, behind its front: Bolt checks no signature (the front does) and asks Slack nothing
    (the identity is known)."""
    # Both the head and the body of a request must arrive within this (each).
    RequestTimeoutH11Protocol.header_timeout = settings.http_request_timeout_seconds
    answerer = build_answerer(settings, use_demo=settings.demo)
    app, services = build_app(settings, answerer, identity=identity, verified_in_front=True)
    assert settings.slack_signing_secret is not None  # require_all("http") required it
    settle_after_start()
    return SlackFront(
        app,
        settings.slack_signing_secret.get_secret_value(),
        on_shutdown=drain_and_close(services, grace=settings.shutdown_grace_seconds),
        body_timeout=settings.http_request_timeout_seconds,
        health=services.watch.health if services.watch is not None else None,
        metrics=functools.partial(metrics.scrape, functools.partial(_gauges, services)) if settings.metrics else None,
    )


def _check_once(settings: Settings) -> BotIdentity:
    """The checks a server makes before it listens: this uvicorn, the settings `web` needs, the token."""
    require_tested_uvicorn()
    settings.require_all("http")
    return start_checks(settings)


def _or_exit(step: Callable[[], T]) -> T:
    """`step()`, or its ConfigError as one line on stderr and exit status 2 (never a traceback)."""
    try:
        return step()
    except ConfigError as error:
        print(startup_line(error), file=sys.stderr)
        raise SystemExit(2) from None


def _gauges(services: Services) -> None:
    """What a scrape reads at its moment: the queue as web last saw it, and the log lines dropped so far."""
    metrics.LOG_LINES_DROPPED.set(dropped_lines())
    if services.watch is not None:
        metrics.QUEUE_DEPTH.set(services.watch.depth or 0)
        metrics.LIVE_WORKERS.set(services.watch.live_workers or 0)
