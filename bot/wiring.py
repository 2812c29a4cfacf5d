"""Building the bot from settings: the Capillary client (real or demo), the answerer, the Bolt app."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import SecretStr

from bot.capillary.client import CapillaryClient
from bot.coupon_service import CouponService
from bot.customer_service import CustomerService
from bot.demo.transport import DEMO_BASE_URL, demo_transport
from bot.domain.coupon_state import Clock, system_clock
from bot.domain.view_state import ViewStateCodec
from bot.errors import StartupError
from bot.lookup_answers import LookupAnswerer
from bot.settings import BasicCredentials, CapillaryCredentials, Settings
from bot.store import MemoryStore, Store, open_store

if TYPE_CHECKING:
    from slack_bolt import App

    from bot.services import Services

logger = logging.getLogger(__name__)


class _DropTokenUnused(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN from the environment itself and, given our client too, warns on every start
    that the token "will be unused": it is the client's token, so the warning says nothing."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


_TOKEN_UNUSED_FILTER = _DropTokenUnused()


class _Quiet(logging.Filter):
    """Silences a logger for a moment: at start-up our one line says what went wrong, once."""

    def filter(self, record: logging.LogRecord) -> bool:
        return False


def build_answerer(
    settings: Settings,
    *,
    use_demo: bool,
    clock: Clock = system_clock,
    transport: httpx.BaseTransport | None = None,
    store: Store | None = None,
) -> LookupAnswerer:
    credentials: CapillaryCredentials
    if use_demo:
        base_url, credentials = DEMO_BASE_URL, BasicCredentials("demo", SecretStr("demo"))
        transport = transport or demo_transport(clock)
    else:
        settings.require_data_source()
        assert settings.capillary_base_url is not None and settings.capillary_credentials is not None
        base_url, credentials = settings.capillary_base_url, settings.capillary_credentials
    store = store or build_store(settings)
    client = CapillaryClient(
        base_url,
        credentials,
        connect_timeout=settings.connect_timeout_seconds,
        read_timeout=settings.read_timeout_seconds,
        deadline=settings.upstream_deadline_seconds,
        max_response_bytes=settings.max_response_bytes,
        max_concurrent=settings.max_concurrent_upstream,
        transport=transport,
        store=store,
    )
    service = CouponService(
        client,
        store,
        ttl_seconds=settings.cache_ttl_seconds,
        deadline_seconds=settings.upstream_deadline_seconds,
        clock=clock,
        demo=use_demo,
        # With Redis, each process keeps copies of the bodies it has (one cache's worth, bounded the same way).
        near=MemoryStore(settings.cache_max_bytes) if store.shared else None,
    )
    customers = CustomerService(
        client,
        service.store,
        key_secret=settings.button_secret,
        source=settings.capillary_lookup_source,
        account_id=settings.capillary_lookup_account_id,
        ttl_seconds=settings.cache_ttl_seconds,
        deadline_seconds=settings.upstream_deadline_seconds,
        max_threads=settings.max_concurrent_upstream,
    )
    return LookupAnswerer(
        service,
        ViewStateCodec(settings.button_secret),
        customers=customers,
        page_size=settings.page_size,
        contact=settings.support_contact,
        clock=clock,
        connection_label="demo data" if use_demo else base_url,
        currency=settings.currency,
    )


def build_store(settings: Settings) -> Store:
    """The state every process must share: Redis when `REDIS_URL` is set, else this process's memory."""
    if "cache_max_customers" in settings.model_fields_set:
        logger.warning("COUPONS_CACHE_MAX_CUSTOMERS is no longer used: the cache is bounded by COUPONS_CACHE_MAX_MB")
    redis_url = settings.redis_url.get_secret_value() if settings.redis_url else None
    if redis_url is None and settings.web_concurrency > 1:
        logger.warning(
            "WEB_CONCURRENCY=%d without REDIS_URL: each process keeps its own cache and de-duplication, so a "
            "retried event may be answered twice and a click may call Capillary again; set REDIS_URL",
            settings.web_concurrency,
        )
    return open_store(redis_url, max_bytes=settings.cache_max_bytes)


def create_app(settings: Settings, answerer: LookupAnswerer, *, socket_mode: bool = False) -> App:
    return build_app(settings, answerer, socket_mode=socket_mode)[0]


