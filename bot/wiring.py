"""Building the bot from settings: the Capillary client (real or demo), the answerer, the Bolt app."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

import httpx
from pydantic import SecretStr
from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.access import AccessPolicy, GroupMembers, usergroup_fetcher
from bot.capillary.client import CapillaryClient
from bot.coupon_service import CouponService
from bot.delivery import Delivery
from bot.demo.transport import DEMO_BASE_URL, demo_transport
from bot.domain.coupon_state import Clock, system_clock
from bot.domain.view_state import ViewStateCodec
from bot.listeners import register_listeners
from bot.listeners.lazy import report_unexpected
from bot.lookup_answers import LookupAnswerer
from bot.middleware import check_access, drop_redelivered_events
from bot.services import Services
from bot.settings import BasicCredentials, CapillaryCredentials, Settings

logger = logging.getLogger(__name__)


def build_answerer(
    settings: Settings,
    *,
    use_demo: bool,
    clock: Clock = system_clock,
    transport: httpx.BaseTransport | None = None,
) -> LookupAnswerer:
    credentials: CapillaryCredentials
    if use_demo:
        base_url, credentials = DEMO_BASE_URL, BasicCredentials("demo", SecretStr("demo"))
        transport = transport or demo_transport(clock)
    else:
        settings.require_data_source()
        assert settings.capillary_base_url is not None and settings.capillary_credentials is not None
        base_url, credentials = settings.capillary_base_url, settings.capillary_credentials
    client = CapillaryClient(
        base_url,
        credentials,
        connect_timeout=settings.connect_timeout_seconds,
        read_timeout=settings.read_timeout_seconds,
        deadline=settings.upstream_deadline_seconds,
        max_response_bytes=settings.max_response_bytes,
        max_concurrent=settings.max_concurrent_upstream,
        transport=transport,
    )
    service = CouponService(
        client,
        ttl_seconds=settings.cache_ttl_seconds,
        max_customers=settings.cache_max_customers,
        clock=clock,
        demo=use_demo,
    )
    return LookupAnswerer(
        service,
        ViewStateCodec(settings.button_secret),
        page_size=settings.page_size,
        contact=settings.support_contact,
        clock=clock,
        connection_label="demo data" if use_demo else base_url,
    )


def create_app(settings: Settings, answerer: LookupAnswerer, *, socket_mode: bool = False) -> App:
    settings.require_slack(socket_mode=socket_mode)
    client = WebClient(
        token=settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None,
        base_url=settings.slack_api_url,
        timeout=10,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)],
    )
    groups = GroupMembers(settings.allowed_usergroup_ids, usergroup_fetcher(client))
    # Membership is fetched in the background: an ack never waits for Slack. A few seconds at start-up let the
    # first requests already know it; until a first list arrives, a group grants nobody.
    groups.start(wait_seconds=5.0)
    policy = AccessPolicy(user_ids=settings.allowed_user_ids, channel_ids=settings.allowed_channel_ids, groups=groups)
    if policy.open_to_everyone:
        logger.warning("No COUPONS_ALLOWED_* setting: every member of the workspace can look customers up")
    executor = ThreadPoolExecutor(max_workers=settings.listener_threads, thread_name_prefix="coupons-listener")
    services = Services(answerer=answerer, policy=policy, delivery=Delivery(client, executor))
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
    app.use(drop_redelivered_events())
    app.use(check_access(policy, answerer, services.delivery))

    @app.error
    def unexpected(error: Exception, body: dict[str, object], context: object) -> None:
        # Raised before a listener's lazy half (middleware, an ack): the request still gets an answer.
        report_unexpected(services, context, body, action=str(body.get("type") or "request"))  # type: ignore[arg-type]

    register_listeners(app, services)
    return app
