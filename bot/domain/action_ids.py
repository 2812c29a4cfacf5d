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

# Checks and actions on a coupon (issue 26): the Check button, the action buttons, and their confirmation form.
ACTION_CHECK = "coupons_check"
ACTION_RESEND = "coupons_act_resend"
ACTION_EXTEND = "coupons_act_extend"
ACTION_ISSUE = "coupons_act_issue"
VIEW_ACTION_FORM = "coupons_action_form"
VIEW_ACTION_DONE = "coupons_action_done"
BLOCK_REASON = "reason"
INPUT_REASON = "reason_input"
BLOCK_EXPIRY = "expiry"
INPUT_EXPIRY = "expiry_input"
BLOCK_SERIES = "series"
INPUT_SERIES = "series_input"

# Issue 27: a Member Care link's unfolded card (its button opens the full answer privately), and the Workflow
# Builder step (manifest.yml names it under `functions`).
ACTION_OPEN_FROM_LINK = "coupons_open_from_link"
FUNCTION_GET_COUPONS = "get_customer_coupons"
