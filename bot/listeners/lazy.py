"""The two halves of every listener: an ack in the request's own thread, and the work as a lazy listener.

Bolt runs the ack in the request thread and answers Slack at once; the work runs on the listener pool. So an
ack never waits for a free pool thread, however many slow lookups are queued. `guarded` makes sure the work
always ends in an answer: an unexpected exception still tells the person something, with a reference that
finds the traceback in the log; a restart tells everyone it could not answer in time (`bot/lazy_work.py`).
"""

from __future__ import annotations

import functools
import logging
import secrets
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, BoltContext

from blocks.errors import render_internal_error, render_restart_notice
from blocks.message import Message
from blocks.modal import render_answer
from bot.audit_log import write_audit
from bot.lazy_work import Waiting
from bot.requester import Requester, part
from bot.services import Services

logger = logging.getLogger(__name__)
Handler = Callable[..., None]


def acknowledge(ack: Ack) -> None:
    ack()


def guarded(handler: Handler, services: Services, *, action: str) -> Handler:
    """`handler`, whose parameters must include `context` and `body`, with a catch-all around it."""

    @functools.wraps(handler)  # Bolt reads the wrapped function's parameters to know what to pass
    def run(**kwargs: Any) -> None:
        context: BoltContext = kwargs["context"]
        body: dict[str, Any] = kwargs.get("body") or {}
        waiting = waiting_for(context, body)
        key = services.lazy_work.enter(waiting)
        if key is None:  # the bot is shutting down: say so now rather than start what can't finish
            tell_restarted(services, waiting)
            return
        try:
            handler(**kwargs)
        except Exception:
            report_unexpected(services, context, body, action=action)
        finally:
            services.lazy_work.leave(key)

    # A job names its function: one name per listener and action (`redraw` serves both clicks and refreshes).
    run.__name__ = f"{action}.{handler.__name__}"
    services.functions.add(run)
    return run


def waiting_for(context: BoltContext, body: dict[str, Any]) -> Waiting:
    """Who to tell, and how, if this work can't finish."""
    respond = context.respond if body.get("response_url") else None
    return Waiting(Requester.of(context), respond, part(body, "event").get("thread_ts"))


def tell_restarted(services: Services, waiting: Waiting) -> None:
    services.delivery.privately(
        waiting.requester, render_restart_notice(), respond=waiting.respond, thread_ts=waiting.thread_ts
    )


def report_unexpected(
    services: Services,
    context: BoltContext,
    body: dict[str, Any],
    *,
    action: str,
    error: BaseException | None = None,
    before_ack: bool = False,
) -> None:
    """Log the traceback under a reference, audit `internal_error`, and tell the person, quoting the reference.
    `before_ack`: raised in middleware or an ack, so the telling waits until Slack has its answer."""
    reference = secrets.token_hex(4)
    logger.error("unexpected error answering %s (ref %s)", action, reference, exc_info=error or True)
    requester = Requester.of(context)
    write_audit(requester, action=action, outcome="internal_error")
    message = render_internal_error(reference, contact=services.answerer.contact)
    if before_ack:
        services.delivery.after_ack(lambda: _tell_unexpected(services, context, body, requester, message))
    else:
        _tell_unexpected(services, context, body, requester, message)


def _tell_unexpected(
    services: Services, context: BoltContext, body: dict[str, Any], requester: Requester, message: Message
) -> None:
    event = part(body, "event")
    in_view = part(body, "view")
    if in_view.get("id") and services.delivery.update_view(str(in_view["id"]), render_answer(message)):
        return  # a modal's form or button: the modal says it
    respond = context.respond if body.get("response_url") else None
    services.delivery.privately(requester, message, respond=respond, thread_ts=event.get("thread_ts"))
