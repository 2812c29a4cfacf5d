"""`CapillaryClient`: the calls the bot makes, each ending within one deadline and failing with our own errors.

Each endpoint is a small module (path + how to read its body) on top of `CapillaryHttp`; this class gives
services one object to hold.
"""

from __future__ import annotations

from datetime import datetime

from bot.capillary import coupon_actions, coupon_checks, coupons, customers
from bot.capillary.coupon_actions import WriteResult
from bot.capillary.coupon_checks import CheckFetch
from bot.capillary.coupons import FetchResult
from bot.capillary.customers import CustomerFetch
from bot.capillary.http import CapillaryHttp
from bot.domain.coupon import CodeCase
from bot.domain.customer import Identifier


class CapillaryClient(CapillaryHttp):
    def fetch_coupons(self, customer_id: int, case: CodeCase, *, focused: bool = False) -> FetchResult:
        return coupons.fetch_coupons(self, customer_id, case, focused=focused)

    def fetch_customer_details(
        self, identifier: Identifier, *, source: str, account_id: str | None = None
    ) -> CustomerFetch:
        return customers.fetch_customer_details(self, identifier, source=source, account_id=account_id)

    def fetch_customer(self, customer_id: int, *, source: str, account_id: str | None = None) -> CustomerFetch:
        return customers.fetch_customer(self, customer_id, source=source, account_id=account_id)

    def check_coupon(self, customer_id: int, code: str) -> CheckFetch:
        return coupon_checks.check_redeemable(self, customer_id, code)

    def resend_coupon(self, code: str, identifier: tuple[str, str] | None) -> WriteResult:
        return coupon_actions.resend(self, code, identifier)

    def extend_coupon(self, series_id: int, customer_id: int, code: str, expiry: datetime) -> WriteResult:
        return coupon_actions.extend(self, series_id, customer_id, code, expiry)

    def issue_coupon(self, series_id: int, customer_id: int) -> WriteResult:
        return coupon_actions.issue(self, series_id, customer_id)
