"""Buttons on a coupons message: series details, paging, refresh, retry, share."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import App
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient

from blocks.errors import ACTION_RETRY
from blocks.summary import ACTION_PAGE, ACTION_REFRESH, ACTION_SHARE, ACTION_TOGGLE_SERIES
from bot.errors import InvalidViewState
from bot.listeners.acknowledge import acknowledge
from bot.listeners.delivery import replace_clicked_message, respond_privately, share_in_channel, tell_clicker
from bot.lookup_answers import LookupAnswerer
from bot.slack_request import requester_of

_REDRAW = re.compile(rf"^({ACTION_TOGGLE_SERIES}|{ACTION_PAGE})(:.*)?$")
_REFETCH = re.compile(rf"^({ACTION_REFRESH}|{ACTION_RETRY})$")


def handle_redraw(
    body: dict[str, Any],
    action: dict[str, Any],
    respond: Respond,
    client: WebClient,
    answerer: LookupAnswerer,
) -> None:
    """Expand/collapse a series or turn a page: the same data, drawn from the view in the button."""
    refresh = bool(_REFETCH.match(action.get("action_id", "")))
    name = "refresh" if refresh else action.get("action_id", "").split(":")[0].removeprefix("coupons_")
    message = answerer.answer_click(action.get("value"), requester_of(body), action=name, refresh=refresh)
    replace_clicked_message(respond, client, body, message)


def handle_share(
    body: dict[str, Any],
    action: dict[str, Any],
    respond: Respond,
    client: WebClient,
    answerer: LookupAnswerer,
) -> None:
    """Post the current view for the whole channel; the agent's private copy stays as it is."""
    requester = requester_of(body)
    message = answerer.answer_click(action.get("value"), requester, action="share", shared_by=requester.user_id)
    if not message.ok:
        respond_privately(respond, message)
        return
    if not share_in_channel(respond, message):
        # The response_url is spent (30 minutes or 5 uses): only a fresh /coupons can be shared.
        tell_clicker(client, body, answerer.refusal(InvalidViewState("response_url expired")))


def register(app: App) -> None:
    app.action(_REDRAW)(ack=acknowledge, lazy=[handle_redraw])
    app.action(_REFETCH)(ack=acknowledge, lazy=[handle_redraw])
    app.action(ACTION_SHARE)(ack=acknowledge, lazy=[handle_share])
