"""Shared fixtures: a migrated database on SQLite and on the local PostgreSQL, and the app.

PostgreSQL tests run in a database of their own, created for the test run and dropped after
it. Without a reachable server they skip with the reason, except under ``CI=true``, where a
missing PostgreSQL fails the run.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

# python-telegram-bot 22 warns about its timedelta migration unless opted in; warnings are errors.
os.environ.setdefault("PTB_TIMEDELTA", "true")

from bot.app import App, open_app
from bot.config import Settings
from bot.core.timeutil import FixedClock
from db.engine import parse_database_url, upgrade

PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
TABLES = (
    "deliveries",
    "delivery_workers",
    "subscriptions",
    "chats",
    "events",
    "anniversaries",
    "memorial_people",
    "people",
    "memorials",
    "regiment_entries",
    "regiment_marches",
    # what a test leaves behind that the next one would trip over: an organizer added by
    # one test made a fake user of another (the same id, the fakes count from one number)
    # an organizer, and a conversation left open swallowed another test's message
    "organizers",
    "conversations",
    "rsvps",
    "pins",
    "delivery_fanouts",
    "calendar_links",
    "calendar_spaces",
)
NOW = dt.datetime(2026, 5, 9, 7, 0, tzinfo=dt.UTC)


def _pg_unavailable_reason() -> str | None:
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return None
    except psycopg.Error as error:
        return f"PostgreSQL at {PG_ADMIN_URL} is not reachable: {str(error).splitlines()[0]}"


@contextmanager
def fresh_postgres_database(prefix: str) -> Iterator[str]:
    """A new, never migrated PostgreSQL database (its ``postgresql+psycopg`` URL), dropped on
    exit. Skips with the reason when the server is unreachable; under ``CI=true`` fails."""
    reason = _pg_unavailable_reason()
    if reason:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true and {reason}")
        pytest.skip(reason)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL database of this test run, migrated to head; dropped at the end."""
    with fresh_postgres_database("cbtest") as url:
        upgrade(parse_database_url(url))
        yield url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file migrated to head once, copied for each test."""
    path = tmp_path_factory.mktemp("sqlite") / "template.sqlite3"
    upgrade(parse_database_url(f"sqlite:///{path}"))
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database: a fresh SQLite file, or the run's PostgreSQL emptied."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "test.sqlite3"
        shutil.copy(template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as connection:
        connection.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
    return url


@pytest.fixture
def clock() -> FixedClock:
    """A clock stopped at 9 May 2026, 07:00 UTC."""
    return FixedClock(NOW)


@pytest.fixture(scope="session")
def sqlite_seeded_template(sqlite_template: Path) -> Path:
    """The migrated SQLite template with the curated dataset loaded, copied for ``app``."""
    path = sqlite_template.with_name("seeded.sqlite3")
    shutil.copy(sqlite_template, path)

    async def seed() -> None:
        application = await open_app(Settings(database_url=f"sqlite:///{path}"))
        await application.close()

    # Requested from inside async fixtures: seed on a loop of its own, in a worker thread.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, seed()).result()
    return path


@pytest.fixture
async def app(
    database_url: str, clock: FixedClock, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[App]:
    """The wired application on a migrated database with the curated dataset loaded; the
    Immortal Regiment's portraits go to the test's own folder."""
    if database_url.startswith("sqlite:///"):
        seeded: Path = request.getfixturevalue("sqlite_seeded_template")
        shutil.copy(seeded, database_url.removeprefix("sqlite:///"))
    settings = Settings(
        database_url=database_url, environment={"MEDIA_DIR": str(tmp_path / "media")}
    )
    application = await open_app(settings, clock=clock)
    try:
        yield application
    finally:
        await application.close()


@pytest.fixture
async def empty_app(database_url: str, clock: FixedClock) -> AsyncIterator[App]:
    """The wired application on a migrated database without the curated dataset."""
    application = await open_app(Settings(database_url=database_url), clock=clock, seed=False)
    try:
        yield application
    finally:
        await application.close()
