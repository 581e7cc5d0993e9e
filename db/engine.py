"""Database URLs, engines and migrations.

``DATABASE_URL`` may name ``sqlite:///…``, ``postgresql+psycopg://…`` or
``postgresql+asyncpg://…``; ``postgres://…`` (what Heroku, Render and most hosts hand out) is
PostgreSQL through psycopg. The bot talks to the database through SQLAlchemy's asyncio
extension (aiosqlite, psycopg or asyncpg); Alembic migrates through the matching synchronous
driver (sqlite3 or psycopg).
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event, make_url
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import ArgumentError, DisconnectionError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


class DatabaseUrlError(ValueError):
    """``DATABASE_URL`` is malformed or names a database the bot does not support."""


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached or opened; the message is one line for the operator."""


@dataclass(frozen=True, slots=True)
class DatabaseUrls:
    """The async URL the bot uses and the sync URL Alembic uses, for one database."""

    async_url: URL
    sync_url: URL
    given: URL | None = None
    """The URL as configured (its scheme and driver are what messages name)."""
    read_only: bool = False
    """Opened for reading only (an SQLite file this user may not write)."""

    @property
    def is_sqlite(self) -> bool:
        """Whether the database is SQLite."""
        return self.async_url.get_backend_name() == "sqlite"

    def safe(self) -> str:
        """The URL as configured, with its password hidden, for messages."""
        return (self.given or self.async_url).render_as_string(hide_password=True)


SUPPORTED = "sqlite:///path, postgresql://user@host/db (+psycopg or +asyncpg) or postgres://…"


def parse_database_url(text: str) -> DatabaseUrls:
    """Check a ``DATABASE_URL`` and derive the async and sync URLs; raise DatabaseUrlError.

    The scheme is read from the text itself: asking SQLAlchemy for the backend of an unknown
    one loads a dialect plugin, which raises instead of answering.
    """
    try:
        url = make_url(text)
    except ArgumentError:
        raise DatabaseUrlError(
            f"DATABASE_URL is not a database URL (expected {SUPPORTED})"
        ) from None
    backend, _, driver = url.drivername.lower().partition("+")
    if backend == "postgres":  # Heroku's and Render's form; SQLAlchemy 2 dropped the alias
        backend = "postgresql"
    if backend == "sqlite":
        if driver not in ("", "pysqlite", "aiosqlite"):
            raise DatabaseUrlError(f"DATABASE_URL: unsupported SQLite driver {driver!r}")
        database = url.database or ""
        if database in ("", ":memory:"):
            raise DatabaseUrlError("DATABASE_URL: SQLite needs a file path, e.g. sqlite:///bot.db")
        return DatabaseUrls(
            url.set(drivername="sqlite+aiosqlite"), url.set(drivername="sqlite"), url
        )
    if backend == "postgresql":
        if driver not in ("", "psycopg", "asyncpg", "psycopg2"):
            raise DatabaseUrlError(
                f"DATABASE_URL: unsupported PostgreSQL driver {driver!r} (use psycopg or asyncpg)"
            )
        if not url.database:
            raise DatabaseUrlError("DATABASE_URL: no database name in the PostgreSQL URL")
        async_driver = "postgresql+asyncpg" if driver == "asyncpg" else "postgresql+psycopg"
        return DatabaseUrls(
            url.set(drivername=async_driver), url.set(drivername="postgresql+psycopg"), url
        )
    raise DatabaseUrlError(
        f"DATABASE_URL: unsupported database {url.drivername!r} (use {SUPPORTED})"
    )


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _sqlite_reading_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def sqlite_writable(urls: DatabaseUrls) -> bool:
    """Whether this user may write an existing SQLite file and its folder (WAL keeps two
    files beside it); True for PostgreSQL, whose rights are the server's business."""
    if not urls.is_sqlite:
        return True
    path = Path(urls.sync_url.database or "").expanduser()
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


def _read_only_url(url: URL) -> URL:
    """An SQLite URL opened read-only. A WAL database is readable so only while a writer
    keeps its ``-wal`` file; without one everything is checkpointed into the file, which is
    then read as immutable (SQLite would otherwise need to create the ``-shm`` file)."""
    path = Path(url.database or "").expanduser().resolve()
    options = "mode=ro"
    if not Path(f"{path}-wal").exists():
        options += "&immutable=1"
    return url.set(database=f"file:{path}?{options}", query={"uri": "true"})


def reading_only(urls: DatabaseUrls) -> DatabaseUrls:
    """The same SQLite database opened for reading only (unchanged for PostgreSQL)."""
    if not urls.is_sqlite:
        return urls
    return DatabaseUrls(
        _read_only_url(urls.async_url), _read_only_url(urls.sync_url), urls.given, True
    )