def build_app(settings: Settings, answerer: LookupAnswerer, *, socket_mode: bool = False) -> tuple[App, Services]:
    """The Bolt app and the services its listeners share (the HTTP server drains their lazy work on shutdown)."""
    # Bolt and the Slack SDK are imported here, not at the top: `coupons-bot preview` never needs them.
    from slack_bolt import App, BoltContext  # noqa: PLC0415
    from slack_bolt.error import BoltError  # noqa: PLC0415
    from slack_sdk import WebClient  # noqa: PLC0415
    from slack_sdk.errors import SlackApiError, SlackClientError  # noqa: PLC0415
    from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler  # noqa: PLC0415

    from bot.access import AccessPolicy, GroupMembers, shared_members, usergroup_fetcher  # noqa: PLC0415
    from bot.delivery import Delivery  # noqa: PLC0415
    from bot.lazy_work import LazyWork  # noqa: PLC0415
    from bot.listeners import register_listeners  # noqa: PLC0415
    from bot.listeners.lazy import report_unexpected  # noqa: PLC0415
    from bot.middleware import answer_once, check_access  # noqa: PLC0415
    from bot.replays import Replays  # noqa: PLC0415
    from bot.services import Services  # noqa: PLC0415

    settings.require_slack(socket_mode=socket_mode)
    client = WebClient(
        token=settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None,
        base_url=settings.slack_api_url,
        timeout=10,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)],
    )
    lazy_work = LazyWork(settings.listener_threads)
    executor = lazy_work.executor
    logging.getLogger("slack_bolt.App").addFilter(_TOKEN_UNUSED_FILTER)
    # slack_sdk logs an unreachable Slack at ERROR before raising; the StartupError below is the one line.
    sdk_logger, quiet = logging.getLogger("slack_sdk.web.base_client"), _Quiet()
    sdk_logger.addFilter(quiet)
    try:
        # Bolt checks the token with auth.test here: a refused token or an unreachable Slack ends start-up.
        app = App(
            client=client,
            signing_secret=(
                settings.slack_signing_secret.get_secret_value()
                if settings.slack_signing_secret
                else "unused-in-socket-mode"
            ),
            request_verification_enabled=not socket_mode,
            # Listeners ack in the request thread and do their work as lazy listeners (see listeners/lazy.py).
            process_before_response=True,
            listener_executor=executor,
        )
    except BoltError as error:
        lazy_work.executor.shutdown(wait=False)
        cause = error.__context__
        reason = cause.response.get("error") if isinstance(cause, SlackApiError) else "no reason given"
        raise StartupError(f"Slack refused SLACK_BOT_TOKEN ({reason}); copy the Bot User OAuth Token again") from None
    except (SlackClientError, OSError) as error:
        lazy_work.executor.shutdown(wait=False)
        raise StartupError(
            f"Slack could not be reached at {settings.slack_api_url} to check SLACK_BOT_TOKEN ({type(error).__name__})"
        ) from None
    finally:
        sdk_logger.removeFilter(quiet)
    groups = GroupMembers(
        settings.allowed_usergroup_ids, shared_members(answerer.service.store, usergroup_fetcher(client))
    )
    # Membership is fetched in the background: an ack never waits for Slack. A few seconds at start-up let the
    # first requests already know it; until a first list arrives, a group grants nobody.
    groups.start(wait_seconds=5.0)
    policy = AccessPolicy(user_ids=settings.allowed_user_ids, channel_ids=settings.allowed_channel_ids, groups=groups)
    if policy.open_to_everyone:
        logger.warning("No COUPONS_ALLOWED_* setting: every member of the workspace can look customers up")
    services = Services(
        answerer=answerer,
        policy=policy,
        delivery=Delivery(client, executor),
        lazy_work=lazy_work,
        replays=Replays(answerer.service.store),
    )
    app.use(answer_once(services.replays))
    app.use(check_access(policy, answerer, services.delivery))

    @app.error
    def unexpected(error: Exception, body: dict[str, Any], context: BoltContext) -> None:
        # Raised before a listener's lazy half (middleware, an ack): the request still gets an answer.
        action = str(body.get("type") or ("command" if "command" in body else "request"))
        report_unexpected(services, context, body, action=action, error=error, before_ack=True)

    register_listeners(app, services)
    return app, services
