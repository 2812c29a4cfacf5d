"""`COUPONS_MAX_INFLIGHT_MB`: answers past the memory bound wait within their deadline, then are told busy; whatever
happens, what an answer held is given back."""

from __future__ import annotations

import gzip
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.capillary.client import CapillaryClient
from bot.capillary.deadline import Deadline
from bot.capillary.inflight import PARSE_WEIGHT, STEP_BYTES, InflightBytes
from bot.domain.coupon import CodeCase
from bot.errors import BotBusy, CapillaryResponseTooLarge
from bot.settings import BasicCredentials
from tests.conftest import CapillaryStandIn, sample_bytes
from tests.support.loopback import Reply

MB = 1024 * 1024


def seconds_from_now(seconds: float) -> Deadline:
    return Deadline(time.monotonic() + seconds, time.monotonic)


def test_an_answer_past_the_bound_waits_and_goes_ahead_when_room_is_made() -> None:
    budget = InflightBytes(4 * MB * PARSE_WEIGHT)
    went_ahead = threading.Event()

    def second() -> None:
        with budget.reserving(seconds_from_now(5)) as reservation:
            reservation.cover(2 * MB)
            went_ahead.set()

    with budget.reserving(seconds_from_now(5)) as first:
        first.cover(3 * MB)
        waiter = threading.Thread(target=second)
        waiter.start()
        assert not went_ahead.wait(0.2)  # 3 + 2 MB do not fit in 4: the second waits
    assert went_ahead.wait(5)  # the first is done: room for the second
    waiter.join()
    assert budget.used == 0


def test_an_answer_that_finds_no_room_within_its_deadline_is_told_busy() -> None:
    budget = InflightBytes(4 * MB * PARSE_WEIGHT)
    with budget.reserving(seconds_from_now(5)) as first:
        first.cover(3 * MB)
        started = time.monotonic()
        with pytest.raises(BotBusy), budget.reserving(seconds_from_now(0.1)) as second:
            second.cover(2 * MB)
        assert time.monotonic() - started < 1
        assert budget.used == 3 * MB * PARSE_WEIGHT  # the refused one gave back what it had taken
    assert budget.used == 0


def test_one_answer_alone_goes_ahead_however_large() -> None:
    budget = InflightBytes(MB)
    with budget.reserving(seconds_from_now(0)) as alone:
        alone.cover(50 * MB)
        assert budget.used == 50 * MB * PARSE_WEIGHT
    assert budget.used == 0


def test_a_body_of_unknown_length_reserves_a_megabyte_at_a_time() -> None:
    budget = InflightBytes(100 * MB)
    with budget.reserving(seconds_from_now(1)) as reservation:
        for size in range(0, 3 * MB, 64 * 1024):
            reservation.cover(size + 1)
        assert reservation.body_bytes == 3 * STEP_BYTES
        assert budget.used == 3 * STEP_BYTES * PARSE_WEIGHT


def client_for(url: str, **options: object) -> CapillaryClient:
    options.setdefault("sleep", lambda _s: None)
    return CapillaryClient(url, BasicCredentials("u", "p"), **options)  # type: ignore[arg-type]


def test_a_lookup_past_the_bound_is_told_busy_and_then_answered_once_room_is_made(capillary: CapillaryStandIn) -> None:
    capillary.answers[1] = Reply(body=sample_bytes("lower"))
    client = client_for(capillary.url, max_inflight_bytes=2 * MB * PARSE_WEIGHT, deadline=0.3)
    with client.inflight.reserving(seconds_from_now(5)) as other_lookup:
        other_lookup.cover(2 * MB)  # another lookup's large answer, being read
        with pytest.raises(BotBusy):
            client.fetch_coupons(1, CodeCase.LOWER)
    assert client.inflight.used == 0
    assert len(client.fetch_coupons(1, CodeCase.LOWER).coupons) == 7
    assert client.inflight.used == 0


def test_a_waiting_lookup_is_answered_when_the_other_answer_is_done(capillary: CapillaryStandIn) -> None:
    capillary.answers[1] = Reply(body=sample_bytes("lower"))
    client = client_for(capillary.url, max_inflight_bytes=2 * MB * PARSE_WEIGHT, deadline=5)
    with ThreadPoolExecutor(1) as pool:
        with client.inflight.reserving(seconds_from_now(5)) as other_lookup:
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
