"""Building the bot from settings: the Capillary client (real or demo), the answerer, the Bolt app."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Literal

import httpx

from bot import metrics
from bot.after_answer import after_answer
from bot.capillary.auth import BasicLogin, Login, OAuthClient
from bot.capillary.budget import RequestBudget, account_scope
from bot.capillary.client import CapillaryClient
from bot.check_service import CheckService
from bot.coupon_service import CouponService
from bot.customer_service import CustomerService
from bot.demo.transport import DEMO_BASE_URL, demo_transport
from bot.domain.coupon_actions import ActionSettings
from bot.domain.coupon_state import Clock, system_clock
from bot.domain.view_state import ViewStateCodec
from bot.errors import StartupError
from bot.lookup_answers import LookupAnswerer
from bot.settings import BasicCredentials, CapillaryCredentials, Settings
from bot.store import Store, open_store

if TYPE_CHECKING:
    from concurrent.futures import Executor

    from slack_bolt import App

    from bot.jobs import JobFunctions
    from bot.services import Services
    from bot.task_queue import TaskQueue

logger = logging.getLogger(__name__)
Role = Literal["web", "worker"]


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
    login: Login
    if use_demo:
        base_url, login = DEMO_BASE_URL, BasicLogin("demo", "demo")
        transport = transport or demo_transport(clock)
    else:
        settings.require_data_source()
        assert settings.capillary_base_url is not None and settings.capillary_credentials is not None
        base_url, login = settings.capillary_base_url, capillary_login(settings.capillary_credentials)
    store = store or build_store(settings)
    client = CapillaryClient(
        base_url,
        login,
        connect_timeout=settings.connect_timeout_seconds,
        read_timeout=settings.read_timeout_seconds,
        deadline=settings.upstream_deadline_seconds,
        max_response_bytes=settings.max_response_bytes,
        max_concurrent=settings.max_concurrent_upstream,
        max_inflight_bytes=settings.max_inflight_bytes,
        when_answered=after_answer,
        transport=transport,
        store=store,
        budget=None if use_demo else capillary_budget(settings, base_url, login),  # the demo data is not Capillary
        observe=metrics.observe_capillary,
    )
    service = CouponService(
        client,
        store,
        ttl_seconds=settings.cache_ttl_seconds,
        deadline_seconds=settings.upstream_deadline_seconds,
        clock=clock,
        demo=use_demo,
        parsed_max_bytes=settings.cache_max_bytes,
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
        checks=CheckService(client, store, ttl_seconds=settings.cache_ttl_seconds),
        actions=ActionSettings.of(settings),
        client=client,
    )


def capillary_login(credentials: CapillaryCredentials) -> Login:
    """The settings' credentials as the Capillary client takes them."""
    if isinstance(credentials, BasicCredentials):
        return BasicLogin(credentials.username, credentials.password.get_secret_value())
    return OAuthClient(credentials.client_key, credentials.client_secret.get_secret_value())


def capillary_budget(settings: Settings, base_url: str, login: Login) -> RequestBudget:
    """The budget for this Capillary account, shared through `REDIS_URL` when it is set."""
    user = login.username if isinstance(login, BasicLogin) else login.key
    return RequestBudget(
        settings.capillary_max_requests_per_minute,
        redis_url=settings.redis_url.get_secret_value() if settings.redis_url else None,
        scope=account_scope(base_url, user),
    )


def build_store(settings: Settings) -> Store:
    """The state every process must share: Redis when `REDIS_URL` is set, else this process's memory."""
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


