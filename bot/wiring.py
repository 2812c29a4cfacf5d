"""Building the bot from settings: the Capillary client (real or demo), the answerer, the Bolt app."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import httpx

from bot.capillary.client import CapillaryClient
from bot.coupon_service import CouponService
from bot.coupon_state import Clock, system_clock
from bot.demo.transport import DEMO_BASE_URL, demo_transport
from bot.lookup_answers import LookupAnswerer
from bot.settings import BasicCredentials, Settings
from bot.view_state import ViewStateCodec

if TYPE_CHECKING:
    from slack_bolt import App

logger = logging.getLogger(__name__)


def build_answerer(
    settings: Settings,
    *,
    use_demo: bool,
    clock: Clock = system_clock,
    transport: httpx.BaseTransport | None = None,
) -> LookupAnswerer:
    if use_demo:
        base_url, credentials = DEMO_BASE_URL, BasicCredentials("demo", "demo")
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
        transport=transport,
    )
    service = CouponService(
        client,
        ttl_seconds=settings.cache_ttl_seconds,
        max_customers=settings.cache_max_customers,
        clock=clock,
        demo=use_demo,
    )
    # Every worker signs and checks button values with the same secret, so any worker can serve a click.
    secret = settings.slack_signing_secret or settings.slack_app_token or settings.slack_bot_token or "preview"
    return LookupAnswerer(
        service,
        ViewStateCodec(secret),
        page_size=settings.page_size,
        contact=settings.support_contact,
        clock=clock,
        connection_label="demo data" if use_demo else base_url,
    )


def create_app(settings: Settings, answerer: LookupAnswerer, *, socket_mode: bool = False) -> App:
    # Bolt and the Slack SDK are imported here, not at the top: `coupons-bot preview` never needs them.
    from slack_bolt import App  # noqa: PLC0415
    from slack_sdk import WebClient  # noqa: PLC0415
    from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler  # noqa: PLC0415

    from bot.access import AccessPolicy  # noqa: PLC0415
    from bot.listeners import register_listeners  # noqa: PLC0415
    from bot.middleware import attach_services, check_access, drop_redelivered_events  # noqa: PLC0415

    settings.require_slack(socket_mode=socket_mode)
    client = WebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=10,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)],
    )
    policy = AccessPolicy(
        user_ids=settings.allowed_user_ids,
        channel_ids=settings.allowed_channel_ids,
        usergroup_ids=settings.allowed_usergroup_ids,
    )
    if policy.open_to_everyone:
        logger.warning("No COUPONS_ALLOWED_* setting: every member of the workspace can look customers up")
    app = App(
        client=client,
        signing_secret=settings.slack_signing_secret or "unused-in-socket-mode",
        request_verification_enabled=not socket_mode,
        # Listeners ack in the request thread and do their work as lazy listeners (see listeners/acknowledge.py).
        process_before_response=True,
        listener_executor=ThreadPoolExecutor(
            max_workers=settings.listener_threads, thread_name_prefix="coupons-listener"
        ),
    )
    app.use(attach_services(answerer, policy))
    app.use(drop_redelivered_events())
    app.use(check_access)
    register_listeners(app)
    return app
