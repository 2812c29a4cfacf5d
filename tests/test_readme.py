"""The README's Architecture section names every module of the code, and nothing that isn't there."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def architecture() -> str:
    text = (ROOT / "README.md").read_text()
    return text.split("## Architecture", 1)[1].split("\n## ", 1)[0]


def test_every_module_is_in_the_architecture_table() -> None:
    rows = [line for line in architecture().splitlines() if line.startswith("| `")]
    missing = []
    for module in sorted([*(ROOT / "bot").rglob("*.py"), *(ROOT / "blocks").rglob("*.py")]):
        path = module.relative_to(ROOT).as_posix()
        if module.name == "__init__.py":
            continue
        folder = module.parent.relative_to(ROOT).as_posix() + "/"
        named = any(
            f"`{path}`" in row or (row.startswith(f"| `{folder}`") and f"`{module.name}`" in row) for row in rows
        )
        if not named:
            missing.append(path)
    assert missing == []


def test_every_path_the_table_names_exists() -> None:
    for path in re.findall(r"`((?:bot|blocks)/[\w/]*(?:\.py|/))`", architecture()):
        assert (ROOT / path).exists(), path
