"""`ActionService`: resend, extend and issue, each confirmed in a form, done exactly once, counted, audited.

Exactly once: the form carries an idempotency key minted when it opened (signed, in `private_metadata`). A
submission claims the key with `store.add` (SET NX) before Capillary is called, and the outcome is stored under
it afterwards. A second submission (a double click, Slack's retry, another process, a redelivered job) finds the
outcome and answers with it; one that finds the key claimed but no outcome (the first is still running, or its
worker died between the call and the record) waits briefly for the outcome, then finds out from Capillary (reads
the coupons again) rather than calling again.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Protocol

from bot.audit_log import write_audit
from bot.capillary.coupon_actions import WriteResult
from bot.domain.coupon import CodeCase, Coupon, CouponSeries
from bot.domain.coupon_actions import (
    VIEW_ID,
    ActionForm,
    ActionKind,
    ActionOutcome,
    ActionSettings,
    Prepared,
    applies,
    end_of_day,
    expiry_bounds,
)
from bot.domain.coupon_state import Clock, CouponState, classify, system_clock
from bot.domain.customer import MASK, CustomerProfile, customer_card, mask_personal
from bot.domain.errors import (
    ActionLimitReached,
    ActionNotAllowed,
    ActionNotApplicable,
    CapillaryHeldBack,
    CouponsBotError,
)
from bot.domain.focus import same_code
from bot.domain.view_state import ViewState
from bot.lookup_answers import LookupAnswerer
from bot.requester import Requester

# What the listeners import from here; the form, its outcome and VIEW_ID are domain types now.
__all__ = ["VIEW_ID", "ActionForm", "ActionOutcome", "ActionService", "Prepared"]

KEY_FORMAT = "action/1"
CLAIM_TTL_SECONDS = 7 * 24 * 3600.0  # a form's key, and its outcome, outlive any form Slack keeps open
COUNT_TTL_SECONDS = 2 * 24 * 3600.0
WAIT_FOR_OUTCOME_SECONDS = 10.0  # a concurrent submission's call is bounded by the upstream deadline
RECENT_ISSUE = timedelta(minutes=30)  # an issued coupon found this soon after a lost outcome is the one issued


class CouponWriter(Protocol):
    def resend_coupon(self, code: str, identifier: tuple[str, str] | None) -> WriteResult: ...
    def extend_coupon(self, series_id: int, customer_id: int, code: str, expiry: datetime) -> WriteResult: ...
    def issue_coupon(self, series_id: int, customer_id: int) -> WriteResult: ...


def _replayed(recorded: bytes | None) -> ActionOutcome | None:
    """An outcome recorded by an earlier submission, as this one answers with it."""
    outcome = ActionOutcome.from_bytes(recorded) if recorded is not None else None
    return replace(outcome, replayed=True) if outcome is not None else None


def mask_reason(text: str) -> str:
    """A reason as the audit line keeps it: emails masked, and every digit (an order, a phone, a card)."""
    return re.sub(r"[0-9]", MASK, mask_personal(" ".join(text.split())))


class ActionService:
    def __init__(
        self,
        settings: ActionSettings,
        answerer: LookupAnswerer,
        writer: CouponWriter,
        *,
        is_member: Callable[[str], bool] = lambda _user: False,
        clock: Clock = system_clock,
    ) -> None:
        self.settings = settings
        self.answerer = answerer
        self.store = answerer.service.store
        self._writer = writer
        self._is_member = is_member  # in one of COUPONS_ACTION_USERGROUP_IDS
        self._clock = clock

    # --- who may act -------------------------------------------------------------------------------------

    def allowed(self, requester: Requester) -> frozenset[ActionKind]:
        user = requester.user_id
        if not user or not self.settings.enabled:
            return frozenset()
        named = user in self.settings.user_ids or (bool(self.settings.usergroup_ids) and self._is_member(user))
        kinds = self.settings.kinds
        if not self.settings.goodwill_series_ids:
            kinds = kinds - {ActionKind.ISSUE}  # nothing may be issued
        return kinds if named else frozenset()

    def require(self, requester: Requester, kind: ActionKind) -> None:
        if kind not in self.allowed(requester):
            raise ActionNotAllowed(f"{kind.value} is not allowed for this user")

    def _count_key(self, requester: Requester) -> str:
        return f"{KEY_FORMAT}:count:{requester.user_id}:{self._clock().date().isoformat()}"

    def check_limit(self, requester: Requester) -> None:
        """Before a form opens: no form for an agent already at the limit (the count itself moves on submission)."""
        raw = self.store.get(self._count_key(requester))
        if raw is not None and int(raw) >= self.settings.daily_limit:
            raise ActionLimitReached(self.settings.daily_limit)

    # --- the form ----------------------------------------------------------------------------------------

    def prepare(self, requester: Requester, kind: ActionKind, view_value: object) -> Prepared:
        """The form for `kind` on the message whose button was clicked. Raises `CouponsBotError`: not allowed (no
        Capillary call), at the limit, an out-of-date button, a coupon the action isn't for, Capillary failing."""
        self.require(requester, kind)
        view = self.answerer.codec.decode(view_value)
        self.check_limit(requester)
        key = secrets.token_hex(16)
        base = ActionForm(kind, key, self.answerer.codec.encode(view))
        profile, customers = self._profile(view.customer_id), self.answerer.customers
        customer = (
            customer_card(profile, source=customers.source) if profile is not None and customers is not None else None
        )
        if kind is ActionKind.ISSUE:
            return Prepared(base, view, customer, None, self.settings.goodwill_series_ids)
        coupon, state, series = self._coupon(view)
        if not applies(kind, state, coupon, self._clock()):
            raise ActionNotApplicable(f"coupon {coupon.code} is {state.value}")
        series_id = series.id if series else (coupon.series.id if coupon.series else coupon.series_id)
        if kind is ActionKind.EXTEND:
            if series_id is None:
                raise ActionNotApplicable("Capillary didn't say which offer this coupon belongs to")
            bounds = expiry_bounds(series, self._clock())
            base = replace(base, series_id=series_id, earliest=bounds.earliest, latest=bounds.latest)
        return Prepared(base, view, customer, coupon)

    def _profile(self, customer_id: int) -> CustomerProfile | None:
        """None when the bot has no customer lookups, or the profile can't be read."""
        customers = self.answerer.customers
        if customers is None:
            return None
        try:
            return customers.profile(customer_id).profile
        except CouponsBotError:
            return None

    def _coupon(self, view: ViewState, *, refresh: bool = False) -> tuple[Coupon, CouponState, CouponSeries | None]:
        if not view.focus:
            raise ActionNotApplicable("no coupon was chosen")
        outcome = self.answerer.service.lookup(view.customer_id, view.case, refresh=refresh, focused=True)
        found = next((c for c in outcome.coupons.coupons if same_code(c.code, view.focus)), None)
        if found is None:
            raise ActionNotApplicable(f"customer {view.customer_id} has no coupon {view.focus}")
        series_id = found.series.id if found.series else found.series_id
        series = outcome.coupons.series.get(series_id) if outcome.coupons.series and series_id else None
        return found, classify(found, self._clock()), series

    # --- doing it, once ----------------------------------------------------------------------------------

    def perform(
        self,
        requester: Requester,
        form: ActionForm,
        reason: str,
        *,
        expiry: date | None = None,
        series_id: int | None = None,
    ) -> ActionOutcome:
        """Do what `form` says, at most once per form whoever submits it how often (see the module's note)."""
        self.require(requester, form.kind)
        view = self.answerer.codec.decode(form.view)
        claim = f"{KEY_FORMAT}:{form.key}"
        target = self._target(form, view, series_id)
        earlier = _replayed(self.store.get(f"{claim}:outcome"))
        if earlier is not None:
            return earlier
        if not self.store.add(claim, b"1", CLAIM_TTL_SECONDS):
            waited = _replayed(self.store.wait_for(f"{claim}:outcome", WAIT_FOR_OUTCOME_SECONDS))
            if waited is not None:
                return waited
            outcome = self._reconcile(form, view, target, expiry=expiry, series_id=series_id)
            self._record(claim, outcome)
            self._audit(requester, outcome, reason, view, series_id or form.series_id, reconciled=True)
            return replace(outcome, replayed=True)
        if self.store.incr(self._count_key(requester), COUNT_TTL_SECONDS) > self.settings.daily_limit:
            outcome = ActionOutcome(form.kind, "limit", view.customer_id, target, demo=self._demo)
        else:
            outcome = self._call(form, view, target, expiry=expiry, series_id=series_id)
        self._record(claim, outcome)
        self._audit(requester, outcome, reason, view, series_id or form.series_id)
        if outcome.status == "done" and view.focus and self.answerer.checks is not None:
            self.answerer.checks.forget(view.customer_id, view.focus)
        return outcome

    @property
    def _demo(self) -> bool:
        return self.answerer.service.demo

    def _target(self, form: ActionForm, view: ViewState, series_id: int | None) -> str:
        if form.kind is ActionKind.ISSUE:
            if series_id is None or series_id not in self.settings.goodwill_series_ids:
                raise ActionNotApplicable("only the goodwill offers in COUPONS_GOODWILL_SERIES_IDS can be issued")
            return f"series {series_id}"
        if not view.focus:
            raise ActionNotApplicable("no coupon was chosen")
        return view.focus.upper() if view.case is CodeCase.LOWER else view.focus

    def _record(self, claim: str, outcome: ActionOutcome) -> None:
        self.store.set(f"{claim}:outcome", outcome.to_bytes(), CLAIM_TTL_SECONDS)

    def _call(
        self, form: ActionForm, view: ViewState, target: str, *, expiry: date | None, series_id: int | None
    ) -> ActionOutcome:
        base = ActionOutcome(form.kind, "unknown", view.customer_id, target, demo=self._demo)
        try:
            if form.kind is ActionKind.RESEND:
                coupon, state, _series = self._coupon(view)
                if state is not CouponState.ACTIVE:  # it changed since the form opened
                    return replace(base, status="refused", message=f"the coupon is {state.value} now")
                result = self._writer.resend_coupon(target, self._holder(view.customer_id))
            elif form.kind is ActionKind.EXTEND:
                assert expiry is not None and form.series_id is not None
                coupon, _state, _series = self._coupon(view)
                new_end = end_of_day(expiry, coupon.expires_at)
                result = self._writer.extend_coupon(form.series_id, view.customer_id, target, new_end)
                if result.done:
                    result = replace(result, valid_till=new_end)
            else:
                assert series_id is not None
                result = self._writer.issue_coupon(series_id, view.customer_id)
        except CapillaryHeldBack as error:  # nothing was sent
            return replace(base, status="refused", message=str(error))
        except CouponsBotError as error:
            # A write sent once and not answered (timeout, a dropped connection, a 5xx): nobody knows whether
            # Capillary did it. It is not repeated; the form's key keeps a second submission from repeating it.
            return replace(base, message=str(error))
        return replace(
            base,
            status="done" if result.done else "refused",
            code=result.code,
            message=result.message,
            new_code=result.new_code,
            valid_till=result.valid_till.isoformat() if result.valid_till else None,
        )

    def _holder(self, customer_id: int) -> tuple[str, str] | None:
        """The customer's mobile (else email) for resend: Capillary's page asks for an identifier besides the code."""
        profile = self._profile(customer_id)
        if profile is None:
            return None
        for kind in ("mobile", "email"):
            for entry in (i for p in profile.profiles or () for i in p.identifiers or ()):
                if (entry.type or "").lower() == kind and entry.value:
                    return kind, entry.value
        return None

    def _reconcile(
        self, form: ActionForm, view: ViewState, target: str, *, expiry: date | None, series_id: int | None
    ) -> ActionOutcome:
        """The key was claimed and no outcome recorded: read the coupons again to find out what happened."""
        base = ActionOutcome(form.kind, "unknown", view.customer_id, target, demo=self._demo)
        if form.kind is ActionKind.RESEND:
            return replace(base, message="an earlier attempt's result was lost; Capillary can't tell whether it sent")
        try:
            if form.kind is ActionKind.EXTEND:
                coupon, _state, _series = self._coupon(view, refresh=True)
                ends = coupon.expires_at
                applied = ends is not None and expiry is not None and ends.date() == expiry
                return replace(
                    base, status="done" if applied else "refused", valid_till=ends.isoformat() if ends else None
                )
            outcome = self.answerer.service.lookup(view.customer_id, view.case, refresh=True, focused=True)
        except CouponsBotError as error:
            return replace(base, message=str(error))
        now = self._clock()
        issued = [
            c
            for c in outcome.coupons.coupons
            if (c.series.id if c.series else c.series_id) == series_id
            and (c.issued_on_iso or c.issued_on) is not None
            and now - (c.issued_on_iso or c.issued_on or now) <= RECENT_ISSUE
        ]
        if issued:
            return replace(base, status="done", new_code=issued[-1].code)
        return replace(base, status="refused", message="no coupon of this offer was issued in the last minutes")

    def _audit(
        self,
        requester: Requester,
        outcome: ActionOutcome,
        reason: str,
        view: ViewState,
        series_id: int | None,
        *,
        reconciled: bool = False,
    ) -> None:
        write_audit(
            requester,
            action=f"action_{outcome.kind.value}",
            outcome=outcome.status + ("_reconciled" if reconciled else ""),
            customer_id=view.customer_id,
            code=outcome.new_code or (None if outcome.kind is ActionKind.ISSUE else outcome.target),
            series_id=series_id,
            reason=mask_reason(reason),
            result=str(outcome.code) if outcome.code is not None else None,
        )