def prepare_sqlite_file(urls: DatabaseUrls) -> None:
    """Create the folder of an SQLite file, so the file is created on first use."""
    if urls.is_sqlite and urls.sync_url.database:
        Path(urls.sync_url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def create_engine_for(urls: DatabaseUrls) -> AsyncEngine:
    """The async engine of the bot."""
    if not urls.read_only:
        prepare_sqlite_file(urls)
    engine = create_async_engine(urls.async_url)
    if urls.is_sqlite:
        pragmas = _sqlite_reading_pragmas if urls.read_only else _sqlite_pragmas
        event.listen(engine.sync_engine, "connect", pragmas)
    else:
        event.listen(engine.sync_engine.pool, "checkout", _ping_if_idle)
        event.listen(engine.sync_engine.pool, "checkin", _note_checkin)
    return engine


IDLE_PING_SECONDS = 1.0
"""A pooled PostgreSQL connection idle for longer than this is pinged before it is used."""


def _ping_if_idle(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    """SQLAlchemy's ``pool_pre_ping``, but only for a connection that sat idle: the ping is a
    round trip, and under load a command's three reads each paid one on a connection used a
    millisecond before. A server that restarts while a connection is in use fails that one
    statement; SQLAlchemy then marks the whole pool stale and each connection is replaced at
    its next checkout. Raising ``DisconnectionError`` makes the pool take another connection."""
    del proxy
    checked_in = record.info.get(_CHECKED_IN)
    if checked_in is not None and time.monotonic() - checked_in < IDLE_PING_SECONDS:
        return
    try:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT 1")
        finally:
            cursor.close()
        dbapi_connection.rollback()  # the ping opened a transaction; a read sets autocommit
    except Exception as error:
        raise DisconnectionError(f"the pooled connection failed its ping: {error}") from error


_CHECKED_IN = "commemoration_checked_in"


def _note_checkin(dbapi_connection: Any, record: Any) -> None:
    del dbapi_connection
    record.info[_CHECKED_IN] = time.monotonic()


def sessionmaker_for(engine: AsyncEngine) -> async_sessionmaker:  # type: ignore[type-arg]
    """Sessions that keep loaded objects usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config(urls: DatabaseUrls) -> object:
    """The Alembic configuration for a database."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option(
        "sqlalchemy.url", urls.sync_url.render_as_string(hide_password=False).replace("%", "%%")
    )
    return config


def upgrade(urls: DatabaseUrls, revision: str = "head") -> None:
    """Migrate the database to ``revision`` (synchronous; run it in a thread from async code)."""
    from alembic import command
    from alembic.config import Config

    try:
        prepare_sqlite_file(urls)
    except OSError as error:
        raise DatabaseUnavailable(
            f"cannot create the SQLite file {urls.sync_url.database}: {error.strerror}"
        ) from None
    config = alembic_config(urls)
    assert isinstance(config, Config)
    try:
        command.upgrade(config, revision)
    except OperationalError as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        raise DatabaseUnavailable(f"cannot open the database {urls.safe()}: {reason}") from None


@dataclass(frozen=True, slots=True)
class SchemaState:
    """Where a database's schema stands against the code's migrations."""

    current: str | None
    """The revision the database is at; None when it was never migrated (or does not exist)."""
    head: str
    """The latest revision of the code."""

    @property
    def is_current(self) -> bool:
        """Whether the database is at the code's latest schema."""
        return self.current == self.head


def head_revision() -> str:
    """The latest migration of the code."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    assert head is not None
    return head


def schema_state(urls: DatabaseUrls) -> SchemaState:
    """The revision a database is at and the code's latest, read without writing anything:
    an SQLite file that does not exist yet is not created (synchronous; run it in a thread)."""
    from sqlalchemy import create_engine

    head = head_revision()
    url = urls.sync_url
    if urls.is_sqlite:
        path = Path(urls.sync_url.database or "").expanduser()
        if not path.exists():
            return SchemaState(None, head)
        if not urls.read_only and not sqlite_writable(urls):
            url = _read_only_url(url)
    engine = create_engine(url, poolclass=_null_pool())
    try:
        return SchemaState(current_revision(engine), head)
    except OperationalError as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        raise DatabaseUnavailable(f"cannot open the database {urls.safe()}: {reason}") from None
    finally:
        engine.dispose()


def _null_pool() -> type:
    from sqlalchemy.pool import NullPool

    return NullPool


def current_revision(sync_engine: Engine) -> str | None:
    """The revision a database is at, or None when it was never migrated."""
    from alembic.migration import MigrationContext

    with sync_engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


__all__ = ["AsyncEngine", "DatabaseUnavailable", "DatabaseUrlError", "DatabaseUrls"]
