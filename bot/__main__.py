"""`coupons-bot` / `python -m bot`: run the Slack app, or preview a lookup in the terminal."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING

from bot.command_text import parse
from bot.domain.errors import CapillaryError, InvalidCommand
from bot.errors import ConfigError, StartupError, startup_line
from bot.gc_tuning import limit_malloc_arenas, settle_after_start
from bot.log_setup import configure_logging, stop_logging
from bot.lookup_answers import Ask
from bot.requester import Requester
from bot.settings import Settings
from bot.terminal_preview import blocks_to_text
from bot.wiring import build_answerer, build_app, close_services

if TYPE_CHECKING:
    from slack_sdk import WebClient


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="coupons-bot", description=__doc__)
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="run the Slack app (Socket Mode when SLACK_APP_TOKEN is set; the default)")
    commands.add_parser("worker", help="run the lookups web queued (needs REDIS_URL; any number, on any host)")
    preview = commands.add_parser(
        "preview",
        help="print the message /coupons would show, without Slack",
        description="Print the message /coupons would show. The words are read exactly as /coupons reads them.",
    )
    preview.add_argument(
        "words",
        nargs="*",
        metavar="customer",
        help="a customer ID, +mobile, email, card:<number> or external:<id>; then lower|upper|as_it_is and "
        "code:<CODE>, in any order after the customer",
    )
    preview.add_argument("--json", action="store_true", help="print the Block Kit payload instead of text")
    return parser


def _arguments(argv: list[str]) -> argparse.Namespace:
    """The command line. After `preview` every word but `--json` and `-h`/`--help` is the text of `/coupons`, in
    order, whatever it looks like: a wrong word gets Slack's answer, not argparse's."""
    if argv[:1] == ["preview"] and not {"-h", "--help"} & set(argv[1:]):
        words = argv[1:]
        return argparse.Namespace(command="preview", words=[w for w in words if w != "--json"], json="--json" in words)
    return _parser().parse_args(argv)


# Any of these given: everything Capillary needs must be, as for `serve`.
_CAPILLARY_SETTINGS = ("cluster", "base_url", "username", "password", "oauth_client_key", "oauth_client_secret")


def _names_capillary(settings: Settings) -> bool:
    return any(getattr(settings, f"capillary_{name}") is not None for name in _CAPILLARY_SETTINGS)


def preview(settings: Settings, words: list[str], *, as_json: bool) -> int:
    text = " ".join(words)
    use_demo = settings.demo or not _names_capillary(settings)
    if settings.demo:
        print("COUPONS_DEMO=1: showing built-in demo data.", file=sys.stderr)
    elif use_demo:
        print("No Capillary settings: showing built-in demo data.", file=sys.stderr)
    answerer = build_answerer(settings, use_demo=use_demo)  # half a Capillary configuration: ConfigError, as serve
    try:
        asked = parse(text)
        asked_for_help = text.strip() != "" and asked.who is None and asked.focus is None
    except InvalidCommand:
        asked_for_help = False
    message = answerer.answer_text(text, Ask(Requester(user_id="preview"), action="preview"))
    if as_json:
        print(json.dumps({"text": message.text, "blocks": message.blocks}, indent=2, ensure_ascii=False))
    else:
        print(blocks_to_text(message.blocks), end="")
    if not use_demo and isinstance(message.error, CapillaryError):
        # Only the preview diagnoses a failure for an admin: imported here, the Slack app never loads it.
        from bot.capillary.probe import diagnose  # noqa: PLC0415

        line = diagnose(
            message.error,
            base_url=settings.capillary_base_url,
            username=settings.capillary_username,
            connect_timeout=settings.connect_timeout_seconds,
            read_timeout=settings.read_timeout_seconds,
        )
        if line:
            print(line, file=sys.stderr)
    return 0 if message.ok or asked_for_help else 1


def serve(settings: Settings) -> int:
    app_token = settings.slack_app_token
    settings.require_all("socket" if app_token is not None else "http")
    answerer = build_answerer(settings, use_demo=settings.demo)
    app, services = build_app(settings, answerer, socket_mode=app_token is not None)
    settle_after_start()
    try:
        if app_token is not None:
            from slack_bolt.adapter.socket_mode import SocketModeHandler  # noqa: PLC0415 - only Socket Mode needs it

            check_app_token(app.client, app_token.get_secret_value())  # before the handler starts its threads
            SocketModeHandler(app, app_token.get_secret_value()).start()  # type: ignore[no-untyped-call]
        else:
            # Bolt's own development server, which checks signatures itself; production HTTP runs under uvicorn
            # (the Procfile's `web`, bot/web/).
            try:
                app.start(port=settings.port, path="/slack/events")
            except OSError as error:  # the port is taken, or not ours to listen on
                raise StartupError(
                    f"cannot listen on port {settings.port} ({error.strerror}); set PORT to a free one"
                ) from None
    finally:
        close_services(services)
    return 0


def check_app_token(client: WebClient, app_token: str) -> None:
    """Socket Mode's token, checked as the bot token is: a refused one is one line, not a traceback."""
    from slack_sdk.errors import SlackApiError, SlackClientError  # noqa: PLC0415

    try:
        client.apps_connections_open(app_token=app_token)
    except SlackApiError as error:
        reason = error.response.get("error") if isinstance(error.response.data, dict) else None
        raise StartupError(
            f"Slack refused SLACK_APP_TOKEN ({reason or f'HTTP {error.response.status_code}'}); copy the "
            "app-level token (with connections:write) again"
        ) from None
    except (SlackClientError, OSError) as error:
        raise StartupError(f"Slack could not be reached to check SLACK_APP_TOKEN ({type(error).__name__})") from None


def main(argv: list[str] | None = None) -> int:
    args = _arguments(sys.argv[1:] if argv is None else argv)
    if args.command != "preview":  # serve (the default) and worker
        limit_malloc_arenas()
    try:
        settings = Settings.from_env()
        previewing = args.command == "preview"
        # The preview's terminal is for the answer: the bot's INFO lines (a profile not shown, …) stay out of it.
        configure_logging(
            "WARNING" if previewing and settings.log_level == "INFO" else settings.log_level, audit=not previewing
        )
        if args.command == "preview":
            return preview(settings, args.words, as_json=args.json)
        if args.command == "worker":
            from bot.worker import run_worker  # noqa: PLC0415 - Dramatiq only where it runs

            return run_worker(settings)
        return serve(settings)
    except ConfigError as error:  # StartupError included: one line, never a traceback
        print(startup_line(error), file=sys.stderr)
        return 2


def run() -> None:
    """The `coupons-bot` command. A preview is one answer and done: once its output is out, the process ends
    without Python's teardown of every module it loaded (about 60 ms, a fifth of the wait at a terminal)."""
    code = main()
    if sys.argv[1:2] == ["preview"]:
        stop_logging()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    run()
