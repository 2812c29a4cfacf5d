"""How a message reaches a person: response_url, ephemeral, DM, an edit or a modal — and every fallback. The
one module that sends people messages, and the one place that decides how to answer a request on its surface
(`ReplyTo`, `Delivery.reply`, `in_the_ack`)."""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import httpx
from slack_bolt import BoltContext
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from blocks.message import Message
from blocks.modal import render_answer
from bot.requester import Requester, part

logger = logging.getLogger(__name__)

# Slack refuses chat.postEphemeral in a channel the bot is not a member of (or cannot see).
NOT_A_MEMBER = frozenset({"not_in_channel", "channel_not_found"})
INVITE_NOTE = (
    ":information_source: I'm not in that channel, so here is your answer in our DM. "
    "Type `/invite @Coupons` in the channel to get answers there."
)
NOT_SHOWN_NOTE = ":information_source: Slack wouldn't show this in the channel, so here is your answer in our DM."
MAX_BLOCKS = 50
# Shortcuts open a form: an answer instead of the form (a refusal) opens where the form would have.
_OPENS_A_FORM = frozenset({"shortcut", "message_action"})


@dataclass(frozen=True)
class ReplyTo:
    """Where a request's answer goes, read once from what Slack sent."""

    requester: Requester
    respond: Respond | None = None  # the request's response_url, when it has one
    thread_ts: str | None = None  # an event in a thread: answered in it
    view_id: str | None = None  # a button or a submission in a modal: answered in it
    trigger_id: str | None = None  # good for 3 seconds: opens or pushes a modal
    opens_form: bool = False  # a shortcut: its answer opens as a modal, where its form would have

    @classmethod
    def of(cls, context: BoltContext, body: dict[str, Any]) -> ReplyTo:
        view_id = part(body, "view").get("id")
        trigger_id = body.get("trigger_id")
        return cls(
            Requester.of(context),
            respond=context.respond if body.get("response_url") else None,
            thread_ts=part(body, "event").get("thread_ts"),
            view_id=str(view_id) if view_id else None,
            trigger_id=str(trigger_id) if trigger_id else None,
            opens_form=body.get("type") in _OPENS_A_FORM,
        )


def in_the_ack(body: dict[str, Any], message: Message) -> dict[str, Any] | None:
    """`message` as the ack's own body, where Slack takes one: a command's (an ephemeral answer), a form's
    submission (the form becomes the answer); None elsewhere (answer after the ack, `Delivery.reply`)."""
    if "command" in body:
        return {"response_type": "ephemeral", "text": message.text, "blocks": message.blocks}
    if body.get("type") == "view_submission":
        return {"response_action": "update", "view": render_answer(message)}
    return None


