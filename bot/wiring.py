"""Building the bot from settings: the Capillary client (real or demo), the answerer, the Bolt app; and closing
what was built."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Literal

import httpx

from bot.after_answer import after_answer
from bot.capillary.auth import BasicLogin, Login, OAuthClient
from bot.capillary.client import CapillaryClient
from bot.capillary.http import Observe
from bot.check_service import CheckService
from bot.coupon_service import CouponService
from bot.customer_service import CustomerService
from bot.demo.transport import DEMO_BASE_URL, demo_transport
from bot.domain.coupon_actions import ActionSettings
from bot.domain.coupon_state import Clock, system_clock
from bot.domain.view_state import ViewStateCodec
from bot.lookup_answers import LookupAnswerer
from bot.settings import BasicCredentials, CapillaryCredentials, Settings
from bot.start_checks import BotIdentity, slack_client, start_checks
from bot.store import Store, open_store

if TYPE_CHECKING:
    from concurrent.futures import Executor

    from slack_bolt import App

    from bot.jobs import JobFunctions
    from bot.lazy_work import LazyWork
    from bot.services import Services
    from bot.store.request_budget import RequestBudget
    from bot.task_queue import TaskQueue

Role = Literal["web", "worker"]


def _drop_token_unused(record: logging.LogRecord) -> bool:
    """Bolt reads SLACK_BOT_TOKEN from the environment itself and, given our client too, warns on every start
    that the token "will be unused": it is the client's token, so the warning says nothing."""
    return "`token` will be unused" not in record.getMessage()


def build_answerer(
    settings: Settings,
    *,
    use_demo: bool,
    clock: Clock = system_clock,
    transport: httpx.BaseTransport | None = None,
    store: Store | None = None,
) -> LookupAnswerer:
    login: Login
    budget: RequestBudget | None = None  # the demo data is not Capillary: no budget, no Capillary metrics
    observe: Observe | None = None
    if use_demo:
        base_url, login = DEMO_BASE_URL, BasicLogin("demo", "demo")
        transport = transport or demo_transport(clock)
    else:
        settings.require_data_source()
        assert settings.capillary_base_url is not None and settings.capillary_credentials is not None
        base_url, login = settings.capillary_base_url, capillary_login(settings.capillary_credentials)
        from bot import metrics  # noqa: PLC0415 - prometheus_client: not for the demo preview

        budget, observe = capillary_budget(settings, base_url, login), metrics.observe_capillary
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
        budget=budget,
        observe=observe,
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
    from bot.store.request_budget import RequestBudget, account_scope  # noqa: PLC0415 - not for demo data

    user = login.username if isinstance(login, BasicLogin) else login.key
    return RequestBudget(
        settings.capillary_max_requests_per_minute,
        redis_url=settings.redis_url.get_secret_value() if settings.redis_url else None,
        scope=account_scope(base_url, user),
    )


def build_store(settings: Settings) -> Store:
    """The state every process must share: Redis when `REDIS_URL` is set, else this process's memory."""
    redis_url = settings.redis_url.get_secret_value() if settings.redis_url else None
    return open_store(redis_url, max_bytes=settings.cache_max_bytes)


def build_app(
    settings: Settings,
    answerer: LookupAnswerer,
    *,
    socket_mode: bool = False,
    role: Role = "web",
    identity: BotIdentity | None = None,
    verified_in_front: bool = False,
) -> tuple[App, Services]:
    """The Bolt app and the services its listeners share (`close_services` stops their threads and clients).

    `role`: "web" (and Socket Mode's `serve`) acks; with `REDIS_URL` it queues the work for the workers, without
    it runs the work on its own threads. "worker" runs queued work: its app is never dispatched to.
    `identity`: what `start_checks` returned, when the server ran them already; None: they run here.
    `verified_in_front`: the HTTP front has checked Slack's signature, so Bolt doesn't check it again."""
    # A worker only delivers answers: it needs the bot token, nothing to verify requests with.
    settings.require_slack(socket_mode=socket_mode, worker=role == "worker")
    if identity is None:
        identity = start_checks(settings)
    from bot.lazy_work import LazyWork  # noqa: PLC0415 - Bolt is imported here, not at the top: `preview` needs none

    lazy_work = LazyWork(settings.listener_threads)
    app = _bolt_app(
        settings,
        lazy_work.executor,
        identity,
        verify_requests=not (socket_mode or verified_in_front),
    )
    services = _services(settings, answerer, app, lazy_work, role=role)
    _register(app, services, settings)
    if services.watch is not None:
        services.watch.start()
    return app, services


