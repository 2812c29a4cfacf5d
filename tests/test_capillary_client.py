from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest

from bot.capillary.auth import BasicLogin, basic_authorization
from bot.capillary.client import CapillaryClient
from bot.capillary.http import parse_retry_after
from bot.domain.coupon import CodeCase
from bot.domain.errors import (
    CapillaryAuthError,
    CapillaryBadResponse,
    CapillaryForbidden,
    CapillaryReportedError,
    CapillaryUnavailable,
    CustomerNotFound,
    InvalidCustomerId,
)
from tests.conftest import CapillaryStandIn, sample_bytes
from tests.support.loopback import Reply, nowhere_url

CREDENTIALS = BasicLogin("store.server", "server123")


def test_basic_authorization_matches_the_published_test_vector() -> None:
    assert basic_authorization("store.server", "server123") == (
        "Basic c3RvcmUuc2VydmVyOjhhMTZhNmI3MDUwNWViMWYxZmY3Y2RjMGNkNTU1OWE3"
    )


def mock_client(handler: Callable[[httpx.Request], httpx.Response], **options: object) -> CapillaryClient:
    options.setdefault("sleep", lambda _seconds: None)
    return CapillaryClient(
        "https://eu.api.capillarytech.com/", CREDENTIALS, transport=httpx.MockTransport(handler), **options
    )  # type: ignore[arg-type]


def test_request_shape() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=sample_bytes("lower"), headers={"set-cookie": "_cfuvid=abc; Path=/"})

    client = mock_client(handler)
    result = client.fetch_coupons(565032176, CodeCase.LOWER)
    client.fetch_coupons(565032176, CodeCase.AS_IT_IS)
    assert len(result.coupons) == 7 and result.attempts == 1
    request = seen[0]
    assert str(request.url) == "https://eu.api.capillarytech.com/v2/customers/565032176/coupons?coupon_code_case=LOWER"
    assert request.method == "GET"
    assert request.headers["accept"] == "application/json"
    assert request.headers["authorization"] == basic_authorization("store.server", "server123")
    assert "cookie" not in seen[1].headers  # the CDN's cookie is not sent back
    assert seen[1].url.params["coupon_code_case"] == "AS_IT_IS"


def test_base_url_with_a_path_prefix() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json={"entity": [], "errors": []})

    client = CapillaryClient("http://127.0.0.1:9/staging/", CREDENTIALS, transport=httpx.MockTransport(handler))
    client.fetch_coupons(1, CodeCase.UPPER)
    assert seen == ["http://127.0.0.1:9/staging/v2/customers/1/coupons?coupon_code_case=UPPER"]