def build_app(
    settings: Settings, answerer: LookupAnswerer, *, socket_mode: bool = False, role: Role = "web"
) -> tuple[App, Services]:
    """The Bolt app and the services its listeners share (the HTTP server drains their lazy work on shutdown).

    `role`: "web" (and Socket Mode's `serve`) acks; with `REDIS_URL` it queues the work for the workers, without
    it runs the work on its own threads. "worker" runs queued work: its app is never dispatched to."""
    # Bolt and the Slack SDK are imported here, not at the top: `coupons-bot preview` never needs them.
    from slack_bolt import BoltContext  # noqa: PLC0415

    from bot.access import AccessPolicy, GroupMembers, shared_members, usergroup_fetcher  # noqa: PLC0415
    from bot.delivery import Delivery  # noqa: PLC0415
    from bot.jobs import JobFunctions  # noqa: PLC0415
    from bot.lazy_work import LazyWork  # noqa: PLC0415
    from bot.listeners import register_listeners  # noqa: PLC0415
    from bot.listeners.lazy import report_unexpected  # noqa: PLC0415
    from bot.listeners.links import read_hosts  # noqa: PLC0415
    from bot.middleware import answer_once, check_access  # noqa: PLC0415
    from bot.replays import Replays  # noqa: PLC0415
    from bot.services import Services  # noqa: PLC0415
    from bot.task_queue import QueueLazyRunner, QueueWatch  # noqa: PLC0415

    # A worker only delivers answers: it needs the bot token, nothing to verify requests with.
    settings.require_slack(socket_mode=socket_mode, worker=role == "worker")
    lazy_work = LazyWork(settings.listener_threads)
    executor = lazy_work.executor
    try:
        app = _bolt_app(settings, executor, socket_mode=socket_mode)
    except StartupError:
        executor.shutdown(wait=False)
        raise
    client = app.client
    groups = GroupMembers(
        settings.allowed_usergroup_ids, shared_members(answerer.service.store, usergroup_fetcher(client))
    )
    if role != "worker":  # access is checked before the ack, in web
        # Membership is fetched in the background: an ack never waits for Slack. A few seconds at start-up let
        # the first requests already know it; until a first list arrives, a group grants nobody.
        groups.start(wait_seconds=5.0)
    policy = AccessPolicy(user_ids=settings.allowed_user_ids, channel_ids=settings.allowed_channel_ids, groups=groups)
    if policy.open_to_everyone:
        logger.warning("No COUPONS_ALLOWED_* setting: every member of the workspace can look customers up")
    functions = JobFunctions()
    queue = _task_queue(settings, answerer, functions)
    replays = Replays(answerer.service.store)
    watch = sender = None
    if queue is not None and role != "worker":  # /healthz's view of the queue, and web's standby
        watch = QueueWatch(queue, threads=settings.max_concurrent_upstream)
        sender = QueueLazyRunner(queue, replays, app.listener_runner.lazy_listener_runner)
    services = Services(
        answerer=answerer,
        policy=policy,
        delivery=Delivery(client, executor),
        lazy_work=lazy_work,
        replays=replays,
        functions=functions,
        queue=queue,
        watch=watch,
        sender=sender,
    )
    app.use(answer_once(services.replays))
    app.use(check_access(policy, answerer, services.delivery))

    @app.error
    def unexpected(error: Exception, body: dict[str, Any], context: BoltContext) -> None:
        # Raised before a listener's lazy half (middleware, an ack): the request still gets an answer.
        action = str(body.get("type") or ("command" if "command" in body else "request"))
        report_unexpected(services, context, body, action=action, error=error, before_ack=True)

    register_listeners(app, services, member_care_hosts=read_hosts(settings.member_care_hosts))
    if services.sender is not None and watch is not None:  # web with Redis: the lazy halves become jobs
        app.listener_runner.lazy_listener_runner = services.sender
        watch.start()
    return app, services


def _bolt_app(settings: Settings, executor: Executor, *, socket_mode: bool) -> App:
    """Bolt's app with our Web API client; Bolt checks the token with auth.test here, so a refused token or an
    unreachable Slack ends start-up with one line."""
    from slack_bolt import App  # noqa: PLC0415
    from slack_bolt.error import BoltError  # noqa: PLC0415
    from slack_sdk import WebClient  # noqa: PLC0415
    from slack_sdk.errors import SlackApiError, SlackClientError  # noqa: PLC0415
    from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler  # noqa: PLC0415

    client = WebClient(
        token=settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None,
        base_url=settings.slack_api_url,
        timeout=10,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)],
    )
    logging.getLogger("slack_bolt.App").addFilter(_TOKEN_UNUSED_FILTER)
    # slack_sdk logs an unreachable Slack at ERROR before raising; the StartupError below is the one line.
    sdk_logger, quiet = logging.getLogger("slack_sdk.web.base_client"), _Quiet()
    sdk_logger.addFilter(quiet)
    try:
        return App(
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
        cause = error.__context__
        if (
            isinstance(cause, SlackApiError)
            and isinstance(cause.response.data, dict)
            and cause.response.status_code < 500
        ):
            reason = cause.response.get("error") or "no reason given"
            raise StartupError(
                f"Slack refused SLACK_BOT_TOKEN ({reason}); copy the Bot User OAuth Token again"
            ) from None
        # A 5xx or a page that isn't Slack's JSON: Slack (or a proxy) is in trouble, not the token.
        status = cause.response.status_code if isinstance(cause, SlackApiError) else "no answer"
        raise StartupError(
            f"Slack answered wrongly at {settings.slack_api_url} when the bot checked SLACK_BOT_TOKEN (HTTP {status}); "
            "the token was not judged: start the bot again when Slack is back"
        ) from None
    except (SlackClientError, OSError) as error:
        raise StartupError(
            f"Slack could not be reached at {settings.slack_api_url} to check SLACK_BOT_TOKEN ({type(error).__name__})"
        ) from None
    finally:
        sdk_logger.removeFilter(quiet)


def _task_queue(settings: Settings, answerer: LookupAnswerer, functions: JobFunctions) -> TaskQueue | None:
    """The queue to the workers, when the state is shared through Redis."""
    if settings.redis_url is None or not answerer.service.store.shared:
        return None
    from bot.task_queue import TaskQueue  # noqa: PLC0415 - only a deployment with Redis needs Dramatiq

    return TaskQueue(settings.redis_url.get_secret_value(), functions, answerer.service.store)
