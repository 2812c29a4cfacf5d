"""`CheckService`: one redeemability check per customer and code, kept in the shared store as briefly as a lookup
(`COUPONS_CACHE_TTL_SECONDS`), so a redraw within that time makes no Capillary call."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Protocol

from bot.capillary.coupon_checks import CheckFetch
from bot.domain.redeemability import Redeemability
from bot.store import Store

KEY_FORMAT = "check/1"


class CouponChecker(Protocol):
    def check_coupon(self, customer_id: int, code: str) -> CheckFetch: ...


@dataclass(frozen=True)
class CheckOutcome:
    check: Redeemability
    cache_hit: bool
    attempts: int = 0
    upstream_ms: int = 0


class CheckService:
    def __init__(self, checker: CouponChecker, store: Store, *, ttl_seconds: float = 60.0) -> None:
        self._checker = checker
        self._store = store
        self._ttl = ttl_seconds

    def check(self, customer_id: int, code: str, *, refresh: bool = False) -> CheckOutcome:
        """Raises `CouponsBotError` (Capillary's failures) like a lookup."""
        key = check_key(customer_id, code)
        if not refresh and self._ttl > 0:
            kept = _decode(self._store.get(key))
            if kept is not None:
                return CheckOutcome(kept, cache_hit=True)
        fetched = self._checker.check_coupon(customer_id, code)
        if self._ttl > 0:
            self._store.set(key, _encode(fetched.check), self._ttl)
        return CheckOutcome(fetched.check, cache_hit=False, attempts=fetched.attempts, upstream_ms=fetched.upstream_ms)

    def forget(self, customer_id: int, code: str) -> None:
        """After an action changed the coupon: the next check asks Capillary."""
        self._store.delete(check_key(customer_id, code))


def check_key(customer_id: int, code: str) -> str:
    return f"{KEY_FORMAT}:{customer_id}:{code.casefold()}"


def _encode(check: Redeemability) -> bytes:
    fields = asdict(check)
    fields["valid_till"] = check.valid_till.isoformat() if check.valid_till else None
    return json.dumps(fields).encode()


def _decode(raw: bytes | None) -> Redeemability | None:
    if raw is None:
        return None
    try:
        fields = json.loads(raw)
        valid_till = fields.pop("valid_till", None)
        return Redeemability(**fields, valid_till=datetime.fromisoformat(valid_till) if valid_till else None)
    except (ValueError, TypeError):  # written by another release: ask again
        return None
