"""Several processes on one PostgreSQL database and one bot token share its ceiling: no 429,
the work split between them, and a process killed mid-run leaves nothing behind (issue 15)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.app import App
from db import models
from tests.fakes.telegram_server import FakeTelegramServer, FloodLimits
from tests.scheduling.support import add_subscriptions

ROOT = Path(__file__).resolve().parents[2]
CEILING = 10  # Telegram's 30/s scaled down, so the test takes seconds


async def _spawn(url: str, server: FakeTelegramServer, rate: float) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.scheduling.crash_worker",
        url,
        "/dev/null",
        "120",
        "--platform",
        "telegram",
        "--api",
        server.base_url,
        "--token",
        server.token,
        "--rate",
        str(rate),
        "--concurrency",
        "16",
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL,
    )


async def _fill(app: App, server: FakeTelegramServer, count: int) -> list[int]:
    chats = [server.private_chat(server.add_user(f"User {n}")).id for n in range(count)]
    await add_subscriptions(app, [{"platform": "telegram", "chat_id": str(c)} for c in chats])
    return chats


async def _senders(app: App) -> int:
    async with app.sessions() as session:
        return int(
            await session.scalar(
                select(func.count(func.distinct(models.Delivery.claimed_by))).where(
                    models.Delivery.status == "sent"
                )
            )
            or 0
        )


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_three_processes_share_one_ceiling_and_the_work(
    empty_app: App, database_url: str
) -> None:
    limits = FloodLimits(enabled=True, global_per_second=CEILING)
    async with FakeTelegramServer(flood_control=limits) as server:
        chats = await _fill(empty_app, server, 150)
        # all three plan at once: the ones that skip the locked subscriptions must wait for
        # the rows instead of finding the queue empty and leaving
        processes = [await _spawn(database_url, server, 0.98 * CEILING) for _ in range(3)]
        codes = await asyncio.wait_for(asyncio.gather(*(p.wait() for p in processes)), 120)
        stats = server.stats
    assert codes == [0, 0, 0]
    assert stats.flood_rejections == 0  # each took a third, not the whole ceiling
    assert [len(stats.send_times.get(c, [])) for c in chats] == [1] * len(chats)
    assert await _senders(empty_app) >= 2  # the work was shared, not done by one
    times = sorted(t for ts in stats.send_times.values() for t in ts)
    rate = (len(times) - 1) / (times[-1] - times[0])
    assert rate >= 0.6 * CEILING, rate


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_when_one_of_two_processes_dies_the_other_finishes_its_share(
    empty_app: App, database_url: str
) -> None:
    limits = FloodLimits(enabled=True, global_per_second=CEILING)
    async with FakeTelegramServer(flood_control=limits) as server:
        chats = await _fill(empty_app, server, 120)
        first, second = [await _spawn(database_url, server, 0.98 * CEILING) for _ in range(2)]
        for _ in range(3000):
            if server.stats.sends >= 30:
                break
            await asyncio.sleep(0.01)
        first.send_signal(signal.SIGKILL)
        await first.wait()
        assert await asyncio.wait_for(second.wait(), 120) == 0
        stats = server.stats
    assert stats.flood_rejections == 0
    missing = [c for c in chats if not stats.send_times.get(c)]
    assert missing == []
    twice = sum(1 for c in chats if len(stats.send_times.get(c, [])) > 1)
    assert twice <= 16  # at most the killed one's sends in flight
