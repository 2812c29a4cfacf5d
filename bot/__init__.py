"""The coupons bot: a Slack app that shows a loyalty customer's Capillary coupons."""

import os

# On its first model pydantic reads every installed package's metadata for plugins (about 10 ms of a cold start);
# the bot uses none. An operator's own PYDANTIC_DISABLE_PLUGINS wins.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
