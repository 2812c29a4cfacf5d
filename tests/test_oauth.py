"""OAuth against a loopback Capillary: token reuse, renewal, one regeneration on 401/498, one request at a time."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.capillary.auth import OAUTH_HEADER, CapillaryOAuth, OAuthClient, OAuthToken
from bot.capillary.client import CapillaryClient
from bot.domain.coupon import CodeCase
from bot.domain.errors import CapillaryAuthError
from tests.conftest import sample_bytes
from tests.support.loopback import LoopbackServer, Recorded, Reply


class OAuthCapillary:
    def __init__(self, ttl: int = 300) -> None:
        self.ttl = ttl
        self.issued = 0
        self.valid: set[str] = set()
        self.reject_key = False
        self.token_delay = 0.0
        self.lock = threading.Lock()
        self.server = LoopbackServer(self.route)

    def route(self, request: Recorded) -> Reply:
        if request.path == "/v3/oauth/token/generate":
            body = request.json()
            if self.reject_key or body != {"key": "client-key", "secret": "client-secret"}:
                return Reply(
                    200,
                    {"data": None, "errors": [{"code": 320001, "message": "Invalid client key and secret"}]},
                    delay=self.token_delay,
                )
            with self.lock:
                self.issued += 1
                token = f"jwt-{self.issued}"
                self.valid.add(token)
            return Reply(
                200, {"data": {"accessToken": token, "ttlSeconds": self.ttl}, "errors": None}, delay=self.token_delay
            )
        if request.headers.get(OAUTH_HEADER.lower()) not in self.valid or "authorization" in request.headers:
            return Reply(401, {"errors": [{"code": 401, "message": "token expired"}]})
        return Reply(200, sample_bytes("lower"), {"Content-Type": "application/json"})

    def coupon_calls(self) -> list[Recorded]:
        return self.server.matching("/v2/")


@pytest.fixture
def oauth_capillary():
    stand_in = OAuthCapillary()
    yield stand_in
    stand_in.server.close()


def client_for(stand_in: OAuthCapillary, monotonic=None, store=None) -> CapillaryClient:
    options = {"monotonic": monotonic} if monotonic else {}
    return CapillaryClient(stand_in.server.url, OAuthClient("client-key", "client-secret"), store=store, **options)


def test_token_is_generated_sent_and_reused(oauth_capillary: OAuthCapillary) -> None:
    client = client_for(oauth_capillary)
    for _ in range(3):
        assert len(client.fetch_coupons(1, CodeCase.LOWER).coupons) == 7
    assert oauth_capillary.issued == 1
    for call in oauth_capillary.coupon_calls():
        assert call.headers[OAUTH_HEADER.lower()] == "jwt-1" and "authorization" not in call.headers


def test_token_is_renewed_shortly_before_it_expires(oauth_capillary: OAuthCapillary) -> None:
    now = [100.0]
    client = client_for(oauth_capillary, monotonic=lambda: now[0])
    client.fetch_coupons(1, CodeCase.LOWER)
    now[0] += 300 - 61  # a minute before expiry: still good
    client.fetch_coupons(1, CodeCase.LOWER)
    assert oauth_capillary.issued == 1
    now[0] += 40  # inside the renewal margin
    client.fetch_coupons(1, CodeCase.LOWER)
    assert oauth_capillary.issued == 2


@pytest.mark.parametrize("status", [401, 498])
def test_a_rejected_token_is_regenerated_once_and_the_request_retried(status: int) -> None:
    issued: list[str] = []

    def generate() -> OAuthToken:
        issued.append(f"t{len(issued)}")
        return OAuthToken(issued[-1], 3600)

    auth = CapillaryOAuth(lambda _rejected: generate())
    import httpx

    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers[OAUTH_HEADER])
        return httpx.Response(status if len(seen) == 1 else 200, json={"entity": []})

    with httpx.Client(transport=httpx.MockTransport(handler), auth=auth) as http:
        assert http.get("https://x/v2/customers/1/coupons").status_code == 200
    assert seen == ["t0", "t1"]


def test_a_token_revoked_server_side_is_replaced(oauth_capillary: OAuthCapillary) -> None:
    client = client_for(oauth_capillary)
    client.fetch_coupons(1, CodeCase.LOWER)
    oauth_capillary.valid.clear()  # Capillary forgot it early
    assert len(client.fetch_coupons(1, CodeCase.LOWER).coupons) == 7
    assert oauth_capillary.issued == 2


def test_one_token_request_at_a_time_across_threads(oauth_capillary: OAuthCapillary) -> None:
    oauth_capillary.token_delay = 0.3
    client = client_for(oauth_capillary)
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda n: client.fetch_coupons(n, CodeCase.LOWER), range(16)))
    assert all(len(r.coupons) == 7 for r in results)
    assert oauth_capillary.issued == 1
    assert len(oauth_capillary.server.matching("/v3/oauth")) == 1


def test_a_rejected_key_and_secret_is_a_clear_auth_error(oauth_capillary: OAuthCapillary) -> None:
    oauth_capillary.reject_key = True
    with pytest.raises(CapillaryAuthError, match="OAuth client key and secret were rejected"):
        client_for(oauth_capillary).fetch_coupons(1, CodeCase.LOWER)
    assert oauth_capillary.coupon_calls() == []


def test_the_token_request_sends_key_and_secret_as_json(oauth_capillary: OAuthCapillary) -> None:
    client_for(oauth_capillary).fetch_coupons(1, CodeCase.LOWER)
    [token_call] = oauth_capillary.server.matching("/v3/oauth/token/generate")
    assert token_call.method == "POST" and json.loads(token_call.body) == {
        "key": "client-key",
        "secret": "client-secret",
    }


def test_a_token_service_outage_is_retried_like_any_other() -> None:
    import httpx

    answers = [
        httpx.Response(503, text="<html>down</html>"),
        httpx.Response(200, json={"data": {"accessToken": "t", "ttlSeconds": 60}}),
        httpx.Response(200, json={"entity": []}),
    ]
    client = CapillaryClient(
        "https://x/",
        OAuthClient("k", "s"),
        sleep=lambda _s: None,
        transport=httpx.MockTransport(lambda _r: answers.pop(0)),
    )
    assert client.fetch_coupons(1, CodeCase.UPPER).attempts == 2


def test_processes_sharing_a_store_share_one_token(oauth_capillary: OAuthCapillary) -> None:
    from bot.store import MemoryStore

    store = MemoryStore(1024 * 1024)  # what Redis is to several processes
    first, second = (client_for(oauth_capillary, store=store) for _ in range(2))
    first.fetch_coupons(1, CodeCase.LOWER)
    second.fetch_coupons(1, CodeCase.LOWER)
    assert oauth_capillary.issued == 1
    oauth_capillary.valid.clear()  # Capillary rejects it: a new one is made once, and shared again
    second.fetch_coupons(1, CodeCase.LOWER)
    first.fetch_coupons(1, CodeCase.LOWER)
    assert oauth_capillary.issued == 2
