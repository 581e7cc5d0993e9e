"""One process at a time: a lock that dies with the process holding it (a
``bot.adapters.leadership.ProcessLock``).

Telegram gives updates to one consumer per token: one ``getUpdates`` long-poll (a second one is
answered 409 Conflict), or one webhook URL. Processes that share a token and a database elect
that consumer with this lock; the others deliver only, and try again every few seconds.

- **PostgreSQL:** a session-level advisory lock (``pg_try_advisory_lock``) on a connection of
  its own, in autocommit (no transaction stays open). The server releases it when that
  connection ends: a process killed with ``kill -9`` loses it as soon as its socket closes,
  and a process whose connection was cut (the server restarted) finds out at its next
  ``held()``, which runs ``SELECT 1`` on that connection.
- **SQLite:** one machine, so an exclusive ``flock`` on a file beside the database
  (``<database>.<name>.lock``), which the kernel releases when the process ends. An
  in-memory database has nobody to share with: the lock is always granted.

The lock's key is derived from its name (for Telegram, the bot's numeric id, which is public,
never the token).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import logging
import os
from pathlib import Path
from typing import IO

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db.engine import DatabaseUrls

log = logging.getLogger(__name__)

CHECK_TIMEOUT = 5.0
"""Seconds ``held()`` waits for the database before it counts the lock as lost."""


def lock_key(name: str) -> int:
    """A signed 64-bit advisory-lock key for ``name``."""
    digest = hashlib.blake2b(f"commemoration-bot:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class AdvisoryLock:
    """A PostgreSQL session-level advisory lock on a connection of its own."""

    def __init__(self, engine: AsyncEngine, name: str) -> None:
        self.engine = engine
        self.name = name
        self.key = lock_key(name)
        self._connection: AsyncConnection | None = None

    async def try_acquire(self) -> bool:
        if self._connection is not None:
            return await self.held()
        connection = await self.engine.connect()
        try:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            got = await connection.scalar(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}
            )
        except BaseException:
            await _close(connection)
            raise
        if not got:
            await _close(connection)
            return False
        self._connection = connection
        return True

    async def held(self) -> bool:
        connection = self._connection
        if connection is None:
            return False
        try:
            await asyncio.wait_for(connection.scalar(text("SELECT 1")), CHECK_TIMEOUT)
        except Exception as error:
            log.debug("the %s lock's connection is gone: %s", self.name, error)
            self._connection = None
            await _close(connection, invalidate=True)
            return False
        return True

    async def release(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        with contextlib.suppress(Exception):
            await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
        await _close(connection)


async def _close(connection: AsyncConnection, *, invalidate: bool = False) -> None:
    with contextlib.suppress(Exception):
        if invalidate:
            await connection.invalidate()
        await connection.close()


class FileLock:
    """An exclusive ``flock`` on a file (SQLite: one machine); ``path=None``: always granted."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._file: IO[bytes] | None = None
        self._granted = False

    async def try_acquire(self) -> bool:
        if self.path is None:
            self._granted = True
            return True
        if self._file is not None:
            return True
        try:
            file = open(self.path, "ab")  # noqa: SIM115, ASYNC230 - held as long as the lock; local
        except OSError as error:  # a database this user may only read: nobody to share with
            log.debug("cannot open %s (%s): taking the lock as granted", self.path, error)
            self._granted = True
            return True
        try:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            file.close()
            return False
        with contextlib.suppress(OSError):
            os.chmod(self.path, 0o644)
        self._file = file
        return True

    async def held(self) -> bool:
        return self._granted or self._file is not None

    async def release(self) -> None:
        self._granted = False
        file, self._file = self._file, None
        if file is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(file.fileno(), fcntl.LOCK_UN)
            file.close()


def process_lock(engine: AsyncEngine, urls: DatabaseUrls, name: str) -> AdvisoryLock | FileLock:
    """The lock called ``name`` among the processes on this database."""
    if not urls.is_sqlite:
        return AdvisoryLock(engine, name)
    database = urls.async_url.database
    if not database or database == ":memory:":
        return FileLock(None)
    return FileLock(Path(f"{database}.{name}.lock"))
