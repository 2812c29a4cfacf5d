"""Usage text for the slash command and for DMs."""

from __future__ import annotations

from blocks.message import Message
from blocks.mrkdwn import context, escape, one_line, section

EXAMPLE_CUSTOMER = 565032176


def usage_lines(command: str = "/coupons") -> str:
    return (
        f"`{command} {EXAMPLE_CUSTOMER}` — the customer's coupons, codes in upper case (Capillary's default)\n"
        f"`{command} {EXAMPLE_CUSTOMER} lower` — codes in lower case; `upper` and `as_it_is` work too\n"
        f"`{command} +91 99000 01001` or `{command} mobile:919900001001` — find the customer by mobile number "
        "(with the country code)\n"
        f"`{command} asha@example.com` — by email; `card:EXMPL0000000000001` — by loyalty card number; "
        "`external:EXAMPLE-000001` — by the brand's own customer ID\n"
        f"`{command} {EXAMPLE_CUSTOMER} code:WELCOME10` — that coupon on top, in full, then the rest\n"
        f"`{command} help` — this message"
    )


def render_usage(problem: str | None = None, *, command: str = "/coupons") -> Message:
    """The usage, after `problem` if any (escaped here: it may quote what a user typed; its own backticks stay)."""
    problem = escape(one_line(problem, 300)) if problem else None
    blocks = [section(f":warning: {problem}")] if problem else []
    blocks += [
        section("*Look up a loyalty customer's coupons*\n" + usage_lines(command)),
        context(
            "Digits alone are the customer ID from the Capillary profile; say `mobile:` (or start with `+`) for a "
            "mobile number. Mobile numbers and emails are always shown masked. "
            "Only you see the answer; press *Share with channel* to show it to others."
        ),
    ]
    text = problem or f"Usage: {command} <customer ID | mobile | email | card:… | external:…> [lower|upper|as_it_is]"
    return Message(text, blocks, ok=False)
