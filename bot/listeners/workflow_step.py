"""The Workflow Builder step "Get customer coupons" (a custom step, `functions` in manifest.yml).

Bolt acks `function_executed` at once; the lookup runs in the lazy half, which ends the step itself with
functions.completeSuccess (the outputs) or functions.completeError (the words any other answer would use).
"""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext

from blocks.focus import focus_text
from blocks.mrkdwn import one_line
from blocks.summary import counts_line
from bot.audit_log import write_audit
from bot.domain.action_ids import FUNCTION_GET_COUPONS
from bot.domain.coupon_state import STATE_ORDER, CouponState
from bot.domain.errors import AccessDenied
from bot.listeners.lazy import acknowledge, guarded, unexpected
from bot.lookup_answers import Ask, Found
from bot.lookup_form import FormErrors, FormInput, read_form
from bot.requester import Requester, part
from bot.services import Services

ACTION = "workflow_step"
MAX_CODES = 20  # `active_codes`: enough for a message, and a bounded output whatever the customer holds


def register(app: App, services: Services) -> None:
    app.function(FUNCTION_GET_COUPONS)(ack=acknowledge, lazy=[guarded(run_step, services, action=ACTION)])


def run_step(services: Services, context: BoltContext, body: dict[str, Any], event: dict[str, Any]) -> None:
    execution_id = str(event.get("function_execution_id") or "")
    token = event.get("bot_access_token")  # this run's own token (Bolt's `complete` uses it too)
    inputs = part(event, "inputs")
    requester = Requester(team_id=context.team_id, user_id=invoking_user(inputs))
    try:
        result = step_outcome(services, requester, inputs)
    except Exception:
        # `guarded` would tell a person privately; a step has nobody to tell but the workflow, which waits until
        # it ends: so it ends here, with the reference that finds the traceback.
        result = unexpected(services, requester, action=ACTION).text
    services.delivery.end_step(execution_id, result, token=token)


def step_outcome(services: Services, requester: Requester, inputs: dict[str, Any]) -> dict[str, Any] | str:
    """The step's outputs, or the error it ends with."""
    answerer = services.answerer
    if not services.policy.allows(requester):
        write_audit(requester, action=ACTION, outcome=AccessDenied.outcome, decision="denied")
        return answerer.refusal(AccessDenied()).text
    try:  # checked as the lookup window's fields are: the same rules, the same words
        lookup = read_form(FormInput(who=str(inputs.get("customer") or ""), code=str(inputs.get("code") or "")))
    except FormErrors as problem:
        write_audit(requester, action=ACTION, outcome=problem.outcome)
        return str(problem)
    found = answerer.find_lookup(lookup.lookup, Ask(requester, ACTION))
    if not isinstance(found, Found):
        return found.text
    outputs = step_outputs(found)
    answerer.record(found)
    return outputs


def invoking_user(inputs: dict[str, Any]) -> str | None:
    """Who runs the workflow: the `user_context` input (`{"id": "U…", "secret": …}`, which Workflow Builder fills
    with the person who used the workflow), or a plain user ID."""
    user = inputs.get("user_context")
    if isinstance(user, dict):
        user = user.get("id")
    return user if isinstance(user, str) and user else None


def step_outputs(found: Found) -> dict[str, Any]:
    """The step's outputs (manifest.yml names each). No mobile number or email: outputs go wherever the workflow
    sends them."""
    summary, card = found.summary, found.card
    name = one_line(card.name, 100) if card else ""
    active = summary.group(CouponState.ACTIVE).coupons[:MAX_CODES]
    about = [f"customer {summary.customer_id}"] + ([f"{one_line(card.tier, 40)} tier"] if card and card.tier else [])
    line = f"{name or 'Customer'} ({', '.join(about)}): {counts_line(summary)}"
    if found.view.focus:
        line += f"; {focus_text(summary, found.view.focus)}"
    return {
        "customer_id": str(summary.customer_id),
        "customer_name": name,
        **{f"{state.value}_count": len(summary.group(state).coupons) for state in STATE_ORDER},
        "active_codes": ", ".join(coupon.code for coupon in active),
        "summary": line,
    }
