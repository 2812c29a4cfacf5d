"""`LookupAnswerer`: the path every entry point shares — look up, classify, render, write the audit line."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import CancelledError, Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, replace

from blocks.errors import render_error
from blocks.focus import find_focused
from blocks.help import render_usage
from blocks.message import Message
from blocks.summary import SummaryOptions, render_summary
from bot.audit_log import write_audit
from bot.capillary.client import CapillaryClient
from bot.capillary.deadline import Deadline, current_deadline, within
from bot.check_service import CheckService
from bot.command_text import Lookup, parse
from bot.coupon_service import CouponService, LookupOutcome
from bot.customer_service import CustomerOutcome, CustomerService
from bot.domain.coupon import CodeCase
from bot.domain.coupon_actions import ActionKind, ActionSettings
from bot.domain.coupon_state import Clock, system_clock
from bot.domain.coupon_summary import CouponSummary, summarize
from bot.domain.customer import CustomerCard, Identifier, customer_card
from bot.domain.errors import CapillaryError, CouponsBotError, InvalidCommand
from bot.domain.redeemability import Redeemability
from bot.domain.view_state import Surface, ViewState, ViewStateCodec
from bot.requester import Requester

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Ask:
    """One request to the answerer: who asks, from which entry point (`action`, for the audit line), and how."""

    requester: Requester
    action: str
    surface: Surface = Surface.EPHEMERAL  # where a typed lookup is drawn (a button's view says its own)
    command: str = "/coupons"  # as the usage names the command
    refresh: bool = False  # fetch again, past the cache (Refresh, Try again)
    shared_by: str | None = None  # a copy for the whole channel, posted by this user: no buttons
    may_share: bool = True  # whether the place asking may get a Share button


@dataclass(frozen=True)
class Resolved:
    """A customer found by an identifier: the profile came with it, and the lookup's time counts from `started`."""

    outcome: CustomerOutcome
    kind: str  # the identifier's kind, for the audit line (never its value)
    started: float


@dataclass(frozen=True)
class Found:
    """A lookup that worked: what to draw, in whichever form the place asking wants it."""

    view: ViewState
    summary: CouponSummary
    card: CustomerCard | None  # None when the profile couldn't be read (or wasn't asked for)
    profile_unreadable: bool
    check: Redeemability | CouponsBotError | None  # the coupon in focus, checked
    ask: Ask
    # For the audit line (`LookupAnswerer.record`):
    outcome: LookupOutcome
    identifier_kind: str | None
    started: float


