"""`InflightBytes`: how much memory Capillary's large answers may take, in this process, from their download until
the lookup that asked has answered (`COUPONS_MAX_INFLIGHT_MB`).

An answer past its first megabyte reserves its bytes as they arrive (all at once when the length is declared and
not compressed), weighted for the most parsing can make of them. One that would pass the bound waits, within its
deadline, for other lookups to answer, then is refused as busy. One answer alone is never refused, however large:
the response cap bounds it; small answers (a profile, a token, a check) never wait. Without this, 20 customers of
100,000 coupons at once took 2.4 GB.
"""

from __future__ import annotations

import threading

from bot.capillary.deadline import Deadline
from bot.domain.errors import BotBusy

# A body's bytes count this many times while it is read and parsed: the body itself, and up to 15 times as much in
# the objects parsing makes when coupons are small (`coupons.parsed_bytes`). Parsing holds the interpreter lock, so
# fewer large parses at once cost no throughput.
PARSE_WEIGHT = 16
# Bodies up to this size reserve nothing; larger ones reserve at least this much more at a time while they are read
# (a lock per megabyte, not per chunk).
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

    def reserve(self, deadline: Deadline) -> Reservation:
        """An empty reservation for one answer; it grows with `cover` and ends with `release`."""
        return Reservation(self, deadline)

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
        if body_bytes <= max(self.body_bytes, STEP_BYTES):
            return
        grown = max(body_bytes, self.body_bytes + STEP_BYTES)
        self.budget._take(self, (grown - self.body_bytes) * PARSE_WEIGHT)
        self.body_bytes = grown

    def release(self) -> None:
        self.budget._release(self)
