"""The listeners' handlers called directly, with plain fakes for `ack`, the Web API client and response_urls
(the end-to-end tests send signed requests through Bolt; these check each handler's own decisions), and the
one place that decides how to answer on each surface (`ReplyTo`, `Delivery.reply`, `in_the_ack`)."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from typing import Any

import pytest
from slack_bolt import BoltContext
from slack_bolt.context.respond import Respond

from blocks.message import Message
from blocks.modal import render_lookup_form
from bot.access import AccessPolicy
from bot.delivery import Delivery, ReplyTo, in_the_ack
from bot.demo.customers import MIXED_CUSTOMER
from bot.domain.action_ids import BLOCK_CODE, BLOCK_WHO
from bot.domain.view_state import Surface, ViewState
from bot.jobs import JobFunctions
from bot.lazy_work import LazyWork
from bot.listeners import actions, commands, events, links, shortcuts, workflow_step
from bot.listeners.lazy import guarded
from bot.middleware import check_access
from bot.replays import Replays
from bot.requester import Requester
from bot.services import Services
from bot.settings import Settings
from bot.wiring import build_answerer
from tests.conftest import NOW, AuditLines
from tests.support.blockkit import all_texts
from tests.test_shortcuts import form_values

RESPONSE_URL = "https://hooks.slack.example/commands/T1/1/abc"
AGENT = "U0AGENT1"


class FakeClient:
    """The Web API client: every call recorded as (method, arguments); each succeeds."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, method: str) -> Callable[..., dict[str, Any]]:
        def call(**arguments: Any) -> dict[str, Any]:
            self.calls.append((method, arguments))
            return {"ok": True, "view": {"id": "V0OPENED"}}

        return call

    def made(self, method: str) -> list[dict[str, Any]]:
        return [arguments for name, arguments in self.calls if name == method]


class FakeResponseUrls:
    def __init__(self) -> None:
        self.posted: list[tuple[str, dict[str, Any]]] = []

    def post(self, url: str, payload: dict[str, Any]) -> tuple[int, str]:
        self.posted.append((url, payload))
        return 200, "ok"


class RunNow:
    def submit(self, function: Callable[[], object]) -> None:
        function()


class FakeAck:
    def __init__(self) -> None:
        self.said: list[dict[str, Any]] = []

    def __call__(self, **response: Any) -> None:
        self.said.append(response)


@pytest.fixture
def client() -> FakeClient:
    return FakeClient()


@pytest.fixture
def urls() -> FakeResponseUrls:
    return FakeResponseUrls()


@pytest.fixture
def services(client: FakeClient, urls: FakeResponseUrls) -> Services:
    answerer = build_answerer(Settings.from_env({}), use_demo=True, clock=lambda: NOW)
    return Services(
        answerer=answerer,
        policy=AccessPolicy(),
        delivery=Delivery(client, RunNow(), urls),  # type: ignore[arg-type]
        lazy_work=LazyWork(1),
        replays=Replays(answerer.service.store),
        functions=JobFunctions(),
    )


def context(channel: str | None = "C0SUPPORT", user: str | None = AGENT, **more: Any) -> BoltContext:
    return BoltContext({"team_id": "T1", "user_id": user, "channel_id": channel, **more})


def with_response_url(channel: str | None = "C0SUPPORT") -> BoltContext:
    return context(channel, respond=Respond(response_url=RESPONSE_URL))


def texts(blocks: list[dict[str, Any]]) -> str:
    return " ".join(all_texts(blocks))


# The command, direct messages, mentions, the Home tab


def test_the_command_answers_through_its_response_url(services: Services, urls: FakeResponseUrls) -> None:
    body = {"command": "/coupons", "text": f"{MIXED_CUSTOMER} code:NOSUCHCODE", "response_url": RESPONSE_URL}
    commands.answer_command(services, with_response_url(), body)
    [(url, payload)] = urls.posted
    assert url == RESPONSE_URL and payload["response_type"] == "ephemeral" and not payload["replace_original"]
    assert payload["text"].startswith(f"Coupons for customer {MIXED_CUSTOMER}")


