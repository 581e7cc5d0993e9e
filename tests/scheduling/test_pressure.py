"""Commands before posts: the drainers' concurrency follows the event loop's lag
(``bot.scheduling.pressure``), and a drainer claims its free slots in batches."""

from __future__ import annotations

import asyncio
import time

from bot.app import App
from bot.core.reply import Reply
from bot.scheduling.ports import ClaimedRow
from bot.scheduling.pressure import FLOOR, LoopPressure
from bot.scheduling.settings import DeliverySettings
from db.deliveries import SqlDeliveryLedger
from tests.scheduling.support import add_subscriptions, service


def test_the_share_halves_when_the_loop_lags_and_grows_back_when_it_is_quiet() -> None:
    pressure = LoopPressure(target=0.010)
    assert pressure.allowed(32) == 32
    pressure.observe(0.030)
    assert pressure.allowed(32) == 16
    pressure.observe(0.020)
    pressure.observe(0.015)
    assert pressure.allowed(32) == 4
    for _ in range(30):
        pressure.observe(0.030)
    assert pressure.allowed(32) == FLOOR  # never stops sending
    assert pressure.allowed(1) == 1
    pressure.observe(0.007)  # between half the target and the target: held
    assert pressure.allowed(32) == FLOOR
    for _ in range(40):
        pressure.observe(0.001)
    assert pressure.allowed(32) == 32


async def test_a_busy_loop_lowers_the_share_and_a_quiet_one_restores_it() -> None:
    pressure = LoopPressure(target=0.010, interval=0.005)
    pressure.start()
    try:

        async def hog() -> None:
            for _ in range(10):
                time.sleep(0.03)  # noqa: ASYNC251  (a callback that holds the loop, on purpose)
                await asyncio.sleep(0)

        await hog()
        await asyncio.sleep(0.01)
        assert pressure.share < 0.5
        await asyncio.sleep(0.5)
        assert pressure.share == 1.0
    finally:
        await pressure.stop()


class Gauge:
    """A sender that counts the sends in flight; each takes a moment, one after another."""

    def __init__(self) -> None:
        self.inflight = 0
        self.peak = 0
        self.sent = 0
        self._one_at_a_time = asyncio.Lock()

    async def send(self, chat_id: str, reply: Reply, thread_id: str = "", *, key: str = "") -> None:
        self.inflight += 1
        self.peak = max(self.peak, self.inflight)
        try:
            async with self._one_at_a_time:
                await asyncio.sleep(0.002)
            self.sent += 1
        finally:
            self.inflight -= 1


class CountingLedger(SqlDeliveryLedger):
    claims = 0

    async def claim(self, *args: object, **kwargs: object) -> list[ClaimedRow]:
        self.claims += 1
        return await super().claim(*args, **kwargs)  # type: ignore[arg-type]


async def test_a_drainer_under_pressure_keeps_fewer_sends_in_flight(empty_app: App) -> None:
    await add_subscriptions(empty_app, [{} for _ in range(60)])
    gauge = Gauge()
    deliveries = service(
        empty_app, {"console": gauge}, settings=DeliverySettings(concurrency=16, poll_interval=0.01)
    )
    await deliveries.plan()
    deliveries.pressure = LoopPressure()
    deliveries.pressure.share = 0.125  # the loop lagging: 2 of 16
    await deliveries.drain()
    assert gauge.sent == 60
    assert gauge.peak == 2


async def test_free_slots_are_claimed_in_batches_not_one_by_one(empty_app: App) -> None:
    """Sends finishing one at a time, a couple of milliseconds apart: a drainer that claimed
    as each one finished made a claim transaction per row."""
    rows = 240
    await add_subscriptions(empty_app, [{} for _ in range(rows)])
    gauge = Gauge()
    deliveries = service(
        empty_app, {"console": gauge}, settings=DeliverySettings(concurrency=32, poll_interval=0.01)
    )
    await deliveries.plan()
    ledger = deliveries.ledger = CountingLedger(empty_app.sessions)
    await deliveries.drain()
    assert gauge.sent == rows
    assert ledger.claims <= rows // 4, ledger.claims  # one by one: 73-116 claims
