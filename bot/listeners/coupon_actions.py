"""Resend, Extend expiry and Issue goodwill coupon: the button opens a confirmation form; its submission is checked
in the ack (no network: a missing reason, a date outside the offer), then done once in the lazy half, which
shows the outcome in the form, posts it to the agent and redraws the customer's message.

A button in the lookup modal pushes the form over it (views.open can't open over a modal); the form carries the
modal's view ID, signed, and the modal is redrawn from it once the action is done.

The service is built here from `services.answerer` (its client and store) and the settings the answerer carries
(`LookupAnswerer.actions`, from `ActionSettings.of(settings)`); with no action on, nothing is registered to show.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_bolt.context.respond import Respond

from blocks.action_forms import date_refusal, render_action_form, render_outcome, render_outcome_view, render_working
from blocks.message import Message
from blocks.modal import render_answer
from bot.access import GroupMembers, shared_members, usergroup_fetcher
from bot.audit_log import write_audit
from bot.coupon_actions import VIEW_ID, ActionForm, ActionOutcome, ActionService, Prepared
from bot.delivery import ReplyTo
from bot.domain.action_ids import (
    ACTION_EXTEND,
    ACTION_ISSUE,
    ACTION_RESEND,
    BLOCK_EXPIRY,
    BLOCK_REASON,
    BLOCK_SERIES,
    INPUT_EXPIRY,
    INPUT_REASON,
    INPUT_SERIES,
    VIEW_ACTION_FORM,
)
from bot.domain.coupon_actions import ActionKind
from bot.domain.errors import ActionNotAllowed, CouponsBotError, InvalidViewState
from bot.listeners.lazy import acknowledge, guarded
from bot.lookup_answers import Ask
from bot.requester import Requester, part
from bot.services import Services

KINDS = {ACTION_RESEND: ActionKind.RESEND, ACTION_EXTEND: ActionKind.EXTEND, ACTION_ISSUE: ActionKind.ISSUE}
_BUTTONS = re.compile(f"^({ACTION_RESEND}|{ACTION_EXTEND}|{ACTION_ISSUE})$")
CONTEXT_TTL_SECONDS = 24 * 3600.0


@dataclass(frozen=True)
class FormInput:
    """What was typed in a confirmation form, read without network (the ack) and again in the lazy half."""

    form: ActionForm
    reason: str
    expiry: date | None
    series_id: int | None


def read_form(service: ActionService, view: dict[str, Any]) -> FormInput | dict[str, str]:
    """The form's input, or the errors to show under its fields."""
    values = part(part(view, "state"), "values")
    try:
        form = ActionForm.decode(service.answerer.codec, view.get("private_metadata"))
    except InvalidViewState:
        return {BLOCK_REASON: "This form is out of date: close it and click the button again."}
    reason = " ".join(str(part(part(values, BLOCK_REASON), INPUT_REASON).get("value") or "").split())
    errors: dict[str, str] = {}
    if not reason:
        errors[BLOCK_REASON] = "Say why (a ticket number will do)."
    expiry = series_id = None
    if form.kind is ActionKind.EXTEND:
        raw = part(part(values, BLOCK_EXPIRY), INPUT_EXPIRY).get("selected_date")
        try:
            expiry = date.fromisoformat(str(raw))
        except ValueError:
            errors[BLOCK_EXPIRY] = "Pick the new last day."
        bounds = form.bounds
        problem = bounds.problem(expiry) if bounds is not None and expiry is not None else None
        if problem:
            errors[BLOCK_EXPIRY] = problem
    if form.kind is ActionKind.ISSUE:
        selected = part(part(part(values, BLOCK_SERIES), INPUT_SERIES), "selected_option").get("value")
        series_id = int(selected) if isinstance(selected, str) and selected.isdigit() else None
        if series_id is None or series_id not in service.settings.goodwill_series_ids:
            errors[BLOCK_SERIES] = "Pick one of the goodwill offers."
    return errors or FormInput(form, reason, expiry, series_id)