def _services(settings: Settings, answerer: LookupAnswerer, app: App, lazy_work: LazyWork, *, role: Role) -> Services:
    from bot.access import AccessPolicy, GroupMembers, shared_members, usergroup_fetcher  # noqa: PLC0415
    from bot.delivery import Delivery  # noqa: PLC0415
    from bot.jobs import JobFunctions  # noqa: PLC0415
    from bot.replays import Replays  # noqa: PLC0415
    from bot.services import Services  # noqa: PLC0415
    from bot.task_queue import QueueLazyRunner, QueueWatch  # noqa: PLC0415

    groups = GroupMembers(
        settings.allowed_usergroup_ids, shared_members(answerer.service.store, usergroup_fetcher(app.client))
    )
    if role != "worker":  # access is checked before the ack, in web
        # Membership is fetched in the background: an ack never waits for Slack. A few seconds at start-up let
        # the first requests already know it; until a first list arrives, a group grants nobody.
        groups.start(wait_seconds=5.0)
    functions = JobFunctions()
    queue = _task_queue(settings, answerer, functions)
    replays = Replays(answerer.service.store)
    watch = sender = None
    if queue is not None and role != "worker":  # /healthz's view of the queue, and web's standby
        watch = QueueWatch(queue, threads=settings.max_concurrent_upstream)
        sender = QueueLazyRunner(queue, replays, app.listener_runner.lazy_listener_runner)
    return Services(
        answerer=answerer,
        policy=AccessPolicy(
            user_ids=settings.allowed_user_ids, channel_ids=settings.allowed_channel_ids, groups=groups
        ),
        delivery=Delivery(app.client, lazy_work.executor),
        lazy_work=lazy_work,
        replays=replays,
        functions=functions,
        queue=queue,
        watch=watch,
        sender=sender,
    )


def _register(app: App, services: Services, settings: Settings) -> None:
    """Our middleware, the error handler, the listeners; with Redis, web's lazy halves become jobs."""
    from slack_bolt import BoltContext  # noqa: PLC0415

    from bot.listeners import register_listeners  # noqa: PLC0415
    from bot.listeners.lazy import report_unexpected  # noqa: PLC0415
    from bot.listeners.links import read_hosts  # noqa: PLC0415
    from bot.middleware import answer_once, check_access  # noqa: PLC0415

    app.use(answer_once(services.replays))
    app.use(check_access(services.policy, services.answerer, services.delivery))

    @app.error
    def unexpected(error: Exception, body: dict[str, Any], context: BoltContext) -> None:
        # Raised before a listener's lazy half (middleware, an ack): the request still gets an answer.
        action = str(body.get("type") or ("command" if "command" in body else "request"))
        report_unexpected(services, context, body, action=action, error=error, before_ack=True)

    register_listeners(app, services, member_care_hosts=read_hosts(settings.member_care_hosts))
    if services.sender is not None:  # web with Redis: the lazy halves become jobs
        app.listener_runner.lazy_listener_runner = services.sender


def close_services(services: Services) -> None:
    """Stop what `build_app` and `build_answerer` started, once no request comes any more and lazy work has been
    drained: the queue's watch and sender, the user-group refresher, the listener and profile pools, the
    response_url and Capillary HTTP clients, the task queue and the store. The owner of all of them."""
    if services.watch is not None:
        services.watch.close()
    if services.sender is not None:
        services.sender.close()
    if services.policy.groups is not None:
        services.policy.groups.close()
    # Work submitted from now on runs on a thread of its own (the registry is closed): the pool may go.
    services.lazy_work.executor.shutdown(wait=False)
    services.delivery.close()
    answerer = services.answerer
    if answerer.customers is not None:
        answerer.customers.close()
    if answerer.client is not None:
        answerer.client.close()
    if services.queue is not None:
        services.queue.close()
    answerer.service.store.close()


def _bolt_app(settings: Settings, executor: Executor, identity: BotIdentity, *, verify_requests: bool) -> App:
    """Bolt's app with our Web API client, which knows the bot's identity already (Bolt asks nothing of Slack
    here). `verify_requests`: Bolt checks Slack's signature (its development server); off where our front
    checks it, and in Socket Mode, which has no signature."""
    from slack_bolt import App  # noqa: PLC0415

    logging.getLogger("slack_bolt.App").addFilter(_drop_token_unused)
    return App(
        client=slack_client(settings, identity),
        signing_secret=(
            settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else "unused-here"
        ),
        request_verification_enabled=verify_requests,
        # Listeners ack in the request thread and do their work as lazy listeners (see listeners/lazy.py).
        process_before_response=True,
        listener_executor=executor,
    )


def _task_queue(settings: Settings, answerer: LookupAnswerer, functions: JobFunctions) -> TaskQueue | None:
    """The queue to the workers, when the state is shared through Redis."""
    if settings.redis_url is None or not answerer.service.store.shared:
        return None
    from bot.task_queue import TaskQueue  # noqa: PLC0415 - only a deployment with Redis needs Dramatiq

    return TaskQueue(settings.redis_url.get_secret_value(), functions, answerer.service.store)
