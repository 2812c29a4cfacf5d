"""Usage text for the slash command and for DMs."""

from __future__ import annotations

from blocks.message import Message
from blocks.mrkdwn import context, section

EXAMPLE_CUSTOMER = 565032176


def usage_lines(command: str = "/coupons") -> str:
    return (
        f"`{command} {EXAMPLE_CUSTOMER}` — the customer's coupons, codes in upper case (Capillary's default)\n"
        f"`{command} {EXAMPLE_CUSTOMER} lower` — codes in lower case; `upper` and `as_it_is` work too\n"
        f"`{command} {EXAMPLE_CUSTOMER} code:WELCOME10` — that coupon on top, in full, then the rest\n"
        f"`{command} help` — this message"
    )


def render_usage(problem: str | None = None, *, command: str = "/coupons") -> Message:
    blocks = []
    if problem:
        blocks.append(section(f":warning: {problem}"))
    blocks.append(section("*Look up a loyalty customer's coupons*\n" + usage_lines(command)))
    blocks.append(
        context(
            "The customer ID is the number from the customer's Capillary profile (digits only). "
            "Only you see the answer; press *Share with channel* to show it to others."
        )
    )
    text = problem or f"Usage: {command} <customer ID> [lower|upper|as_it_is]"
    return Message(text, blocks, ok=False)
