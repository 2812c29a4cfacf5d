"""Every error a person can see, in one place: what happened, whether to retry, whom to tell."""

from __future__ import annotations

import math
from dataclasses import dataclass

from blocks.help import render_usage
from blocks.message import Message
from blocks.mrkdwn import actions, button, clean, context, section
from bot.domain.action_ids import ACTION_RETRY
from bot.domain.customer import KIND_LABELS, Identifier, mask_personal, masked_identifier
from bot.domain.errors import (
    AccessDenied,
    ActionLimitReached,
    ActionNotAllowed,
    ActionNotApplicable,
    BotBusy,
    CapillaryAuthError,
    CapillaryBadResponse,
    CapillaryBudgetUsedUp,
    CapillaryError,
    CapillaryForbidden,
    CapillaryRateLimited,
    CapillaryReportedError,
    CapillaryResponseTooLarge,
    CapillaryTooSlow,
    CapillaryUnavailable,
    CouponsBotError,
    CustomerNotFound,
    CustomerNotInSource,
    IdentifierNotAccepted,
    InvalidCommand,
    InvalidCustomerId,
    InvalidViewState,
    ShareNotAllowed,
)


@dataclass(frozen=True)
class ErrorText:
    title: str
    advice: str
    retry: bool = False


def describe_error(
    error: CouponsBotError,
    *,
    customer_id: int | None,
    contact: str,
    identifier: Identifier | None = None,
    source: str | None = None,
) -> ErrorText:
    who = f"customer {customer_id}" if customer_id is not None else "this customer"
    tell = clean(contact, 80)
    if identifier is not None and customer_id is None:
        label = KIND_LABELS[identifier.kind]
        typed = f"{label} {clean(masked_identifier(identifier), 120)}"  # masked: a message never shows it whole
        who = f"the customer with {typed}"
        in_source = f" (source {clean(source, 20)})" if source else ""
        match error:
            case CustomerNotInSource():
                return ErrorText(
                    f"The customer with {typed} is not registered in source {clean(source or '?', 20)}.",
                    "Capillary knows the identifier in another source. The bot looks in the source set by "
                    f"CAPILLARY_LOOKUP_SOURCE; ask {tell} whether it should look elsewhere, or use the customer ID.",
                )
            case CustomerNotFound():
                return ErrorText(
                    f"No customer with {typed}{in_source}.",
                    f"Check the {label} on the ticket, or try the customer ID. Nothing is wrong with the bot.",
                )
            case IdentifierNotAccepted() | InvalidCustomerId():
                return ErrorText(
                    f"Capillary doesn't accept a {label} to find customers here.",
                    f"Try the customer ID or another identifier; tell {tell} if {label} lookups should work.",
                )
    match error:
        case InvalidViewState():
            return ErrorText("This message is out of date.", "Please run `/coupons <customer ID>` again.")
        case ShareNotAllowed():
            return ErrorText(
                "Customer data can't be shared in this conversation.",
                f"Your private answer stays as it is. Ask {tell} which channels allow sharing.",
            )
        case ActionNotAllowed():
            return ErrorText(
                "You can't change customers' coupons with this bot.",
                f"Nothing was changed. Ask {tell} if you should be able to resend, extend or issue coupons.",
            )
        case ActionLimitReached():
            return ErrorText(
                f"You have reached today's limit of {error.limit} coupon actions.",
                f"Nothing was changed. The count starts again at midnight UTC; ask {tell} if you need more.",
            )
        case ActionNotApplicable():
            return ErrorText(f"This can't be done: {said(error, 200)}.", "Nothing was changed.")
        case AccessDenied():
            return ErrorText("You can't look up customers' coupons with this bot.", f"Ask {tell} for access.")
        case InvalidCustomerId():
            return ErrorText(
                f"Capillary says {who} is not a valid customer ID.",
                "Check the number on the customer's loyalty profile and try again.",
            )
        case CustomerNotFound():
            return ErrorText(
                f"Capillary has no customer with ID {customer_id}."
                if customer_id
                else "Capillary has no such customer.",
                "Check the ID on the customer's loyalty profile (a mobile number needs `mobile:` or a `+`). "
                "Nothing is wrong with the bot.",
            )
        case CapillaryAuthError():
            return ErrorText(
                "Capillary refused the bot's credentials.",
                f"You can't fix this from here: tell {tell} that the bot's Capillary login needs updating.",
            )
        case CapillaryForbidden():
            return ErrorText(
                f"The bot's Capillary account may not see {who}'s coupons.",
                f"Tell {tell}: the bot's Capillary user needs access to this customer's org.",
            )
        case BotBusy():
            return ErrorText(
                "The bot is handling as many Capillary lookups as it can right now.",
                f"Try again in a minute. If it keeps happening, tell {tell}.",
                retry=True,
            )
        case CapillaryBudgetUsedUp():
            return ErrorText(
                f"Capillary's request budget is used up; try again in about {about(error.retry_after)}.",
                "The bot sends Capillary at most the requests a minute agreed with Capillary "
                "(CAPILLARY_MAX_REQUESTS_PER_MINUTE), and the last minute's are spent. "
                f"If it keeps happening, tell {tell}.",
                retry=True,
            )
        case CapillaryRateLimited():
            return ErrorText(
                f"Capillary asked the bot to slow down; try again in about {about(error.retry_after)}.",
                f"Until then the bot sends Capillary nothing. If it keeps happening, tell {tell}.",
                retry=True,
            )
        case CapillaryTooSlow():
            return ErrorText(
                "Capillary is too slow right now: it didn't answer within the bot's time limit.",
                f"Try again in a minute. If it keeps happening, tell {tell}.",
                retry=True,
            )
        case CapillaryUnavailable():
            return ErrorText(
                f"Capillary isn't answering right now ({said(error, 120)}).",
                f"Try again in a minute. If it keeps happening, tell {tell}.",
                retry=True,
            )
        case CapillaryResponseTooLarge():
            return ErrorText(
                f"{said(error, 120)}, more than the bot reads for one customer, so it stopped reading.",
                f"Tell {tell}: the limit is COUPONS_MAX_RESPONSE_MB.",
            )
        case CapillaryBadResponse():
            return ErrorText(
                f"{said(error, 120)}, so the bot can't show {who}'s coupons.",
                f"Try again in a minute. If it keeps happening, tell {tell}.",
                retry=True,
            )
        case CapillaryReportedError():
            code = f" (code {clean(error.code, 20)})" if error.code is not None else ""
            return ErrorText(
                f"Capillary returned an error for {who}: {said(error, 200)}{code}.",
                f"Try again; if it keeps happening, tell {tell}.",
                retry=True,
            )
        case CapillaryError():
            return ErrorText(f"Capillary lookup failed: {said(error, 200)}.", f"Tell {tell}.", retry=True)
    return ErrorText("Something went wrong.", f"Try again; if it keeps happening, tell {tell}.", retry=True)


