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
    CapillaryHeldBack,
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


ErrorKinds = type[CouponsBotError] | tuple[type[CouponsBotError], ...]
TRY_SOON = "Try again in a minute. If it keeps happening, tell {tell}."
TRY_AGAIN = "Try again; if it keeps happening, tell {tell}."
# The words for each kind of error: the first entry whose kind the error is (a subclass before its base). Fields:
# {who} the customer, {tell} whom to tell, {said} what the error says (masked; {said_briefly} shorter), {wait}
# until a held-back call may go, {limit} the daily action limit, {code} Capillary's code, {no_customer}.
WORDS: dict[ErrorKinds, ErrorText] = {
    InvalidViewState: ErrorText("This message is out of date.", "Please run `/coupons <customer ID>` again."),
    ShareNotAllowed: ErrorText(
        "Customer data can't be shared in this conversation.",
        "Your private answer stays as it is. Ask {tell} which channels allow sharing.",
    ),
    ActionNotAllowed: ErrorText(
        "You can't change customers' coupons with this bot.",
        "Nothing was changed. Ask {tell} if you should be able to resend, extend or issue coupons.",
    ),
    ActionLimitReached: ErrorText(
        "You have reached today's limit of {limit} coupon actions.",
        "Nothing was changed. The count starts again at midnight UTC; ask {tell} if you need more.",
    ),
    ActionNotApplicable: ErrorText("This can't be done: {said}.", "Nothing was changed."),
    AccessDenied: ErrorText("You can't look up customers' coupons with this bot.", "Ask {tell} for access."),
    InvalidCustomerId: ErrorText(
        "Capillary says {who} is not a valid customer ID.",
        "Check the number on the customer's loyalty profile and try again.",
    ),
    CustomerNotFound: ErrorText(
        "Capillary has {no_customer}.",
        "Check the ID on the customer's loyalty profile (a mobile number needs `mobile:` or a `+`). "
        "Nothing is wrong with the bot.",
    ),
    CapillaryAuthError: ErrorText(
        "Capillary refused the bot's credentials.",
        "You can't fix this from here: tell {tell} that the bot's Capillary login needs updating.",
    ),
    CapillaryForbidden: ErrorText(
        "The bot's Capillary account may not see {who}'s coupons.",
        "Tell {tell}: the bot's Capillary user needs access to this customer's org.",
    ),
    BotBusy: ErrorText("The bot is handling as many Capillary lookups as it can right now.", TRY_SOON, retry=True),
    CapillaryBudgetUsedUp: ErrorText(
        "Capillary's request budget is used up; try again in about {wait}.",
        "The bot sends Capillary at most the requests a minute agreed with Capillary "
        "(CAPILLARY_MAX_REQUESTS_PER_MINUTE), and the last minute's are spent. "
        "If it keeps happening, tell {tell}.",
        retry=True,
    ),
    CapillaryRateLimited: ErrorText(
        "Capillary asked the bot to slow down; try again in about {wait}.",
        "Until then the bot sends Capillary nothing. If it keeps happening, tell {tell}.",
        retry=True,
    ),
    CapillaryTooSlow: ErrorText(
        "Capillary is too slow right now: it didn't answer within the bot's time limit.", TRY_SOON, retry=True
    ),
    CapillaryUnavailable: ErrorText("Capillary isn't answering right now ({said_briefly}).", TRY_SOON, retry=True),
    CapillaryResponseTooLarge: ErrorText(
        "{said_briefly}, more than the bot reads for one customer, so it stopped reading.",
        "Tell {tell}: the limit is COUPONS_MAX_RESPONSE_MB.",
    ),
    CapillaryBadResponse: ErrorText("{said_briefly}, so the bot can't show {who}'s coupons.", TRY_SOON, retry=True),
    CapillaryReportedError: ErrorText("Capillary returned an error for {who}: {said}{code}.", TRY_AGAIN, retry=True),
    CapillaryError: ErrorText("Capillary lookup failed: {said}.", "Tell {tell}.", retry=True),
    CouponsBotError: ErrorText("Something went wrong.", TRY_AGAIN, retry=True),
}
# Looked up by an identifier (a mobile number, an email, …), these read first. More fields: {typed} the kind and
# the masked identifier, {label} the kind, {source} where the bot looks ({in_source} when one is set).
WORDS_BY_IDENTIFIER: dict[ErrorKinds, ErrorText] = {
    CustomerNotInSource: ErrorText(
        "The customer with {typed} is not registered in source {source}.",
        "Capillary knows the identifier in another source. The bot looks in the source set by "
        "CAPILLARY_LOOKUP_SOURCE; ask {tell} whether it should look elsewhere, or use the customer ID.",
    ),
    CustomerNotFound: ErrorText(
        "No customer with {typed}{in_source}.",
        "Check the {label} on the ticket, or try the customer ID. Nothing is wrong with the bot.",
    ),
    (IdentifierNotAccepted, InvalidCustomerId): ErrorText(
        "Capillary doesn't accept a {label} to find customers here.",
        "Try the customer ID or another identifier; tell {tell} if {label} lookups should work.",
    ),
}


def describe_error(
    error: CouponsBotError,
    *,
    customer_id: int | None,
    contact: str,
    identifier: Identifier | None = None,
    source: str | None = None,
) -> ErrorText:
    code = error.code if isinstance(error, CapillaryError) else None
    fields = {
        "who": f"customer {customer_id}" if customer_id is not None else "this customer",
        "tell": clean(contact, 80),
        "said": said(error, 200),
        "said_briefly": said(error, 120),
        "wait": about(error.retry_after) if isinstance(error, CapillaryHeldBack) else "",
        "limit": error.limit if isinstance(error, ActionLimitReached) else "",
        "code": f" (code {clean(code, 20)})" if code is not None else "",
        "no_customer": f"no customer with ID {customer_id}" if customer_id else "no such customer",
    }
    table = list(WORDS.items())
    if identifier is not None and customer_id is None:
        label = KIND_LABELS[identifier.kind]
        typed = f"{label} {clean(masked_identifier(identifier), 120)}"  # masked: a message never shows it whole
        fields |= {
            "who": f"the customer with {typed}",
            "typed": typed,
            "label": label,
            "source": clean(source or "?", 20),
            "in_source": f" (source {clean(source, 20)})" if source else "",
        }
        table = [*WORDS_BY_IDENTIFIER.items(), *table]
    for kinds, words in table:
        if isinstance(error, kinds):
            return ErrorText(words.title.format(**fields), words.advice.format(**fields), words.retry)
    raise AssertionError("every CouponsBotError is in WORDS")  # the last entry is the base class


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
