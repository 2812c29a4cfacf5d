"""The garbage collector, set for a server that parses large answers from Capillary.

Python's collector only matters for objects in reference cycles; everything else is freed by reference counting
the moment it is dropped. By default it runs a young-generation pass every 700 net new container objects (the
ones it tracks: dicts, lists, models). A 1,000-coupon lookup builds about 8,000 of them, all alive until its
reply is sent, so those passes (13 to 18 per lookup, each promoting survivors for older passes to scan again)
find nothing to free and cost about 1.5 ms of a 15 ms reply. At 50,000 a lookup of up to about 6,000 coupons
triggers none and a 10,000-coupon one one or two; what cyclic garbage waits meanwhile is bounded by the same
count (a few megabytes).

And memory: after an answer that grew the process by tens of megabytes (a large customer), the allocator's free
memory goes back to the system once such answers stop for a few seconds (`return_memory_if_grown`, called by
`bot.after_answer` when a listener's scope ends).
"""

from __future__ import annotations

import functools
import gc
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

YOUNG_GENERATION_THRESHOLD = 50_000


def settle_after_start() -> None:
    """Call once the app is built: what exists now (modules, settings, the app) lives as long as the process, so
    full passes stop rescanning it; and the young generation is collected less often."""
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, middle, old)


# Threads. glibc gives threads that allocate at the same time arenas of their own (up to 8 per core), and memory
# freed in one arena is not reused by another: 20 customers of 100,000 coupons at once peaked at 1.1-1.2 GB RSS
# with the default, 0.63-0.77 GB with two (the usual setting for threaded servers). An operator's
# MALLOC_ARENA_MAX (read by glibc at start) is left alone.
MALLOC_ARENAS = 2
_M_ARENA_MAX = -8  # mallopt's parameter number, from glibc's malloc.h


def limit_malloc_arenas() -> bool:
    """Make threads created from now on share `MALLOC_ARENAS` arenas (call it first in a process: arenas made
    earlier stay); False where that can't be done or the environment set it."""
    mallopt = _glibc("mallopt")
    if mallopt is None or "MALLOC_ARENA_MAX" in os.environ:
        return False
    return bool(mallopt(_M_ARENA_MAX, MALLOC_ARENAS))


# Returning memory. A large answer (a 10,000-coupon body is 34 MB; reading it builds as much again) is built in
# memory the allocator keeps once it is freed: without this, a process that answered one such customer stayed
# about 100 MB larger for good, though nothing held that memory. glibc's `malloc_trim` hands the free pages of
# every arena back to the system. It runs once no answer has grown the process by `TRIM_AFTER_GROWTH_BYTES` for
# `RETURN_AFTER_QUIET_SECONDS`: a large customer asked right after another reuses the memory instead of taking it
# from the system again (page by page: 40-50 ms more for a 10,000-coupon answer on a 2-core virtual machine).
# 3 s, not longer: with threads sharing two arenas, 24 refused gzip bombs left +149 MiB after 5 s idle with 10 s
# (+3 with 3 s). A few milliseconds on a thread of its own (ctypes lets go of the interpreter lock).
TRIM_AFTER_GROWTH_BYTES = 32 * 1024 * 1024
RETURN_AFTER_QUIET_SECONDS = 3.0
_PAGE_BYTES = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_STATM = Path("/proc/self/statm")


class _Due:
    """When the memory goes back, if it is to (`at`), under `lock`."""

    lock = threading.Lock()
    at: float | None = None


@functools.cache
def _glibc(name: str) -> Callable[..., int] | None:
    """glibc's function `name`, found on first use (not at import: the terminal preview never needs it)."""
    import ctypes  # noqa: PLC0415

    try:
        function: Callable[..., int] = getattr(ctypes.CDLL(None), name)
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to call
        return None
    return function


def resident_bytes() -> int:
    """This process's resident memory now; 0 where /proc is not there."""
    try:
        return int(_STATM.read_bytes().split()[1]) * _PAGE_BYTES
    except (OSError, IndexError, ValueError):
        return 0


def return_memory() -> bool:
    """Hand the allocator's free memory back to the system now; False when this platform can't."""
    trim = _glibc("malloc_trim")
    if trim is None:
        return False
    trim(0)
    return True


def return_memory_if_grown(since: int) -> bool:
    """When the process is `TRIM_AFTER_GROWTH_BYTES` larger than `since` (`resident_bytes`): `return_memory` once
    `RETURN_AFTER_QUIET_SECONDS` pass without another such answer. True when that is (re)scheduled."""
    if not since or resident_bytes() - since < TRIM_AFTER_GROWTH_BYTES or _glibc("malloc_trim") is None:
        return False
    with _Due.lock:
        waiting = _Due.at is not None
        _Due.at = time.monotonic() + RETURN_AFTER_QUIET_SECONDS
    if not waiting:
        threading.Thread(target=_return_when_quiet, name="return-memory", daemon=True).start()
    return True


def _return_when_quiet() -> None:
    while True:
        with _Due.lock:
            wait = (_Due.at or 0.0) - time.monotonic()
            if wait <= 0:
                _Due.at = None
                break
        time.sleep(wait)
    return_memory()
