"""A misbehaving Capillary on a real socket: every fault ends within one deadline, and memory stays bounded."""

from __future__ import annotations

import gc
import gzip
import threading
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.capillary.auth import BasicLogin, OAuthClient
from bot.capillary.client import CapillaryClient
from bot.coupon_service import CouponService
from bot.domain.coupon import CodeCase
from bot.domain.errors import (
    BotBusy,
    CapillaryBadResponse,
    CapillaryResponseTooLarge,
    CapillaryTooSlow,
    CapillaryUnavailable,
)
from bot.store import MemoryStore
from tests.conftest import CapillaryStandIn, sample_bytes
from tests.support.loopback import LoopbackServer, Recorded, Reply

MB = 1024 * 1024


def client_for(url: str, **options: object) -> CapillaryClient:
    options.setdefault("sleep", lambda _s: None)
    return CapillaryClient(url, BasicLogin("u", "p"), **options)  # type: ignore[arg-type]


def test_a_dripping_body_is_cut_at_the_deadline(capillary: CapillaryStandIn) -> None:
    capillary.answers[1] = Reply(body=sample_bytes("lower"), drip=0.05, chunk=64)
    client = client_for(capillary.url, deadline=1.0, read_timeout=5.0)
    started = time.monotonic()
    with pytest.raises(CapillaryTooSlow):
        client.fetch_coupons(1, CodeCase.UPPER)
    assert time.monotonic() - started < 1.5
    assert len(capillary.coupon_calls()) == 1  # nothing left of the deadline for a second attempt


def test_a_gzip_bomb_stops_at_the_cap(capillary: CapillaryStandIn) -> None:
    bomb = gzip.compress(b" " * (64 * MB), compresslevel=9)  # well under 1 MB on the wire
    capillary.answers[2] = Reply(body=bomb, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"})
    client = client_for(capillary.url, max_response_bytes=4 * MB)
    with pytest.raises(CapillaryResponseTooLarge, match="larger than 4 MB"):
        client.fetch_coupons(2, CodeCase.UPPER)
    assert len(capillary.coupon_calls()) == 1  # too large is not worth asking again


@pytest.mark.parametrize(
    ("reply", "refusal"),
    [
        (Reply(body=gzip.compress(b" " * (64 * MB)), headers={"Content-Encoding": "gzip"}), CapillaryResponseTooLarge),
        (Reply(status=503, body=b"x" * (3 * MB)), CapillaryUnavailable),  # sent four times, refused four times
        (Reply(body=b"x" * (3 * MB)), CapillaryBadResponse),  # 200, not JSON: refused while parsing
    ],
    ids=["gzip bomb", "large error body", "unreadable body"],
)
def test_a_refused_answer_leaves_nothing_behind_even_with_the_collector_off(
    capillary: CapillaryStandIn, reply: Reply, refusal: type[Exception]
) -> None:
    # A refused body must go with its error, by reference counting: the bot runs the collector rarely (`gc_tuning`),
    # and 8 bombs at once, each kept until a collection, held 1.7 GB.
    # Through the service, as a lookup goes: the fetch its callers share keeps the error, and the error its frames.
    coupons = CouponService(client_for(capillary.url, max_response_bytes=4 * MB), MemoryStore(64 * MB))
    for customer in (5, 6, 7):
        capillary.answers[customer] = reply
    gc.disable()
    tracemalloc.start()
    try:
        before, refused = tracemalloc.get_traced_memory()[0], 0
        for customer in (5, 6, 7):
            try:
                coupons.lookup(customer, CodeCase.UPPER)
            except refusal:
                refused += 1
        left = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
        gc.enable()
    assert refused == 3
    assert left < MB


def test_a_compressed_answer_under_the_cap_is_read(capillary: CapillaryStandIn) -> None:
    body = gzip.compress(sample_bytes("lower"))
    capillary.answers[3] = Reply(body=body, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"})
    assert len(client_for(capillary.url, max_response_bytes=MB).fetch_coupons(3, CodeCase.LOWER).coupons) == 7


def test_a_declared_length_over_the_cap_is_refused_before_reading(capillary: CapillaryStandIn) -> None:
    capillary.answers[4] = Reply(body=b" " * (2 * MB))
    with pytest.raises(CapillaryResponseTooLarge):
        client_for(capillary.url, max_response_bytes=MB).fetch_coupons(4, CodeCase.UPPER)


def test_a_slow_token_service_counts_against_the_deadline() -> None:
    def route(request: Recorded) -> Reply:
        if request.path.endswith("/token/generate"):
            return Reply(body={"data": {"accessToken": "t", "ttlSeconds": 60}}, delay=4)
        return Reply(body=sample_bytes("lower"))

    server = LoopbackServer(route)
    try:
        client = CapillaryClient(server.url, OAuthClient("k", "s"), deadline=1.0, sleep=lambda _s: None)
        started = time.monotonic()
        with pytest.raises(CapillaryTooSlow):
            client.fetch_coupons(1, CodeCase.UPPER)
        assert time.monotonic() - started < 1.5
    finally:
        server.close()


def test_a_full_queue_is_told_busy_at_once(capillary: CapillaryStandIn) -> None:
    capillary.answers[5] = Reply(body=sample_bytes("lower"), delay=3)
    client = client_for(capillary.url, max_concurrent=1, deadline=2.0, read_timeout=5.0)
    # One call holds the only slot; four more may wait for it (4 per slot); the sixth is refused at once.
    with ThreadPoolExecutor(5) as pool:
        waiting = [pool.submit(client.fetch_coupons, 5, CodeCase.UPPER) for _ in range(5)]
        capillary.server.wait_for(1, path_prefix="/v2/customers/5/")
        deadline = time.monotonic() + 2
        while client._queued < 4 and time.monotonic() < deadline:
            threading.Event().wait(0.01)
        started = time.monotonic()
        with pytest.raises(BotBusy):
            client.fetch_coupons(5, CodeCase.UPPER)
        assert time.monotonic() - started < 0.1
        outcomes = [type(f.exception()).__name__ for f in waiting]
    # The waiters' wait counted against their deadline: none outlived it.
    assert sorted(outcomes) == ["BotBusy"] * 4 + ["CapillaryTooSlow"]
