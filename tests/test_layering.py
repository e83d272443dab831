"""Imports point one way: core -> engine -> io/store -> services -> api/web/cli."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "stockpilot"
RANK = {"core": 0, "engine": 1, "io": 2, "store": 2, "services": 3, "api": 4, "web": 4, "cli": 4}
# Modules at the package root (errors, vocab, settings) are shared by every layer.
THIRD_PARTY_FORBIDDEN_IN_CORE = (
    "sqlalchemy",
    "fastapi",
    "typer",
    "rich",
    "pydantic_settings",
    "psycopg",
)


def _layer(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) >= 2 and parts[0] == "stockpilot" and parts[1] in RANK:
        return parts[1]
    return None


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    here = list(rel.parts)
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - node.level]
                found.append(".".join([*base, node.module or ""]).rstrip("."))
            elif node.module:
                found.append(node.module)
    return found


SOURCES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_one_way(path: Path) -> None:
    own = _layer(".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts))
    if own is None:
        return
    for module in _imports(path):
        other = _layer(module)
        if other is not None:
            assert RANK[other] <= RANK[own], (
                f"{path.relative_to(PACKAGE)} ({own}) imports {module} ({other})"
            )
        if own == "core":
            assert not module.startswith(THIRD_PARTY_FORBIDDEN_IN_CORE), (
                f"core module {path.relative_to(PACKAGE)} imports {module}"
            )
