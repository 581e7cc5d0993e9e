"""Benchmark: two and three delivery processes on one PostgreSQL database and one Telegram
token, against the fake Bot API server (30 sends a second); ours beside the design before
issue 15, where each process took the whole ceiling.

    python bench/scheduling_processes.py                    # 3,000 chats; 2 and 3 processes
    python bench/scheduling_processes.py --chats 1000 --processes 2

Each run starts N ``tests/scheduling/crash_worker.py`` processes at once (a ``tick`` with the
Telegram adapter's sender, ``TELEGRAM_RATE_LIMIT=29.4``), then, in a second run, kills one of
them with SIGKILL when a third of the chats got their post. Printed: the combined rate against
the ceiling, 429s, duplicates, missing chats, how the sends split between the processes, and
the total time. ``--legacy`` workers have no heartbeat: each paces itself at the whole
ceiling, and only the claim lease (120 s) frees a dead one's rows. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import signal
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import psycopg
from sqlalchemy import insert, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import daily_subscription_rows  # noqa: E402
from db import models  # noqa: E402
from db.engine import create_engine_for, parse_database_url, upgrade  # noqa: E402
from tests.fakes.telegram_server import FakeTelegramServer, FloodLimits  # noqa: E402

PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
CEILING = 30
RATE = 29.4


async def run(chats: int, processes: int, *, kill: bool, legacy: bool) -> None:
    """One run on a fresh database and a fresh fake server."""
    database = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    url = f"{base}/{database}"
    try:
        await asyncio.to_thread(upgrade, parse_database_url(url))
        limits = FloodLimits(enabled=True, global_per_second=CEILING)
        async with FakeTelegramServer(flood_control=limits, calls_kept=1000) as server:
            ids = [server.private_chat(server.add_user(f"U{n}")).id for n in range(chats)]
            engine = create_engine_for(parse_database_url(url))
            async with engine.begin() as connection:
                now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
                await connection.execute(
                    insert(models.Subscription), daily_subscription_rows("telegram", ids, now)
                )
            options = ["--platform", "telegram", "--api", server.base_url]
            options += ["--token", server.token, "--rate", str(RATE), "--concurrency", "32"]
            options += ["--legacy"] if legacy else []
            started = time.perf_counter()
            workers = [
                await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "tests.scheduling.crash_worker",
                    url,
                    "/dev/null",
                    "120",
                    *options,
                    cwd=ROOT,
                    env={**os.environ, "PYTHONPATH": str(ROOT)},
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.DEVNULL,
                )
                for _ in range(processes)
            ]
            if kill:
                for _ in range(60_000):
                    if server.stats.sends >= chats // 3 or workers[0].returncode is not None:
                        break
                    await asyncio.sleep(0.01)
                if workers[0].returncode is None:
                    workers[0].send_signal(signal.SIGKILL)
            await asyncio.gather(*(worker.wait() for worker in workers))
            elapsed = time.perf_counter() - started
            async with engine.connect() as connection:
                holders = Counter(
                    holder
                    for (holder,) in await connection.execute(
                        select(models.Delivery.claimed_by).where(models.Delivery.status == "sent")
                    )
                )
            await engine.dispose()
            stats = server.stats
            times = sorted(t for ts in stats.send_times.values() for t in ts)
            rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
            duplicates = sum(max(0, len(ts) - 1) for ts in stats.send_times.values())
            missing = sum(1 for chat in ids if not stats.send_times.get(chat))
            split = sorted(holders.values(), reverse=True)
            name = "legacy (each takes the ceiling)" if legacy else "ours (shared ceiling)"
            print(
                f"  {name}, {processes} processes{', one killed' if kill else ''}: "
                f"{elapsed:.1f} s; combined {rate:.2f}/s ({100 * rate / CEILING:.1f}% of "
                f"{CEILING}/s); 429s {stats.flood_rejections} of {stats.requests:,} requests; "
                f"duplicates {duplicates}; missing {missing}; sent per process {split}",
                flush=True,
            )
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


async def main() -> None:
    """Parse the arguments and run ours and the legacy design side by side."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=3000)
    parser.add_argument("--processes", type=int, nargs="*", default=[2, 3])
    parser.add_argument("--no-legacy", action="store_true")
    args = parser.parse_args()
    print(f"telegram: {args.chats:,} chats, one token, the server allows {CEILING}/s")
    for count in args.processes:
        for kill in (False, True):
            await run(args.chats, count, kill=kill, legacy=False)
            if not args.no_legacy:
                await run(args.chats, count, kill=kill, legacy=True)


if __name__ == "__main__":
    asyncio.run(main())
