"""`LookupAnswerer`: the path every entry point shares — look up, classify, render, write the audit line."""

from __future__ import annotations

import time
from dataclasses import replace

from blocks.errors import render_error
from blocks.help import render_usage
from blocks.message import Message
from blocks.summary import SummaryOptions, render_summary
from bot.audit_log import write_audit
from bot.command_text import HelpRequest, parse_command_text
from bot.coupon_service import CouponService
from bot.domain.coupon_state import Clock, system_clock
from bot.domain.coupon_summary import summarize
from bot.domain.focus import take_code
from bot.domain.view_state import Surface, ViewState, ViewStateCodec
from bot.errors import CapillaryError, CouponsBotError, InvalidCommand
from bot.requester import Requester


class LookupAnswerer:
    def __init__(
        self,
        service: CouponService,
        codec: ViewStateCodec,
        *,
        page_size: int = 5,
        contact: str = "your Slack admin",
        clock: Clock = system_clock,
        connection_label: str = "",
    ) -> None:
        self.service = service
        self.connection_label = connection_label
        self.codec = codec
        self.page_size = page_size
        self.contact = contact
        self._clock = clock

    def answer_text(
        self,
        text: str | None,
        requester: Requester,
        *,
        surface: Surface,
        action: str,
        command: str = "/coupons",
        may_share: bool = True,
    ) -> Message:
        """Answer what a user typed: usage, a polite refusal of bad input, or the customer's coupons."""
        try:
            rest, focus = take_code(text)  # `code:WELCOME10`; who and case are parse_command_text's
            request = parse_command_text(rest)
        except CouponsBotError as error:
            write_audit(requester, action=action, outcome=error.outcome)
            return render_usage(str(error), command=command)
        if isinstance(request, HelpRequest):
            if focus is None:
                return render_usage(command=command)
            write_audit(requester, action=action, outcome=InvalidCommand.outcome)
            return render_usage(f"Say whose coupon {focus} is: `{command} <customer> code:{focus}`.", command=command)
        view = ViewState(request.customer_id, request.case, surface=surface, focus=focus)
        return self.answer(view, requester, action=action, may_share=may_share)

    def answer_click(
        self,
        value: object,
        requester: Requester,
        *,
        action: str,
        refresh: bool = False,
        shared_by: str | None = None,
        may_share: bool = True,
    ) -> Message:
        """Answer a button: the view it carries, or "out of date" for a value that doesn't check out."""
        try:
            view = self.codec.decode(value)
        except CouponsBotError as error:
            write_audit(requester, action=action, outcome=error.outcome)
            return self.refusal(error)
        return self.answer(view, requester, action=action, refresh=refresh, shared_by=shared_by, may_share=may_share)

    def answer(
        self,
        view: ViewState,
        requester: Requester,
        *,
        action: str,
        refresh: bool = False,
        shared_by: str | None = None,
        may_share: bool = True,
    ) -> Message:
        """The customer's coupons drawn as `view` says; `may_share`: whether this place may get a Share button."""
        started = time.monotonic()
        try:
            outcome = self.service.lookup(view.customer_id, view.case, refresh=refresh)
        except CouponsBotError as error:
            write_audit(
                requester,
                outcome=error.outcome,
                attempts=error.attempts if isinstance(error, CapillaryError) else None,
                duration_ms=_ms_since(started),
                action=action,
                customer_id=view.customer_id,
                case=view.case.value,
            )
            retry = self.codec.encode(replace(view, expanded=())) if shared_by is None else None  # focus kept
            return render_error(
                error, customer_id=view.customer_id, contact=self.contact, retry_value=retry, demo=self.service.demo
            )
        summary = summarize(outcome.coupons, self._clock())
        # A shared copy has no buttons: whoever sees it in the channel cannot page through the customer.
        options = SummaryOptions(
            encode=None if shared_by else self.codec.encode,
            page_size=self.page_size,
            shared_by=shared_by,
            shareable=may_share,
        )
        message = render_summary(summary, view, options)
        write_audit(
            requester,
            outcome="ok",
            counts={group.state.value: len(group.coupons) for group in summary.groups},
            cache="hit" if outcome.cache_hit else "miss",
            attempts=outcome.attempts,
            upstream_ms=outcome.upstream_ms,
            duration_ms=_ms_since(started),
            action=action,
            customer_id=view.customer_id,
            case=view.case.value,
        )
        return message

    def refusal(self, error: CouponsBotError) -> Message:
        return render_error(error, customer_id=None, contact=self.contact)


def _ms_since(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
