"""The scheduler inside the running bot: one APScheduler job, drainers started and stopped."""

from __future__ import annotations

import asyncio

import pytest

from bot import runner
from bot.app import App
from bot.runner import running_scheduler
from bot.scheduling.ticker import TICK_JOB_ID, MinuteTicker
from tests.scheduling.support import RecordingSender, add_subscriptions, deliveries


async def _until(predicate: object, seconds: float = 10.0) -> None:
    assert callable(predicate)
    for _ in range(int(seconds / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("timed out")


async def test_one_job_stable_id_coalescing_and_a_real_misfire_grace() -> None:
    calls: list[int] = []
    ticker = MinuteTicker(lambda: calls.append(1))
    ticker.start()
    try:
        options = ticker.job_options()
        assert options["id"] == TICK_JOB_ID
        assert options["jobs"] == 1
        assert options["coalesce"] is True
        assert options["max_instances"] == 1
        assert options["misfire_grace_time"] >= 60
        assert "second='0'" in options["trigger"]
        await _until(lambda: calls)  # the catch-up run at start
    finally:
        ticker.shutdown()
    assert ticker.job_options() == {}


async def test_running_scheduler_delivers_what_is_due_and_stops_cleanly(app: App) -> None:
    await add_subscriptions(app, [{}, {"language": "ru"}])
    sender = RecordingSender()
    async with running_scheduler(app, {"console": sender}):
        await _until(lambda: len(sender.sent) == 2)
    rows = await deliveries(app)
    assert sorted(r.status for r in rows) == ["sent", "sent"]
    assert any("9 мая" in s.text for s in sender.sent)


async def test_each_minute_tick_gives_the_heaps_free_pages_back(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    # glibc keeps the pages freed inside its heap: the soak's memory grew ~2 MB a minute with
    # the memory in use flat (bot.memory); the running bot trims it at each tick
    released: list[int] = []

    def release() -> bool:
        released.append(1)
        return True

    monkeypatch.setattr(runner, "release_free_memory", release)
    async with running_scheduler(app, {"console": RecordingSender()}):
        await _until(lambda: released)  # the tick at start
