"""The IDs Slack sends back when someone clicks: renderers put them on buttons, listeners match them."""

from __future__ import annotations

ACTION_TOGGLE_SERIES = "coupons_toggle_series"
ACTION_PAGE = "coupons_page"
ACTION_REFRESH = "coupons_refresh"
ACTION_SHARE = "coupons_share"
ACTION_RETRY = "coupons_retry"
ACTION_SEND_TO_ME = "coupons_send_to_me"

# Shortcuts (manifest.yml names them by these callback IDs) and the lookup modal.
SHORTCUT_LOOKUP = "coupons_lookup"
SHORTCUT_FROM_MESSAGE = "coupons_from_message"
VIEW_LOOKUP_FORM = "coupons_lookup_form"
VIEW_ANSWER = "coupons_answer"
# The form's inputs: a block_id each, and the action_id of the element inside it.
BLOCK_WHO = "who"
INPUT_WHO = "who_input"
BLOCK_CODE = "code"
INPUT_CODE = "code_input"
BLOCK_CASE = "case"
INPUT_CASE = "case_input"
