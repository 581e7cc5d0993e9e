"""The database failing under a running broadcast: SQLite locked by another process (``BEGIN
EXCLUSIVE`` held for a few seconds) and PostgreSQL restarted (every backend of the bot's
database terminated, connections refused for a moment). The running drain recovers by itself
and every row is sent exactly once."""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy.exc import OperationalError

from bot.app import App, open_app
from bot.config import Settings
from bot.core.reply import Reply
from bot.core.timeutil import FixedClock
from bot.scheduling.ports import ClaimedRow
from bot.scheduling.service import DeliveryService
from bot.scheduling.settings import DeliverySettings
from db.deliveries import SqlDeliveryLedger
from db.engine import parse_database_url, upgrade
from tests.conftest import PG_ADMIN_URL, fresh_postgres_database
from tests.scheduling.support import AT, add_subscriptions, anniversary_source

CHATS = 30


class SlowSender:
    """Takes a moment per message, like a network call; counts what each chat received."""

    def __init__(self) -> None:
        self.received: Counter[str] = Counter()

    async def send(self, chat_id: str, reply: Reply, thread_id: str = "", *, key: str = "") -> None:
        await asyncio.sleep(0.02)
        self.received[chat_id] += 1


class FailingClaims(SqlDeliveryLedger):
    """A ledger whose first claims fail as when the database has just gone away."""

    def __init__(self, app: App, failures: int) -> None:
        super().__init__(app.sessions)
        self.failures = failures

    async def claim(self, *args: Any, **kwargs: Any) -> list[ClaimedRow]:
        if self.failures > 0:
            self.failures -= 1
            raise OperationalError("UPDATE deliveries", {}, Exception("server closed"))
        return await super().claim(*args, **kwargs)


async def _broadcast_through(
    app: App, fault: Callable[[], Awaitable[None]], ledger: SqlDeliveryLedger | None = None
) -> SlowSender:
    """Run the delivery service as the bot does; ``fault`` strikes after the first sends."""
    chats = [f"c{n}" for n in range(CHATS)]
    await add_subscriptions(app, [{"chat_id": chat} for chat in chats])
    sender = SlowSender()
    service = DeliveryService(
        ledger=ledger or SqlDeliveryLedger(app.sessions),
        senders={"console": sender},
        anniversaries=anniversary_source(),
        settings=DeliverySettings(concurrency=4, poll_interval=0.05, idle_interval=0.5),
        clock=FixedClock(AT),
    )
    await service.start()
    try:
        service.request_plan()
        for _ in range(2000):
            if sum(sender.received.values()) >= 4:
                break
            await asyncio.sleep(0.01)
        await fault()
        for _ in range(6000):
            if sum(sender.received.values()) >= CHATS:
                break
            await asyncio.sleep(0.01)
    finally:
        await service.stop()
    assert sorted(sender.received) == sorted(chats), "a chat got nothing"
    assert set(sender.received.values()) == {1}, sender.received
    assert await SqlDeliveryLedger(app.sessions).status_counts() == {"sent": CHATS}
    return sender


async def test_a_drainer_outlives_failing_claims(empty_app: App) -> None:
    """Before, the first failed claim ended the running drainer: nothing more was sent until
    the bot was restarted."""
    ledger = FailingClaims(empty_app, failures=3)

    async def nothing() -> None:
        return None

    await _broadcast_through(empty_app, nothing, ledger)
    assert ledger.failures == 0


@pytest.fixture
async def sqlite_app(tmp_path: Path) -> AsyncIterator[App]:
    url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    upgrade(parse_database_url(url))
    application = await open_app(Settings(database_url=url), clock=FixedClock(AT), seed=False)
    try:
        yield application
    finally:
        await application.close()


async def test_sqlite_locked_by_another_process(sqlite_app: App, tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    holder = (
        "import sqlite3, sys, time\n"
        "db = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "db.execute('BEGIN EXCLUSIVE')\n"
        "print('locked', flush=True)\n"
        "time.sleep(float(sys.argv[2]))\n"
        "db.execute('ROLLBACK')\n"
    )

    async def lock() -> None:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", holder, str(path), "3", stdout=asyncio.subprocess.PIPE
        )
        assert process.stdout is not None
        assert await process.stdout.readline() == b"locked\n"
        await asyncio.wait_for(process.wait(), 30)

    await _broadcast_through(sqlite_app, lock)


@pytest.mark.postgres
async def test_postgresql_restarted_mid_broadcast(caplog: pytest.LogCaptureFixture) -> None:
    with fresh_postgres_database("cbfault") as url:
        name = url.rsplit("/", 1)[1]
        upgrade(parse_database_url(url))
        application = await open_app(Settings(database_url=url), clock=FixedClock(AT), seed=False)

        async def restart() -> None:
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
                admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                    (name,),
                )
            await asyncio.sleep(3)
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
                admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')

        try:
            await _broadcast_through(application, restart)
        finally:
            await application.close()


async def test_an_idle_pooled_connection_killed_by_a_restart_is_replaced_before_use() -> None:
    """Pooled connections are pinged only after sitting idle (``db.engine._ping_if_idle``):
    after a restart while the bot was quiet, the next command reads without an error."""
    with fresh_postgres_database("cbping") as url:
        name = url.rsplit("/", 1)[1]
        upgrade(parse_database_url(url))
        application = await open_app(Settings(database_url=url), clock=FixedClock(AT), seed=False)
        try:
            assert await application.chats.get_settings("telegram", "1") is None
            await asyncio.sleep(1.2)  # idle for longer than IDLE_PING_SECONDS
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
                killed = admin.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE datname = %s",
                    (name,),
                ).fetchone()
            assert killed is not None and killed[0] >= 1
            assert await application.chats.get_settings("telegram", "1") is None
        finally:
            await application.close()


async def test_postgresql_reads_are_autocommit_and_writes_are_transactions() -> None:
    """A read is one round trip (no BEGIN, no ROLLBACK); a write is still a transaction."""
    from db.unit_of_work import reading, writing

    with fresh_postgres_database("cbread") as url:
        upgrade(parse_database_url(url))
        application = await open_app(Settings(database_url=url), clock=FixedClock(AT), seed=False)
        try:
            for _ in range(2):  # each way twice: the pool's connections are shared
                async with reading(application.sessions) as session:
                    connection = await session.connection()
                    raw = await connection.get_raw_connection()
                    assert raw.driver_connection is not None
                    assert raw.driver_connection.autocommit is True
                async with writing(application.sessions) as session:
                    connection = await session.connection()
                    raw = await connection.get_raw_connection()
                    assert raw.driver_connection is not None
                    assert raw.driver_connection.autocommit is False
        finally:
            await application.close()
