"""The ack half of every listener.

Bolt runs this in the request's own thread and answers Slack at once; the work itself runs as a lazy
listener on the listener pool. So an ack never waits for a free pool thread, however many slow lookups
are queued: Slack gets its answer within 3 s even in a burst.
"""

from __future__ import annotations

from slack_bolt import Ack


def acknowledge(ack: Ack) -> None:
    ack()
