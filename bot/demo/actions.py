"""The demo's answers to checks and actions: `is_redeemable` from the demo coupons' own state, and resend, expiry
and issue changing the demo customers in this process's memory (until it restarts)."""

from __future__ import annotations

import copy
import itertools
import threading
from datetime import datetime
from typing import Any

from bot.demo.customers import DemoError, _coupon, _stamp, apply_case, demo_answer
from bot.domain.coupon import CodeCase, Coupon
from bot.domain.coupon_state import CouponState, classify

# What a refused check says for each state the bot works out (the codes Capillary uses for them).
_REFUSALS = {
    CouponState.UPCOMING: (739, "Coupon redemption date is invalid"),
    CouponState.REDEEMED: (711, "Coupon already redeemed"),
    CouponState.EXPIRED: (713, "Coupon has expired"),
}


class DemoState:
    """What demo actions changed: new expiries by (customer, code) and goodwill coupons issued."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._expiry: dict[tuple[int, str], str] = {}
        self._issued: dict[int, list[dict[str, Any]]] = {}
        self._numbers = itertools.count(1)
        self.resent: list[str] = []

    def answer(self, customer_id: int, case: CodeCase, now: datetime) -> DemoError | dict[str, Any]:
        """`demo_answer` with this state's changes."""
        answer = demo_answer(customer_id, case, now)
        if isinstance(answer, DemoError):
            return answer
        with self._lock:
            for coupon in answer["entity"]:
                changed = self._expiry.get((customer_id, coupon["code"].upper()))
                if changed is not None:
                    coupon["validTill"] = changed
            issued = copy.deepcopy(self._issued.get(customer_id, []))
        for coupon in issued:  # goodwill codes are upper case already
            coupon["code"] = coupon["trimmedCode"] = apply_case(coupon["code"], case)
        answer["entity"].extend(issued)
        return answer

    def _find(self, customer_id: int, code: str, now: datetime) -> dict[str, Any] | None:
        answer = self.answer(customer_id, CodeCase.UPPER, now)
        if isinstance(answer, DemoError):
            return None
        return next((c for c in answer["entity"] if c["code"].upper() == code.upper()), None)

    def is_redeemable(self, customer_id: int, code: str, now: datetime) -> dict[str, Any]:
        """`GET /v2/coupon/is_redeemable` for one code."""
        found = self._find(customer_id, code, now)
        if found is None:
            item: dict[str, Any] = {"code": code, "isRedeemable": False, "warnings": []}
            return _v2(item, 719, "Coupon code does not exist")
        coupon = Coupon.model_validate(found)
        state = classify(coupon, now)
        item = {
            "code": found["code"],
            "isRedeemable": state is CouponState.ACTIVE,
            "redemptionsLeft": found.get("redemptionsLeft"),
            "numberOfRedemptionsByUser": len(found.get("redemptionInfo") or []),
            "warnings": [],
            "appendedErrorMessage": "",
            "couponseries": {"validTillDate": found["validTill"]},
        }
        if state is CouponState.ACTIVE:
            return _v2(item, 700, "Coupon isRedeem successful")
        code_number, message = _REFUSALS[state]
        item["warnings"] = [{"status": False, "code": code_number, "message": message}]
        return _v2(item, code_number, message)

    def resend(self, customer_id: int, code: str, now: datetime) -> dict[str, Any]:
        """`GET /v1.1/coupon/resend`: an active coupon is "sent" (remembered), anything else refused."""
        found = self._find(customer_id, code, now)
        if found is None:
            status = {"success": "false", "code": "719", "message": "Coupon code does not exist"}
        elif classify(Coupon.model_validate(found), now) is not CouponState.ACTIVE:
            status = {"success": "false", "code": "713", "message": "Coupon has expired"}
        else:
            with self._lock:
                self.resent.append(code.upper())
            status = {"success": "true", "code": "700", "message": "Coupon Resent"}
        done = status["success"] == "true"
        return {
            "response": {
                "status": {"success": status["success"], "code": "200" if done else "500", "message": "SUCCESS"},
                "coupons": {"coupon": [{"code": code, "item_status": status}]},
            }
        }

    def extend(self, customer_id: int, body: dict[str, Any], now: datetime) -> dict[str, Any]:
        """`PUT /v2/coupon/bulk/expiry`: never past the series' end, never in the past."""
        unprocessed = []
        entries = body.get("couponCodes") or []
        for entry in entries:
            code, when = str(entry.get("couponCode", "")), str(entry.get("expiryDate", ""))
            found = self._find(customer_id, code, now)
            try:
                chosen = datetime.fromisoformat(when.replace("Z", "+00:00"))
            except ValueError:
                chosen = None
            if found is None:
                unprocessed.append((code, when, 633, "invalid coupon code"))
            elif chosen is None or chosen < now:
                unprocessed.append((code, when, 690, "Expiry date is past date"))
            elif chosen > datetime.fromisoformat(found["series"]["validTillDate"].replace("Z", "+00:00")):
                unprocessed.append((code, when, 691, "coupon code expiry date cannot be set beyond series expiry"))
            else:
                with self._lock:
                    self._expiry[(customer_id, code.upper())] = _stamp(chosen)
        return {
            "entity": {
                "totalCount": len(entries),
                "failedCount": len(unprocessed),
                "successCount": len(entries) - len(unprocessed),
                "unprocessedCoupons": [
                    {"couponCode": c, "expiryDate": w, "errorCode": n, "errorMessage": m} for c, w, n, m in unprocessed
                ],
                "userId": customer_id,
                "couponSeriesId": body.get("couponSeriesId"),
            },
            "warnings": [],
            "errors": [],
            "success": True,
        }

    def issue(self, customer_id: int, series_id: int, now: datetime) -> dict[str, Any]:
        """`POST /v2/coupon/issue`: a new coupon of `series_id`, valid 30 days."""
        with self._lock:
            number = next(self._numbers)
        code = f"GW{series_id % 10000:04d}{number:04d}"
        coupon = _coupon(
            1,
            90000000 + number,
            code,
            now,
            issued_days_ago=0,
            valid_days=30,
            series_id=series_id,
            series_name=f"Goodwill (series {series_id})",
            discount=("ABS", 200, 0),
        )
        with self._lock:
            self._issued.setdefault(customer_id, []).append(coupon)
        return {
            "code": code,
            "seriesId": series_id,
            "description": f"Goodwill (series {series_id})",
            "validTill": coupon["validTill"],
            "discountType": "ABS",
            "discountValue": 200.0,
            "customer": {"id": customer_id},
            "redemptionCount": 0,
            "id": 0,
            "warnings": [],
        }


def _v2(item: dict[str, Any], code: int, message: str) -> dict[str, Any]:
    return {
        "redemption": [item],
        "redemptionStatus": {"status": code == 700, "code": code, "message": message},
        "customer": {},
        "warnings": [],
    }
