"""Benchmark: the tick's due-query and a hot minute over 1,000,000 subscriptions in 400 zones.

    python bench/scheduling_due_query.py --db sqlite
    python bench/scheduling_due_query.py --db postgres   # TEST_PG_ADMIN_URL, as the tests

It builds a fresh database (an SQLite file in a temporary folder, or a PostgreSQL database it
creates and drops), fills it in SQL (so the generator does not inflate this process's memory),
then measures, and prints, without asserting on wall-clock time:

- the typical tick: ``queue_daily`` at a quiet minute (nothing due), i.e. the two due-queries
  on ``subscriptions (active, next_run_at)``, median and 95th percentile of many runs;
- a hot minute: ``queue_daily`` when 100,000 subscriptions fall due at once (their local time in
  400 zones is 07:00 UTC), which inserts 100,000 ledger rows and advances 100,000 next runs;
- the same hot minute planned a minute ahead, as the running bot does
  (``DELIVERY_PLAN_AHEAD``, default 60 s): the database is put back (the hot rows deleted, their
  next runs rewound), then the tick a minute before plans it (its duration), and the tick at
  the minute itself and the first claim of its rows are timed: how long after the minute
  starts its rows can be sent, against planning at the minute (the first measurement);
- optionally (``--fanout``) an event item fanned out to every subscriber;
- the peak resident memory of this process.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import resource
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo, available_timezones

import psycopg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.scheduling.occurrences import next_occurrence  # noqa: E402
from bot.scheduling.planner import plan_daily  # noqa: E402
from bot.scheduling.ports import FanOut  # noqa: E402
from db.deliveries import SqlDeliveryLedger  # noqa: E402
from db.engine import (  # noqa: E402
    create_engine_for,
    parse_database_url,
    sessionmaker_for,
    upgrade,
)

HOT = dt.datetime(2026, 5, 9, 7, 0, tzinfo=dt.UTC)
WINDOW = dt.timedelta(hours=6)
LEASE = dt.timedelta(seconds=120)
CLAIMED = 1000
"""Rows of the first claim timed at the hot minute (a drainer claims at most its free slots)."""
PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def zones(count: int) -> list[str]:
    """``count`` IANA zones, all kinds of offsets (quarter-hour ones at ``HOT``)."""
    names = sorted(
        name
        for name in available_timezones()
        if "/" in name and not name.startswith(("Etc/", "SystemV/", "US/", "posix/", "right/"))
    )
    chosen = []
    for name in names:
        offset = HOT.astimezone(ZoneInfo(name)).utcoffset()
        if offset is not None and offset.total_seconds() % 900 == 0:
            chosen.append(name)
    if len(chosen) < count:
        raise SystemExit(f"only {len(chosen)} zones available")
    step = len(chosen) / count
    return [chosen[int(i * step)] for i in range(count)]


def slots(names: list[str]) -> list[dict[str, object]]:
    """For each zone: a quarter-hour delivery time each, with its next run after ``HOT``, and
    the local time at ``HOT`` (the hot minute's subscribers)."""
    rows: list[dict[str, object]] = []
    for index, name in enumerate(names):
        tz = ZoneInfo(name)
        hot_time = HOT.astimezone(tz).time().replace(second=0, microsecond=0)
        rows.append(
            {"zone": index, "quarter": -1, "name": name, "at": hot_time, "next_run_at": HOT}
        )
        for quarter in range(96):
            at = dt.time(quarter // 4, quarter % 4 * 15)
            due = next_occurrence(HOT, at, tz).due_at
            rows.append(
                {"zone": index, "quarter": quarter, "name": name, "at": at, "next_run_at": due}
            )
    return rows


async def fill(url: str, total: int, hot: int, zone_count: int) -> float:
    """Insert ``total`` subscriptions, ``hot`` of them due at ``HOT``; returns seconds taken."""
    names = zones(zone_count)
    started = time.perf_counter()
    engine = create_engine_for(parse_database_url(url))
    is_postgres = engine.dialect.name == "postgresql"
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "CREATE TABLE bench_slots (zone INTEGER, quarter INTEGER, name VARCHAR(64), "
                "at TIME, next_run_at "
                + ("TIMESTAMPTZ" if is_postgres else "DATETIME")
                + ", PRIMARY KEY (zone, quarter))"
            )
        )
        rows = slots(names)
        for row in rows:
            if not is_postgres:
                moment = row["next_run_at"]
                assert isinstance(moment, dt.datetime)
                row["next_run_at"] = moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.000000")
                at = row["at"]
                assert isinstance(at, dt.time)
                row["at"] = at.strftime("%H:%M:%S.000000")
        await connection.execute(
            text("INSERT INTO bench_slots VALUES (:zone, :quarter, :name, :at, :next_run_at)"),
            rows,
        )
        numbers = f"generate_series(0, {total - 1}) AS n(i)" if is_postgres else "numbers"
        prefix = (
            ""
            if is_postgres
            else f"WITH RECURSIVE numbers(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM numbers "
            f"WHERE i < {total - 1}) "
        )
        topics = '\'["today", "events"]\'' + ("::jsonb" if is_postgres else "")
        true = "true" if is_postgres else "1"
        created = "now()" if is_postgres else "'2026-01-01 00:00:00.000000'"
        await connection.execute(
            text(
                f"{prefix}INSERT INTO subscriptions (platform, chat_id, thread_id, language, "
                "timezone, delivery_time, topics, active, next_run_at, created_at, updated_at) "
                f"SELECT 'telegram', CAST(i AS VARCHAR(20)), '', "
                f"CASE WHEN i % 5 = 0 THEN 'ru' ELSE 'en' END, s.name, s.at, {topics}, {true}, "
                f"s.next_run_at, {created}, {created} FROM {numbers} "
                f"JOIN bench_slots s ON s.zone = i % {zone_count} AND s.quarter = "
                f"CASE WHEN i < {hot} THEN -1 ELSE (i / {zone_count}) % 96 END"
            )
        )
        await connection.execute(text("DROP TABLE bench_slots"))
    if is_postgres:
        async with engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(text("VACUUM ANALYZE subscriptions"))
    else:
        async with engine.begin() as connection:
            await connection.execute(text("ANALYZE"))
    await engine.dispose()
    return time.perf_counter() - started


