"""The delivery ledger in SQL: due-queries, queueing, claiming and outcomes.

Implements ``bot.scheduling.ports.DeliveryLedger`` on SQLite and PostgreSQL.

- **Queueing** inserts with ``INSERT … ON CONFLICT DO NOTHING`` on the unique key
  (subscription, item, occurrence date), so a tick run twice, or by two processes, cannot
  queue an item twice. The daily due-query reads ``subscriptions`` through the index on
  ``(active, next_run_at)``; on PostgreSQL the due subscriptions are locked ``FOR UPDATE SKIP
  LOCKED`` so concurrent planners split them. Daily posts are planned once per key (zone,
  delivery time, next run, daily topic), and the database applies each key's plan to all its
  due subscriptions (see "the daily plan in SQL" below).
- **Claiming** moves rows from ``queued`` (ready: ``not_before`` passed) or from ``sending``
  with an expired lease to ``sending`` in one statement: ``UPDATE … WHERE id IN (SELECT …
  FOR UPDATE SKIP LOCKED) RETURNING`` on PostgreSQL; the same ``UPDATE … RETURNING`` on
  SQLite, where the single writer makes it atomic.
- **Liveness**: each process beats in ``delivery_workers`` every second (``heartbeat``), on
  the database's clock. With ``liveness`` given, ``claim`` also takes ``sending`` rows whose
  holder has not been seen for that long (it was killed, or lost its database), so a crash
  stalls its rows for seconds rather than for the lease; the lease stays as the backstop (and
  the rule for a holder that never beat: an older version, during an upgrade).
- **Outcomes** are fenced: a row is only finished by the worker that holds it
  (``claimed_by`` and ``status = 'sending'``), so a worker whose lease ran out cannot
  overwrite the work of the one that reclaimed the row.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Date,
    Float,
    Text,
    and_,
    case,
    cast,
    delete,
    func,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.delivery import first_line
from bot.core.domain import DeliveryStatus, Event, EventStatus
from bot.scheduling.ports import (
    ClaimedRow,
    DailyPlanner,
    DueSubscription,
    FanOut,
    Outcome,
    Pending,
    PreviewRow,
    QueueCounts,
    ScheduledEvent,
)
from db import models
from db.locks import AdvisoryLock, FileLock, free_worker_keys, worker_lock, worker_lock_key
from db.models import UTCDateTime
from db.repositories import to_event
from db.unit_of_work import Sessions

log = logging.getLogger(__name__)

D = models.Delivery
W = models.DeliveryWorker
S = models.Subscription
F = models.DeliveryFanOut
ST = models.Base.metadata.tables["subscriptions"]

_SQLITE_STAMP = "%Y-%m-%d %H:%M:%S.%f"
"""How SQLAlchemy stores an instant on SQLite (naive UTC text); JSON-fed rows must match."""

PLANNING_LANES = 2
OTHER_PLANNER_WAITS = 600
"""Tenths of a second a planner waits for another one that holds due subscriptions."""


QUEUED = DeliveryStatus.QUEUED.value
SKIPPED = DeliveryStatus.SKIPPED.value
SENDING = DeliveryStatus.SENDING.value
EVENTS_TOPIC_PATTERN = '%"events"%'
"""``topics`` is a JSON list; its text holds ``"events"`` when the topic is chosen."""
DAILY_TOPIC_PATTERN = '%"today"%'
DAILY_TOPICS = ("today",)


# -- the daily plan in SQL ------------------------------------------------------------------
#
# A batch is planned in two steps. First the distinct keys (zone, delivery time, next run,
# daily topic) of the first due subscriptions are read: a hot minute of 100,000 has a few
# hundred. The planner runs once per key, on a representative (its smallest id): what it plans
# depends on nothing else. Then one statement on PostgreSQL (two on SQLite, in one write
# transaction) takes the due subscriptions with those keys, inserts their rows and advances
# their next runs: 100,000 rows never travel to Python and back.
#
# Each of the tuples below is indexed by ``recompute``: [0] plans next runs that are due,
# [1] next runs that are NULL ("recompute").

ROWS_PER_STATEMENT = 50_000
"""At most this many subscriptions planned by one statement (their rows and next runs)."""

_DUE = ("s.next_run_at <= :horizon", "s.next_run_at IS NULL")
_SAME_RUN = ("s.next_run_at = keys.old", "true")

_PG_KEYS = tuple(
    "SELECT timezone, delivery_time, next_run_at, daily, min(id) FROM ("
    " SELECT s.id, s.timezone, s.delivery_time, s.next_run_at,"
    " CAST(s.topics AS text) LIKE :daily_pattern AS daily FROM subscriptions AS s"
    f" WHERE s.active AND {due} ORDER BY s.next_run_at LIMIT :limit FOR UPDATE SKIP LOCKED"
    ") AS due GROUP BY timezone, delivery_time, next_run_at, daily"
    for due in _DUE
)
_SQLITE_KEYS = tuple(
    "SELECT timezone, delivery_time, next_run_at, daily, min(id) FROM ("
    " SELECT s.id, s.timezone, s.delivery_time, s.next_run_at,"
    " CAST(s.topics AS TEXT) LIKE :daily_pattern AS daily FROM subscriptions AS s"
    f" WHERE s.active = 1 AND {due} ORDER BY s.next_run_at LIMIT :limit"
    ") GROUP BY timezone, delivery_time, next_run_at, daily"
    for due in _DUE
)

_PG_PLAN = tuple(
    "WITH keys AS MATERIALIZED ("
    " SELECT CAST(e->>0 AS integer) AS n, e->>1 AS tz, CAST(e->>2 AS time) AS at,"
    " CAST(e->>3 AS timestamptz) AS old, CAST(e->>4 AS boolean) AS daily,"
    " CAST(e->>5 AS timestamptz) AS new FROM json_array_elements(CAST(:keys AS json)) AS e"
    "), planned AS MATERIALIZED ("
    " SELECT CAST(e->>0 AS integer) AS n, e->>1 AS item_key, CAST(e->>2 AS date) AS day,"
    " CAST(e->>3 AS timestamptz) AS due, e->>4 AS reason, e->>5 AS status"
    " FROM json_array_elements(CAST(:rows AS json)) AS e"
    "), batch AS MATERIALIZED ("
    " SELECT s.id, keys.n, keys.new FROM subscriptions AS s JOIN keys"
    " ON s.timezone = keys.tz AND s.delivery_time = keys.at"
    f" AND {same} AND (CAST(s.topics AS text) LIKE :daily_pattern) = keys.daily"
    f" WHERE s.active AND {due} LIMIT :limit FOR UPDATE OF s SKIP LOCKED"
    "), inserted AS ("
    " INSERT INTO deliveries (subscription_id, item_key, occurrence_date, due_at, status,"
    " reason, attempts, created_at, not_before)"
    " SELECT batch.id, planned.item_key, planned.day, planned.due, planned.status,"
    " planned.reason, 0, :now, CASE WHEN planned.due > :now THEN planned.due END"
    " FROM batch JOIN planned ON planned.n = batch.n"
    " ON CONFLICT (subscription_id, item_key, occurrence_date) DO NOTHING RETURNING status"
    "), advanced AS ("
    " UPDATE subscriptions AS s SET next_run_at = batch.new FROM batch WHERE s.id = batch.id"
    ") SELECT (SELECT count(*) FROM batch),"
    " (SELECT count(*) FROM inserted WHERE status = 'queued'),"
    " (SELECT count(*) FROM inserted WHERE status = 'skipped')"
    for due, same in zip(_DUE, _SAME_RUN, strict=True)
)

# SQLite: the batch is read twice, by the INSERT and by the UPDATE, in one write transaction
# (no other writer between them) and in a fixed order (the index's: next run, then id), so
# both statements take the same subscriptions. CROSS JOIN keeps the subscriptions outermost
# (read through the due index, once), the keys looked up in an automatic index, which needs
# the compared values to have the same affinity (hence the casts). Each statement starts with
# INSERT or UPDATE, not WITH: Python's sqlite3 opens its transaction, and counts the rows
# changed, only for statements that do.
_SQLITE_KEY_TABLE = (
    "keys AS MATERIALIZED ("
    " SELECT CAST(json_extract(value, '$[0]') AS INTEGER) AS n,"
    " CAST(json_extract(value, '$[1]') AS TEXT) AS tz,"
    " CAST(json_extract(value, '$[2]') AS TEXT) AS at,"
    " CAST(json_extract(value, '$[3]') AS TEXT) AS old,"
    " CAST(json_extract(value, '$[4]') AS INTEGER) AS daily,"
    " json_extract(value, '$[5]') AS new FROM json_each(:keys))"
)
_SQLITE_SAME_RUN = ("CAST(s.next_run_at AS TEXT) = keys.old", "true")
_SQLITE_BATCH = tuple(
    "batch AS ("
    " SELECT s.id AS id, keys.n AS n, keys.new AS new FROM subscriptions AS s CROSS JOIN keys"
    f" WHERE s.active = 1 AND {due} AND s.timezone = keys.tz"
    f" AND CAST(s.delivery_time AS TEXT) = keys.at AND {same}"
    " AND (CAST(s.topics AS TEXT) LIKE :daily_pattern) = keys.daily"
    " ORDER BY s.next_run_at, s.id LIMIT :limit)"
    for due, same in zip(_DUE, _SQLITE_SAME_RUN, strict=True)
)
_SQLITE_INSERT = tuple(
    "INSERT INTO deliveries (subscription_id, item_key, occurrence_date, due_at, status,"
    " reason, attempts, created_at, not_before)"
    f" WITH {_SQLITE_KEY_TABLE}, planned AS MATERIALIZED ("
    " SELECT CAST(json_extract(value, '$[0]') AS INTEGER) AS n,"
    " json_extract(value, '$[1]') AS item_key, json_extract(value, '$[2]') AS day,"
    " json_extract(value, '$[3]') AS due, json_extract(value, '$[4]') AS reason"
    f" FROM json_each(:rows)), {batch}"
    " SELECT batch.id, planned.item_key, planned.day, planned.due, :status, planned.reason, 0,"
    " :now, CASE WHEN planned.due > :now THEN planned.due END"
    " FROM batch JOIN planned ON planned.n = batch.n WHERE true"
    " ON CONFLICT (subscription_id, item_key, occurrence_date) DO NOTHING"
    for batch in _SQLITE_BATCH
)
_SQLITE_ADVANCE = tuple(
    "UPDATE subscriptions SET next_run_at = batch.new"
    f" FROM (WITH {_SQLITE_KEY_TABLE}, {batch} SELECT id, new FROM batch) AS batch"
    " WHERE subscriptions.id = batch.id"
    for batch in _SQLITE_BATCH
)


def _bound_now(now: dt.datetime, is_postgres: bool) -> Any:
    """``now`` as a parameter: an instant on PostgreSQL, SQLAlchemy's text on SQLite."""
    return now if is_postgres else _utc(now).strftime(_SQLITE_STAMP)


