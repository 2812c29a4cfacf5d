"""The WSGI application gunicorn serves (see the Procfile): Bolt on `POST /slack/events`."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.coupon_service import settle_long_lived_objects
from bot.errors import ConfigError
from bot.log_setup import configure_logging
from bot.settings import Settings
from bot.wiring import build_answerer, create_app

# Slack's payloads are a few kilobytes; anything far larger is not Slack.
MAX_BODY_BYTES = 256 * 1024

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def limit_body_size(app: WsgiApp, max_bytes: int = MAX_BODY_BYTES) -> WsgiApp:
    def limited(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = max_bytes + 1
        if length > max_bytes:
            start_response("413 Payload Too Large", [("Content-Type", "text/plain")])
            return [b"Payload Too Large"]
        return app(environ, start_response)

    return limited


def create_wsgi_app() -> WsgiApp:
    try:
        settings = Settings.from_env()
        configure_logging(settings.log_level)
        app = create_app(settings, build_answerer(settings, use_demo=settings.demo))
        # Modules, settings and the app live as long as the process: keep the GC from rescanning them (and,
        # with gunicorn's --preload, from touching the pages the workers share with the master).
        settle_long_lived_objects()
    except ConfigError as error:
        print(f"coupons-bot: configuration error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    return limit_body_size(SlackRequestHandler(app, path="/slack/events"))
