"""Slack's side, the way Bolt's own tests do it: signed requests, a fake Web API, a response_url recorder."""

from __future__ import annotations

import itertools
import json
import threading
import time
import urllib.parse
from typing import Any

from slack_bolt import App, BoltResponse
from slack_bolt.request import BoltRequest
from slack_sdk.signature import SignatureVerifier

from tests.support.loopback import LoopbackServer, Recorded, Reply

_triggers = itertools.count(1)


def new_trigger_id() -> str:
    """Slack gives every command and click a trigger_id of its own; a repeated one is a replay."""
    return f"{next(_triggers)}.1700000000.abcdef"


SIGNING_SECRET = "test-signing-secret-0123456789abcdef"
BOT_TOKEN = "xoxb-test-bot-token-000000000000"
BOT_USER = "UBOT0001"
TEAM = "T0TEAM01"
VIEW_ID = "V0MODAL01"


class FakeSlack:
    """Web API methods under /api/, response URLs under /response/<name>."""

    def __init__(self) -> None:
        self.usergroups: dict[str, list[str]] = {}
        self.expired_response_urls: set[str] = set()
        self.queued: dict[str, list[Reply]] = {}  # Web API method → replies to give before the normal one
        # channel → the error chat.postEphemeral gets there: the bot is not a member (`not_in_channel`), or the
        # channel is private and the bot cannot see it (`channel_not_found`).
        self.not_a_member: dict[str, str] = {}
        self.view_hashes = 0
        self.server = LoopbackServer(self._route)

    @property
    def api_url(self) -> str:
        return self.server.url + "api/"

    def response_url(self, name: str = "r1") -> str:
        return self.server.url + f"response/{name}"

    def _route(self, request: Recorded) -> Reply:
        if request.path.startswith("/response/"):
            if request.path.removeprefix("/response/") in self.expired_response_urls:
                return Reply(404, "expired_url")
            return Reply(200, "ok")
        method = request.path.removeprefix("/api/")
        if self.queued.get(method):
            return self.queued[method].pop(0)
        if method == "auth.test":
            return Reply(body={"ok": True, "user_id": BOT_USER, "bot_id": "BBOT0001", "team_id": TEAM})
        if method == "usergroups.users.list":
            group = self.params(request).get("usergroup", "")
            if group not in self.usergroups:
                return Reply(body={"ok": False, "error": "no_such_subteam"})
            return Reply(body={"ok": True, "users": self.usergroups[group]})
        if method == "chat.postEphemeral" and self.params(request).get("channel") in self.not_a_member:
            return Reply(body={"ok": False, "error": self.not_a_member[self.params(request)["channel"]]})
        if method in {"chat.postMessage", "chat.postEphemeral", "chat.update"}:
            return Reply(body={"ok": True, "ts": "1700000000.000100", "message_ts": "1700000000.000100"})
        if method in {"views.open", "views.update"}:
            # Slack answers with the view as stored: its id stays, its hash changes with every update.
            view = self.params(request).get("view")
            stored = json.loads(view) if isinstance(view, str) else view
            self.view_hashes += 1
            return Reply(body={"ok": True, "view": {**(stored or {}), "id": VIEW_ID, "hash": f"h{self.view_hashes}"}})
        return Reply(body={"ok": True})

    @staticmethod
    def params(request: Recorded) -> dict[str, Any]:
        if request.headers.get("content-type", "").startswith("application/json"):
            return request.json()
        return {k: v[0] for k, v in urllib.parse.parse_qs(request.body.decode()).items()}

    def api_calls(self, method: str) -> list[dict[str, Any]]:
        return [self.params(r) for r in self.server.matching(f"/api/{method}")]

    def wait_api(self, method: str, count: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
        return [self.params(r) for r in self.server.wait_for(count, path_prefix=f"/api/{method}", timeout=timeout)]

    def responses(self, name: str = "r1") -> list[dict[str, Any]]:
        return [r.json() for r in self.server.matching(f"/response/{name}")]

    def wait_responses(self, count: int = 1, name: str = "r1", timeout: float = 10.0) -> list[dict[str, Any]]:
        return [r.json() for r in self.server.wait_for(count, path_prefix=f"/response/{name}", timeout=timeout)]

    def close(self) -> None:
        self.server.close()


def signed_headers(
    body: str,
    *,
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
    content_type: str = "application/x-www-form-urlencoded",
) -> dict[str, list[str]]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    return {
        "content-type": [content_type],
        "x-slack-request-timestamp": [ts],
        "x-slack-signature": [signature],
    }


def command_body(
    text: str, *, user: str = "U0AGENT1", channel: str = "C0SUPPORT", response_url: str, channel_name: str = "support"
) -> str:
    return urllib.parse.urlencode(
        {
            "token": "legacy",
            "team_id": TEAM,
            "team_domain": "acme",
            "channel_id": channel,
            "channel_name": channel_name,
            "user_id": user,
            "user_name": "agent",
            "command": "/coupons",
            "text": text,
            "api_app_id": "A0APP",
            "response_url": response_url,
            "trigger_id": new_trigger_id(),
        }
    )


def send_command(app: App, text: str, **options: Any) -> BoltResponse:
    body = command_body(text, **options)
    return app.dispatch(BoltRequest(body=body, headers=signed_headers(body)))


def block_actions_payload(
    action: dict[str, Any],
    *,
    user: str = "U0AGENT1",
    channel: str = "C0SUPPORT",
    response_url: str,
    message: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Shaped like Slack's payload for a click; on an ephemeral message there is no `message`."""
    container: dict[str, Any] = {
        "type": "message",
        "channel_id": channel,
        "is_ephemeral": message is None,
        "message_ts": "1700000000.000100",
    }
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user, "username": "agent", "team_id": TEAM},
        "api_app_id": "A0APP",
        "token": "legacy",
        "container": container,
        "trigger_id": new_trigger_id(),
        "team": {"id": TEAM, "domain": "acme"},
        "channel": {"id": channel, "name": "support"},
        "response_url": response_url,
        "actions": [{"block_id": "b1", "type": "button", "action_ts": "1700000001.0", **action}],
    }
    if message is not None:
        payload["message"] = message
    return payload