def error_body(code: object, message: str = "m") -> bytes:
    return json.dumps({"entity": None, "errors": [{"status": False, "code": code, "message": message}]}).encode()


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (400, error_body("INVALID_CUSTOMER_ID"), InvalidCustomerId),
        (400, b"", InvalidCustomerId),
        (401, b"", CapillaryAuthError),
        (403, error_body(4000), CapillaryForbidden),
        (404, error_body("CUSTOMER_NOT_FOUND"), CustomerNotFound),
        (404, error_body(8015, "Customer not found for the given identifiers"), CustomerNotFound),
        (404, b"<html>not found</html>", CustomerNotFound),
        (200, error_body(8015), CustomerNotFound),
        (200, error_body(8013), InvalidCustomerId),
        (200, error_body(9999, "Something odd"), CapillaryReportedError),
        (200, b"<html><body>Maintenance</body></html>", CapillaryBadResponse),
        (200, b'{"entity": [', CapillaryBadResponse),
        (200, b'{"entity": "nope"}', CapillaryBadResponse),
        (200, b"[]", CapillaryBadResponse),
        (200, b'{"entity": [], "success": false}', CapillaryReportedError),
        (418, b"", CapillaryReportedError),
    ],
)
def test_each_documented_error_and_fault_becomes_our_error(status: int, body: bytes, error: type) -> None:
    client = mock_client(lambda _r: httpx.Response(status, content=body))
    with pytest.raises(error):
        client.fetch_coupons(565032176, CodeCase.UPPER)


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (404, error_body("NO_COUPONS_FOUND")),
        (200, b'{"entity": [], "errors": [], "success": true}'),
        (200, b'{"entity": null}'),
    ],
)
def test_no_coupons_is_an_empty_answer_not_an_error(status: int, body: bytes) -> None:
    client = mock_client(lambda _r: httpx.Response(status, content=body))
    assert client.fetch_coupons(565032176, CodeCase.UPPER).coupons == ()


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_client_errors_are_never_retried(status: int) -> None:
    calls: list[int] = []

    def handler(_request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(status)

    with pytest.raises(Exception):  # noqa: B017 - the type is checked in the test above
        mock_client(handler).fetch_coupons(1, CodeCase.UPPER)
    assert len(calls) == 1


@pytest.mark.parametrize(
    "first",
    [
        httpx.Response(429),
        httpx.Response(500),
        httpx.Response(502, content=b"<html>502</html>"),
        httpx.Response(503),
        httpx.Response(504),
        httpx.Response(521),
        httpx.Response(200, content=error_body(521)),
        httpx.Response(503, content=error_body(4001)),
    ],
)
def test_retryable_failures_are_retried_then_succeed(first: httpx.Response) -> None:
    answers = [first, httpx.Response(200, content=sample_bytes("lower"))]
    sleeps: list[float] = []
    client = mock_client(lambda _r: answers.pop(0), sleep=sleeps.append, jitter=lambda: 1.0)
    result = client.fetch_coupons(1, CodeCase.LOWER)
    assert result.attempts == 2 and len(result.coupons) == 7
    assert sleeps == [0.25]


def test_backoff_grows_and_gives_up_after_the_last_attempt() -> None:
    sleeps: list[float] = []
    client = mock_client(lambda _r: httpx.Response(503), sleep=sleeps.append, jitter=lambda: 1.0, deadline=60)
    with pytest.raises(CapillaryUnavailable) as raised:
        client.fetch_coupons(1, CodeCase.UPPER)
    assert sleeps == [0.25, 0.5, 1.0]
    assert raised.value.attempts == 4


def test_retry_after_seconds_is_honoured() -> None:
    answers = [httpx.Response(429, headers={"Retry-After": "2"}), httpx.Response(200, content=b'{"entity": []}')]
    sleeps: list[float] = []
    mock_client(lambda _r: answers.pop(0), sleep=sleeps.append).fetch_coupons(1, CodeCase.UPPER)
    assert sleeps == [2.0]


def test_a_retry_after_beyond_the_deadline_gives_up_at_once() -> None:
    sleeps: list[float] = []
    client = mock_client(lambda _r: httpx.Response(429, headers={"Retry-After": "120"}), sleep=sleeps.append)
    with pytest.raises(CapillaryUnavailable, match="rate limiting"):
        client.fetch_coupons(1, CodeCase.UPPER)
    assert sleeps == []


def test_parse_retry_after() -> None:
    now = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("3", now=now) == 3.0
    assert parse_retry_after("Wed, 25 Nov 2026 12:00:04 GMT", now=now) == 4.0
    assert parse_retry_after("Wed, 25 Nov 2026 11:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after(None, now=now) is None


def test_connection_errors_are_retried_and_end_as_unavailable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(CapillaryUnavailable, match="connect"):
        mock_client(handler).fetch_coupons(1, CodeCase.UPPER)


# --- the same client against a real socket -------------------------------------------------------------


def real_client(stand_in: CapillaryStandIn, **options: object) -> CapillaryClient:
    return CapillaryClient(stand_in.url, CREDENTIALS, **options)  # type: ignore[arg-type]


def test_real_server_serves_the_sample(capillary: CapillaryStandIn) -> None:
    result = real_client(capillary).fetch_coupons(565032176, CodeCase.LOWER)
    assert [c.code for c in result.coupons][:2] == ["tt6wzp7xnw", "ziwy7lzgw8"]
    request = capillary.coupon_calls()[0]
    assert request.query == {"coupon_code_case": ["LOWER"]}
    assert request.headers["authorization"] == basic_authorization("store.server", "server123")


def test_real_server_that_hangs_ends_within_the_deadline(capillary: CapillaryStandIn) -> None:
    import time

    capillary.answers[7] = Reply(delay=30, body=b"{}")
    client = real_client(capillary, read_timeout=0.5, deadline=1.5, jitter=lambda: 1.0)
    started = time.monotonic()
    with pytest.raises(CapillaryUnavailable, match="in time"):
        client.fetch_coupons(7, CodeCase.UPPER)
    assert time.monotonic() - started < 2.5
    # A timeout is retried while the deadline allows: times out at 0.5 s, waits 0.25 s, times out again at
    # 1.25 s; a third try after a 0.5 s wait would start past the 1.5 s deadline, so there is none.
    assert len(capillary.coupon_calls()) == 2


def test_real_server_html_502_then_success(capillary: CapillaryStandIn) -> None:
    capillary.answers[8] = [
        Reply(502, "<html><h1>Bad gateway</h1></html>", {"Content-Type": "text/html"}),
        Reply(500, {"errors": [{"code": "INTERNAL_SERVER_ERROR"}]}),
        Reply(200, sample_bytes("default"), {"Content-Type": "application/json"}),
    ]
    result = real_client(capillary).fetch_coupons(8, CodeCase.UPPER)
    assert result.attempts == 3 and [c.code for c in result.coupons] == ["ER07BCJ8", "H306ORH2"]


def test_real_server_429_with_retry_after(capillary: CapillaryStandIn) -> None:
    capillary.answers[9] = [
        Reply(429, "<html>Too many</html>", {"Retry-After": "1", "Content-Type": "text/html"}),
        Reply(200, b'{"entity": []}'),
    ]
    result = real_client(capillary).fetch_coupons(9, CodeCase.UPPER)
    assert result.attempts == 2 and result.upstream_ms >= 1000


def test_real_server_malformed_body(capillary: CapillaryStandIn) -> None:
    capillary.answers[10] = Reply(200, b'{"entity": [{"id": "not a number"}]}')
    with pytest.raises(CapillaryBadResponse, match="unexpected shape"):
        real_client(capillary).fetch_coupons(10, CodeCase.UPPER)


def test_connection_refused_on_a_real_port() -> None:
    client = CapillaryClient(nowhere_url(), CREDENTIALS, deadline=1.0, sleep=lambda _s: None)
    with pytest.raises(CapillaryUnavailable, match="connect"):
        client.fetch_coupons(1, CodeCase.UPPER)