class Delivery:
    def __init__(self, client: WebClient, executor: Executor, response_urls: ResponseUrls | None = None) -> None:
        self.client = client
        self._executor = executor
        self._response_urls = response_urls or ResponseUrls()

    def close(self) -> None:
        self._response_urls.close()

    def after_ack(self, send: Callable[[], object]) -> None:
        """Send later, off the request thread: nothing before Slack's ack may wait on the network."""

        def run() -> None:
            try:
                send()
            except Exception:
                logger.warning("a message could not be delivered", exc_info=True)

        self._executor.submit(run)

    def reply(self, to: ReplyTo, message: Message, *, view: dict[str, Any] | None = None, push: bool = False) -> None:
        """`message` where the request came from: in the modal it came from (as `view`, else drawn as a modal;
        `push`: over that modal, which stays underneath), in a modal where a shortcut's form would have opened,
        else privately (`privately`). What can't be shown in a modal is said privately."""
        shown = view if view is not None else render_answer(message)
        if to.view_id:
            if push:
                self.open_view(to.trigger_id, shown, to.requester, message, push=True)
            elif not self.update_view(to.view_id, shown):
                self.privately(to.requester, message, respond=to.respond)
        elif to.opens_form:
            self.open_view(to.trigger_id, shown, to.requester, message)
        else:
            self.privately(to.requester, message, respond=to.respond, thread_ts=to.thread_ts)

    def privately(
        self, requester: Requester, message: Message, *, respond: Respond | None = None, thread_ts: str | None = None
    ) -> None:
        """A private answer: through the response_url when there is one, else in the DM, else ephemeral."""
        if respond is not None and self._sent(respond, message, response_type="ephemeral", replace_original=False):
            return
        if requester.in_direct_message and requester.channel_id:  # in the DM asked from (and its thread, if any)
            self._post(requester.channel_id, message, thread_ts=thread_ts)
        elif requester.channel_id:
            self.ephemeral(requester, message, thread_ts=thread_ts)
        else:  # a shortcut or a modal: no conversation to answer in but the person's DM with the bot
            self.to_user(requester, message)

    def to_user(self, requester: Requester, message: Message) -> bool:
        """A normal message in the person's DM with the bot (chat.postMessage to their user ID)."""
        return bool(requester.user_id) and self._post(requester.user_id, message)

    def open_view(
        self,
        trigger_id: str | None,
        view: dict[str, Any],
        requester: Requester,
        fallback: Message,
        *,
        push: bool = False,
    ) -> None:
        """Open a modal (the trigger is good for 3 seconds), or `push` it over the modal a click came from (views.open
        can't open over a modal; Slack keeps 3 views on the stack); if it can't be, say `fallback` privately."""
        method = self.client.views_push if push else self.client.views_open
        if trigger_id and _call(method, trigger_id=trigger_id, view=view):
            return
        self.privately(requester, fallback)

    def update_view(self, view_id: str, view: dict[str, Any], *, view_hash: str | None = None) -> bool:
        """Redraw an open modal. With the hash of the view that was clicked, an older click can't overwrite a
        newer answer (Slack answers `hash_conflict`)."""
        arguments: dict[str, Any] = {"view_id": view_id, "view": view}
        if view_hash:
            arguments["hash"] = view_hash
        return _call(self.client.views_update, **arguments)

    def ephemeral(self, requester: Requester, message: Message, *, thread_ts: str | None = None) -> None:
        """Only the requester sees it, in the channel (and thread) they asked from."""
        if not (requester.channel_id and requester.user_id):
            return
        try:
            self.client.chat_postEphemeral(
                channel=requester.channel_id,
                user=requester.user_id,
                thread_ts=thread_ts,
                text=message.text,
                blocks=message.blocks,
            )
        except (SlackClientError, OSError) as error:  # OSError: Slack out of reach (the SDK lets urllib's through)
            reason = slack_reason(error)
            if reason in NOT_A_MEMBER:
                logger.info("not a member of the channel (%s): answering in the DM instead", reason)
                self.in_own_dm(requester.user_id, message)
            else:  # an answer must reach the person: the DM with the bot is the one place always open
                logger.warning("chat.postEphemeral failed (%s): answering in the DM instead", reason)
                self.in_own_dm(requester.user_id, message, note=NOT_SHOWN_NOTE)

    def in_own_dm(self, user_id: str, message: Message, *, note: str = INVITE_NOTE) -> None:
        """The answer in the person's DM with the bot (channel=<user id> opens it), saying why it is there."""
        note_block: dict[str, Any] = {"type": "context", "elements": [{"type": "mrkdwn", "text": note}]}
        if len(message.blocks) < MAX_BLOCKS:
            self._post(user_id, Message(message.text, [note_block, *message.blocks]))
            return
        # A message already at Slack's block limit: the note goes first, on its own.
        self._post(user_id, Message(note, [note_block]))
        self._post(user_id, message)

    def _post(self, channel: str | None, message: Message, *, thread_ts: str | None = None) -> bool:
        return _call(
            self.client.chat_postMessage, channel=channel, thread_ts=thread_ts, text=message.text, blocks=message.blocks
        )

    def redraw(self, respond: Respond, requester: Requester, message: Message, *, message_ts: str | None) -> None:
        """Replace the message whose button was clicked; if its response_url is spent, answer another way."""
        if self._sent(respond, message, replace_original=True):
            return
        if message_ts and requester.channel_id:  # a normal message (a DM): the bot may edit its own message
            _call(
                self.client.chat_update,
                channel=requester.channel_id,
                ts=message_ts,
                text=message.text,
                blocks=message.blocks,
            )
        else:
            self.ephemeral(requester, message)

    def home_tab(self, user_id: str, view: dict[str, Any]) -> None:
        _call(self.client.views_publish, user_id=user_id, view=view)

    def open_modal(self, trigger_id: str | None, view: dict[str, Any]) -> str | None:
        """Open a modal (the trigger is good for 3 seconds) and say which it is, to redraw it once the answer is
        ready; None when it couldn't be opened."""
        if not trigger_id:
            return None
        try:
            opened = self.client.views_open(trigger_id=trigger_id, view=view)
        except (SlackClientError, OSError) as error:
            logger.warning("views.open failed: %s", slack_reason(error))
            return None
        view_id = (opened.get("view") or {}).get("id")
        return str(view_id) if view_id else None

    def unfurl(
        self,
        unfurls: dict[str, dict[str, Any]],
        *,
        channel_id: str | None,
        message_ts: str | None,
        unfurl_id: str | None = None,
        source: str | None = None,
    ) -> bool:
        """Unfold links (chat.unfurl) in the message a `link_shared` event names: by `unfurl_id` and `source`
        when it has them (the composer's preview has no ts yet), else by channel and ts."""
        if unfurl_id and source:
            return _call(self.client.chat_unfurl, unfurls=unfurls, unfurl_id=unfurl_id, source=source)
        return _call(self.client.chat_unfurl, unfurls=unfurls, channel=channel_id, ts=message_ts)

    def end_step(self, execution_id: str, result: dict[str, Any] | str, *, token: str | None) -> bool:
        """End a Workflow Builder step with its outputs (functions.completeSuccess), or with an error the workflow
        shows (functions.completeError). `token`: the one Slack issued for this run (the event's
        `bot_access_token`), as Bolt's `complete` uses; else the bot token."""
        client = self._client_for(token)
        if isinstance(result, str):
            return _call(client.functions_completeError, function_execution_id=execution_id, error=result)
        return _call(client.functions_completeSuccess, function_execution_id=execution_id, outputs=result)

    def _client_for(self, token: str | None) -> WebClient:
        """The bot's client with another token, sent as the bot token is (a header: never in a body or a log)."""
        if not token:
            return self.client
        client = copy.copy(self.client)  # the same URL, timeouts, proxy, headers and retries
        client.token = token
        return client

    def share(self, respond: Respond, message: Message) -> bool:
        """Post for the whole channel; False when the response_url is spent (30 minutes or 5 uses)."""
        return self._sent(respond, message, response_type="in_channel", replace_original=False)

    def _sent(self, respond: Respond, message: Message, **options: Any) -> bool:
        """Through the response_url; False when it can't take the message (spent, expired, or out of reach)."""
        if not respond.response_url:
            return False
        payload = {"text": message.text, "blocks": message.blocks, **options}
        try:
            status, body = self._response_urls.post(respond.response_url, payload)
        except (httpx.HTTPError, httpx.InvalidURL) as error:  # the URL itself is never logged: it is a credential
            logger.warning("response_url request failed: %s", type(error).__name__)
            return False
        if status != 200:
            # Slack answers 404 once a response_url has expired (30 minutes) or been used 5 times.
            logger.warning("response_url refused the message: HTTP %s %s", status, body[:100])
            return False
        return True


