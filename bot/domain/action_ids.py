"""The IDs Slack sends back when someone clicks: renderers put them on buttons, listeners match them."""

from __future__ import annotations

ACTION_TOGGLE_SERIES = "coupons_toggle_series"
ACTION_PAGE = "coupons_page"
ACTION_REFRESH = "coupons_refresh"
ACTION_SHARE = "coupons_share"
ACTION_RETRY = "coupons_retry"