def test_the_command_names_itself_in_its_usage(services: Services, urls: FakeResponseUrls) -> None:
    commands.answer_command(services, with_response_url(), {"command": "/coupons-test", "response_url": RESPONSE_URL})
    [(_, payload)] = urls.posted
    assert "/coupons-test" in texts(payload["blocks"])


def test_a_direct_message_is_answered_in_its_thread(services: Services, client: FakeClient) -> None:
    event = {"type": "message", "channel_type": "im", "user": AGENT, "text": str(MIXED_CUSTOMER), "thread_ts": "1.2"}
    events.direct_message(services, context("D0AGENT"), {"event": event}, event)
    [posted] = client.made("chat_postMessage")
    assert (posted["channel"], posted["thread_ts"]) == ("D0AGENT", "1.2")
    assert posted["text"].startswith(f"Coupons for customer {MIXED_CUSTOMER}")


@pytest.mark.parametrize(
    "event",
    [
        {"channel_type": "im", "user": AGENT, "text": "1", "bot_id": "B1"},  # a bot's, ours included
        {"channel_type": "im", "user": AGENT, "text": "1", "subtype": "message_changed"},
        {"channel_type": "channel", "user": AGENT, "text": "1"},
    ],
)
def test_other_messages_are_left_alone(services: Services, client: FakeClient, event: dict[str, Any]) -> None:
    events.direct_message(services, context("D0AGENT"), {"event": event}, event)
    assert client.calls == []


def test_a_mention_is_answered_privately(services: Services, client: FakeClient) -> None:
    event = {"type": "app_mention", "user": AGENT, "text": f"<@U0BOT> {MIXED_CUSTOMER}"}
    events.mention(services, context(), {"event": event}, event)
    [posted] = client.made("chat_postEphemeral")
    assert (posted["channel"], posted["user"]) == ("C0SUPPORT", AGENT)


def test_the_home_tab_says_when_someone_may_not_look_up(services: Services, client: FakeClient) -> None:
    event = {"type": "app_home_opened", "user": AGENT, "tab": "home"}
    events.home_opened(services, context(access_allowed=True), {"event": event}, event)
    events.home_opened(services, context(access_allowed=False), {"event": event}, event)
    events.home_opened(services, context(), {"event": event}, {**event, "tab": "messages"})
    allowed, refused = client.made("views_publish")
    assert allowed["user_id"] == AGENT and texts(allowed["view"]["blocks"]) != texts(refused["view"]["blocks"])


# The lookup modal


def submission(who: str, code: str = "") -> dict[str, Any]:
    view = {**render_lookup_form(), "id": "V0FORM", "state": {"values": form_values(who, code)}}
    return {"type": "view_submission", "view": view}


def test_the_forms_ack_shows_what_is_wrong_under_its_field(audit: AuditLines) -> None:
    ack = FakeAck()
    shortcuts.check_form(ack, context(None), submission("565 032 176", "not a code!"))
    [said] = ack.said
    assert said["response_action"] == "errors" and set(said["errors"]) == {BLOCK_WHO, BLOCK_CODE}
    assert audit.lines[-1]["event"] == "coupons.modal" and audit.lines[-1]["outcome"] == "invalid_input"


def test_the_forms_ack_turns_good_input_into_looking_up_without_the_mobile() -> None:
    ack = FakeAck()
    shortcuts.check_form(ack, context(None), submission("+91 99000 01001"))
    [said] = ack.said
    assert said["response_action"] == "update" and "the customer by mobile" in texts(said["view"]["blocks"])
    assert "99000" not in str(said)


