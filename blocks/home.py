"""The App Home tab: what the bot does, how to use it, what it is connected to, and whether you may use it."""

from __future__ import annotations

from typing import Any

from blocks.help import usage_lines
from blocks.mrkdwn import clean, context, plain, section


def render_home(*, connection: str, allowed: bool, demo: bool, contact: str) -> dict[str, Any]:
    access = (
        ":white_check_mark: You can look up customers with this bot."
        if allowed
        else f":no_entry: You can't look up customers with this bot yet. Ask {clean(contact, 80)} for access."
    )
    source = (
        ":test_tube: *Demo mode*: answers come from built-in demo customers, not from Capillary."
        if demo
        else f"Connected to Capillary at `{clean(connection, 120)}`."
    )
    # Someone who may not use the bot learns nothing about how it is set up.
    setup = [{"type": "divider"}, context(source)] if allowed else []
    blocks = [
        {"type": "header", "text": plain("Coupons bot", 150)},
        section(
            "See a loyalty customer's coupons without leaving Slack: which are *active*, *upcoming*, "
            "*redeemed* and *expired*, with each series' terms a click away. Find the customer by customer ID, "
            "mobile number, email, loyalty card or the brand's own ID; the answer says who it is (name, tier, "
            "points), with mobile and email masked."
        ),
        section(access),
        {"type": "divider"},
        section("*Slash command* (anywhere; only you see the answer)\n" + usage_lines("/coupons")),
        section(
            "*Direct message* — send the bot a customer ID or identifier in the Messages tab:\n"
            "`565032176` · `565032176 lower` · `coupons 565032176 as_it_is` · `+91 99000 01001` · "
            "`asha@example.com lower`"
        ),
        section("*Mention* — `@Coupons 565032176` in a channel or thread; the answer is private to you."),
        section(
            "*Shortcuts* — *Look up coupons* (from the ⚡ menu or the message box) opens a form: the customer, "
            "an optional coupon code, the code case. *Coupons for customer* on any message opens it filled in "
            "with the customer ID, mobile, email or card the message names. The answer stays in the window, "
            "with working buttons; *Send to me* posts it to your DM with the bot."
        ),
        section(
            "*Buttons* — *Series details* shows a series' terms, *Next ▶*/*◀ Previous* page through long lists, "
            "*Refresh* fetches fresh data, *Share with channel* posts the current view for everyone."
        ),
        *setup,
    ]
    return {"type": "home", "blocks": blocks}
