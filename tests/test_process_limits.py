"""The soft open-files limit is raised to the hard one at start (web and worker)."""

from __future__ import annotations

import resource
import subprocess
import sys

import pytest

from bot.process_limits import MAX_DEFAULT_CONNECTIONS, UNLIMITED_TARGET, default_max_connections
from tests.test_server import procfile_env


def test_the_soft_open_files_limit_is_raised_to_the_hard_one() -> None:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY and hard <= 256:
        pytest.fail(f"this machine's hard limit ({hard}) leaves nothing to raise: the test can't tell")
    low = 256
    script = (
        "import resource\n"
        f"resource.setrlimit(resource.RLIMIT_NOFILE, ({low}, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))\n"
        "from bot.process_limits import raise_open_files_limit\n"
        "print(raise_open_files_limit(), resource.getrlimit(resource.RLIMIT_NOFILE)[0])\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, env=procfile_env())
    raised, now = (int(word) for word in out.stdout.split())
    assert raised == now > low
    assert now == (UNLIMITED_TARGET if hard == resource.RLIM_INFINITY else hard)


@pytest.mark.parametrize(
    ("open_files", "connections"), [(1024, 512), (20_000, 10_000), (1 << 20, MAX_DEFAULT_CONNECTIONS), (1, 1)]
)
def test_web_takes_half_its_descriptors_in_connections_by_default(open_files: int, connections: int) -> None:
    # The other half is for the calls out (Capillary, Slack, Redis): a flood of inbound connections can't starve them.
    assert default_max_connections(open_files) == connections
