"""The two halves of every listener: an ack in the request's own thread, and the work as a lazy listener.

Bolt runs the ack in the request thread and answers Slack at once; the work runs on the listener pool. So an
ack never waits for a free pool thread, however many slow lookups are queued. `guarded` makes sure the work
always ends in an answer: an unexpected exception still tells the person something, with a reference that
finds the traceback in the log; a restart tells everyone it could not answer in time (`bot/lazy_work.py`).

Handlers are module-level functions (so a test can call them directly) that name what they need, as Bolt's own
arguments are named: `guarded` passes `services` (and anything else given to it) to a handler with a parameter
of that name, and shows Bolt the rest of its parameters only.
"""

from __future__ import annotations

import inspect
import logging
import secrets
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from slack_bolt import Ack, BoltContext

from blocks.errors import render_internal_error, render_restart_notice
from blocks.message import Message
from bot.audit_log import write_audit
from bot.delivery import ReplyTo
from bot.requester import Requester
from bot.services import Services

logger = logging.getLogger(__name__)
Handler = Callable[..., None]


def acknowledge(ack: Ack) -> None:
    ack()


def guarded(handler: Handler, services: Services, *, action: str, **given: Any) -> Handler:
    """`handler`, given `services` and `given` by name and the rest by Bolt, with a catch-all around it. Bolt's
    part must include `context` and `body`."""
    signature = inspect.signature(handler)
    if unknown := set(given) - set(signature.parameters):
        raise TypeError(f"{handler.__name__} takes no {', '.join(sorted(unknown))}")
    ours = {name: value for name, value in {"services": services, **given}.items() if name in signature.parameters}

    def run(**kwargs: Any) -> None:
        context: BoltContext = kwargs["context"]
        body: dict[str, Any] = kwargs.get("body") or {}
        to = ReplyTo.of(context, body)
        # The restart notice, if it comes to that, goes privately, never into a modal.
        waiting = ReplyTo(to.requester, respond=to.respond, thread_ts=to.thread_ts)
        key = services.lazy_work.enter(waiting)
        if key is None:  # the bot is shutting down: say so now rather than start what can't finish
            tell_restarted(services, waiting)
            return
        try:
            handler(**ours, **kwargs)
        except Exception:
            report_unexpected(services, context, body, action=action)
        finally:
            services.lazy_work.leave(key)

    # Bolt reads the parameters to pass from the signature: the handler's, less what is given here.
    bolt_passes = [parameter for name, parameter in signature.parameters.items() if name not in ours]
    run.__signature__ = signature.replace(parameters=bolt_passes)  # type: ignore[attr-defined]
    run.__doc__ = handler.__doc__
    # A job names its function: one name per listener and action (`redraw` serves both clicks and refreshes).
    run.__name__ = run.__qualname__ = f"{action}.{handler.__name__}"
    services.functions.add(run)
    return run


def tell_restarted(services: Services, waiting: ReplyTo) -> None:
    services.delivery.reply(waiting, render_restart_notice())


def report_unexpected(
    services: Services,
    context: BoltContext,
    body: dict[str, Any],
    *,
    action: str,
    error: BaseException | None = None,
    before_ack: bool = False,
) -> None:
    """`unexpected`, told to the person. `before_ack`: raised in middleware or an ack, so the telling waits until
    Slack has its answer."""
    message = unexpected(services, Requester.of(context), action=action, error=error)
    # Said in the modal it came from, else privately: never in a new modal (a shortcut's trigger went to its form).
    to = replace(ReplyTo.of(context, body), opens_form=False)
    if before_ack:
        services.delivery.after_ack(lambda: services.delivery.reply(to, message))
    else:
        services.delivery.reply(to, message)


def unexpected(services: Services, requester: Requester, *, action: str, error: BaseException | None = None) -> Message:
    """Log the traceback under a reference and audit `internal_error`: the message to tell, quoting the reference."""
    reference = secrets.token_hex(4)
    logger.error("unexpected error answering %s (ref %s)", action, reference, exc_info=error or True)
    write_audit(requester, action=action, outcome="internal_error")
    return render_internal_error(reference, contact=services.answerer.contact)
