"""The tests read nothing outside the repository: a checkout is all they need."""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parent

# Ways a path leaves the repository: climbing above its root, relative parent paths, a user's home directory.
LEAVING = re.compile(r"\.parent\.parent\.parent|ROOT\.parent\b|['\"]\.\./|expanduser\(|Path\.home\(")


def test_no_test_reaches_outside_the_repository() -> None:
    found = [
        f"{path.relative_to(TESTS)}:{number}: {line.strip()}"
        for path in sorted(TESTS.rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if LEAVING.search(line)
    ]
    assert found == []