class LookupAnswerer:
    def __init__(
        self,
        service: CouponService,
        codec: ViewStateCodec,
        *,
        customers: CustomerService | None = None,
        page_size: int = 5,
        contact: str = "your Slack admin",
        clock: Clock = system_clock,
        connection_label: str = "",
        currency: str | None = None,
        checks: CheckService | None = None,
        actions: ActionSettings | None = None,
        client: CapillaryClient | None = None,
    ) -> None:
        self.service = service
        self.client = client  # the Capillary client the lookups use: the actions write through it too
        self.checks = checks
        self.actions = actions or ActionSettings()  # off unless wiring passes `ActionSettings.of(settings)`
        # Which actions a person may take: set by the actions' listeners (they know the user groups); none here.
        self.may_act: Callable[[Requester], frozenset[ActionKind]] = lambda _requester: frozenset()
        self.customers = customers
        self.connection_label = connection_label
        self.codec = codec
        self.page_size = page_size
        self.contact = contact
        self.currency = currency
        self._clock = clock

    def answer_text(self, text: str | None, ask: Ask) -> Message:
        """Answer what a user typed: usage, a polite refusal of bad input, or the customer's coupons."""
        try:
            lookup = parse(text)  # Slack's markup and pasted characters undone there
        except CouponsBotError as error:
            write_audit(ask.requester, action=ask.action, outcome=error.outcome)
            return render_usage(str(error), command=ask.command)
        return self.answer_lookup(lookup, ask)

    def answer_lookup(self, lookup: Lookup, ask: Ask) -> Message:
        """Answer what was asked, already read (`parse`, the lookup modal's form)."""
        return self.draw(self.find_lookup(lookup, ask))

    def find_lookup(self, lookup: Lookup, ask: Ask) -> Found | Message:
        """What was asked, read → the customer's coupons found, or the message saying why not."""
        if lookup.who is None:
            if lookup.focus is None:
                return render_usage(command=ask.command)
            write_audit(ask.requester, action=ask.action, outcome=InvalidCommand.outcome)
            return render_usage(
                f"Say whose coupon {lookup.focus} is: `{ask.command} <customer> code:{lookup.focus}`.",
                command=ask.command,
            )
        if isinstance(lookup.who, int):
            return self.find(ViewState(lookup.who, lookup.case, surface=ask.surface, focus=lookup.focus), ask)
        return self._find_identifier(lookup.who, lookup, ask)

    def _find_identifier(self, identifier: Identifier, lookup: Lookup, ask: Ask) -> Found | Message:
        """Resolve a mobile number, email, card or external ID to the customer, then find as for an ID. The
        resolution and the coupons share one deadline; the audit line names the identifier's kind only."""
        started = time.monotonic()
        kind = identifier.kind.value
        if self.customers is None:  # a bot built without customer lookups
            write_audit(ask.requester, action=ask.action, outcome="invalid_input", identifier_kind=kind)
            return render_usage("This bot can only look customers up by their customer ID.")
        with within(Deadline.after(self.customers.deadline_seconds)):
            try:
                resolved = self.customers.resolve(identifier)
            except CouponsBotError as error:
                _audit_failure(error, ask, kind=kind, started=started, case=lookup.case)
                return render_error(
                    error,
                    customer_id=None,
                    contact=self.contact,
                    demo=self.service.demo,
                    identifier=identifier,
                    source=self.customers.source,
                )
            view = ViewState(resolved.customer_id, lookup.case, surface=ask.surface, focus=lookup.focus)
            return self.find(view, ask, Resolved(resolved, kind, started))

    def answer_click(self, value: object, ask: Ask) -> Message:
        """Answer a button: the view it carries, or "out of date" for a value that doesn't check out."""
        try:
            view = self.codec.decode(value)
        except CouponsBotError as error:
            write_audit(ask.requester, action=ask.action, outcome=error.outcome)
            return self.refusal(error)
        return self.answer(view, ask)

    def answer(self, view: ViewState, ask: Ask) -> Message:
        """The customer's coupons drawn as `view` says, under a header saying who it is."""
        return self.draw(self.find(view, ask))

    def find(self, view: ViewState, ask: Ask, resolved: Resolved | None = None) -> Found | Message:
        """The customer's coupons grouped, who the customer is, and the check of a coupon in focus — or the
        message saying what went wrong, with its audit line (a lookup that worked is audited by `record`).
        The profile (unless `resolved` brought it) is read on a thread while the coupons are fetched, both within
        one deadline."""
        started = resolved.started if resolved is not None else time.monotonic()
        kind = resolved.kind if resolved is not None else None
        deadline = current_deadline() or Deadline.after(self.customers.deadline_seconds if self.customers else 8.0)
        with within(deadline):
            profile = None
            if resolved is None and self.customers is not None:
                profile = self.customers.profile_soon(view.customer_id, refresh=ask.refresh)
            try:
                outcome = self.service.lookup(
                    view.customer_id, view.case, refresh=ask.refresh, focused=view.focus is not None
                )
            except CouponsBotError as error:
                if profile is not None:
                    profile.cancel()
                return self._failed(error, view, ask, kind=kind, started=started)
            card, unreadable = self._card(view.customer_id, resolved, profile, deadline)
        summary = summarize(outcome.coupons, self._clock())
        check = self._check(summary, view, refresh=ask.refresh) if view.focus else None
        return Found(view, summary, card, unreadable, check, ask, outcome, kind, started)

    def record(self, found: Found) -> None:
        """The audit line of a lookup that worked, once what it is for has been made (a message, a card)."""
        write_audit(
            found.ask.requester,
            outcome="ok",
            counts={group.state.value: len(group.coupons) for group in found.summary.groups},
            skipped=found.summary.skipped or None,
            cache="hit" if found.outcome.cache_hit else "miss",
            attempts=found.outcome.attempts,
            upstream_ms=found.outcome.upstream_ms,
            duration_ms=_ms_since(found.started),
            action=found.ask.action,
            identifier_kind=found.identifier_kind,
            customer_id=found.view.customer_id,
            case=found.view.case.value,
            check=_check_outcome(found.check),
        )

    def draw(self, found: Found | Message) -> Message:
        """`found` as the summary message (and its audit line); a message saying why not, as it is."""
        if isinstance(found, Message):
            return found
        ask = found.ask
        # A shared copy has no buttons: whoever sees it in the channel cannot page through the customer.
        options = SummaryOptions(
            encode=None if ask.shared_by else self.codec.encode,
            page_size=self.page_size,
            shared_by=ask.shared_by,
            shareable=ask.may_share,
            customer=found.card,
            profile_unreadable=found.profile_unreadable,
            currency=self.currency,
            check=found.check,
            check_buttons=True,
            contact=self.contact,
            actions=frozenset() if ask.shared_by else self.may_act(ask.requester),
        )
        message = render_summary(found.summary, found.view, options)
        self.record(found)
        return message

    def _check(
        self, summary: CouponSummary, view: ViewState, *, refresh: bool
    ) -> Redeemability | CouponsBotError | None:
        """Whether the coupon in focus can be used now (None: the customer has no such coupon). A failed check
        is shown in the card; the coupons still show."""
        assert view.focus is not None
        found = find_focused(summary, view.focus)
        if not found or self.checks is None:
            return None
        code = found[0][1].code
        # Capillary keeps codes in upper case unless they were created otherwise; a lower-case view only shows them so.
        asked = code.upper() if view.case is CodeCase.LOWER else code
        try:
            return self.checks.check(view.customer_id, asked, refresh=refresh).check
        except CouponsBotError as error:
            logger.info("check of a coupon of customer %d failed: %s", view.customer_id, type(error).__name__)
            return error

    def _card(
        self, customer_id: int, resolved: Resolved | None, profile: Future[CustomerOutcome] | None, deadline: Deadline
    ) -> tuple[CustomerCard | None, bool]:
        """The header's card, and whether the profile was asked for and couldn't be read (not found, failed,
        empty, or not back by the deadline): the coupons show either way."""
        if self.customers is None:
            return None, False
        source = self.customers.source
        if resolved is not None:
            found = resolved.outcome.profile
        else:
            assert profile is not None
            # Read the failure without raising it: raised here, the error kept by the future would hold this
            # frame, and so the coupons, in a cycle only a full collection frees (200 MB per 100,000 coupons).
            try:
                failure = profile.exception(timeout=max(0.0, deadline.remaining()))
            except (FutureTimeout, CancelledError) as error:  # not back by the deadline
                return _no_profile(customer_id, error)
            if isinstance(failure, CouponsBotError):
                return _no_profile(customer_id, failure)
            found = profile.result().profile  # anything unexpected is raised, as from any other step
        card = customer_card(found, source=source)
        if card is None:
            return None, True
        if card.customer_id != customer_id:  # Capillary answered with the survivor of a merge
            card = replace(card, customer_id=customer_id, merged=True)
        return card, False

    def _failed(
        self, error: CouponsBotError, view: ViewState, ask: Ask, *, kind: str | None, started: float
    ) -> Message:
        _audit_failure(error, ask, kind=kind, started=started, case=view.case, customer_id=view.customer_id)
        retry = self.codec.encode(replace(view, expanded=())) if ask.shared_by is None else None  # focus kept
        return render_error(
            error, customer_id=view.customer_id, contact=self.contact, retry_value=retry, demo=self.service.demo
        )

    def refusal(self, error: CouponsBotError) -> Message:
        return render_error(error, customer_id=None, contact=self.contact)


def _no_profile(customer_id: int, why: BaseException) -> tuple[None, bool]:
    logger.info("profile of customer %d not shown: %s", customer_id, type(why).__name__)
    return None, True


def _check_outcome(check: Redeemability | CouponsBotError | None) -> str | None:
    """For the audit line: `usable`, `refused:713`, or the failure's outcome."""
    if check is None:
        return None
    if isinstance(check, CouponsBotError):
        return f"failed:{check.outcome}"
    return "usable" if check.usable else f"refused:{check.code if check.code is not None else 'no_reason'}"


def _audit_failure(
    error: CouponsBotError,
    ask: Ask,
    *,
    kind: str | None,
    started: float,
    case: CodeCase,
    customer_id: int | None = None,
) -> None:
    write_audit(
        ask.requester,
        outcome=error.outcome,
        attempts=error.attempts if isinstance(error, CapillaryError) else None,
        duration_ms=_ms_since(started),
        action=ask.action,
        identifier_kind=kind,
        customer_id=customer_id,
        case=case.value,
    )


def _ms_since(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
