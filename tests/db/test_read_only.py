"""Read-only commands on a database the user may not write (issue 14, item 3): no migration,
no write, and one line when the database is behind the code's schema."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot import app as app_module
from bot.app import SchemaBehind, open_app
from bot.cli import READ_ONLY_COMMANDS, main
from bot.config import Settings
from db.engine import head_revision, parse_database_url, upgrade


def _migrated(path: Path, revision: str = "head") -> str:
    url = f"sqlite:///{path}"
    upgrade(parse_database_url(url), revision)
    return url


def _state(path: Path) -> tuple[int, bytes]:
    return path.stat().st_mtime_ns, path.read_bytes()


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_the_read_only_commands_are_the_ones_that_only_read() -> None:
    assert {"today", "memorial", "near", "events", "export"} == READ_ONLY_COMMANDS


async def test_reading_an_unwritable_database_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "bot.sqlite3"
    url = _migrated(path)
    seeded = await open_app(Settings(database_url=url))  # the owner's first run fills it
    await seeded.close()
    # the file and its folder belong to someone else (root may write anyway: pretend)
    monkeypatch.setattr(app_module, "sqlite_writable", lambda urls: False)
    before = _state(path)
    app = await open_app(Settings(database_url=url), read_only=True)
    try:
        assert app.urls.read_only
        assert await app.core.search_memorials("Rebecq", 1)
        assert await app.store.load_dataset()
    finally:
        await app.close()
    assert _state(path) == before
    assert _names(tmp_path) == ["bot.sqlite3"]  # no -wal, no -shm


async def test_a_database_behind_the_schema_is_not_migrated_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    url = _migrated(path, "0008")
    with pytest.raises(SchemaBehind) as raised:
        await open_app(Settings(database_url=url), read_only=True)
    message = str(raised.value)
    assert "0008" in message and head_revision() in message and "db upgrade" in message
    assert "\n" not in message
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchone() == ("0008",)


def test_the_cli_says_it_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = _migrated(tmp_path / "old.sqlite3", "0008")
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exited:
        main(["today", "--date", "05-09"])
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "behind" in err and "db upgrade" in err


def test_a_dry_run_tick_does_not_migrate_either(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = _migrated(tmp_path / "old.sqlite3", "0008")
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit):
        main(["tick", "--dry-run"])
    assert "behind" in capsys.readouterr().err
    with sqlite3.connect(tmp_path / "old.sqlite3") as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchone() == ("0008",)