def test_the_form_is_answered_in_the_modal(services: Services, client: FakeClient) -> None:
    shortcuts.answer_form(services, context(None), submission(str(MIXED_CUSTOMER)))
    [updated] = client.made("views_update")
    assert updated["view_id"] == "V0FORM" and f"{MIXED_CUSTOMER}" in texts(updated["view"]["blocks"])


def test_the_message_shortcut_fills_the_form_in(services: Services, client: FakeClient) -> None:
    body = {"trigger_id": "1.2.abc", "message": {"text": f"customer {MIXED_CUSTOMER} says code WELCOME10 fails"}}
    shortcuts.open_form_from_message(services, context("C0SUPPORT"), body)
    [opened] = client.made("views_open")
    assert opened["trigger_id"] == "1.2.abc"
    assert opened["view"] == render_lookup_form(who=str(MIXED_CUSTOMER), code="WELCOME10")


# Buttons


def test_a_click_in_the_modal_redraws_it_unless_a_newer_click_did(services: Services, client: FakeClient) -> None:
    value = services.answerer.codec.encode(ViewState(MIXED_CUSTOMER, surface=Surface.MODAL))
    body = {"type": "block_actions", "view": {"id": "V0LOOKUP", "hash": "h1"}}
    actions.redraw(
        services,
        context(None),
        body,
        {"action_id": "coupons_page:active:next", "value": value},
        Respond(response_url=None),
    )
    [updated] = client.made("views_update")
    assert (updated["view_id"], updated["hash"]) == ("V0LOOKUP", "h1")


def test_share_from_a_modal_is_refused_in_it(services: Services, client: FakeClient, audit: AuditLines) -> None:
    body = {"type": "block_actions", "view": {"id": "V0LOOKUP"}, "trigger_id": "1.2.abc"}
    actions.share(services, context(None), body, {"value": "anything"})
    [updated] = client.made("views_update")
    assert updated["view_id"] == "V0LOOKUP" and "share" in texts(updated["view"]["blocks"]).lower()
    assert audit.lines[-1]["decision"] == "denied" and client.made("views_open") == []


def test_share_posts_for_the_channel(services: Services, urls: FakeResponseUrls) -> None:
    value = services.answerer.codec.encode(ViewState(MIXED_CUSTOMER))
    actions.share(services, with_response_url(), {"response_url": RESPONSE_URL}, {"value": value})
    [(_, payload)] = urls.posted
    assert payload["response_type"] == "in_channel" and AGENT in texts(payload["blocks"])


# Links and the workflow step


def test_only_member_care_links_unfold(services: Services, client: FakeClient) -> None:
    hosts = frozenset({"crm.example"})
    ours, theirs = f"https://crm.example/member-care/ui/{MIXED_CUSTOMER}", "https://elsewhere.example/x"
    event = {"type": "link_shared", "channel": "C0SUPPORT", "message_ts": "1.2", "links": [{"url": theirs}]}
    links.unfurl(services, hosts, context(), {"event": event}, event)
    assert client.calls == []
    event["links"] = [{"url": ours}, {"url": theirs}]
    links.unfurl(services, hosts, context(), {"event": event}, event)
    [unfurled] = client.made("chat_unfurl")
    assert list(unfurled["unfurls"]) == [ours] and (unfurled["channel"], unfurled["ts"]) == ("C0SUPPORT", "1.2")


def test_the_step_outputs_or_says_what_is_wrong(services: Services) -> None:
    requester = Requester("T1", AGENT)
    outputs = workflow_step.step_outcome(services, requester, {"customer": str(MIXED_CUSTOMER)})
    assert isinstance(outputs, dict) and outputs["customer_id"] == str(MIXED_CUSTOMER)
    assert isinstance(workflow_step.step_outcome(services, requester, {"customer": "abc"}), str)
    closed = Services(**{**services.__dict__, "policy": AccessPolicy(user_ids=frozenset({"U0OTHER"}))})
    assert isinstance(workflow_step.step_outcome(closed, requester, {"customer": str(MIXED_CUSTOMER)}), str)


