"""What can go wrong, as the bot understands it. Each class carries what is known about it — the audit outcome,
whether trying again may help — and is turned into words for a person in `blocks.errors`, and nowhere else.
The Capillary client raises these; services pass them on; renderers describe them."""

from __future__ import annotations

from typing import ClassVar


class CouponsBotError(Exception):
    """Base of every error the bot expects and knows how to explain."""

    outcome: ClassVar[str] = "error"  # the audit line's `outcome`
    retryable: ClassVar[bool] = False  # worth repeating at once, within the same lookup's deadline


class InvalidCommand(CouponsBotError):
    """What the user typed is not `<customerId> [lower|upper|as_it_is]`."""

    outcome = "invalid_input"


class InvalidViewState(CouponsBotError):
    """A button value that is malformed, tampered with, or from an older version of the bot."""

    outcome = "stale_button"


class AccessDenied(CouponsBotError):
    """The Slack user (or channel) is not allowed to look customers up."""

    outcome = "denied"


class ShareNotAllowed(AccessDenied):
    """Share was clicked where customer data may not be posted for everyone (outside the allowed channels)."""


class BotBusy(CouponsBotError):
    """This process already has as many Capillary calls waiting as it may: answer at once, not after a queue."""

    outcome = "busy"


class CapillaryError(CouponsBotError):
    """Anything that went wrong between us and Capillary."""

    outcome = "upstream_error"

    def __init__(self, message: str, *, status: int | None = None, code: int | str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.attempts = 1  # how many requests the lookup made before this error; for the audit line
        self.retry_after: float | None = None  # seconds, where Capillary's answer said when to ask again


class InvalidCustomerId(CapillaryError):
    """Capillary rejected the customer ID as malformed (400 / 8013)."""

    outcome = "invalid_customer_id"


class CustomerNotFound(CapillaryError):
    """No customer has this ID (404 / 8015)."""

    outcome = "not_found"


class CustomerNotInSource(CustomerNotFound):
    """The identifier is registered, but not in the source the bot looks in (8065)."""

    outcome = "not_in_source"


class IdentifierNotAccepted(CapillaryError):
    """Capillary doesn't accept this kind of identifier (8013 on a lookup, or a 400 without a code)."""

    outcome = "invalid_identifier"


class CapillaryAuthError(CapillaryError):
    """Our credentials were refused (401, or the OAuth key/secret was rejected)."""

    outcome = "auth_error"


class CapillaryForbidden(CapillaryError):
    """The credentials work but may not read this customer's coupons (403 / 4000)."""

    outcome = "forbidden"


class CapillaryUnavailable(CapillaryError):
    """Capillary is down, rate limiting us, or unreachable; trying again later may work."""

    outcome = "upstream_unavailable"
    retryable = True


class CapillaryTooSlow(CapillaryUnavailable):
    """The lookup's deadline passed: no answer, or an answer that arrived too slowly."""

    outcome = "upstream_timeout"


class CapillaryHeldBack(CapillaryUnavailable):
    """The bot sent nothing to Capillary, and won't for `retry_after` seconds; the lookup fails at once."""

    outcome = "held_back"
    retryable = False  # not within this lookup: its deadline is shorter than the wait
    retry_after: float  # always known here

    def __init__(self, message: str, *, retry_after: float, status: int | None = None) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after  # seconds, from when the error was raised


class CapillaryRateLimited(CapillaryHeldBack):
    """Capillary answered 429 with a `Retry-After`: every process holds back until then."""

    outcome = "rate_limited"


class CapillaryBudgetUsedUp(CapillaryHeldBack):
    """`CAPILLARY_MAX_REQUESTS_PER_MINUTE` requests went to Capillary in the last minute: none until one leaves
    the window."""

    outcome = "budget_used_up"


class CapillaryBadResponse(CapillaryError):
    """Capillary answered with something we cannot read (HTML, broken JSON, an unexpected shape)."""

    outcome = "bad_response"


class CapillaryResponseTooLarge(CapillaryBadResponse):
    """Capillary's answer is larger than `COUPONS_MAX_RESPONSE_MB` once decompressed; reading stopped there."""

    outcome = "response_too_large"


class CapillaryReportedError(CapillaryError):
    """Capillary answered with an error we have no more specific class for."""


class ActionNotAllowed(AccessDenied):
    """A coupon action clicked or submitted by someone not named in COUPONS_ACTION_USER_IDS / _USERGROUP_IDS, or an
    action that is off (COUPONS_ACTIONS): a forged click, or a button from before the settings changed."""


class ActionLimitReached(CouponsBotError):
    """This agent has taken COUPONS_ACTION_DAILY_LIMIT actions today (UTC)."""

    outcome = "limit_reached"

    def __init__(self, limit: int) -> None:
        super().__init__(f"daily limit of {limit} actions reached")
        self.limit = limit


class ActionNotApplicable(CouponsBotError):
    """The coupon is no longer in a state the action is for (say, no longer active), or isn't the customer's."""

    outcome = "not_applicable"
