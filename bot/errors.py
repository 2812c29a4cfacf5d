"""The errors of starting the bot (`ConfigError`, `StartupError`). Every other error is in `bot.domain.errors`."""

from __future__ import annotations

from bot.domain.errors import CouponsBotError


class ConfigError(CouponsBotError):
    """The environment does not describe a runnable bot; the message names the variable(s)."""

    outcome = "config_error"


class StartupError(ConfigError):
    """The settings are complete but the bot cannot start with them (Slack refused the token, or is unreachable)."""


def startup_line(error: ConfigError) -> str:
    """The one line `coupons-bot` prints (then exits 2) instead of a traceback."""
    kind = "" if isinstance(error, StartupError) else "configuration error: "
    return f"coupons-bot: {kind}{error}"