async def rewind_hot_minute(engine: AsyncEngine) -> None:
    """Put the hot minute back: its rows deleted, its subscriptions due at ``HOT`` again."""
    is_postgres = engine.dialect.name == "postgresql"
    hot: object = HOT if is_postgres else HOT.strftime("%Y-%m-%d %H:%M:%S.000000")
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "UPDATE subscriptions SET next_run_at = :hot"
                " WHERE id IN (SELECT subscription_id FROM deliveries)"
            ),
            {"hot": hot},
        )
        await connection.execute(text("DELETE FROM deliveries"))
    async with engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(text("VACUUM ANALYZE" if is_postgres else "VACUUM"))


async def measure(url: str, runs: int, fanout: bool, ahead: dt.timedelta) -> dict[str, float]:
    """Run the measurements on a filled database."""
    engine = create_engine_for(parse_database_url(url))
    ledger = SqlDeliveryLedger(sessionmaker_for(engine))
    figures: dict[str, float] = {}
    quiet = HOT - dt.timedelta(minutes=1)
    async with engine.connect() as connection:
        due_sql = (
            "SELECT id FROM subscriptions WHERE active = "
            + ("true" if engine.dialect.name == "postgresql" else "1")
            + " AND next_run_at <= :now ORDER BY next_run_at LIMIT 5000"
        )
        explain = "EXPLAIN " if engine.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN "
        plan = (await connection.execute(text(explain + due_sql), {"now": quiet})).all()
        print("  due-query plan:", " | ".join(str(row[-1]) for row in plan))

    async def timed_queue(
        now: dt.datetime, ahead: dt.timedelta = dt.timedelta(0)
    ) -> tuple[float, int]:
        horizon = now + ahead
        started = time.perf_counter()
        counts = await ledger.queue_daily(
            now, lambda due: plan_daily(due, now, WINDOW, horizon), horizon=horizon
        )
        return time.perf_counter() - started, counts.queued

    async def timed_claim(now: dt.datetime) -> tuple[float, int]:
        started = time.perf_counter()
        claimed = await ledger.claim("bench", ["telegram"], now, LEASE, CLAIMED)
        return time.perf_counter() - started, len(claimed)

    await timed_queue(quiet)  # warm up the pool and caches
    samples = []
    for _ in range(runs):
        seconds, queued = await timed_queue(quiet)
        assert queued == 0
        samples.append(seconds * 1000)
    samples.sort()
    figures["quiet_tick_median_ms"] = statistics.median(samples)
    figures["quiet_tick_p95_ms"] = samples[int(len(samples) * 0.95) - 1]

    seconds, queued = await timed_queue(HOT)
    figures["hot_minute_s"] = seconds
    figures["hot_minute_rows"] = queued
    claim_seconds, _ = await timed_claim(HOT)
    figures["hot_minute_claimable_s"] = seconds + claim_seconds

    samples = []
    for _ in range(runs):
        seconds, queued = await timed_queue(HOT + dt.timedelta(minutes=1))
        samples.append(seconds * 1000)
    samples.sort()
    figures["after_hot_tick_median_ms"] = statistics.median(samples)

    if ahead:
        await rewind_hot_minute(engine)
        seconds, queued = await timed_queue(HOT - ahead, ahead)
        figures["ahead_s"] = seconds
        figures["ahead_rows"] = queued
        figures["ahead_margin_s"] = ahead.total_seconds() - seconds
        tick_seconds, queued_at_hot = await timed_queue(HOT, ahead)
        assert queued_at_hot == 0, queued_at_hot
        claim_seconds, claimed = await timed_claim(HOT)
        assert claimed == min(CLAIMED, int(figures["ahead_rows"])), claimed
        figures["ahead_tick_at_hot_ms"] = tick_seconds * 1000
        figures["ahead_first_claim_ms"] = claim_seconds * 1000
        # the running bot's drainer wakes at the minute (its rows' ``not_before``) and claims,
        # while the tick at the minute plans the next one
        figures["ahead_claimable_s"] = claim_seconds

    if fanout:
        started = time.perf_counter()
        counts = await ledger.fan_out(
            [FanOut("event:0:announce", HOT.date(), HOT)], HOT + dt.timedelta(minutes=2)
        )
        figures["fanout_s"] = time.perf_counter() - started
        figures["fanout_rows"] = counts.queued
    await engine.dispose()
    return figures


