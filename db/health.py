"""What the operator sees of the database: a health probe and a snapshot of the ledger.

Read by ``/healthz`` and ``/metrics`` (``bot.http.server``) and by ``commemoration-bot
status``. Every statement here is built with SQLAlchemy's expression language: no SQL text.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import false, func, select, update

from db import models
from db.engine import DatabaseUnavailable, DatabaseUrls
from db.unit_of_work import Sessions

D = models.Delivery
S = models.Subscription
UNFINISHED = ("queued", "sending")


async def probe(sessions: Sessions, urls: DatabaseUrls) -> None:
    """Return when the database answers; raise otherwise.

    PostgreSQL: a query. SQLite: the file must still be there (a connection open on a file
    that was deleted keeps answering from the orphaned inode, while nothing it writes will
    ever be seen again), and the write lock must be obtainable: an ``UPDATE`` matching no
    row takes it and is rolled back (a reader in WAL mode passes while another process
    holds the database locked for writing, and the bot could not record anything)."""
    if urls.is_sqlite and not _sqlite_file_exists(urls):
        raise DatabaseUnavailable("the SQLite file is gone")
    async with sessions() as session:
        if urls.is_sqlite and not urls.read_only:
            await session.execute(
                update(models.Chat).where(false()).values(updated_at=models.Chat.updated_at)
            )
            await session.rollback()
        else:
            await session.execute(select(1))


def _sqlite_file_exists(urls: DatabaseUrls) -> bool:
    """Whether the SQLite file is where the URL says (an in-memory database always is)."""
    name = urls.sync_url.database or ""
    if name in ("", ":memory:"):
        return True
    if name.startswith("file:"):  # a read-only URI
        name = name.removeprefix("file:").partition("?")[0]
    return Path(name).expanduser().exists()


@dataclass(frozen=True, slots=True)
class LedgerSnapshot:
    """The delivery ledger and the conversations at one instant."""

    by_status: dict[str, int] = field(default_factory=dict)
    """Every ledger row, by status."""
    by_platform_status: dict[tuple[str, str], int] = field(default_factory=dict)
    queue_depth: dict[str, int] = field(default_factory=dict)
    """Rows not finished yet (queued or sending), by platform."""
    conversations: int = 0
    last_queued_at: dt.datetime | None = None
    """When the last row was queued (the last tick that found something due)."""
    last_sent_at: dt.datetime | None = None


async def ledger_snapshot(sessions: Sessions) -> LedgerSnapshot:
    """Count the ledger by platform and status, the conversations in progress, and the last
    queued and sent instants."""
    async with sessions() as session:
        rows = await session.execute(
            select(S.platform, D.status, func.count())
            .join(S, S.id == D.subscription_id)
            .group_by(S.platform, D.status)
        )
        by_platform_status = {(platform, status): count for platform, status, count in rows}
        conversations = await session.scalar(select(func.count()).select_from(models.Conversation))
        last = (await session.execute(select(func.max(D.created_at), func.max(D.sent_at)))).one()
    by_status: dict[str, int] = {}
    depth: dict[str, int] = {}
    for (platform, status), count in by_platform_status.items():
        by_status[status] = by_status.get(status, 0) + count
        if status in UNFINISHED:
            depth[platform] = depth.get(platform, 0) + count
    return LedgerSnapshot(
        by_status=by_status,
        by_platform_status=by_platform_status,
        queue_depth=depth,
        conversations=int(conversations or 0),
        last_queued_at=_aware(last[0]),
        last_sent_at=_aware(last[1]),
    )


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)