def send_action(app: App, payload: dict[str, Any]) -> BoltResponse:
    body = urllib.parse.urlencode({"payload": json.dumps(payload)})
    return app.dispatch(BoltRequest(body=body, headers=signed_headers(body)))


def event_request(
    event: dict[str, Any], *, event_id: str = "Ev001", retry_num: int | None = None, retry_reason: str | None = None
) -> tuple[str, dict[str, list[str]]]:
    """The body and signed headers Slack would send for an event (a retry carries Slack's retry headers)."""
    body = json.dumps(
        {
            "token": "legacy",
            "team_id": TEAM,
            "api_app_id": "A0APP",
            "type": "event_callback",
            "event": event,
            "event_id": event_id,
            "event_time": int(time.time()),
            "authorizations": [{"team_id": TEAM, "user_id": BOT_USER, "is_bot": True}],
        }
    )
    headers = signed_headers(body, content_type="application/json")
    if retry_num is not None:
        headers["x-slack-retry-num"] = [str(retry_num)]
        headers["x-slack-retry-reason"] = [retry_reason or "http_error"]
    return body, headers


def send_event(app: App, event: dict[str, Any], **options: Any) -> BoltResponse:
    body, headers = event_request(event, **options)
    return app.dispatch(BoltRequest(body=body, headers=headers))


def click_button(app: App, button: dict[str, Any], *, response_url: str, **options: Any) -> BoltResponse:
    """Click a rendered button: the payload Slack would send for it."""
    action = {"action_id": button["action_id"], "value": button["value"]}
    return send_action(app, block_actions_payload(action, response_url=response_url, **options))


def send_payload(app: App, payload: dict[str, Any]) -> BoltResponse:
    """Any interaction payload (shortcut, message_action, view_submission, block_actions), signed."""
    body = urllib.parse.urlencode({"payload": json.dumps(payload)})
    return app.dispatch(BoltRequest(body=body, headers=signed_headers(body)))


def shortcut_payload(callback_id: str, *, user: str = "U0AGENT1") -> dict[str, Any]:
    """A global shortcut: no channel, no response_url; a trigger_id good for opening one modal."""
    return {
        "type": "shortcut",
        "callback_id": callback_id,
        "trigger_id": new_trigger_id(),
        "user": {"id": user, "username": "agent", "team_id": TEAM},
        "team": {"id": TEAM, "domain": "acme"},
        "api_app_id": "A0APP",
        "token": "legacy",
        "action_ts": "1700000001.0",
    }


def message_shortcut_payload(
    callback_id: str, text: str, *, user: str = "U0AGENT1", channel: str = "C0SUPPORT", response_url: str
) -> dict[str, Any]:
    """A message shortcut on someone's message in a channel."""
    return {
        **shortcut_payload(callback_id, user=user),
        "type": "message_action",
        "channel": {"id": channel, "name": "support"},
        "message": {"type": "message", "user": "U0CUSTOMERCARE", "ts": "1700000000.000200", "text": text},
        "message_ts": "1700000000.000200",
        "response_url": response_url,
    }


def view_submission_payload(view: dict[str, Any], values: dict[str, Any], *, user: str = "U0AGENT1") -> dict[str, Any]:
    """Submitting an open modal: the view as opened, its id, and what was typed in `state.values`."""
    return {
        "type": "view_submission",
        "team": {"id": TEAM, "domain": "acme"},
        "user": {"id": user, "username": "agent", "team_id": TEAM},
        "api_app_id": "A0APP",
        "token": "legacy",
        "trigger_id": new_trigger_id(),
        "view": {**view, "id": VIEW_ID, "hash": "h-submitted", "state": {"values": values}},
        "response_urls": [],
    }


