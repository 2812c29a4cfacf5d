"""`COUPONS_MAX_INFLIGHT_MB`: answers past the memory bound wait within their deadline, then are told busy; whatever
happens, what an answer held is given back."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest

from bot.capillary.auth import BasicLogin
from bot.capillary.client import CapillaryClient
from bot.capillary.deadline import Deadline
from bot.capillary.inflight import PARSE_WEIGHT, STEP_BYTES, InflightBytes, Reservation
from bot.domain.coupon import CodeCase
from bot.domain.errors import BotBusy, CapillaryResponseTooLarge
from tests.conftest import CapillaryStandIn, sample_bytes
from tests.support.loopback import Reply

MB = 1024 * 1024


@contextmanager
def reserving(budget: InflightBytes, deadline: Deadline) -> Iterator[Reservation]:
    """A reservation released when the block ends."""
    reservation = budget.reserve(deadline)
    try:
        yield reservation
    finally:
        reservation.release()


def seconds_from_now(seconds: float) -> Deadline:
    return Deadline(time.monotonic() + seconds, time.monotonic)


def test_an_answer_past_the_bound_waits_and_goes_ahead_when_room_is_made() -> None:
    budget = InflightBytes(4 * MB * PARSE_WEIGHT)
    went_ahead = threading.Event()

    def second() -> None:
        with reserving(budget, seconds_from_now(5)) as reservation:
            reservation.cover(2 * MB)
            went_ahead.set()

    with reserving(budget, seconds_from_now(5)) as first:
        first.cover(3 * MB)
        waiter = threading.Thread(target=second)
        waiter.start()
        assert not went_ahead.wait(0.2)  # 3 + 2 MB do not fit in 4: the second waits
    assert went_ahead.wait(5)  # the first is done: room for the second
    waiter.join()
    assert budget.used == 0


def test_an_answer_that_finds_no_room_within_its_deadline_is_told_busy() -> None:
    budget = InflightBytes(4 * MB * PARSE_WEIGHT)
    with reserving(budget, seconds_from_now(5)) as first:
        first.cover(3 * MB)
        started = time.monotonic()
        with pytest.raises(BotBusy), reserving(budget, seconds_from_now(0.1)) as second:
            second.cover(2 * MB)
        assert time.monotonic() - started < 1
        assert budget.used == 3 * MB * PARSE_WEIGHT  # the refused one gave back what it had taken
    assert budget.used == 0


def test_one_answer_alone_goes_ahead_however_large() -> None:
    budget = InflightBytes(MB)
    with reserving(budget, seconds_from_now(0)) as alone:
        alone.cover(50 * MB)
        assert budget.used == 50 * MB * PARSE_WEIGHT
    assert budget.used == 0


def test_a_small_answer_never_waits() -> None:
    budget = InflightBytes(MB)
    with reserving(budget, seconds_from_now(5)) as large:
        large.cover(2 * MB)
        with reserving(budget, seconds_from_now(0)) as profile:
            profile.cover(STEP_BYTES)
        assert budget.used == 2 * MB * PARSE_WEIGHT


def test_a_body_of_unknown_length_reserves_what_it_has_read_a_megabyte_at_a_time() -> None:
    budget = InflightBytes(100 * MB * PARSE_WEIGHT)
    covered = set()
    with reserving(budget, seconds_from_now(1)) as reservation:
        for read in range(64 * 1024, 4 * MB, 64 * 1024):
            reservation.cover(read)
            assert read <= max(reservation.body_bytes, STEP_BYTES) < read + STEP_BYTES
            covered.add(reservation.body_bytes)
        assert budget.used == reservation.body_bytes * PARSE_WEIGHT
    assert len(covered - {0}) == 4  # nothing for the first megabyte, then a megabyte at a time, for 4 MB


def seven_coupons_in(megabytes: int) -> bytes:
    """The sample's seven coupons, padded with spaces to a large answer."""
    return sample_bytes("lower").replace(b"[", b"[" + b" " * (megabytes * MB), 1)


def client_for(url: str, **options: object) -> CapillaryClient:
    options.setdefault("sleep", lambda _s: None)
    return CapillaryClient(url, BasicLogin("u", "p"), **options)  # type: ignore[arg-type]


def test_a_lookup_past_the_bound_is_told_busy_and_then_answered_once_room_is_made(capillary: CapillaryStandIn) -> None:
    capillary.answers[1] = Reply(body=seven_coupons_in(2))
    client = client_for(capillary.url, max_inflight_bytes=3 * MB * PARSE_WEIGHT, deadline=0.3)
    with reserving(client.inflight, seconds_from_now(5)) as other_lookup:
        other_lookup.cover(2 * MB)  # another lookup's large answer, being read
        with pytest.raises(BotBusy):
            client.fetch_coupons(1, CodeCase.LOWER)
    assert client.inflight.used == 0
    assert len(client.fetch_coupons(1, CodeCase.LOWER).coupons) == 7
    assert client.inflight.used == 0


def test_a_waiting_lookup_is_answered_when_the_other_answer_is_done(capillary: CapillaryStandIn) -> None:
    capillary.answers[1] = Reply(body=seven_coupons_in(2))
    client = client_for(capillary.url, max_inflight_bytes=3 * MB * PARSE_WEIGHT, deadline=5)
    with ThreadPoolExecutor(1) as pool:
        with reserving(client.inflight, seconds_from_now(5)) as other_lookup:
            other_lookup.cover(2 * MB)
            waiting = pool.submit(client.fetch_coupons, 1, CodeCase.LOWER)
            capillary.server.wait_for(1, path_prefix="/v2/customers")  # asked; its answer waits for room
        assert len(waiting.result(timeout=5).coupons) == 7
    assert client.inflight.used == 0


def test_a_refused_body_gives_its_reservation_back(capillary: CapillaryStandIn) -> None:
    bomb = gzip.compress(b" " * (16 * MB), compresslevel=9)
    capillary.answers[2] = Reply(body=bomb, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"})
    client = client_for(capillary.url, max_response_bytes=4 * MB)
    with pytest.raises(CapillaryResponseTooLarge):
        client.fetch_coupons(2, CodeCase.UPPER)
    assert client.inflight.used == 0


def test_a_large_answer_is_held_until_the_lookup_has_answered(capillary: CapillaryStandIn) -> None:
    capillary.answers[3] = Reply(body=seven_coupons_in(2))
    answered: list[Callable[[], object]] = []
    client = client_for(capillary.url, when_answered=answered.append)
    assert len(client.fetch_coupons(3, CodeCase.LOWER).coupons) == 7
    assert client.inflight.used > 2 * MB * PARSE_WEIGHT  # what parsing made is still in use
    for release in answered:
        release()
    assert client.inflight.used == 0
