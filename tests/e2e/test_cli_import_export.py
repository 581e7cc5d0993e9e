"""``commemoration-bot import`` and ``export`` end to end: the installed console script in a
subprocess, on a fresh SQLite file."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.unit.test_search import SEED_YAML

pytestmark = pytest.mark.slow

SCRIPT = Path(sys.executable).with_name("commemoration-bot")


Cli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    """Run the console script with ``DATABASE_URL`` on an SQLite file of this test."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TELEGRAM_", "DISCORD_", "DEFAULT_", "DATABASE_"))
    }
    environment["DATABASE_URL"] = f"sqlite:///{tmp_path / 'bot.sqlite3'}"

    def run(*args: str, stderr: int = subprocess.PIPE) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(SCRIPT), *args],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            cwd=tmp_path,
            env=environment,
            timeout=120,
            check=False,
        )

    return run


def test_import_export_and_import_again(cli: Cli, tmp_path: Path) -> None:
    seeds = tmp_path / "seeds.yaml"
    seeds.write_text(SEED_YAML, encoding="utf-8")
    result = cli("import", str(seeds))
    assert result.returncode == 0, result.stderr
    # The curated dataset was loaded into the empty database first; the seeds' slugs overlap.
    assert result.stdout.startswith(f"imported {seeds}: memorials: ")
    assert "events: 1 created" in result.stdout
    assert "\r" not in result.stderr  # no progress bar when stderr is not a terminal

    found = json.loads(cli("memorial", "Gwosdarew", "--json").stdout)
    assert found["results"][0]["slug"] == "manhay-monument"

    for fmt in ("json", "yaml", "csv"):
        exported = cli("export", "--format", fmt)
        assert exported.returncode == 0, exported.stderr
        path = tmp_path / f"everything.{fmt}"
        path.write_text(exported.stdout, encoding="utf-8", newline="")
        again = cli("import", str(path))
        assert again.returncode == 0, again.stderr
        assert " 0 created, 0 updated" in again.stdout and "created, 1 updated" not in again.stdout
        assert cli("export", "--format", fmt).stdout == exported.stdout

    # To a file (format from its extension) and to a directory, one file per kind.
    result = cli("export", "all.yaml")
    assert result.returncode == 0 and "all.yaml" in result.stdout
    assert set(yaml.safe_load((tmp_path / "all.yaml").read_text(encoding="utf-8"))) == {
        "memorials",
        "people",
        "anniversaries",
        "events",
    }
    result = cli("export", "--format", "csv", "split/")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "split").iterdir()) == [
        "anniversaries.csv",
        "events.csv",
        "memorials.csv",
        "people.csv",
    ]
    result = cli("import", "split")
    assert result.returncode == 0, result.stderr
    assert "created" in result.stdout and " 1 updated" not in result.stdout


BROKEN = """\
memorials:
  - slug: Waremme Memorial
    kind: monument
    names: {en: Memorial in Waremme}
    city: {en: Waremme, ru: Варемме}
    country: BE
    lat: 50.69
    lon: 185
    precision: town
    sources: [{seed: 001.txt}]
  - slug: spa-memorial
    kind: monument
    names: {en: Memorial in Spa, ru: Памятник в Спа}
    city: {en: Spa, ru: Спа}
    country: BE
    lat: 50.49
    lon: 5.86
    precision: town
    people: [nobody]
    sources: [{seed: 001.txt}]
anniversaries:
  - slug: spa-liberation
    month: 2
    day: 30
    kind: liberation
    memorial: spa-memorial
    title: {en: Liberation of Spa, ru: Освобождение Спа}
    sources: [{seed: 001.txt}]
"""


def test_a_broken_file_exits_1_lists_every_error_and_changes_nothing(
    cli: Cli, tmp_path: Path
) -> None:
    before = cli("export")
    assert before.returncode == 0, before.stderr
    path = tmp_path / "broken.yaml"
    path.write_text(BROKEN, encoding="utf-8")
    result = cli("import", str(path))
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert lines[-1] == (
        f"commemoration-bot: error: import {path}: 5 errors in 3 rows; nothing was imported"
    )
    expected = [
        "memorials: row 1 (line 2): slug: 'Waremme Memorial' is not a slug",
        "memorials: row 1 (line 2): names.ru: is required",
        "memorials: row 1 (line 2): lon: 185 is outside -180..180",
        "memorials: row 2 (line 11): people: unknown person 'nobody'",
        "anniversaries: row 1 (line 22): day: 02-30 is not a real date",
    ]
    for text in expected:
        assert any(f"{path}: {text}" in line for line in lines), (text, lines)
    assert all(line.startswith("commemoration-bot: error: ") for line in lines)
    assert cli("export").stdout == before.stdout
    assert json.loads(cli("memorial", "Spa", "--json").stdout)["results"] == []


def test_unreadable_paths_and_usage(cli: Cli, tmp_path: Path) -> None:
    result = cli("import", "missing.csv")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "commemoration-bot: error: import: missing.csv: no such file or directory"
    )
    (tmp_path / "data.csv").write_text("slug,names.en\nx,y\n", encoding="utf-8")
    result = cli("import", "data.csv")
    assert result.returncode == 1
    assert "data.csv: row 1: type: the file has no type column" in result.stderr
    assert cli("export", "--format", "xml").returncode == 2
    assert cli("import").returncode == 2


def test_a_long_import_shows_progress_on_a_terminal(cli: Cli, tmp_path: Path) -> None:
    memorial = yaml.safe_load(SEED_YAML)["memorials"][0]
    rows = [{**memorial, "slug": f"synthetic-memorial-{n:04d}"} for n in range(1200)]
    path = tmp_path / "memorials.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    main, terminal = pty.openpty()
    try:
        result = cli("import", str(path), stderr=terminal)
        os.close(terminal)
        terminal = -1
        chunks = []
        while True:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # EIO: the other side is closed
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(main)
        if terminal >= 0:
            os.close(terminal)
    shown = b"".join(chunks).decode()
    assert result.returncode == 0, shown
    assert "importing 1,200/1,200 records (100%)" in shown
    assert "\r" in shown
    assert "memorials: 1200 created" in result.stdout