class ResponseUrls:
    """Posts to Slack's response_urls over kept-alive connections. Bolt's `respond` opens a new connection (and,
    to hooks.slack.com, a new TLS session) for every reply; an agent's lookup, clicks and share all go there."""

    def __init__(self) -> None:
        # Until `close` (on shutdown). Idle connections are dropped after 5 s (httpx's default), before servers usually
        # close idle ones, so a reply rarely meets a connection closed under it (and then falls back, as any failure).
        self._http = httpx.Client(
            timeout=10.0,
            follow_redirects=False,
            headers={"User-Agent": "coupons-bot"},
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=8),
        )

    def close(self) -> None:
        self._http.close()

    def post(self, url: str, payload: dict[str, Any]) -> tuple[int, str]:
        """POST `payload` as JSON; Slack's status and (short) answer."""
        response = self._http.post(url, json=payload)
        return response.status_code, response.text


def _call(method: Callable[..., Any], **arguments: Any) -> bool:
    try:
        method(**arguments)
    except (SlackClientError, OSError) as error:
        logger.warning("delivery through the Web API failed: %s", slack_reason(error))
        return False
    return True


def slack_reason(error: Exception) -> str:
    """What Slack said was wrong (`not_in_channel`), or the kind of failure when Slack said nothing."""
    return str(error.response.get("error")) if isinstance(error, SlackApiError) else type(error).__name__
