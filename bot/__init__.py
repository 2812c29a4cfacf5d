"""The coupons bot: a Slack app that shows a loyalty customer's Capillary coupons."""
