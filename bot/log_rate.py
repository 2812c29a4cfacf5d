"""`RateLimitedLog`: a warning that junk can trigger thousands of times a second becomes a few lines a minute.

A flood of rejected requests must not become a flood of log lines (each costs the event loop a format and the
log queue a slot). The first `lines_per_interval` events of each interval are logged in full — enough to see
what the junk is; the rest are only counted, and the count rides on the first line of a later interval
("… (1,234 more not logged since …)").
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable

DEFAULT_INTERVAL_SECONDS = 60.0
DEFAULT_LINES_PER_INTERVAL = 20


class RateLimitedLog:
    def __init__(
        self,
        logger: logging.Logger,
        *,
        interval_seconds: float = DEFAULT_INTERVAL_SECONDS,
        lines_per_interval: int = DEFAULT_LINES_PER_INTERVAL,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._interval = interval_seconds
        self._lines = lines_per_interval
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._interval_ends = -math.inf
        self._logged_in_interval = 0
        self._unlogged = 0
        self.suppressed = 0  # events counted but not logged, since start

    def warning(self, msg: str, *args: object) -> None:
        now = self._monotonic()
        with self._lock:
            if now >= self._interval_ends:
                self._interval_ends, self._logged_in_interval = now + self._interval, 0
            if self._logged_in_interval >= self._lines:
                self._unlogged += 1
                self.suppressed += 1
                return
            self._logged_in_interval += 1
            unlogged, self._unlogged = self._unlogged, 0
        if unlogged:
            self._logger.warning(msg + " (%s more not logged before this)", *args, f"{unlogged:,}")
        else:
            self._logger.warning(msg, *args)
