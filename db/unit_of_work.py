"""A unit of work over SQLAlchemy sessions: several repository writes in one transaction.

Inside ``async with unit_of_work():`` every repository that takes its session through
``reading``/``writing`` uses the unit's session (the current one is kept in a ``ContextVar``,
so concurrent requests each have their own); the unit commits when the block ends and rolls
back when it raises. Outside a unit each repository call is its own short transaction, as
before. Units nest: an inner one joins the outer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from weakref import WeakKeyDictionary

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

Sessions = async_sessionmaker[AsyncSession]

_current: ContextVar[AsyncSession | None] = ContextVar("unit_of_work_session", default=None)


class SqlUnitOfWork:
    """Opens units of work on a session factory (the core's ``UnitOfWork`` port)."""

    def __init__(self, sessions: Sessions) -> None:
        self.sessions = sessions

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[None]:
        """One transaction for every repository write inside the block."""
        if _current.get() is not None:
            yield
            return
        async with self.sessions.begin() as session:
            token = _current.set(session)
            try:
                yield
            finally:
                _current.reset(token)


def in_unit_of_work() -> bool:
    """Whether the caller runs inside a unit of work."""
    return _current.get() is not None


_readers: WeakKeyDictionary[AsyncEngine, AsyncEngine] = WeakKeyDictionary()


def _reader(sessions: Sessions) -> AsyncEngine | None:
    """The engine reads go through: on PostgreSQL the same pool in autocommit, so a read is
    one round trip, not four (BEGIN, the query, and the ROLLBACK that returns the connection
    to the pool). Under READ COMMITTED each statement already reads its own snapshot, so a
    read transaction guarded nothing. SQLite's reads stay as they are (in-process)."""
    engine = sessions.kw.get("bind")
    if not isinstance(engine, AsyncEngine) or engine.dialect.name != "postgresql":
        return None
    reader = _readers.get(engine)
    if reader is None:
        reader = _readers[engine] = engine.execution_options(isolation_level="AUTOCOMMIT")
    return reader


@asynccontextmanager
async def reading(sessions: Sessions) -> AsyncIterator[AsyncSession]:
    """A session to read with: the unit of work's, else a new one (in autocommit on
    PostgreSQL: nothing read through it may be written back)."""
    session = _current.get()
    if session is not None:
        yield session
        return
    reader = _reader(sessions)
    async with sessions() if reader is None else sessions(bind=reader) as fresh:
        yield fresh


@asynccontextmanager
async def writing(sessions: Sessions) -> AsyncIterator[AsyncSession]:
    """A session to write with: the unit of work's (committed with the unit), else a new
    transaction committed when the block ends."""
    session = _current.get()
    if session is not None:
        yield session
        await session.flush()
        return
    async with sessions.begin() as fresh:
        yield fresh
