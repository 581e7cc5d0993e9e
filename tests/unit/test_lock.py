"""The two locks agree: requirements.lock (name==version, the constraints of the README's
install commands) and requirements-hashed.lock (the same pins with every file's sha256, what
scripts/test.sh installs with --require-hashes); every dependency of pyproject.toml is pinned."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^\s\\;]+)")


def _name(text: str) -> str:
    return re.sub(r"[-_.]+", "-", text).lower()


def _pins(path: Path) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = PIN.match(line)
        if match:
            pins[_name(match[1])] = match[2]
    return pins


def test_both_locks_pin_the_same_versions() -> None:
    plain = _pins(ROOT / "requirements.lock")
    hashed = _pins(ROOT / "requirements-hashed.lock")
    assert plain == hashed, "run scripts/lock_hashes.sh after changing requirements.lock"


def test_every_pin_of_the_hashed_lock_has_hashes() -> None:
    text = (ROOT / "requirements-hashed.lock").read_text(encoding="utf-8")
    blocks = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
    for block in blocks:
        if PIN.match(block):
            assert "--hash=sha256:" in block, block.splitlines()[0]


def test_every_dependency_of_pyproject_is_pinned() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        wanted += extra
    pinned = _pins(ROOT / "requirements.lock")
    for requirement in wanted:
        name = _name(re.split(r"[\[~=<>! ;]", requirement, maxsplit=1)[0])
        assert name in pinned, requirement
