"""The core and the handlers stay platform- and storage-neutral.

ruff's banned-api rule (pyproject.toml) holds the line while editing; this test holds it
even if the lint configuration is changed by mistake.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NEUTRAL = [ROOT / "bot" / "core", ROOT / "handlers", ROOT / "bot" / "scheduling"]
BANNED = ("telegram", "discord", "sqlalchemy")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize(
    "path",
    sorted(p for folder in NEUTRAL if folder.exists() for p in folder.rglob("*.py")),
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_neutral_modules_import_no_sdk_and_no_orm(path: Path) -> None:
    assert not _imports(path) & set(BANNED)


def test_the_lint_rule_rejects_an_sdk_import_in_the_core(tmp_path: Path) -> None:
    probe = ROOT / "handlers" / "_probe_banned_import.py"
    probe.write_text('"""Probe."""\n\nimport telegram\n\nprint(telegram)\n')
    try:
        result = subprocess.run(
            [sys.executable, "-m", "ruff", "check", "--no-cache", str(probe)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=False,
        )
    finally:
        probe.unlink()
    assert result.returncode == 1
    assert "TID251" in result.stdout


ADAPTERS = ROOT / "bot" / "adapters"
ADAPTER_SURFACE = {"handlers.dispatch", "handlers.registry"}
"""What an adapter may import of the handlers: the dispatcher and the registry's public
surface; every view, flow and setting lives behind them."""


def _modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize(
    "path", sorted(ADAPTERS.rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT))
)
def test_adapters_keep_to_the_dispatcher_and_the_registry(path: Path) -> None:
    modules = _modules(path)
    handlers = {m for m in modules if m == "handlers" or m.startswith("handlers.")}
    assert handlers <= ADAPTER_SURFACE, f"{path.name} reaches into {handlers - ADAPTER_SURFACE}"
    assert "bot.app" not in modules, "adapters are handed their dependencies, not the app"


def test_the_architecture_check_sees_a_reach_into_a_handler(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("from handlers.memorials import memorial_card\n")
    assert _modules(probe) - ADAPTER_SURFACE == {"handlers.memorials"}
