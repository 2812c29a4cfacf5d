"""The garbage collector, set for a server that parses large answers from Capillary.

Python's collector only matters for objects in reference cycles; everything else is freed by reference counting
the moment it is dropped. By default it runs a young-generation pass every 700 net new container objects (the
ones it tracks: dicts, lists, models). A 1,000-coupon lookup builds about 8,000 of them, all alive until its
reply is sent, so those passes (13 to 18 per lookup, each promoting survivors for older passes to scan again)
find nothing to free and cost about 1.5 ms of a 15 ms reply. At 50,000 a lookup of up to about 6,000 coupons
triggers none and a 10,000-coupon one one or two; what cyclic garbage waits meanwhile is bounded by the same
count (a few megabytes).
"""

from __future__ import annotations

import gc

YOUNG_GENERATION_THRESHOLD = 50_000


def settle_after_start() -> None:
    """Call once the app is built: what exists now (modules, settings, the app) lives as long as the process, so
    full passes stop rescanning it; and the young generation is collected less often."""
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, middle, old)
