"""What a server checks once before it listens, however many processes it runs: that Slack accepts the bot token
(auth.test), and the settings worth a warning; and the Slack Web API client, which can answer auth.test with
what that check got (Bolt asks it in each process that builds an app)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from bot.errors import StartupError
from bot.settings import Settings

if TYPE_CHECKING:  # Slack's SDK is imported where it is used: `coupons-bot preview` never needs it
    from slack_sdk import WebClient

logger = logging.getLogger(__name__)
# Slack's answer to auth.test with the bot token: the ids Bolt needs (bot_id, user_id, team_id, …), no secret.
BotIdentity = dict[str, Any]


def start_checks(settings: Settings) -> BotIdentity:
    """The bot's identity (auth.test's answer, which Bolt needs in each process: pass it to `build_app`). Raises
    StartupError (one line) when the token is refused or Slack can't be reached."""
    identity = check_bot_token(settings)
    if settings.redis_url is None and settings.web_concurrency > 1:
        logger.warning(
            "WEB_CONCURRENCY=%d without REDIS_URL: each process keeps its own cache and de-duplication, so a "
            "retried event may be answered twice and a click may call Capillary again; set REDIS_URL",
            settings.web_concurrency,
        )
    if not (settings.allowed_user_ids or settings.allowed_channel_ids or settings.allowed_usergroup_ids):
        logger.warning("No COUPONS_ALLOWED_* setting: every member of the workspace can look customers up")
    return identity


def check_bot_token(settings: Settings) -> BotIdentity:
    """auth.test with the bot token: the bot's identity, or StartupError in one line when Slack refuses the
    token or can't be reached."""
    from slack_sdk.errors import SlackApiError, SlackClientError  # noqa: PLC0415

    # slack_sdk logs an unreachable Slack at ERROR before raising; the StartupError below is the one line.
    sdk_logger = logging.getLogger("slack_sdk.web.base_client")
    sdk_logger.addFilter(_quiet)
    try:
        answer = slack_client(settings).auth_test().data
    except SlackApiError as error:
        if isinstance(error.response.data, dict) and error.response.status_code < 500:
            reason = error.response.get("error") or "no reason given"
            raise StartupError(
                f"Slack refused SLACK_BOT_TOKEN ({reason}); copy the Bot User OAuth Token again"
            ) from None
        # A 5xx or a page that isn't Slack's JSON: Slack (or a proxy) is in trouble, not the token.
        raise StartupError(
            f"Slack answered wrongly at {settings.slack_api_url} when the bot checked SLACK_BOT_TOKEN "
            f"(HTTP {error.response.status_code}); the token was not judged: start the bot again when Slack is back"
        ) from None
    except (SlackClientError, OSError) as error:
        raise StartupError(
            f"Slack could not be reached at {settings.slack_api_url} to check SLACK_BOT_TOKEN ({type(error).__name__})"
        ) from None
    finally:
        sdk_logger.removeFilter(_quiet)
    assert isinstance(answer, dict)  # the SDK raises on anything but a JSON object
    return answer


def slack_client(settings: Settings, identity: BotIdentity | None = None) -> WebClient:
    """Our Web API client (rate limits retried); given `identity`, it answers auth.test with it."""
    from slack_sdk import WebClient  # noqa: PLC0415
    from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler  # noqa: PLC0415
    from slack_sdk.web import SlackResponse  # noqa: PLC0415

    class KnownIdentityClient(WebClient):
        """Answers auth.test with what `start_checks` got: Bolt asks when each process builds its app, and Slack
        has been asked once for the whole server already."""

        def auth_test(self, **kwargs: Any) -> SlackResponse:
            assert identity is not None
            url = self.base_url + "auth.test"
            return SlackResponse(
                client=self, http_verb="POST", api_url=url, req_args={}, data=identity, headers={}, status_code=200
            )

    return (WebClient if identity is None else KnownIdentityClient)(
        token=settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None,
        base_url=settings.slack_api_url,
        timeout=10,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)],
    )


def _quiet(record: logging.LogRecord) -> bool:
    return False
