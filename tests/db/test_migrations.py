"""Migrations: an empty database goes to head, back to base and to head again, and the
models match the migrated schema (no autogenerate diff)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from db.engine import alembic_config, parse_database_url, upgrade
from db.models import Base
from tests.conftest import fresh_postgres_database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database that exists but has never been migrated."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh' / 'db.sqlite3'}"
        return
    with fresh_postgres_database("cbmig") as url:
        yield url


def test_empty_to_head_to_base_to_head(fresh_url: str) -> None:
    urls = parse_database_url(fresh_url)
    upgrade(urls)
    engine = create_engine(urls.sync_url)
    try:
        tables = set(inspect(engine).get_table_names())
        assert {
            "memorials",
            "people",
            "anniversaries",
            "events",
            "chats",
            "subscriptions",
            "deliveries",
            "memorial_people",
            "alembic_version",
        } <= tables
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert diff == [], diff
        config = alembic_config(urls)
        assert isinstance(config, Config)
        command.downgrade(config, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade(urls)
        assert "memorials" in set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_sqlite_file_and_folder_are_created_on_first_use(tmp_path: Path) -> None:
    path = tmp_path / "new" / "folder" / "bot.sqlite3"
    upgrade(parse_database_url(f"sqlite:///{path}"))
    assert path.exists()
