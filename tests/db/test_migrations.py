"""Migrations: an empty database goes to head, back to base and to head again, and the
models match the migrated schema (no autogenerate diff)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from db.engine import alembic_config, parse_database_url, upgrade
from db.models import Base
from tests.conftest import PG_ADMIN_URL, _pg_unavailable_reason


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database that exists but has never been migrated."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh' / 'db.sqlite3'}"
        return
    reason = _pg_unavailable_reason()
    if reason:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true and {reason}")
        pytest.skip(reason)
    name = f"cbmig_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield (
            PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
            + f"/{name}"
        )
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


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