class ActionListeners:
    """The buttons' and the form's listeners, around one `ActionService`."""

    def __init__(self, app: App, services: Services) -> None:
        self.answerer, self.delivery = services.answerer, services.delivery
        self.store = self.answerer.service.store
        settings = self.answerer.actions
        self.groups = GroupMembers(settings.usergroup_ids, shared_members(self.store, usergroup_fetcher(app.client)))
        assert self.answerer.client is not None, "the answerer is built with its Capillary client (wiring)"
        self.service = ActionService(settings, self.answerer, self.answerer.client, is_member=self.groups.contains)
        self.answerer.may_act = self.service.allowed  # the buttons show only to the people who may use them

    def refusal(self, requester: Requester, error: CouponsBotError, kind: ActionKind) -> Message:
        decision = "denied" if isinstance(error, ActionNotAllowed) else "allowed"
        write_audit(requester, action=f"action_{kind.value}", outcome=error.outcome, decision=decision)
        return self.answerer.refusal(error)

    def open_form(self, context: BoltContext, body: dict[str, Any], action: dict[str, Any]) -> None:
        requester = Requester.of(context)
        kind = KINDS[str(action.get("action_id"))]
        self.groups.start(wait_seconds=5.0)  # here (a lazy half) waiting for the first list is fine
        try:
            prepared = self.service.prepare(requester, kind, action.get("value"))
        except CouponsBotError as error:  # a stranger's click ends here, before any Capillary call
            refusal = self.refusal(requester, error, kind)
            # A click in the lookup modal: said over it, where the agent is looking; the modal stays underneath.
            self.delivery.reply(ReplyTo.of(context, body), refusal, view=render_outcome_view(refusal, kind), push=True)
            return
        view_id = part(body, "view").get("id")  # the modal the button was clicked in, if it was
        parent = view_id if isinstance(view_id, str) and VIEW_ID.fullmatch(view_id) else None
        prepared = _over(prepared, parent)
        self.keep_where(prepared.form.key, body, requester)
        write_audit(
            requester, action=f"action_{kind.value}", outcome="form_opened", customer_id=prepared.view.customer_id
        )
        form = render_action_form(prepared, self.answerer.codec, demo=self.answerer.service.demo)
        fallback = self.answerer.refusal(InvalidViewState("the form could not be opened"))
        # Over the modal: one more view on its stack (2 of Slack's 3); the outcome replaces it, not adds.
        self.delivery.open_view(body.get("trigger_id"), form, requester, fallback, push=parent is not None)

    def keep_where(self, key: str, body: dict[str, Any], requester: Requester) -> None:
        """Where the message lives, to redraw it once the action is done (the submission doesn't say)."""
        where = {
            "response_url": body.get("response_url"),
            "channel": requester.channel_id,
            "message_ts": part(body, "message").get("ts"),
        }
        self.store.set(_where_key(key), json.dumps(where).encode(), CONTEXT_TTL_SECONDS)

    def check_submission(self, ack: Ack, body: dict[str, Any]) -> None:
        """The ack: no network. A missing reason or a day outside the offer is shown under its field."""
        read = read_form(self.service, part(body, "view"))
        if isinstance(read, dict):
            ack(response_action="errors", errors=read)
            return
        ack(response_action="update", view=render_working(read.form.kind))

    def submit(self, context: BoltContext, body: dict[str, Any]) -> None:
        view = part(body, "view")
        read = read_form(self.service, view)
        if isinstance(read, dict):
            return  # refused in the ack, which said why
        requester, view_id = Requester.of(context), str(view.get("id"))
        try:
            outcome = self.service.perform(
                requester, read.form, read.reason, expiry=read.expiry, series_id=read.series_id
            )
        except CouponsBotError as error:  # a forged submission, an out-of-date form, a series not allowed
            refusal = self.refusal(requester, error, read.form.kind)
            self.delivery.update_view(view_id, render_outcome_view(refusal, read.form.kind))
            return
        problem = date_refusal(outcome) if not outcome.replayed else None
        again = self.reopen(read.form, requester) if problem is not None else None
        if again is not None:  # the form again, Capillary's refusal under the date, a new key for the next try
            form = render_action_form(again, self.answerer.codec, demo=outcome.demo, date_error=problem)
            self.delivery.update_view(view_id, form)
            return
        message = render_outcome(outcome)
        self.delivery.update_view(view_id, render_outcome_view(message, outcome.kind))
        self.tell_and_redraw(read.form, outcome, requester, message)

    def reopen(self, form: ActionForm, requester: Requester) -> Prepared | None:
        try:
            prepared = self.service.prepare(requester, form.kind, form.view)
        except CouponsBotError:
            return None
        where = self.store.get(_where_key(form.key))
        if where is not None:
            self.store.set(_where_key(prepared.form.key), where, CONTEXT_TTL_SECONDS)
        return _over(prepared, form.parent_view)

    def tell_and_redraw(self, form: ActionForm, outcome: ActionOutcome, requester: Requester, message: Message) -> None:
        """The outcome to the agent where the message is, and the customer's message drawn afresh."""
        raw = self.store.get(_where_key(form.key))
        where = json.loads(raw) if raw is not None else {}
        here = replace(requester, channel_id=where.get("channel") or requester.channel_id)
        self.delivery.privately(here, message)
        if outcome.replayed or outcome.status == "limit":
            return
        if form.parent_view:  # the lookup modal under the form, drawn afresh: what the agent sees once it closes
            ask = Ask(here, "action_refresh", refresh=True, may_share=False)
            self.delivery.update_view(form.parent_view, render_answer(self.answerer.answer_click(form.view, ask)))
        elif where.get("response_url"):
            redrawn = self.answerer.answer_click(form.view, Ask(here, "action_refresh", refresh=True))
            self.delivery.redraw(
                Respond(response_url=where["response_url"]), here, redrawn, message_ts=where.get("message_ts")
            )


def _where_key(key: str) -> str:
    return f"action/1:{key}:where"


def _over(prepared: Prepared, parent_view: str | None) -> Prepared:
    """The form to push over the modal `parent_view` (None: a form opened on its own)."""
    return replace(prepared, form=replace(prepared.form, parent_view=parent_view))


def register(app: App, services: Services) -> None:
    listeners = ActionListeners(app, services)
    app.action(_BUTTONS)(ack=acknowledge, lazy=[guarded(listeners.open_form, services, action="action_form")])
    app.view_submission(VIEW_ACTION_FORM)(
        ack=listeners.check_submission, lazy=[guarded(listeners.submit, services, action="action_submit")]
    )