def peak_rss_mb() -> float:
    """This process's peak resident memory (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def main() -> None:
    """Parse the arguments, build the database, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--subscriptions", type=int, default=1_000_000)
    parser.add_argument("--hot", type=int, default=100_000)
    parser.add_argument("--zones", type=int, default=400)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--fanout", action="store_true", help="also fan an event out to all")
    parser.add_argument(
        "--ahead",
        type=float,
        default=60.0,
        help="seconds the hot minute is also planned ahead (DELIVERY_PLAN_AHEAD); 0: not",
    )
    args = parser.parse_args()

    folder = tempfile.mkdtemp(prefix="bench-scheduling-")
    database = f"bench_{uuid.uuid4().hex[:10]}"
    if args.db == "sqlite":
        url = f"sqlite:///{folder}/bench.sqlite3"
    else:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{database}"')
        base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
        url = f"{base}/{database}"
    try:
        await asyncio.to_thread(upgrade, parse_database_url(url))
        print(
            f"{args.db}: {args.subscriptions:,} subscriptions in {args.zones} zones, "
            f"{args.hot:,} due in the hot minute"
        )
        filled = await fill(url, args.subscriptions, args.hot, args.zones)
        print(f"  filled in {filled:.1f} s")
        figures = await measure(url, args.runs, args.fanout, dt.timedelta(seconds=args.ahead))
    finally:
        if args.db == "postgres":
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    print(
        f"  typical tick (nothing due): median {figures['quiet_tick_median_ms']:.2f} ms, "
        f"p95 {figures['quiet_tick_p95_ms']:.2f} ms"
    )
    print(
        f"  hot minute: {int(figures['hot_minute_rows']):,} rows queued in "
        f"{figures['hot_minute_s']:.2f} s"
    )
    print(f"  tick right after the hot minute: median {figures['after_hot_tick_median_ms']:.2f} ms")
    print(
        f"  planned at the minute: its first {CLAIMED:,} rows claimable "
        f"{figures['hot_minute_claimable_s']:.2f} s after it starts"
    )
    if "ahead_s" in figures:
        print(
            f"  planned {args.ahead:.0f} s ahead: {int(figures['ahead_rows']):,} rows queued in "
            f"{figures['ahead_s']:.2f} s, {figures['ahead_margin_s']:.1f} s before the minute; "
            f"at the minute, its tick {figures['ahead_tick_at_hot_ms']:.1f} ms and the first "
            f"claim of {CLAIMED:,} rows {figures['ahead_first_claim_ms']:.1f} ms: claimable "
            f"{figures['ahead_claimable_s']:.2f} s after it starts"
        )
    if "fanout_s" in figures:
        print(
            f"  event fan-out: {int(figures['fanout_rows']):,} rows in {figures['fanout_s']:.2f} s"
        )
    print(f"  peak resident memory: {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    asyncio.run(main())
