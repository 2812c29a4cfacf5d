"""`InflightBytes`: how much memory Capillary's answers may take, in this process, while they are downloaded and
parsed (`COUPONS_MAX_INFLIGHT_MB`).

Each answer reserves its bytes as they arrive (all at once when the length is declared and not compressed),
weighted for what parsing makes of them. An answer that would pass the bound waits, within its deadline, for
others to finish, then is refused as busy. One answer alone is never refused, however large: the response cap
bounds it. Without this, 20 large customers at once held 3.2 GB until the next full collection.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from bot.capillary.deadline import Deadline
from bot.errors import BotBusy

# A body's own bytes, and about twice as many in the objects parsing makes of them (measured on the samples).
PARSE_WEIGHT = 3
# Reserve at least this much more at a time while reading a body of unknown length: a lock per megabyte, not per
# chunk.
STEP_BYTES = 1024 * 1024


class InflightBytes:
    def __init__(self, max_bytes: int) -> None:
        self._max = max_bytes
        self._used = 0
        self._changed = threading.Condition()

    @property
    def used(self) -> int:
        """Bytes reserved right now (weighted)."""
        with self._changed:
            return self._used

    @contextmanager
    def reserving(self, deadline: Deadline) -> Iterator[Reservation]:
        """A reservation for one answer, released when the block ends (answer read and parsed, or failed)."""
        reservation = Reservation(self, deadline)
        try:
            yield reservation
        finally:
            self._release(reservation)

    def _take(self, reservation: Reservation, weighted: int) -> None:
        with self._changed:
            # Alone (nobody else holds anything), an answer goes ahead: waiting could not make room for it.
            while self._used + weighted > self._max and self._used > reservation.weighted:
                remaining = reservation.deadline.remaining()
                if remaining <= 0 or not self._changed.wait(remaining):
                    raise BotBusy("too many large Capillary answers in memory at once")
            self._used += weighted
            reservation.weighted += weighted

    def _release(self, reservation: Reservation) -> None:
        if not reservation.weighted:
            return
        with self._changed:
            self._used -= reservation.weighted
            reservation.weighted = 0
            self._changed.notify_all()


class Reservation:
    """What one answer holds of an `InflightBytes`."""

    def __init__(self, budget: InflightBytes, deadline: Deadline) -> None:
        self.budget = budget
        self.deadline = deadline
        self.body_bytes = 0  # the body bytes covered so far
        self.weighted = 0

    def cover(self, body_bytes: int) -> None:
        """Make sure `body_bytes` of body are reserved; wait (within the deadline) for room, or raise `BotBusy`."""
        if body_bytes <= self.body_bytes:
            return
        grown = max(body_bytes, self.body_bytes + STEP_BYTES)
        self.budget._take(self, (grown - self.body_bytes) * PARSE_WEIGHT)
        self.body_bytes = grown