def _as_text(value: dt.datetime, is_postgres: bool) -> str:
    """An instant in the text each database reads back as the same value."""
    return value.isoformat() if is_postgres else _utc(value).strftime(_SQLITE_STAMP)


def _raw(value: Any) -> Any:
    """A key's value as read, in text the statement casts back to the same value (SQLite
    returns the stored text itself, compared as stored)."""
    if isinstance(value, dt.time | dt.datetime):
        return value.isoformat()
    return value


def _instant_of(value: Any) -> dt.datetime:
    """A stored next run as an aware UTC instant (SQLite: naive UTC text)."""
    if isinstance(value, str):
        return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)
    return _utc(value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC))


FINISH_CHUNK = 500
"""Rows one UPDATE of ``finish`` records at most (far under SQLite's 32,766 parameters)."""


def _finished_values(
    status: DeliveryStatus,
    reason: str | None,
    not_before: dt.datetime | None,
    attempted: bool,
    now: dt.datetime,
) -> dict[str, Any]:
    """The columns ``finish`` sets for an outcome."""
    values: dict[str, Any] = {"status": status.value, "reason": reason}
    if status is DeliveryStatus.SENT:
        values["sent_at"] = now
        values["not_before"] = None
    elif status is DeliveryStatus.QUEUED:
        values.update(not_before=not_before, claimed_by=None, claimed_at=None)
    if not attempted:
        values["attempts"] = D.attempts - 1
    return values


