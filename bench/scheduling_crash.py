"""Benchmark: ``kill -9`` five times during a 20,000-chat delivery run; count missing and
duplicate deliveries.

    python bench/scheduling_crash.py --db sqlite
    python bench/scheduling_crash.py --db postgres   # TEST_PG_ADMIN_URL, as the tests

Each round starts ``tests/scheduling/crash_worker.py`` (a ``tick`` whose sender appends the
chat id to a file after a few milliseconds, like a network call) and kills it with SIGKILL at a
random moment; a last round runs to the end. The file is what the chats received. Printed:
deliveries, missing chats, duplicates (at most the sends in flight at each kill).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from sqlalchemy import insert

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import daily_subscription_rows  # noqa: E402
from db import models  # noqa: E402
from db.deliveries import SqlDeliveryLedger  # noqa: E402
from db.engine import create_engine_for, parse_database_url, sessionmaker_for, upgrade  # noqa: E402
from tests.scheduling.crash_worker import CONCURRENCY  # noqa: E402

PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


async def fill(url: str, chats: int) -> None:
    """``chats`` console subscriptions due at the worker's instant."""
    engine = create_engine_for(parse_database_url(url))
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    async with engine.begin() as connection:
        await connection.execute(
            insert(models.Subscription),
            daily_subscription_rows("console", range(chats), now),
        )
    await engine.dispose()


def lines(path: Path) -> list[str]:
    """The chat ids received so far."""
    return path.read_text().split() if path.exists() else []


async def spawn(url: str, log: Path) -> asyncio.subprocess.Process:
    """One delivery pass in a child process."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.scheduling.crash_worker",
        url,
        str(log),
        "2",
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.DEVNULL,
    )


async def run(url: str, chats: int, kills: int, seed: int) -> None:
    """Fill, kill ``kills`` times, finish, report."""
    await asyncio.to_thread(upgrade, parse_database_url(url))
    await fill(url, chats)
    log = Path(tempfile.mkdtemp(prefix="bench-crash-")) / "received.log"
    rng = random.Random(seed)
    started = time.perf_counter()
    killed = 0
    for round_number in range(kills):
        process = await spawn(url, log)
        target = len(lines(log)) + rng.randint(chats // (kills * 4), chats // (kills + 1))
        if round_number == 0:
            target = 1  # the first kill comes right after planning, at the first send
        for _ in range(120_000):  # at most ten minutes
            if len(lines(log)) >= target or process.returncode is not None:
                break
            await asyncio.sleep(0.005)
        if process.returncode is None:
            process.send_signal(signal.SIGKILL)
            killed += 1
        await process.wait()
        received = lines(log)
        print(f"  kill {round_number + 1}: {len(set(received)):,} chats received so far")
    final = await spawn(url, log)
    await final.wait()
    elapsed = time.perf_counter() - started
    received = lines(log)
    unique = set(received)
    missing = chats - len(unique & {str(n) for n in range(chats)})
    duplicates = len(received) - len(unique)
    engine = create_engine_for(parse_database_url(url))
    counts = await SqlDeliveryLedger(sessionmaker_for(engine)).status_counts()
    await engine.dispose()
    print(
        f"  {killed} kills, {elapsed:.1f} s: {len(unique):,} of {chats:,} chats received, "
        f"missing {missing}, duplicates {duplicates} (bound: {killed} x {CONCURRENCY} in flight)"
    )
    print(f"  ledger: {counts}")


async def main() -> None:
    """Parse the arguments, run on a fresh database, clean up."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--chats", type=int, default=20_000)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(f"{args.db}: {args.chats:,} chats, kill -9 {args.kills} times")
    database = f"bench_{uuid.uuid4().hex[:10]}"
    if args.db == "sqlite":
        url = f"sqlite:///{tempfile.mkdtemp(prefix='bench-crash-')}/bench.sqlite3"
    else:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{database}"')
        base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
        url = f"{base}/{database}"
    try:
        await run(url, args.chats, args.kills, args.seed)
    finally:
        if args.db == "postgres":
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


if __name__ == "__main__":
    asyncio.run(main())