def about(seconds: float) -> str:
    """A wait as a person reads it: `58 s`, `4 min`, `1 h` (never less than 1 s)."""
    if seconds <= 90:
        return f"{max(1, math.ceil(seconds))} s"
    if round(seconds / 60) < 60:
        return f"{round(seconds / 60)} min"
    hours = seconds / 3600
    return f"{hours:.0f} h" if hours >= 10 or abs(hours - round(hours)) < 0.05 else f"{hours:.1f} h"


def said(error: CouponsBotError, limit: int) -> str:
    """What an error says, for mrkdwn: Capillary's words may repeat a mobile number or an email, so both are masked."""
    return clean(mask_personal(str(error)), limit)


def render_error(
    error: CouponsBotError,
    *,
    customer_id: int | None,
    contact: str,
    retry_value: str | None = None,
    demo: bool = False,
    identifier: Identifier | None = None,
    source: str | None = None,
) -> Message:
    if isinstance(error, InvalidCommand):
        return render_usage(str(error))
    text = describe_error(error, customer_id=customer_id, contact=contact, identifier=identifier, source=source)
    advice = text.advice + (" :test_tube: _Demo mode: this answer comes from the built-in demo data._" if demo else "")
    blocks = [section(f":warning: *{text.title}*"), context(advice)]
    if text.retry and retry_value:
        blocks.append(actions(button("Try again", ACTION_RETRY, retry_value), block_id="retry"))
    return Message(f"{text.title} {text.advice}", blocks, ok=False, error=error)


def render_internal_error(reference: str, *, contact: str) -> Message:
    """An error nobody expected: say so, and give the reference that finds the traceback in the log."""
    title = f"Something went wrong on our side (ref `{clean(reference, 16)}`)."
    advice = f"Try again. If it keeps happening, tell {clean(contact, 80)} and quote the ref."
    return Message(f"{title} {advice}", [section(f":warning: *{title}*"), context(advice)], ok=False)


def render_restart_notice() -> Message:
    """The bot stopped (a deploy, a restart) before this person's answer was ready."""
    title = "The bot restarted before it could answer — please run /coupons again."
    return Message(title, [section(f":warning: *{title}*")], ok=False)
