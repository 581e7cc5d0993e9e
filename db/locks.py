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

The same locks tell a delivery worker's liveness (``worker_lock``): each process that claims
ledger rows holds one named after itself for as long as it runs, and the others read whether
it is still held (``free_worker_keys``: ``pg_locks`` on PostgreSQL, a non-blocking ``flock``
on SQLite). A process killed with ``kill -9`` is known to be gone as soon as the kernel
closed its socket or its file, not a heartbeat timeout later.
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

    @property
    def holding(self) -> bool:
        """Whether this process took the lock and has not seen it lost (no I/O)."""
        return self._connection is not None

    async def held(self) -> bool:
        connection = self._connection
        if connection is None:
            return False
        try:
            # ``asyncio.timeout``, not ``wait_for``: on Python 3.11 ``wait_for`` can swallow a
            # cancellation that arrives as its awaitable completes (the heartbeat's stop hung)
            async with asyncio.timeout(CHECK_TIMEOUT):
                await connection.scalar(text("SELECT 1"))
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
    """An exclusive ``flock`` on a file (SQLite: one machine); ``path=None``: always granted.
    With ``remove``, the file is deleted when the lock is released (one file per worker)."""

    def __init__(self, path: Path | None, *, remove: bool = False) -> None:
        self.path = path
        self.remove = remove
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
        if self.remove and not _same_file(self.path, file):
            file.close()  # removed by a process that found it free just before: try a new one
            return await self.try_acquire()
        with contextlib.suppress(OSError):
            os.chmod(self.path, 0o644)
        self._file = file
        return True

    @property
    def holding(self) -> bool:
        """Whether this process holds the lock (no I/O)."""
        return self._granted or self._file is not None

    async def held(self) -> bool:
        return self.holding

    async def release(self) -> None:
        self._granted = False
        file, self._file = self._file, None
        if file is not None:
            if self.remove and self.path is not None:
                with contextlib.suppress(OSError):
                    self.path.unlink()  # while still held: nobody takes a file being removed
            with contextlib.suppress(OSError):
                fcntl.flock(file.fileno(), fcntl.LOCK_UN)
            file.close()


def _same_file(path: Path, file: IO[bytes]) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(file.fileno()).st_ino
    except OSError:
        return False


def process_lock(engine: AsyncEngine, urls: DatabaseUrls, name: str) -> AdvisoryLock | FileLock:
    """The lock called ``name`` among the processes on this database."""
    if not urls.is_sqlite:
        return AdvisoryLock(engine, name)
    database = urls.async_url.database
    if not database or database == ":memory:":
        return FileLock(None)
    return FileLock(Path(f"{database}.{name}.lock"))


WORKER_LOCK = "delivery-worker"


def worker_lock_key(worker: str) -> int:
    """The key of the lock that delivery worker ``worker`` holds while it lives."""
    return lock_key(f"{WORKER_LOCK}:{worker}")


def worker_lock(engine: AsyncEngine, worker: str) -> AdvisoryLock | FileLock:
    """The lock delivery worker ``worker`` holds for as long as its process runs."""
    if engine.dialect.name != "sqlite":
        return AdvisoryLock(engine, f"{WORKER_LOCK}:{worker}")
    return FileLock(_worker_lock_path(engine, worker_lock_key(worker)), remove=True)


def _worker_lock_path(engine: AsyncEngine, key: int) -> Path | None:
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(f"{database}.{WORKER_LOCK}-{key & 0xFFFF_FFFF_FFFF_FFFF:016x}.lock")


PG_HELD_KEYS = text(
    "SELECT (classid::int8 << 32) | objid::int8 FROM pg_locks"
    " WHERE locktype = 'advisory' AND objsubid = 1 AND granted"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)
"""The single-key (``bigint``) advisory locks held on this database: ``pg_locks`` shows such a
key as its high 32 bits in ``classid`` and its low 32 bits in ``objid``, ``objsubid`` 1."""


async def free_worker_keys(connection: AsyncConnection, keys: set[int]) -> set[int]:
    """Which of ``keys`` (``worker_lock_key``) no process holds any more: their workers ended.
    On SQLite a lock file nobody holds is removed; an in-memory database has nobody else."""
    if not keys:
        return set()
    if connection.dialect.name != "sqlite":
        held = set(await connection.scalars(PG_HELD_KEYS))
        return keys - held
    return {key for key in keys if _file_free(_worker_lock_path(connection.engine, key))}


def _file_free(path: Path | None) -> bool:
    """Whether nobody holds ``path``'s ``flock`` (its holder ended); removes it if so."""
    if path is None:
        return False
    try:
        descriptor = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return True
    except OSError:  # a file this user may not open: not ours to judge
        return False
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        with contextlib.suppress(OSError):
            path.unlink()
        return True
    finally:
        os.close(descriptor)
