"""What `web` does on SIGTERM once no new request arrives: lookups in flight get time to answer, whoever is still
waiting is told to ask again, then everything the bot built is closed. Never an ack followed by silence."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

from bot.listeners.lazy import tell_restarted
from bot.services import Services
from bot.wiring import close_services

logger = logging.getLogger(__name__)

# Platforms send SIGKILL about 30 s after SIGTERM; the three phases add up to at most 27 s.
# In-flight requests (a dispatch is middleware + ack: milliseconds) get this long to finish after SIGTERM...
GRACEFUL_SHUTDOWN_SECONDS = 4
# ...then lookups already started or queued get COUPONS_SHUTDOWN_GRACE_SECONDS (18 s) to post their answers (a
# lookup ends within COUPONS_UPSTREAM_DEADLINE_SECONDS, 8 s, so two rounds of the listener pool fit)...
LAZY_WORK_GRACE_SECONDS = 18.0
# ...and whoever is still waiting is told to ask again, all at once, within this.
RESTART_NOTICE_SECONDS = 5


def drain_and_close(services: Services, grace: float = LAZY_WORK_GRACE_SECONDS) -> Callable[[], None]:
    """The shutdown hook, its phases as the constants above say (`grace`: the lazy work's)."""

    def hook() -> None:
        if services.watch is not None:  # no standby from now on; one running puts back what it hasn't started
            services.watch.close()
        if services.sender is not None:  # jobs acked but not yet in Redis go there: the workers answer them
            services.sender.close()
        work = services.lazy_work
        logger.info("shutting down: waiting up to %.0f s for %d lookups in flight", grace, work.in_flight)
        told = work.drain(grace, functools.partial(tell_restarted, services), tell_within=RESTART_NOTICE_SECONDS)
        logger.info("shut down: %d people told to ask again", told)
        close_services(services)

    return hook
