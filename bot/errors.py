"""Our own exceptions. Each one is turned into a message for a person in `blocks.errors`, and nowhere else."""

from __future__ import annotations


class CouponsBotError(Exception):
    """Base of every error the bot expects and knows how to explain."""


class ConfigError(CouponsBotError):
    """The environment does not describe a runnable bot; the message names the variable."""


class InvalidCommand(CouponsBotError):
    """What the user typed is not `<customerId> [lower|upper|as_it_is]`."""


class InvalidViewState(CouponsBotError):
    """A button value that is malformed, tampered with, or from an older version of the bot."""


class AccessDenied(CouponsBotError):
    """The Slack user (or channel) is not allowed to look customers up."""


class CapillaryError(CouponsBotError):
    """Anything that went wrong between us and Capillary."""

    retryable = False
    attempts = 1  # how many requests the lookup made before this error; for the logs

    def __init__(self, message: str, *, status: int | None = None, code: int | str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class InvalidCustomerId(CapillaryError):
    """Capillary rejected the customer ID as malformed (400 / 8013)."""


class CustomerNotFound(CapillaryError):
    """No customer has this ID (404 / 8015)."""


class CapillaryAuthError(CapillaryError):
    """Our credentials were refused (401, or the OAuth key/secret was rejected)."""


class CapillaryForbidden(CapillaryError):
    """The credentials work but may not read this customer's coupons (403 / 4000)."""


class CapillaryUnavailable(CapillaryError):
    """Capillary is down, slow, rate limiting us, or unreachable; trying again later may work."""

    retryable = True


class CapillaryBadResponse(CapillaryError):
    """Capillary answered with something we cannot read (HTML, broken JSON, an unexpected shape)."""


class CapillaryReportedError(CapillaryError):
    """Capillary answered with an error we have no more specific class for."""