def click_in_view(
    app: App, button: dict[str, Any], *, view: dict[str, Any], view_hash: str = "h1", user: str = "U0AGENT1"
) -> BoltResponse:
    """Click a button inside a modal: no channel, no response_url; the view's id and hash come along."""
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": "agent", "team_id": TEAM},
        "api_app_id": "A0APP",
        "token": "legacy",
        "container": {"type": "view", "view_id": VIEW_ID},
        "trigger_id": new_trigger_id(),
        "team": {"id": TEAM, "domain": "acme"},
        "view": {**view, "id": VIEW_ID, "hash": view_hash},
        "actions": [
            {
                "block_id": "b1",
                "type": "button",
                "action_ts": "1700000001.0",
                "action_id": button["action_id"],
                "value": button["value"],
            }
        ],
    }
    return send_payload(app, payload)


def wait_until_idle(app: App, timeout: float = 15.0) -> None:
    """Let every listener the app has started finish, and start no more.

    Bolt submits a request's listeners to the app's listener pool before `dispatch` returns, and every Web API
    call or response_url post a listener makes is recorded by the fake Slack before the listener goes on. So once
    the pool has drained, what the app was going to send has been sent: "nothing was posted" is then a fact, not a
    guess about timing. The app accepts no more requests afterwards; call this last.
    """
    executor = app.listener_runner.listener_executor
    drained = threading.Event()

    def drain() -> None:
        executor.shutdown(wait=True)
        drained.set()

    threading.Thread(target=drain, name="wait-until-idle", daemon=True).start()
    assert drained.wait(timeout), f"listeners still running after {timeout}s"


def link_shared_event(
    *urls: str, user: str = "U0AGENT1", channel: str = "C0SUPPORT", source: str = "conversations_history"
) -> dict[str, Any]:
    """Shaped like Slack's `link_shared`: links posted in a message (`conversations_history`), or typed in the
    message box and not yet sent (`composer`, whose channel is `COMPOSER`)."""
    return {
        "type": "link_shared",
        "channel": channel,
        "is_bot_user_member": True,
        "user": user,
        "message_ts": "1700000000.000400",
        "unfurl_id": f"{channel}.1700000000.000400.0a1b2c3d",
        "source": source,
        "event_ts": "1700000000.000450",
        "links": [{"domain": urllib.parse.urlsplit(url).hostname, "url": url} for url in urls],
    }


EXECUTION_TOKEN = "xwfp-test-execution-token-0000"


def function_executed_event(
    inputs: dict[str, Any], *, callback_id: str = "get_customer_coupons", execution_id: str = "Fx0EXEC001"
) -> dict[str, Any]:
    """Shaped like Slack's `function_executed`: a workflow ran the app's custom step with these inputs, and a
    token for this run alone."""
    return {
        "type": "function_executed",
        "function": {
            "id": "Fn0FUNC001",
            "callback_id": callback_id,
            "title": "Get customer coupons",
            "description": "A loyalty customer's coupon counts and active codes from Capillary",
            "type": "app",
            "input_parameters": [],
            "output_parameters": [],
            "app_id": "A0APP",
            "date_created": 1700000000,
            "date_updated": 1700000000,
            "date_deleted": 0,
        },
        "inputs": inputs,
        "function_execution_id": execution_id,
        "workflow_execution_id": "Wx0WORK001",
        "event_ts": "1700000000.000500",
        "bot_access_token": EXECUTION_TOKEN,
    }


def unfurl_click_payload(
    button: dict[str, Any], *, url: str, user: str = "U0AGENT1", channel: str = "C0SUPPORT"
) -> dict[str, Any]:
    """A click on a button of an app's unfolded link: the container is the attachment Slack drew for it."""
    return {
        "type": "block_actions",
        "user": {"id": user, "username": "agent", "team_id": TEAM},
        "api_app_id": "A0APP",
        "token": "legacy",
        "container": {
            "type": "message_attachment",
            "message_ts": "1700000000.000400",
            "attachment_id": 1,
            "channel_id": channel,
            "is_ephemeral": False,
            "is_app_unfurl": True,
            "app_unfurl_url": url,
        },
        "trigger_id": new_trigger_id(),
        "team": {"id": TEAM, "domain": "acme"},
        "channel": {"id": channel, "name": "support"},
        "actions": [
            {
                "block_id": "unfurl",
                "type": "button",
                "action_ts": "1700000001.0",
                "action_id": button["action_id"],
                "value": button["value"],
            }
        ],
    }
