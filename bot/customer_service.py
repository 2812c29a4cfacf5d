"""`CustomerService`: who a customer is, through the shared store like the coupons (`CouponService`).

`resolve(identifier)` turns a mobile number, email, card number or external ID into the customer (ID and
profile, one `customerDetails` call); `profile(customer_id)` reads the profile by ID, and `profile_soon` does it
on a thread, so the header of an answer costs no waiting next to the coupons. Same store, same TTL, one call
for N identical lookups anywhere.

Store keys never hold a mobile number or an email address: an identifier's key is a keyed hash (HMAC with the
button secret) of it, so the keys of a shared Redis say nothing about whom they are for.
"""

from __future__ import annotations

import contextvars
import hashlib
import hmac
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Protocol

from bot.capillary.customers import CustomerFetch, kept_profile
from bot.domain.customer import CustomerProfile, Identifier
from bot.shared_fetch import SharedFetch
from bot.store import Store

ENTRY_VERSION = b"customer/1\n"


class CustomerFetcher(Protocol):
    def fetch_customer_details(
        self, identifier: Identifier, *, source: str, account_id: str | None = None
    ) -> CustomerFetch: ...

    def fetch_customer(self, customer_id: int, *, source: str, account_id: str | None = None) -> CustomerFetch: ...


@dataclass(frozen=True)
class CustomerOutcome:
    profile: CustomerProfile
    cache_hit: bool
    attempts: int
    upstream_ms: int

    @property
    def customer_id(self) -> int:
        assert self.profile.id is not None  # every profile the service hands out names its customer
        return self.profile.id


class CustomerService:
    def __init__(
        self,
        fetcher: CustomerFetcher,
        store: Store,
        *,
        key_secret: str,
        source: str = "INSTORE",
        account_id: str | None = None,
        ttl_seconds: float = 60.0,
        deadline_seconds: float = 8.0,
        max_threads: int = 8,
    ) -> None:
        self._fetcher = fetcher
        self._store = store
        self._shared: SharedFetch[CustomerOutcome] = SharedFetch(
            store, ttl_seconds=ttl_seconds, deadline_seconds=deadline_seconds, as_shared=_as_hit
        )
        self._key = hashlib.sha256(b"coupons-bot customer keys\0" + key_secret.encode()).digest()
        self.source = source
        self._account_id = account_id
        self._ttl = ttl_seconds
        self.deadline_seconds = deadline_seconds
        self._threads = ThreadPoolExecutor(max_workers=max_threads, thread_name_prefix="coupons-profile")
        # Where the answer depends on the source and account: part of every key.
        self._scope = self._digest(f"{source}\0{account_id or ''}")[:12]

    def _digest(self, text: str) -> str:
        return hmac.new(self._key, text.encode(), hashlib.sha256).hexdigest()

    def identifier_key(self, identifier: Identifier) -> str:
        material = "\0".join((self._scope, identifier.kind.value, identifier.value))
        return f"customer:who:{self._digest(material)[:32]}"

    def profile_key(self, customer_id: int) -> str:
        return f"customer:profile:{self._scope}:{customer_id}"

    def resolve(self, identifier: Identifier, *, refresh: bool = False) -> CustomerOutcome:
        """The customer an identifier names, with their profile. Raises our Capillary errors (not found, …)."""

        def fetch() -> CustomerFetch:
            fetched = self._fetcher.fetch_customer_details(identifier, source=self.source, account_id=self._account_id)
            if self._ttl > 0 and fetched.profile.id is not None:  # a click on the answer then needs no profile call
                self._store.set(self.profile_key(fetched.profile.id), ENTRY_VERSION + fetched.body, self._ttl)
            return fetched

        return self._cached(self.identifier_key(identifier), fetch, refresh=refresh)

    def profile(self, customer_id: int, *, refresh: bool = False) -> CustomerOutcome:
        """The profile of a customer ID. Raises our Capillary errors."""

        def fetch() -> CustomerFetch:
            return self._fetcher.fetch_customer(customer_id, source=self.source, account_id=self._account_id)

        return self._cached(self.profile_key(customer_id), fetch, refresh=refresh)

    def profile_soon(self, customer_id: int, *, refresh: bool = False) -> Future[CustomerOutcome]:
        """`profile` on a thread of its own, within the caller's deadline (the context travels with it). A profile
        kept in this process's memory is read at once: handing that to a thread and back would take longer."""
        if not refresh and not self._store.shared:
            kept = self._shared.kept(self.profile_key(customer_id), _decoded)
            if kept is not None:
                done: Future[CustomerOutcome] = Future()
                done.set_result(kept)
                return done
        context = contextvars.copy_context()
        return self._threads.submit(context.run, self.profile, customer_id, refresh=refresh)

    def close(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)

    def _cached(self, key: str, fetch: Callable[[], CustomerFetch], *, refresh: bool) -> CustomerOutcome:
        def fetch_outcome() -> tuple[CustomerOutcome, bytes]:
            fetched = fetch()
            outcome = CustomerOutcome(fetched.profile, False, fetched.attempts, fetched.upstream_ms)
            return outcome, ENTRY_VERSION + fetched.body

        return self._shared.get(key, fetch_outcome, _decoded, refresh=refresh)


def _as_hit(outcome: CustomerOutcome) -> CustomerOutcome:
    return replace(outcome, cache_hit=True, attempts=0, upstream_ms=0)


def _decoded(entry: bytes) -> CustomerOutcome | None:
    """A kept entry read back as a cache hit; None when this version can't read it."""
    profile = kept_profile(entry[len(ENTRY_VERSION) :]) if entry.startswith(ENTRY_VERSION) else None
    return None if profile is None else CustomerOutcome(profile, cache_hit=True, attempts=0, upstream_ms=0)
