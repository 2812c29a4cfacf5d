"""The process's own limits, raised where the system allows it, at start.

Platforms often leave the soft open-files limit at 1,024 with a far higher hard limit: then a flood of inbound
connections takes every descriptor, and outbound calls (Capillary, Slack, Redis) start failing. Raising the soft
limit to the hard one costs nothing and needs no privilege.
"""

from __future__ import annotations

import resource

UNLIMITED_TARGET = 1 << 20  # where the hard limit is "unlimited": still a number the kernel accepts
# Inbound connections a web process takes by default: half its descriptors (the rest are for Capillary, Slack,
# Redis and files), and no more than this however many it may open (an idle connection costs memory too).
MAX_DEFAULT_CONNECTIONS = 10_000


def raise_open_files_limit() -> int:
    """Raise the soft limit on open files to the hard one; the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = UNLIMITED_TARGET if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):  # a sandbox that says no: keep what we have
            return soft
        return target
    return soft


def default_max_connections(open_files: int) -> int:
    """The inbound connections to take with `open_files` descriptors, when COUPONS_MAX_CONNECTIONS is not set."""
    return max(1, min(MAX_DEFAULT_CONNECTIONS, open_files // 2))
