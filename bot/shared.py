"""Objects the whole process shares."""

from __future__ import annotations

from typing import Self


class SharedInstance:
    """Bolt deep-copies the request context for lazy listeners; a shared, thread-safe service (its locks,
    cache and HTTP connections) must reach them as itself, not as a copy."""

    def __deepcopy__(self, memo: dict[int, object]) -> Self:
        return self