# The catch-all


def test_guarded_shows_bolt_the_handlers_own_parameters_and_names_the_job(services: Services) -> None:
    run = guarded(links.unfurl, services, action="unfurl", hosts=frozenset())
    assert list(inspect.signature(run).parameters) == ["context", "body", "event"]
    assert run.__name__ == "unfurl.unfurl"


def test_guarded_tells_the_person_when_the_handler_raises(services: Services, urls: FakeResponseUrls) -> None:
    def broken(services: Services, context: BoltContext, body: dict[str, Any]) -> None:
        raise RuntimeError("a bug")

    guarded(broken, services, action="command")(context=with_response_url(), body={"response_url": RESPONSE_URL})
    [(_, payload)] = urls.posted
    assert "ref" in payload["text"].lower() or "reference" in texts(payload["blocks"]).lower()


# How to answer on each surface: one place


def refusal() -> Message:
    return Message("No.", [{"type": "section", "text": {"type": "mrkdwn", "text": "No."}}], ok=False)


def test_the_ack_carries_the_answer_for_a_command_and_a_form_only() -> None:
    assert in_the_ack({"command": "/coupons"}, refusal()) == {
        "response_type": "ephemeral",
        "text": "No.",
        "blocks": refusal().blocks,
    }
    assert in_the_ack({"type": "view_submission"}, refusal())["response_action"] == "update"  # type: ignore[index]
    assert in_the_ack({"type": "block_actions"}, refusal()) is None


@pytest.mark.parametrize(
    ("body", "channel", "method"),
    [
        ({"type": "block_actions", "view": {"id": "V0LOOKUP"}}, None, "views_update"),  # in its modal
        ({"type": "shortcut", "trigger_id": "1.2.abc"}, None, "views_open"),  # where the form would have been
        ({"type": "event_callback", "event": {"type": "app_mention"}}, "C0SUPPORT", "chat_postEphemeral"),
        ({"type": "event_callback", "event": {"type": "message"}}, "D0AGENT", "chat_postMessage"),
        ({"type": "block_actions"}, None, "chat_postMessage"),  # nowhere else: the DM with the bot
    ],
)
def test_an_answer_goes_back_where_the_request_came_from(
    services: Services, client: FakeClient, body: dict[str, Any], channel: str | None, method: str
) -> None:
    services.delivery.reply(ReplyTo.of(context(channel), body), refusal())
    assert [name for name, _ in client.calls] == [method]


def test_a_response_url_comes_first_and_a_modal_can_be_pushed_over(
    services: Services, client: FakeClient, urls: FakeResponseUrls
) -> None:
    services.delivery.reply(ReplyTo.of(with_response_url(), {"response_url": RESPONSE_URL}), refusal())
    assert len(urls.posted) == 1 and client.calls == []
    over = ReplyTo(Requester("T1", AGENT), view_id="V0LOOKUP", trigger_id="1.2.abc")
    services.delivery.reply(over, refusal(), view={"type": "modal"}, push=True)
    assert client.made("views_push") == [{"trigger_id": "1.2.abc", "view": {"type": "modal"}}]


def test_the_access_check_refuses_in_the_ack_or_right_after_it(services: Services, client: FakeClient) -> None:
    check = check_access(AccessPolicy(user_ids=frozenset({"U0OTHER"})), services.answerer, services.delivery)
    passed: list[bool] = []
    command = check({"command": "/coupons"}, context(), lambda: passed.append(True))
    assert command is not None and json.loads(command.body)["response_type"] == "ephemeral"
    shortcut = check({"type": "shortcut", "trigger_id": "1.2.abc"}, context(None), lambda: passed.append(True))
    assert shortcut is not None and shortcut.body == "" and passed == []
    [opened] = client.made("views_open")
    assert opened["trigger_id"] == "1.2.abc"
