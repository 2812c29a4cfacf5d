"""The shortcuts: "Look up coupons" (global) and "Coupons for customer" (on a message), the lookup modal they
open, its submission, and its "Send to me" button."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext

from blocks.help import render_usage
from blocks.limits import MAX_VIEW_BLOCKS
from blocks.message import Message
from blocks.modal import render_answer, render_loading, render_lookup_form
from blocks.mrkdwn import section
from bot.audit_log import write_audit
from bot.domain.action_ids import ACTION_SEND_TO_ME, SHORTCUT_FROM_MESSAGE, SHORTCUT_LOOKUP, VIEW_LOOKUP_FORM
from bot.domain.view_state import Surface
from bot.listeners.lazy import acknowledge, guarded
from bot.lookup_answers import Ask
from bot.lookup_form import FormErrors, form_input, read_form
from bot.message_prefill import find_in_message
from bot.requester import Requester, part
from bot.services import Services

NOTHING_FOUND = (
    "No customer ID, mobile number, email or card number was found in that message: type the customer below."
)


def register(app: App, services: Services) -> None:
    app.shortcut(SHORTCUT_LOOKUP)(ack=acknowledge, lazy=[guarded(open_form, services, action="shortcut")])
    app.shortcut(SHORTCUT_FROM_MESSAGE)(
        ack=acknowledge, lazy=[guarded(open_form_from_message, services, action="message_shortcut")]
    )
    app.view_submission(VIEW_LOOKUP_FORM)(ack=check_form, lazy=[guarded(answer_form, services, action="modal")])
    app.action(ACTION_SEND_TO_ME)(ack=acknowledge, lazy=[guarded(send_to_me, services, action="send_to_me")])


def open_form(services: Services, context: BoltContext, body: dict[str, Any]) -> None:
    requester = Requester.of(context)
    write_audit(requester, action="shortcut", outcome="form_opened")
    services.delivery.open_view(body.get("trigger_id"), render_lookup_form(), requester, render_usage())


def open_form_from_message(services: Services, context: BoltContext, body: dict[str, Any]) -> None:
    requester = Requester.of(context)
    # The message is someone's words: read for an identifier, never logged, never kept.
    found = find_in_message(part(body, "message").get("text"))
    write_audit(requester, action="message_shortcut", outcome="form_opened" if found.who else "nothing_found")
    form = render_lookup_form(who=found.who or "", code=found.code or "", hint=None if found.who else NOTHING_FOUND)
    services.delivery.open_view(body.get("trigger_id"), form, requester, render_usage())


def check_form(ack: Ack, context: BoltContext, body: dict[str, Any]) -> None:
    """The ack: bad input is shown under its field at once (no network, no Capillary call); good input turns the
    form into "Looking up…", which the lookup then replaces."""
    try:
        lookup = read_form(form_input(part(body, "view")))
    except FormErrors as problem:
        write_audit(Requester.of(context), action="modal", outcome=problem.outcome)
        ack(response_action="errors", errors=problem.errors)
        return
    ack(response_action="update", view=render_loading(lookup.label))


def answer_form(services: Services, context: BoltContext, body: dict[str, Any]) -> None:
    submitted = part(body, "view")
    try:
        lookup = read_form(form_input(submitted))
    except FormErrors:
        return  # refused in the ack, which already said why
    ask = Ask(Requester.of(context), "modal", surface=Surface.MODAL, may_share=False)
    message = services.answerer.answer_lookup(lookup.lookup, ask)
    services.delivery.update_view(str(submitted.get("id")), render_answer(message))


def send_to_me(services: Services, context: BoltContext, body: dict[str, Any], action: dict[str, Any]) -> None:
    """The modal's answer as a DM from the bot, with buttons that work there; the modal stays as it is."""
    requester = Requester.of(context)
    message = services.answerer.answer_click(action.get("value"), Ask(requester, "send_to_me", may_share=False))
    in_view = part(body, "view")
    if not services.delivery.to_user(requester, message) and in_view.get("id"):
        failed = section(":warning: This couldn't be sent to your DM with the bot; it is shown here again.")
        shown = Message(message.text, [failed, *message.blocks[: MAX_VIEW_BLOCKS - 1]], ok=message.ok)
        services.delivery.update_view(str(in_view["id"]), render_answer(shown))
