"""`coupons-bot` / `python -m bot`: run the Slack app, or preview a lookup in the terminal."""

from __future__ import annotations

import argparse
import json
import sys

from bot.domain.view_state import Surface
from bot.errors import ConfigError
from bot.log_setup import configure_logging
from bot.requester import Requester
from bot.settings import Settings
from bot.terminal_preview import blocks_to_text
from bot.wiring import build_answerer, create_app


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="coupons-bot", description=__doc__)
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="run the Slack app (Socket Mode when SLACK_APP_TOKEN is set; the default)")
    preview = commands.add_parser("preview", help="print the message /coupons would show, without Slack")
    preview.add_argument("customer_id", help="the customer's Capillary ID")
    preview.add_argument("case", nargs="?", default="", help="lower, upper or as_it_is")
    preview.add_argument("--json", action="store_true", help="print the Block Kit payload instead of text")
    return parser


def preview(settings: Settings, customer_id: str, case: str, *, as_json: bool) -> int:
    use_demo = settings.demo or not settings.has_capillary
    if use_demo:
        print("No Capillary credentials configured: showing built-in demo data.", file=sys.stderr)
    answerer = build_answerer(settings, use_demo=use_demo)
    message = answerer.answer_text(
        f"{customer_id} {case}", Requester(user_id="preview"), surface=Surface.EPHEMERAL, action="preview"
    )
    if as_json:
        print(json.dumps({"text": message.text, "blocks": message.blocks}, indent=2, ensure_ascii=False))
    else:
        print(blocks_to_text(message.blocks), end="")
    return 0 if message.ok else 1


def serve(settings: Settings) -> int:
    app_token = settings.slack_app_token
    answerer = build_answerer(settings, use_demo=settings.demo)
    app = create_app(settings, answerer, socket_mode=app_token is not None)
    if app_token is not None:
        from slack_bolt.adapter.socket_mode import SocketModeHandler  # noqa: PLC0415 - only Socket Mode needs it

        SocketModeHandler(app, app_token.get_secret_value()).start()  # type: ignore[no-untyped-call]
    else:
        # Bolt's own development server; production HTTP runs under uvicorn (the Procfile's `web`, bot/asgi.py).
        app.start(port=settings.port, path="/slack/events")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        configure_logging(settings.log_level, audit=args.command != "preview")
        if args.command == "preview":
            return preview(settings, args.customer_id, args.case, as_json=args.json)
        return serve(settings)
    except ConfigError as error:
        print(f"coupons-bot: configuration error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
