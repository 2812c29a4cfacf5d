"""Dependencies point one way (the README's Architecture): the domain knows only itself; the Capillary client knows
HTTP, Capillary and the domain; renderers (`blocks/`) know domain types only. Anything else crosses by being
passed in (wiring builds the client from settings; services hand renderers domain objects)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Package → the packages of ours it may import (type-only imports included: they are a dependency too).
ALLOWED = {
    "bot/domain": ("bot.domain",),
    "bot/capillary": ("bot.capillary", "bot.domain"),
    "blocks": ("blocks", "bot.domain"),
}


def imported(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names += [node.module] if node.module != "bot" else [f"bot.{alias.name}" for alias in node.names]
    return names


def ours(module: str) -> bool:
    return module.split(".", maxsplit=1)[0] in {"bot", "blocks"}


@pytest.mark.parametrize("folder", sorted(ALLOWED))
def test_each_layer_imports_only_what_is_below_it(folder: str) -> None:
    allowed = ALLOWED[folder]
    leaks = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in sorted((ROOT / folder).glob("*.py"))
        for module in imported(path)
        if ours(module) and not any(module == a or module.startswith(f"{a}.") for a in allowed)
    ]
    assert leaks == []


def test_the_scan_sees_every_form_of_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "from typing import TYPE_CHECKING\nimport bot.settings\nfrom bot import metrics\n"
        "if TYPE_CHECKING:\n    from bot.store import Store\ndef f():\n    from bot.errors import ConfigError\n"
    )
    assert [m for m in imported(module) if ours(m)] == ["bot.settings", "bot.metrics", "bot.store", "bot.errors"]
