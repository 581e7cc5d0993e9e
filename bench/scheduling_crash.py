"""Benchmark: ``kill -9`` five times during a delivery run, against the fake Telegram and
Discord servers, on SQLite and on PostgreSQL; ours beside the design before issue 15.

    python bench/scheduling_crash.py --platform discord --db sqlite --chats 5000
    python bench/scheduling_crash.py --platform telegram --db postgres --chats 3000
    python bench/scheduling_crash.py --platform console --chats 20000   # no server: a file

Each round starts ``tests/scheduling/crash_worker.py`` (a ``tick`` with the real adapter's
sender pointed at the fake server this process runs, with its rate limits on), waits until a
random share of the chats got their post, freezes the worker with SIGSTOP until it holds
claimed rows, and kills it with SIGKILL; a last round runs to the end. The same is done on a
fresh database without kills (the uninterrupted reference) and, unless ``--no-legacy``, with
``--legacy`` workers: lease only (``DELIVERY_CLAIM_LEASE`` = 120 s), no heartbeat, no nonce,
as before issue 15.

Printed per run: for each restart, the seconds from the restart to its first send and to the
moment no row is held by a dead worker any more (takeover); the total time against the
uninterrupted run; duplicates (chats that got the post twice: on Discord the goal is 0, on
Telegram at most the sends in flight at each kill), nonce repeats (resends Discord answered
with the message already created), missing chats. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import random
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from sqlalchemy import insert, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import daily_subscription_rows  # noqa: E402
from db import models  # noqa: E402
from db.deliveries import SqlDeliveryLedger  # noqa: E402
from db.engine import create_engine_for, parse_database_url, sessionmaker_for, upgrade  # noqa: E402
from tests.fakes.discord_server import FakeDiscordServer, RateLimits  # noqa: E402
from tests.fakes.telegram_server import FakeTelegramServer, FloodLimits  # noqa: E402

PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
RATES = {"telegram": 29.4, "discord": 49.0, "console": 1000.0}
CONCURRENCY = {"telegram": 32, "discord": 32, "console": 8}


@dataclass
class Target:
    """Where the worker sends and how the parent counts what arrived."""

    platform: str
    chat_ids: list[str]
    options: list[str]
    received: Callable[[], dict[str, int]]
    """Posts per chat id so far."""
    repeats: Callable[[], int] = lambda: 0


@dataclass
class Run:
    """What one run measured."""

    name: str
    elapsed: float = 0.0
    kills: int = 0
    first_send: list[float] = field(default_factory=list)
    takeover: list[float] = field(default_factory=list)
    duplicates: int = 0
    missing: int = 0
    repeats: int = 0
    held_at_kills: list[int] = field(default_factory=list)


@contextlib.asynccontextmanager
async def fake_target(platform: str, chats: int, log: Path) -> AsyncIterator[Target]:
    """A fake server with the platform's limits and ``chats`` chats on it."""
    if platform == "telegram":
        limits = FloodLimits(enabled=True, global_per_second=30)
        async with FakeTelegramServer(flood_control=limits, calls_kept=1000) as tg:
            ids = [tg.private_chat(tg.add_user(f"User {n}")).id for n in range(chats)]

            def telegram_received() -> dict[str, int]:
                return {str(c): len(ts) for c, ts in tg.stats.send_times.items()}

            yield Target(
                platform,
                [str(i) for i in ids],
                ["--api", tg.base_url, "--token", tg.token],
                telegram_received,
            )
    elif platform == "discord":
        async with FakeDiscordServer(rate_limits=RateLimits.discord(), request_log_size=1000) as dc:
            ids = []
            for start in range(0, chats, 400):
                guild = dc.add_guild(f"Guild {start // 400}", channels=())
                ids += [
                    dc.add_channel(guild, f"c-{n}").id
                    for n in range(start, min(chats, start + 400))
                ]

            def discord_received() -> dict[str, int]:
                return {str(c): len(ts) for c, ts in dc.stats.message_times.items()}

            yield Target(
                platform,
                [str(i) for i in ids],
                ["--api", dc.api_base, "--token", dc.token],
                discord_received,
                lambda: dc.stats.nonce_repeats,
            )
    else:

        def console_received() -> dict[str, int]:
            counts: dict[str, int] = {}
            for line in log.read_text().split() if log.exists() else []:
                counts[line] = counts.get(line, 0) + 1
            return counts

        yield Target(platform, [str(n) for n in range(chats)], [], console_received)


@contextlib.asynccontextmanager
async def fresh_database(kind: str) -> AsyncIterator[str]:
    """A migrated database of its own, dropped afterwards."""
    if kind == "sqlite":
        url = f"sqlite:///{tempfile.mkdtemp(prefix='bench-crash-')}/bench.sqlite3"
        await asyncio.to_thread(upgrade, parse_database_url(url))
        yield url
        return
    database = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    url = f"{base}/{database}"
    try:
        await asyncio.to_thread(upgrade, parse_database_url(url))
        yield url
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


async def spawn(url: str, log: Path, target: Target, legacy: bool) -> asyncio.subprocess.Process:
    """One delivery pass in a child process."""
    options = [
        "--platform",
        target.platform,
        *target.options,
        "--rate",
        str(RATES[target.platform]),
        "--concurrency",
        str(CONCURRENCY[target.platform]),
        *(["--legacy"] if legacy else []),
    ]
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.scheduling.crash_worker",
        url,
        str(log),
        "120",
        *options,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.DEVNULL,
    )


