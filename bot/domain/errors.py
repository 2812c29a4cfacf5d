"""What can go wrong, as the bot understands it. Each class carries what is known about it — the audit outcome,
whether trying again may help — and is turned into words for a person in `blocks.errors`, and nowhere else.
The Capillary client raises these; services pass them on; renderers describe them."""

from __future__ import annotations

from typing import ClassVar


class CouponsBotError(Exception):
    """Base of every error the bot expects and knows how to explain. A subclass sets its own as class keywords:
    `class BotBusy(CouponsBotError, outcome="busy")`."""

    outcome: ClassVar[str] = "error"  # the audit line's `outcome`
    retryable: ClassVar[bool] = False  # worth repeating at once, within the same lookup's deadline

    def __init_subclass__(cls, *, outcome: str | None = None, retryable: bool | None = None) -> None:
        super().__init_subclass__()
        cls.outcome = outcome or cls.outcome
        cls.retryable = cls.retryable if retryable is None else retryable


class InvalidCommand(CouponsBotError, outcome="invalid_input"):
    """What the user typed is not `<customerId> [lower|upper|as_it_is]`."""


class InvalidViewState(CouponsBotError, outcome="stale_button"):
    """A button value that is malformed, tampered with, or from an older version of the bot."""


class AccessDenied(CouponsBotError, outcome="denied"):
    """The Slack user (or channel) is not allowed to look customers up."""


class ShareNotAllowed(AccessDenied):
    """Share was clicked where customer data may not be posted for everyone (outside the allowed channels)."""


class BotBusy(CouponsBotError, outcome="busy"):
    """This process already has as many Capillary calls waiting as it may: answer at once, not after a queue."""


class CapillaryError(CouponsBotError, outcome="upstream_error"):
    """Anything that went wrong between us and Capillary."""

    def __init__(self, message: str, *, status: int | None = None, code: int | str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.attempts = 1  # how many requests the lookup made before this error; for the audit line
        self.retry_after: float | None = None  # seconds, where Capillary's answer said when to ask again


class InvalidCustomerId(CapillaryError, outcome="invalid_customer_id"):
    """Capillary rejected the customer ID as malformed (400 / 8013)."""


class CustomerNotFound(CapillaryError, outcome="not_found"):
    """No customer has this ID (404 / 8015)."""


class CustomerNotInSource(CustomerNotFound, outcome="not_in_source"):
    """The identifier is registered, but not in the source the bot looks in (8065)."""


class IdentifierNotAccepted(CapillaryError, outcome="invalid_identifier"):
    """Capillary doesn't accept this kind of identifier (8013 on a lookup, or a 400 without a code)."""


class CapillaryAuthError(CapillaryError, outcome="auth_error"):
    """Our credentials were refused (401, or the OAuth key/secret was rejected)."""


class CapillaryForbidden(CapillaryError, outcome="forbidden"):
    """The credentials work but may not read this customer's coupons (403 / 4000)."""


class CapillaryUnavailable(CapillaryError, outcome="upstream_unavailable", retryable=True):
    """Capillary is down, rate limiting us, or unreachable; trying again later may work."""


class CapillaryTooSlow(CapillaryUnavailable, outcome="upstream_timeout"):
    """The lookup's deadline passed: no answer, or an answer that arrived too slowly."""


class CapillaryHeldBack(CapillaryUnavailable, outcome="held_back", retryable=False):
    """The bot sent nothing to Capillary, and won't for `retry_after` seconds; the lookup fails at once (not
    retried: the lookup's deadline is shorter than the wait)."""

    retry_after: float  # always known here

    def __init__(self, message: str, *, retry_after: float, status: int | None = None) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after  # seconds, from when the error was raised


class CapillaryRateLimited(CapillaryHeldBack, outcome="rate_limited"):
    """Capillary answered 429 with a `Retry-After`: every process holds back until then."""


class CapillaryBudgetUsedUp(CapillaryHeldBack, outcome="budget_used_up"):
    """`CAPILLARY_MAX_REQUESTS_PER_MINUTE` requests went to Capillary in the last minute: none until one leaves
    the window."""


class CapillaryBadResponse(CapillaryError, outcome="bad_response"):
    """Capillary answered with something we cannot read (HTML, broken JSON, an unexpected shape)."""


class CapillaryResponseTooLarge(CapillaryBadResponse, outcome="response_too_large"):
    """Capillary's answer is larger than `COUPONS_MAX_RESPONSE_MB` once decompressed; reading stopped there."""


class CapillaryReportedError(CapillaryError):
    """Capillary answered with an error we have no more specific class for."""


class ActionNotAllowed(AccessDenied):
    """A coupon action clicked or submitted by someone not named in COUPONS_ACTION_USER_IDS / _USERGROUP_IDS, or an
    action that is off (COUPONS_ACTIONS): a forged click, or a button from before the settings changed."""


class ActionLimitReached(CouponsBotError, outcome="limit_reached"):
    """This agent has taken COUPONS_ACTION_DAILY_LIMIT actions today (UTC)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"daily limit of {limit} actions reached")
        self.limit = limit


class ActionNotApplicable(CouponsBotError, outcome="not_applicable"):
    """The coupon is no longer in a state the action is for (say, no longer active), or isn't the customer's."""
