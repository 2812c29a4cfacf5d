"""`CapillaryClient`: the calls the bot makes, each ending within one deadline and failing with our own errors.

Each endpoint is a small module (path + how to read its body) on top of `CapillaryHttp`; this class gives
services one object to hold.
"""

from __future__ import annotations

from bot.capillary import coupons
from bot.capillary.coupons import FetchResult
from bot.capillary.http import CapillaryHttp
from bot.domain.coupon import CodeCase


class CapillaryClient(CapillaryHttp):
    def fetch_coupons(self, customer_id: int, case: CodeCase) -> FetchResult:
        return coupons.fetch_coupons(self, customer_id, case)