async def held_rows(ledger: SqlDeliveryLedger) -> dict[int, str | None]:
    """Rows in ``sending`` and who holds them."""
    async with ledger.sessions() as session:
        rows = await session.execute(
            select(models.Delivery.id, models.Delivery.claimed_by).where(
                models.Delivery.status == "sending"
            )
        )
        return {row_id: holder for row_id, holder in rows}


async def run(kind: str, platform: str, chats: int, kills: int, *, seed: int, legacy: bool) -> Run:
    """Fill a fresh database, kill ``kills`` times, finish; measure. A fresh fake server each
    time: Discord would rightly take the same delivery keys again for repeats."""
    name = ("legacy (lease only, no nonce)" if legacy else "ours") if kills else "uninterrupted"
    result = Run(name)
    log = Path(tempfile.mkdtemp(prefix="bench-crash-")) / "received.log"
    async with fresh_database(kind) as url, fake_target(platform, chats, log) as target:
        engine = create_engine_for(parse_database_url(url))
        async with engine.begin() as connection:
            now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
            await connection.execute(
                insert(models.Subscription),
                daily_subscription_rows(target.platform, target.chat_ids, now),
            )
        ledger = SqlDeliveryLedger(sessionmaker_for(engine))
        rng = random.Random(seed)
        total = len(target.chat_ids)
        before = {**target.received()}
        repeats_before = target.repeats()

        def sent() -> int:
            return sum(target.received().values()) - sum(before.values())

        async def watch_restart(started: float, dead: dict[int, str | None]) -> None:
            count = sent()
            first = None
            while first is None or dead:
                if first is None and sent() > count:
                    first = time.perf_counter() - started
                    result.first_send.append(first)
                if dead:
                    now_held = await held_rows(ledger)
                    dead = {r: h for r, h in dead.items() if now_held.get(r) == h}
                    if not dead:
                        result.takeover.append(time.perf_counter() - started)
                await asyncio.sleep(0.02)

        started = time.perf_counter()
        watcher: asyncio.Task[None] | None = None
        for round_number in range(kills):
            process = await spawn(url, log, target, legacy)
            goal = sent() + rng.randint(total // (kills * 4), total // (kills + 1))
            killed = False
            for _ in range(60_000):
                if process.returncode is not None:
                    break
                if sent() >= goal:
                    process.send_signal(signal.SIGSTOP)
                    held = await held_rows(ledger)
                    if held:
                        process.send_signal(signal.SIGKILL)
                        killed = True
                        result.held_at_kills.append(len(held))
                        break
                    process.send_signal(signal.SIGCONT)
                await asyncio.sleep(0.01)
            await process.wait()
            if watcher is not None:
                watcher.cancel()
            if killed:
                result.kills += 1
                restart = time.perf_counter()
                watcher = asyncio.create_task(watch_restart(restart, held))
            print(f"    {result.name}: kill {round_number + 1} at {sent():,} sends", flush=True)
        final = await spawn(url, log, target, legacy)
        await final.wait()
        await asyncio.sleep(0.1)
        if watcher is not None:
            watcher.cancel()
        result.elapsed = time.perf_counter() - started
        counts = {
            chat: target.received().get(chat, 0) - before.get(chat, 0) for chat in target.chat_ids
        }
        result.duplicates = sum(max(0, n - 1) for n in counts.values())
        result.missing = sum(1 for n in counts.values() if n == 0)
        result.repeats = target.repeats() - repeats_before
        await engine.dispose()
    return result


def report(run_: Run, reference: float) -> None:
    """One line per run."""
    firsts = ", ".join(f"{s:.1f}" for s in run_.first_send) or "-"
    takeovers = ", ".join(f"{s:.1f}" for s in run_.takeover) or "-"
    print(
        f"  {run_.name}: {run_.kills} kills; total {run_.elapsed:.1f} s "
        f"({run_.elapsed - reference:+.1f} s against the uninterrupted run); "
        f"restart to first send [{firsts}] s; restart to takeover of the dead one's rows "
        f"[{takeovers}] s; rows held at the kills {run_.held_at_kills}; duplicates "
        f"{run_.duplicates}; nonce repeats {run_.repeats}; missing {run_.missing}"
    )


async def main() -> None:
    """Parse the arguments; run the reference, ours and the legacy design."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--platform", choices=("telegram", "discord", "console"), default="discord")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--chats", type=int, default=5000)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-legacy", action="store_true", help="skip the design before #15")
    parser.add_argument("--no-reference", action="store_true", help="skip the uninterrupted run")
    args = parser.parse_args()
    print(
        f"{args.platform} on {args.db}: {args.chats:,} chats, kill -9 {args.kills} times, "
        f"rate {RATES[args.platform]}/s"
    )
    reference = 0.0
    shape = (args.db, args.platform, args.chats)
    if not args.no_reference:
        clean = await run(*shape, 0, seed=args.seed, legacy=False)
        reference = clean.elapsed
        report(clean, reference)
    report(await run(*shape, args.kills, seed=args.seed, legacy=False), reference)
    if not args.no_legacy:
        report(await run(*shape, args.kills, seed=args.seed, legacy=True), reference)


if __name__ == "__main__":
    asyncio.run(main())
