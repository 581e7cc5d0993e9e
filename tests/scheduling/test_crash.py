"""``kill -9`` at any moment: after a restart every due item is delivered, and duplicates are at
most the sends in flight at each kill."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.app import App
from db.deliveries import SqlDeliveryLedger
from tests.fakes.discord_server import FakeDiscordServer
from tests.scheduling.crash_worker import CONCURRENCY
from tests.scheduling.support import add_subscriptions

ROOT = Path(__file__).resolve().parents[2]
SUBSCRIBERS = 600
KILLS = 5
LEASE_SECONDS = "1"


def _lines(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


async def _spawn(database_url: str, log: Path) -> asyncio.subprocess.Process:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.scheduling.crash_worker",
        database_url,
        str(log),
        LEASE_SECONDS,
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL,
    )


@pytest.mark.slow
async def test_kill_9_five_times_loses_nothing(
    empty_app: App, database_url: str, tmp_path: Path
) -> None:
    await add_subscriptions(empty_app, [{} for _ in range(SUBSCRIBERS)])
    async with empty_app.sessions() as session:
        from sqlalchemy import select

        from db import models

        chats = set(await session.scalars(select(models.Subscription.chat_id)))
    log = tmp_path / "received.log"
    rng = random.Random(7)
    kills = 0
    for round_number in range(KILLS):
        process = await _spawn(database_url, log)
        if round_number == 0:
            # Anywhere from start-up through planning to the first sends.
            await asyncio.sleep(rng.uniform(0.5, 2.0))
        else:
            target = len(_lines(log)) + rng.randint(10, 60)
            for _ in range(3000):
                if len(_lines(log)) >= target or process.returncode is not None:
                    break
                await asyncio.sleep(0.01)
        if process.returncode is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        await process.wait()
    final = await _spawn(database_url, log)
    assert await asyncio.wait_for(final.wait(), timeout=180) == 0
    received = _lines(log)
    duplicates = len(received) - len(set(received))
    print(f"\nkill -9 x{kills}: {len(set(received))} delivered, {duplicates} duplicates")
    assert set(received) == chats
    assert duplicates <= kills * CONCURRENCY
    assert await SqlDeliveryLedger(empty_app.sessions).status_counts() == {"sent": SUBSCRIBERS}


async def _spawn_with_lease(
    database_url: str, log: Path, lease: str, *options: str
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.scheduling.crash_worker",
        database_url,
        str(log),
        lease,
        *options,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL,
    )


@pytest.mark.slow
async def test_after_kill_9_the_rows_it_held_are_taken_over_in_seconds_not_the_lease(
    empty_app: App, database_url: str, tmp_path: Path
) -> None:
    """The claim lease is two minutes and a heartbeat counts for a minute; the killed process
    held rows; the restarted one must send them within seconds, because the lock the dead
    one held while it lived ended with it (neither the lease nor the heartbeat's timeout is
    what frees them)."""
    await add_subscriptions(empty_app, [{} for _ in range(120)])
    log = tmp_path / "received.log"
    process = await _spawn_with_lease(database_url, log, "120", "--worker-timeout", "60")
    ledger = SqlDeliveryLedger(empty_app.sessions)
    for _ in range(3000):
        if process.returncode is not None:
            break
        if len(_lines(log)) >= 20:
            process.send_signal(signal.SIGSTOP)  # frozen, then killed only while it holds rows
            if (await ledger.status_counts()).get("sending", 0) > 0:
                break
            process.send_signal(signal.SIGCONT)
        await asyncio.sleep(0.01)
    assert process.returncode is None
    process.send_signal(signal.SIGKILL)
    await process.wait()
    assert (await ledger.status_counts()).get("sending", 0) > 0  # it died holding rows
    started = time.monotonic()
    final = await _spawn_with_lease(database_url, log, "120", "--worker-timeout", "60")
    assert await asyncio.wait_for(final.wait(), timeout=60) == 0
    elapsed = time.monotonic() - started
    received = _lines(log)
    assert len(set(received)) == 120
    assert len(received) - len(set(received)) <= CONCURRENCY
    assert await ledger.status_counts() == {"sent": 120}
    assert elapsed < 20, elapsed  # the lease would have taken 120 s, the heartbeat 60 s


async def _kill_while_holding_rows(
    process: asyncio.subprocess.Process, ledger: SqlDeliveryLedger, sent: Callable[[], int], at: int
) -> bool:
    """SIGKILL ``process`` once ``sent()`` reached ``at`` and it holds claimed rows."""
    for _ in range(6000):
        if process.returncode is not None:
            return False
        if sent() >= at:
            process.send_signal(signal.SIGSTOP)
            if (await ledger.status_counts()).get("sending", 0) > 0:
                process.send_signal(signal.SIGKILL)
                await process.wait()
                return True
            process.send_signal(signal.SIGCONT)
        await asyncio.sleep(0.01)
    return False


@pytest.mark.slow
async def test_kill_9_on_discord_leaves_no_duplicate_thanks_to_the_nonce(
    empty_app: App, database_url: str, tmp_path: Path
) -> None:
    async with FakeDiscordServer() as dc:
        guild = dc.add_guild("Crash", channels=())
        channels = [dc.add_channel(guild, f"c-{n}").id for n in range(150)]
        await add_subscriptions(
            empty_app, [{"platform": "discord", "chat_id": str(c)} for c in channels]
        )
        ledger = SqlDeliveryLedger(empty_app.sessions)

        def sent() -> int:
            return sum(len(dc.stats.message_times.get(c, [])) for c in channels)

        options = ["--platform", "discord", "--api", dc.api_base, "--token", dc.token]
        options += ["--rate", "100", "--concurrency", "16"]
        kills = 0
        for at in (20, 60, 100):
            process = await _spawn_with_lease(database_url, tmp_path / "unused", "120", *options)
            kills += await _kill_while_holding_rows(process, ledger, sent, at)
            if process.returncode is None:
                process.kill()
                await process.wait()
        started = time.monotonic()
        final = await _spawn_with_lease(database_url, tmp_path / "unused", "120", *options)
        assert await asyncio.wait_for(final.wait(), timeout=90) == 0
        elapsed = time.monotonic() - started
        per_channel = [len(dc.stats.message_times.get(c, [])) for c in channels]
    print(f"\ndiscord kill -9 x{kills}: nonce repeats {dc.stats.nonce_repeats}")
    assert kills == 3
    assert per_channel == [1] * len(channels)  # none missing, none twice
    assert await ledger.status_counts() == {"sent": len(channels)}
    assert elapsed < 30, elapsed  # the dead ones' rows were taken over, not left to the lease
