"""A customer's coupons as data rather than a message, for the places that show less than a summary: a Member
Care link's unfolded card and the Workflow Builder step's outputs.

The same parse (`read_lookup`), services, deadline and audit line as `LookupAnswerer`, whose parts it uses; a
failure comes back as the message `blocks.errors` words for it, like everywhere else.
"""

from __future__ import annotations

import time
from concurrent.futures import Future
from dataclasses import dataclass

from blocks.errors import render_error
from blocks.help import render_usage
from blocks.message import Message
from bot.audit_log import write_audit
from bot.capillary.deadline import Deadline, current_deadline, within
from bot.command_text import HelpRequest, read_lookup
from bot.customer_service import CustomerOutcome
from bot.domain.coupon import CodeCase
from bot.domain.coupon_summary import CouponSummary, summarize
from bot.domain.customer import CustomerCard, Identifier
from bot.errors import CapillaryError, CouponsBotError, InvalidCommand
from bot.lookup_answers import LookupAnswerer
from bot.requester import Requester


@dataclass(frozen=True)
class Overview:
    summary: CouponSummary
    card: CustomerCard | None  # None when the profile couldn't be read: the coupons are complete all the same
    focus: str | None = None  # the coupon code asked about, if any


class CustomerOverviews:
    def __init__(self, answerer: LookupAnswerer) -> None:
        self.answerer = answerer

    def of_text(self, text: str | None, requester: Requester, *, action: str) -> Overview | Message:
        """What a person gave (anything `/coupons` takes, `code:` included) → the overview, or why not."""
        try:
            request, focus = read_lookup(text)
        except CouponsBotError as error:
            write_audit(requester, action=action, outcome=error.outcome)
            return render_usage(str(error))
        if isinstance(request, HelpRequest):
            write_audit(requester, action=action, outcome=InvalidCommand.outcome)
            return render_usage()
        if request.identifier is None:
            assert request.customer_id is not None
            return self.of_customer(request.customer_id, requester, action=action, case=request.case, focus=focus)
        return self._of_identifier(request.identifier, requester, action=action, case=request.case, focus=focus)

    def of_customer(
        self,
        customer_id: int,
        requester: Requester,
        *,
        action: str,
        case: CodeCase = CodeCase.UPPER,
        focus: str | None = None,
        resolved: CustomerOutcome | None = None,
        identifier_kind: str | None = None,
        started: float | None = None,
    ) -> Overview | Message:
        """The customer's coupons and who they are; the profile (unless `resolved` brought it) is read on a thread
        while the coupons are fetched, within one deadline, as for a summary."""
        answerer, customers = self.answerer, self.answerer.customers
        started = time.monotonic() if started is None else started
        deadline = current_deadline() or Deadline.after(customers.deadline_seconds if customers else 8.0)
        with within(deadline):
            profile: Future[CustomerOutcome] | None = None
            if resolved is None and customers is not None:
                profile = customers.profile_soon(customer_id)
            try:
                outcome = answerer.service.lookup(customer_id, case, focused=focus is not None)
            except CouponsBotError as error:
                if profile is not None:
                    profile.cancel()
                self._audit_failure(error, requester, action, started, customer_id=customer_id, kind=identifier_kind)
                return render_error(
                    error, customer_id=customer_id, contact=answerer.contact, demo=answerer.service.demo
                )
            card, _ = answerer._card(customer_id, resolved, profile, deadline)
        summary = summarize(outcome.coupons, answerer._clock())
        write_audit(
            requester,
            action=action,
            outcome="ok",
            counts={group.state.value: len(group.coupons) for group in summary.groups},
            skipped=summary.skipped or None,
            cache="hit" if outcome.cache_hit else "miss",
            attempts=outcome.attempts,
            upstream_ms=outcome.upstream_ms,
            duration_ms=_ms_since(started),
            identifier_kind=identifier_kind,
            customer_id=customer_id,
            case=case.value,
        )
        return Overview(summary, card, focus)

    def _of_identifier(
        self, identifier: Identifier, requester: Requester, *, action: str, case: CodeCase, focus: str | None
    ) -> Overview | Message:
        """A mobile number, email, card or external ID resolved to the customer first; the audit line names only
        the identifier's kind."""
        started, kind, customers = time.monotonic(), identifier.kind.value, self.answerer.customers
        if customers is None:  # a bot built without customer lookups
            write_audit(requester, action=action, outcome=InvalidCommand.outcome, identifier_kind=kind)
            return render_usage("This bot can only look customers up by their customer ID.")
        with within(Deadline.after(customers.deadline_seconds)):  # the resolution and the coupons share it
            try:
                resolved = customers.resolve(identifier)
            except CouponsBotError as error:
                self._audit_failure(error, requester, action, started, kind=kind)
                return render_error(
                    error,
                    customer_id=None,
                    contact=self.answerer.contact,
                    demo=self.answerer.service.demo,
                    identifier=identifier,
                    source=customers.source,
                )
            return self.of_customer(
                resolved.customer_id,
                requester,
                action=action,
                case=case,
                focus=focus,
                resolved=resolved,
                identifier_kind=kind,
                started=started,
            )

    @staticmethod
    def _audit_failure(
        error: CouponsBotError,
        requester: Requester,
        action: str,
        started: float,
        *,
        customer_id: int | None = None,
        kind: str | None = None,
    ) -> None:
        write_audit(
            requester,
            action=action,
            outcome=error.outcome,
            attempts=error.attempts if isinstance(error, CapillaryError) else None,
            duration_ms=_ms_since(started),
            identifier_kind=kind,
            customer_id=customer_id,
        )


def _ms_since(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