def _taken_over(delivery_id: int, status: DeliveryStatus) -> None:
    log.warning(
        "delivery %s was taken over by another worker; %s not recorded",
        delivery_id,
        status.value,
    )


class SqlDeliveryLedger:
    """The delivery ledger over an async SQLAlchemy session factory."""

    def __init__(self, sessions: Sessions) -> None:
        self.sessions = sessions
        self._locks: dict[str, AdvisoryLock | FileLock] = {}

    # -- dialect helpers --------------------------------------------------------------------

    @staticmethod
    def _is_postgres(session: AsyncSession) -> bool:
        return session.get_bind().dialect.name == "postgresql"

    @staticmethod
    def _insert(is_postgres: bool, table: Any) -> Any:
        return postgresql.insert(table) if is_postgres else sqlite.insert(table)

    # -- daily posts ------------------------------------------------------------------------

    async def queue_daily(
        self,
        now: dt.datetime,
        planner: DailyPlanner,
        batch_size: int = 5000,
        *,
        horizon: dt.datetime | None = None,
    ) -> QueueCounts:
        """Plan every active subscription whose next run is unknown or due by ``horizon``
        (``now`` unless given), in batches: the keys of ``batch_size`` due subscriptions at a
        time, and every due subscription with one of those keys, up to ``ROWS_PER_STATEMENT``
        (or ``batch_size``, if larger). A row due after ``now`` is queued ahead: its
        ``not_before`` is its due time."""
        total = QueueCounts()
        horizon = max(now, horizon or now)
        conditions = (True, False)  # recompute NULL next runs first, then the due ones
        async with self.sessions() as session:
            # PostgreSQL: two batches at once (SKIP LOCKED keeps them apart), so two server
            # processes insert and update; SQLite has one writer.
            lanes = PLANNING_LANES if self._is_postgres(session) else 1

        async def lane(recompute: bool) -> None:
            while True:
                counts = await self._queue_batch(now, horizon, planner, recompute, batch_size)
                if counts is None:
                    return
                total.add(counts)

        for recompute in conditions:
            # one batch first: a quiet minute (nothing due) costs one query, not one per lane
            first = await self._queue_batch(now, horizon, planner, recompute, batch_size)
            if first is None:
                continue
            total.add(first)
            if first.subscriptions >= batch_size:
                await asyncio.gather(*(lane(recompute) for _ in range(lanes)))
        if lanes > 1:
            # Due subscriptions we skipped are being planned by another process: wait until
            # its rows are committed, so that a ``tick`` does not find the queue empty and
            # leave all the sending to the other one.
            for _ in range(OTHER_PLANNER_WAITS):
                if not await self._due_left(horizon):
                    break
                await asyncio.sleep(0.1)
                for recompute in conditions:
                    await asyncio.gather(*(lane(recompute) for _ in range(lanes)))
        return total

    async def _due_left(self, now: dt.datetime) -> bool:
        """Whether an active subscription is still due at ``now`` (a plain read: rows locked
        by another planner count), in the due-query's own shape, which its index serves."""
        async with self.sessions() as session:
            for condition in (ST.c.next_run_at.is_(None), ST.c.next_run_at <= now):
                found = await session.scalar(
                    select(ST.c.id)
                    .where(ST.c.active.is_(True), condition)
                    .order_by(ST.c.next_run_at)
                    .limit(1)
                )
                if found is not None:
                    return True
            return False

    async def _queue_batch(
        self,
        now: dt.datetime,
        horizon: dt.datetime,
        planner: DailyPlanner,
        recompute: bool,
        batch_size: int,
    ) -> QueueCounts | None:
        """Plan one batch in the database: the planner runs once per distinct key (zone,
        delivery time, next run, daily topic) among the first ``batch_size`` due
        subscriptions, then every due subscription with one of those keys, up to
        ``ROWS_PER_STATEMENT``, gets its rows and its next run in SQL. None when nothing was
        planned (nothing due, or all of it held by another planner)."""
        async with self.sessions.begin() as session:
            is_postgres = self._is_postgres(session)
            if is_postgres:
                # No wait for the WAL flush at commit: a crash of the server may lose the last
                # batches, rows and next runs together, and the next tick plans them again.
                await session.execute(text("SET LOCAL synchronous_commit TO OFF"))
            keys_sql = _PG_KEYS if is_postgres else _SQLITE_KEYS
            found = (
                await session.execute(
                    text(keys_sql[recompute]),
                    {
                        "limit": batch_size,
                        "horizon": _bound_now(horizon, is_postgres),
                        "daily_pattern": DAILY_TOPIC_PATTERN,
                    },
                )
            ).all()
            if not found:
                return None
            representatives = []
            keys = []
            for number, (timezone, at, old, daily, first_id) in enumerate(found):
                at_value = at if isinstance(at, dt.time) else dt.time.fromisoformat(at)
                old_value = None if old is None else _instant_of(old)
                representatives.append(
                    DueSubscription(
                        first_id, timezone, at_value, DAILY_TOPICS if daily else (), old_value
                    )
                )
                keys.append([number, timezone, _raw(at), _raw(old), bool(daily)])
            plan = planner(representatives)
            numbers = {rep.id: n for n, rep in enumerate(representatives)}
            for key, rep in zip(keys, representatives, strict=True):
                key.append(_as_text(plan.next_run_at[rep.id], is_postgres))
            rows: dict[str, list[list[Any]]] = {QUEUED: [], SKIPPED: []}
            for row in plan.rows:
                rows[row.status.value].append(
                    [
                        numbers[row.subscription_id],
                        row.item_key,
                        row.occurrence_date.isoformat(),
                        _as_text(row.due_at, is_postgres),
                        row.reason,
                    ]
                )
            parameters: dict[str, Any] = {
                "keys": json.dumps(keys),
                "limit": max(batch_size, ROWS_PER_STATEMENT),
                "now": _bound_now(now, is_postgres),
                "horizon": _bound_now(horizon, is_postgres),
                "daily_pattern": DAILY_TOPIC_PATTERN,
            }
            counts = QueueCounts()
            if is_postgres:
                parameters["rows"] = json.dumps(
                    [[*row, status] for status, chosen in rows.items() for row in chosen]
                )
                result = (await session.execute(text(_PG_PLAN[recompute]), parameters)).one()
                counts.subscriptions, counts.queued, counts.skipped = result
            else:
                for status, chosen in rows.items():
                    if not chosen:
                        continue
                    inserted = await session.execute(
                        text(_SQLITE_INSERT[recompute]),
                        {**parameters, "rows": json.dumps(chosen), "status": status},
                    )
                    number = max(0, int(getattr(inserted, "rowcount", 0) or 0))
                    if status == QUEUED:
                        counts.queued = number
                    else:
                        counts.skipped = number
                advanced = await session.execute(text(_SQLITE_ADVANCE[recompute]), parameters)
                counts.subscriptions = max(0, int(getattr(advanced, "rowcount", 0) or 0))
            if not counts.subscriptions:
                return None
            return counts

    # -- events -----------------------------------------------------------------------------

    async def events_since(self, since: dt.datetime) -> list[ScheduledEvent]:
        """Events starting at or after ``since``, with the instant they last changed."""
        async with self.sessions() as session:
            rows = await session.scalars(
                select(models.Event)
                .where(models.Event.starts_at >= since)
                .order_by(models.Event.starts_at, models.Event.id)
            )
            return [
                ScheduledEvent(to_event(row), row.announced_at or row.updated_at)
                for row in rows
                if row.status != EventStatus.DRAFT.value
            ]

    async def get_event(self, event_id: int) -> Event | None:
        """One event by id."""
        async with self.sessions() as session:
            row = await session.get(models.Event, event_id)
            return to_event(row) if row else None

    async def fan_out(self, items: Sequence[FanOut], now: dt.datetime) -> QueueCounts:
        """Mark each item once and queue it for every subscription with the "events" topic."""
        counts = QueueCounts()
        if not items:
            return counts
        async with self.sessions() as session:
            rows = await session.execute(
                select(F.item_key, F.occurrence_date).where(
                    F.item_key.in_({item.item_key for item in items})
                )
            )
            known = {(key, day) for key, day in rows}
        for item in items:
            if (item.item_key, item.occurrence_date) in known:
                continue
            async with self.sessions.begin() as session:
                is_postgres = self._is_postgres(session)
                marker = (
                    self._insert(is_postgres, F)
                    .values(
                        item_key=item.item_key,
                        occurrence_date=item.occurrence_date,
                        due_at=item.due_at,
                        status="skipped" if item.skip_reason else QUEUED,
                        reason=item.skip_reason,
                        recipients=0,
                        created_at=now,
                    )
                    .on_conflict_do_nothing(index_elements=["item_key", "occurrence_date"])
                    .returning(F.id)
                )
                marker_id = (await session.execute(marker)).scalar()
                if marker_id is None:
                    continue
                if item.skip_reason:
                    counts.skipped += 1
                    log.debug(
                        "%s of %s skipped: %s",
                        item.item_key,
                        item.occurrence_date,
                        item.skip_reason,
                    )
                    continue
                recipients = select(
                    S.id,
                    literal(item.item_key, Text()),
                    literal(item.occurrence_date, Date()),
                    literal(item.due_at, UTCDateTime()),
                    literal(QUEUED, Text()),
                    literal(0),
                    literal(now, UTCDateTime()),
                ).where(
                    S.active.is_(True),
                    cast(S.topics, Text).like(EVENTS_TOPIC_PATTERN),
                    S.follow.in_(item.audience),
                )
                insert_rows = (
                    self._insert(is_postgres, D.__table__)
                    .from_select(
                        [
                            "subscription_id",
                            "item_key",
                            "occurrence_date",
                            "due_at",
                            "status",
                            "attempts",
                            "created_at",
                        ],
                        recipients,
                    )
                    .on_conflict_do_nothing(
                        index_elements=["subscription_id", "item_key", "occurrence_date"]
                    )
                    .execution_options(preserve_rowcount=True)
                )
                result = await session.execute(insert_rows)
                queued = max(0, int(getattr(result, "rowcount", 0) or 0))
                await session.execute(update(F).where(F.id == marker_id).values(recipients=queued))
                counts.queued += queued
                log.debug(
                    "%s of %s queued for %s subscriptions",
                    item.item_key,
                    item.occurrence_date,
                    queued,
                )
        return counts

    # -- claiming and outcomes --------------------------------------------------------------

    async def claim(
        self,
        worker: str,
        platforms: Sequence[str],
        now: dt.datetime,
        lease: dt.timedelta,
        limit: int,
        *,
        liveness: dt.timedelta | None = None,
    ) -> list[ClaimedRow]:
        """Claim up to ``limit`` rows: queued and ready, or sending with an expired lease, or
        (with ``liveness``) sending and held by another worker not seen for that long."""
        if limit <= 0 or not platforms:
            return []
        async with self.sessions.begin() as session:
            is_postgres = self._is_postgres(session)
            taken_over = [and_(D.status == SENDING, D.claimed_at < now - lease)]
            if liveness is not None:
                # Holders whose heartbeat stopped. A holder with no heartbeat at all (a version
                # before the heartbeat, during an upgrade) keeps its rows for the lease.
                silent = select(W.worker).where(
                    W.seen_at <= _db_epoch(is_postgres) - liveness.total_seconds()
                )
                taken_over.append(
                    and_(
                        D.status == SENDING,
                        D.claimed_by != worker,
                        D.claimed_by.in_(silent.scalar_subquery()),
                    )
                )
            claimable = or_(
                and_(D.status == QUEUED, or_(D.not_before.is_(None), D.not_before <= now)),
                *taken_over,
            )
            candidates = (
                select(D.id)
                .join(S, S.id == D.subscription_id)
                .where(claimable, S.platform.in_(list(platforms)))
                .order_by(D.due_at, D.id)
                .limit(limit)
            )
            values = {
                "status": SENDING,
                "claimed_by": worker,
                "claimed_at": now,
                "attempts": D.attempts + 1,
            }
            returned = (
                D.id,
                D.subscription_id,
                D.item_key,
                D.occurrence_date,
                D.due_at,
                D.attempts,
            )
            if is_postgres:
                # A materialized CTE runs the locking SELECT once; as a plain ``IN (subquery)``
                # PostgreSQL may run it again per row and claim far more than ``limit`` rows.
                picked = (
                    candidates.with_for_update(skip_locked=True, of=D)
                    .cte("picked")
                    .prefix_with("MATERIALIZED")
                )
                statement = update(D).where(D.id == picked.c.id)
            else:
                # SQLite has one writer at a time: the UPDATE is atomic by itself.
                statement = update(D).where(D.id.in_(candidates.scalar_subquery()), claimable)
            statement = (
                statement.values(**values)
                .returning(*returned)
                .execution_options(synchronize_session=False)
            )
            claimed = (await session.execute(statement)).all()
            if not claimed:
                return []
            subscription_ids = {row.subscription_id for row in claimed}
            details = {
                row.id: row
                for row in await session.execute(
                    select(
                        S.id, S.platform, S.chat_id, S.thread_id, S.language, S.active, S.timezone
                    ).where(S.id.in_(subscription_ids))
                )
            }
        rows = [
            ClaimedRow(
                id=row.id,
                subscription_id=row.subscription_id,
                item_key=row.item_key,
                occurrence_date=row.occurrence_date,
                due_at=row.due_at,
                attempts=row.attempts,
                platform=details[row.subscription_id].platform,
                chat_id=details[row.subscription_id].chat_id,
                thread_id=details[row.subscription_id].thread_id,
                language=details[row.subscription_id].language,
                active=details[row.subscription_id].active,
                timezone=details[row.subscription_id].timezone,
            )
            for row in claimed
        ]
        rows.sort(key=lambda r: (r.due_at, r.id))
        return rows

    async def finish(self, worker: str, outcomes: Sequence[Outcome], now: dt.datetime) -> int:
        """Record outcomes of rows this worker still holds, in one transaction.

        Rows with the same outcome (at a thousand sends a second, nearly all "sent") are
        written by one UPDATE per ``FINISH_CHUNK`` rows rather than one per row: the
        transaction (on SQLite the database's single write lock, which a command's write
        waits for) lasts a few round trips, not one per row. A deactivating outcome comes
        last, so that it also skips a row of its subscription re-queued in the same batch."""
        if not outcomes:
            return 0
        groups: dict[tuple[DeliveryStatus, str | None, dt.datetime | None, bool], list[int]]
        groups = {}
        deactivating: list[Outcome] = []
        for outcome in outcomes:
            if outcome.deactivate:
                deactivating.append(outcome)
            else:
                key = (outcome.status, outcome.reason, outcome.not_before, outcome.attempted)
                groups.setdefault(key, []).append(outcome.delivery_id)
        recorded = 0
        async with self.sessions.begin() as session:
            for (status, reason, not_before, attempted), ids in groups.items():
                values = _finished_values(status, reason, not_before, attempted, now)
                for start in range(0, len(ids), FINISH_CHUNK):
                    chunk = ids[start : start + FINISH_CHUNK]
                    changed = set(
                        (
                            await session.execute(
                                update(D)
                                .where(D.id.in_(chunk), D.claimed_by == worker, D.status == SENDING)
                                .values(**values)
                                .returning(D.id)
                                .execution_options(synchronize_session=False)
                            )
                        ).scalars()
                    )
                    recorded += len(changed)
                    for delivery_id in chunk:
                        if delivery_id not in changed:
                            _taken_over(delivery_id, status)
            for outcome in deactivating:
                values = _finished_values(
                    outcome.status, outcome.reason, outcome.not_before, outcome.attempted, now
                )
                result = await session.execute(
                    update(D)
                    .where(D.id == outcome.delivery_id, D.claimed_by == worker, D.status == SENDING)
                    .values(**values)
                    .execution_options(synchronize_session=False)
                )
                if not int(getattr(result, "rowcount", 0) or 0):
                    _taken_over(outcome.delivery_id, outcome.status)
                    continue
                recorded += 1
                await session.execute(
                    update(S)
                    .where(S.id == outcome.subscription_id)
                    .values(active=False, updated_at=now)
                    .execution_options(synchronize_session=False)
                )
                await session.execute(
                    update(D)
                    .where(D.subscription_id == outcome.subscription_id, D.status == QUEUED)
                    .values(
                        status=DeliveryStatus.SKIPPED.value,
                        reason=f"subscription deactivated: {outcome.reason}",
                    )
                    .execution_options(synchronize_session=False)
                )
        return recorded

    async def pending(
        self,
        platforms: Sequence[str] | None,
        lease: dt.timedelta,
        now: dt.datetime | None = None,
    ) -> Pending:
        """Unfinished rows (of ``platforms``, or all), and when the next one can be claimed.
        With ``now``, rows scheduled for later (``not_before`` is their due time, after
        ``now``: an Immortal Regiment march's next slots) are not counted: they are not late
        work, while a retry (``not_before`` after its due time) is."""
        async with self.sessions() as session:
            query = (
                select(
                    D.status,
                    S.platform,
                    func.count(),
                    func.sum(case((D.not_before.is_(None), 1), else_=0)),
                    func.min(D.not_before),
                    func.min(D.claimed_at),
                )
                .join(S, S.id == D.subscription_id)
                .where(D.status.in_([QUEUED, SENDING]))
                .group_by(D.status, S.platform)
            )
            if now is not None:
                # a retry waits from after its due time; a row scheduled ahead waits for it
                query = query.where(
                    or_(D.not_before.is_(None), D.not_before <= now, D.not_before > D.due_at)
                )
            if platforms is not None:
                query = query.where(S.platform.in_(list(platforms)))
            rows = (await session.execute(query)).all()
        queued = sending = 0
        by_platform: dict[str, int] = defaultdict(int)
        retries: list[dt.datetime] = []
        leases: list[dt.datetime] = []
        epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        for status, platform, count, ready, min_not_before, min_claimed_at in rows:
            by_platform[platform] += count
            if status == QUEUED:
                queued += count
                if ready:
                    retries.append(epoch)
                elif min_not_before is not None:
                    retries.append(_aware(min_not_before))
            else:
                sending += count
                if min_claimed_at is not None:
                    leases.append(_aware(min_claimed_at) + lease)
        next_retry = min(retries, default=None)
        lease_expiry = min(leases, default=None)
        return Pending(
            queued=queued,
            sending=sending,
            next_claimable_at=min([*retries, *leases], default=None),
            by_platform=dict(by_platform),
            next_retry_at=next_retry,
            lease_expires_at=lease_expiry,
        )

    # -- a dry run ----------------------------------------------------------------------------

    async def preview(
        self,
        now: dt.datetime,
        planner: DailyPlanner,
        items: Sequence[FanOut],
        lease: dt.timedelta,
    ) -> list[PreviewRow]:
        """What ``queue_daily`` and ``fan_out`` would insert at ``now``, and the rows already
        waiting to be claimed, in one read-only transaction: nothing is written, no next run
        moves (``tick --dry-run``)."""
        subscriptions = ST.c
        async with self.sessions() as session:
            found = (
                await session.execute(
                    select(
                        subscriptions.id,
                        subscriptions.timezone,
                        subscriptions.delivery_time,
                        cast(subscriptions.topics, Text).like(DAILY_TOPIC_PATTERN),
                        subscriptions.next_run_at,
                    )
                    .where(
                        subscriptions.active.is_(True),
                        or_(subscriptions.next_run_at.is_(None), subscriptions.next_run_at <= now),
                    )
                    .order_by(subscriptions.id)
                )
            ).all()
            due = [
                DueSubscription(id_, timezone, at, DAILY_TOPICS if daily else (), next_run_at)
                for id_, timezone, at, daily, next_run_at in found
            ]
            planned: list[tuple[int, str, dt.date, dt.datetime, DeliveryStatus, str | None]] = [
                (
                    row.subscription_id,
                    row.item_key,
                    row.occurrence_date,
                    row.due_at,
                    row.status,
                    row.reason,
                )
                for row in (planner(due).rows if due else [])
            ]
            known = {
                (key, day)
                for key, day in await session.execute(
                    select(F.item_key, F.occurrence_date).where(
                        F.item_key.in_({item.item_key for item in items})
                    )
                )
            }
            skipped_items: list[PreviewRow] = []
            for item in items:
                if (item.item_key, item.occurrence_date) in known:
                    continue
                if item.skip_reason:
                    skipped_items.append(
                        PreviewRow(
                            item.item_key,
                            item.occurrence_date,
                            item.due_at,
                            DeliveryStatus.SKIPPED,
                            item.skip_reason,
                        )
                    )
                    continue
                recipients = await session.scalars(
                    select(S.id).where(
                        S.active.is_(True),
                        cast(S.topics, Text).like(EVENTS_TOPIC_PATTERN),
                        S.follow.in_(item.audience),
                    )
                )
                planned.extend(
                    (
                        sid,
                        item.item_key,
                        item.occurrence_date,
                        item.due_at,
                        DeliveryStatus.QUEUED,
                        None,
                    )
                    for sid in recipients
                )
            existing: set[tuple[int, str, dt.date]] = set()
            ids = sorted({row[0] for row in planned})
            for chunk in _chunks(ids, 500):
                existing.update(
                    (sid, key, day)
                    for sid, key, day in await session.execute(
                        select(D.subscription_id, D.item_key, D.occurrence_date).where(
                            D.subscription_id.in_(list(chunk))
                        )
                    )
                )
            waiting = (
                await session.execute(
                    select(D.subscription_id, D.item_key, D.occurrence_date, D.due_at)
                    .where(
                        or_(
                            D.status == QUEUED,
                            and_(D.status == SENDING, D.claimed_at < now - lease),
                        )
                    )
                    .order_by(D.due_at, D.id)
                )
            ).all()
            involved = sorted({row[0] for row in planned} | {row[0] for row in waiting})
            details: dict[int, Any] = {}
            for chunk in _chunks(involved, 500):
                for detail in await session.execute(
                    select(
                        S.id, S.platform, S.chat_id, S.thread_id, S.language, S.timezone, S.active
                    ).where(S.id.in_(list(chunk)))
                ):
                    details[detail.id] = detail

        def described(  # noqa: PLR0917  (one row of the tuples above)
            sid: int,
            key: str,
            day: dt.date,
            due_at: dt.datetime,
            status: DeliveryStatus,
            reason: str | None,
            already: bool,
        ) -> PreviewRow:
            detail = details[sid]
            return PreviewRow(
                key,
                day,
                _aware(due_at),
                status,
                reason,
                sid,
                detail.platform,
                detail.chat_id,
                detail.thread_id,
                detail.language,
                detail.timezone,
                bool(detail.active),
                already,
            )

        preview = [
            described(sid, key, day, due_at, DeliveryStatus.QUEUED, None, True)
            for sid, key, day, due_at in waiting
        ]
        preview.extend(
            described(*row, False) for row in planned if (row[0], row[1], row[2]) not in existing
        )
        preview.extend(skipped_items)
        return preview

    # -- liveness -----------------------------------------------------------------------

    async def hold(self, worker: str) -> bool:
        """Take ``worker``'s liveness lock (``db.locks.worker_lock``), or check that it is
        still held: a session-level advisory lock on a connection of its own (PostgreSQL), a
        ``flock`` beside the database (SQLite). It dies with the process, so the others know
        at once that a killed process is gone. ``False``: the lock was lost (its connection
        was cut) and could not be taken again: the others may be taking this worker's rows."""
        lock = self._locks.get(worker)
        if lock is None:
            bind = self.sessions.kw.get("bind")
            if bind is None:
                return False
            lock = self._locks[worker] = worker_lock(bind, worker)
        if await lock.held():
            return True
        try:
            return await lock.try_acquire()
        except Exception as error:
            log.warning("cannot take the liveness lock of %s: %s", worker, first_line(error))
            return False

    async def _bury(self, session: AsyncSession, worker: str, alive: dt.timedelta) -> None:
        """Workers still counted alive whose liveness lock is free are gone (killed, or their
        connection cut): date their last beat back so that they count as dead from now on,
        and their ``sending`` rows are claimed at once (``claim(liveness=…)``)."""
        is_postgres = self._is_postgres(session)
        recent = _db_epoch(is_postgres) - alive.total_seconds()
        candidates = (
            await session.execute(
                select(W.worker, W.lock_key).where(
                    W.lock_key.is_not(None), W.worker != worker, W.seen_at > recent
                )
            )
        ).all()
        if not candidates:
            return
        connection = await session.connection()
        free = await free_worker_keys(connection, {row.lock_key for row in candidates})
        gone = [row.worker for row in candidates if row.lock_key in free]
        if not gone:
            return
        await session.execute(
            update(W)
            .where(W.worker.in_(gone))
            .values(seen_at=recent - 1.0)
            .execution_options(synchronize_session=False)
        )
        log.info("delivery workers gone (their liveness lock is free): %s", ", ".join(gone))

    async def heartbeat(
        self,
        worker: str,
        platforms: Sequence[str] = (),
        alive: dt.timedelta = dt.timedelta(seconds=3),
        forget_after: float = 3600.0,
    ) -> dict[str, int]:
        """Say that ``worker`` (sending to ``platforms``) is alive, on the database's clock,
        with the key of its liveness lock if it holds one (``hold``); count as dead the
        workers whose lock is free (``_bury``); forget workers not seen for ``forget_after``
        seconds. Returns how many workers seen within ``alive`` send to each platform, this
        one included."""
        lock = self._locks.get(worker)
        key = worker_lock_key(worker) if lock is not None and lock.holding else None
        async with self.sessions.begin() as session:
            is_postgres = self._is_postgres(session)
            epoch = _db_epoch(is_postgres)
            statement = self._insert(is_postgres, W).values(
                worker=worker,
                platforms=",".join(platforms),
                seen_at=epoch,
                started_at=epoch,
                lock_key=key,
            )
            statement = statement.on_conflict_do_update(
                index_elements=[W.worker],
                set_={
                    "seen_at": statement.excluded.seen_at,
                    "platforms": statement.excluded.platforms,
                    "lock_key": statement.excluded.lock_key,
                },
            )
            await session.execute(statement)
            await session.execute(
                delete(W).where(W.seen_at < _db_epoch(is_postgres) - forget_after)
            )
            await self._bury(session, worker, alive)
            live = await session.scalars(
                select(W.platforms).where(
                    W.seen_at > _db_epoch(is_postgres) - alive.total_seconds()
                )
            )
            counts: dict[str, int] = defaultdict(int)
            for names in live:
                for name in filter(None, names.split(",")):
                    counts[name] += 1
            return dict(counts)

    async def waiting_peers(
        self, worker: str, since: float | None, alive: dt.timedelta
    ) -> tuple[int, float]:
        """How many live workers other than ``worker`` last beat before ``since`` (the
        database's clock; ``None``: now, read after this worker's beat was committed, so a
        beat stamped later was counted with this worker in it), and ``since``."""
        async with self.sessions.begin() as session:
            await self._bury(session, worker, alive)  # a peer killed meanwhile is not awaited
            is_postgres = self._is_postgres(session)
            if since is None:
                since = float(await session.scalar(select(_db_epoch(is_postgres))) or 0.0)
            behind = await session.scalar(
                select(func.count())
                .select_from(W)
                .where(
                    W.worker != worker,
                    W.seen_at > _db_epoch(is_postgres) - alive.total_seconds(),
                    W.seen_at <= since,
                )
            )
            return int(behind or 0), since

    async def retire(self, worker: str) -> None:
        """``worker`` stops: forget it (its unfinished claims were given back already) and
        release its liveness lock."""
        try:
            async with self.sessions.begin() as session:
                await session.execute(delete(W).where(W.worker == worker))
        finally:
            lock = self._locks.pop(worker, None)
            if lock is not None:
                await lock.release()

    # -- inspection (tests, benchmarks, the CLI) -----------------------------------------

    async def status_counts(self) -> dict[str, int]:
        """How many ledger rows are in each status."""
        async with self.sessions() as session:
            rows = await session.execute(select(D.status, func.count()).group_by(D.status))
            return {status: count for status, count in rows.all()}


def _db_epoch(is_postgres: bool) -> Any:
    """The database's clock, in seconds since the epoch (sub-second on both databases)."""
    if is_postgres:
        return cast(func.extract("epoch", func.clock_timestamp()), Float())
    return (func.julianday("now") - 2440587.5) * 86400.0


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is dt.UTC else value.astimezone(dt.UTC)


def _aware(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def _chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
