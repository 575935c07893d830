"""Dependencies point one way: protocol → state → irc → store → session → bus → web.

``settings`` is shared configuration; ``cli`` wires everything on top."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "backchannel"
ORDER = ["protocol", "state", "irc", "store", "session", "bus", "web"]
# store is the port session and bus persist through; settings may be read above protocol/state
ALLOWED_EXTRA = {
    "settings": {"irc", "session", "store", "bus", "web"},
    "atomic": {"irc", "session", "store", "bus", "web"},  # atomic file replacement
}


def _layer(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "backchannel" or len(parts) < 2:
        return None
    return parts[1]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _modules() -> list[Path]:
    return [p for p in SRC.rglob("*.py") if p.relative_to(SRC).parts[0] in ORDER]


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_no_upward_imports(path: Path) -> None:
    own = path.relative_to(SRC).parts[0]
    for module in _imports(path):
        target = _layer(module)
        if target is None or target == own:
            continue
        if target in ORDER:
            assert ORDER.index(target) < ORDER.index(own), f"{own} must not import {module}"
        else:
            assert own in ALLOWED_EXTRA.get(target, set()), f"{own} must not import {module}"


def test_pure_layers_do_no_io() -> None:
    for path in SRC.joinpath("protocol").rglob("*.py"):
        imported = _imports(path)
        for forbidden in ("asyncio", "socket", "ssl", "time", "aiohttp"):
            assert forbidden not in imported, f"{path.name} imports {forbidden}"
