"""Stopping the heartbeat must end it even when a beat swallows the cancellation."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence

from bot.scheduling.liveness import Liveness


class SwallowingLedger:
    """A ledger whose liveness check swallows a cancellation once, as ``asyncio.wait_for``
    can on Python 3.11 when the cancellation arrives just as its awaitable completes."""

    def __init__(self) -> None:
        self.beats = 0
        self.swallowed = 0
        self.in_beat = asyncio.Event()

    async def hold(self, worker: str) -> bool:
        if self.beats:
            self.in_beat.set()
            try:
                await asyncio.sleep(0.2)
            except asyncio.CancelledError:
                self.swallowed += 1  # lost, as in the race
        return True

    async def heartbeat(
        self,
        worker: str,
        platforms: Sequence[str] = (),
        alive: dt.timedelta = dt.timedelta(seconds=3),
        forget_after: float = 3600.0,
    ) -> dict[str, int]:
        self.beats += 1
        return {}

    async def waiting_peers(
        self, worker: str, since: float | None, alive: dt.timedelta
    ) -> tuple[int, float]:
        return 0, 0.0

    async def retire(self, worker: str) -> None:
        return None


async def test_stop_ends_the_heartbeat_even_if_a_beat_swallows_the_cancellation() -> None:
    ledger = SwallowingLedger()
    liveness = Liveness(
        ledger,  # type: ignore[arg-type]  # the four calls Liveness makes
        "w",
        interval=0.01,
        timeout=dt.timedelta(seconds=3),
    )
    await liveness.start()
    await asyncio.wait_for(ledger.in_beat.wait(), 5)
    stopping = asyncio.ensure_future(liveness.stop())
    done, _ = await asyncio.wait({stopping}, timeout=5)
    assert done, "stop() hung: the heartbeat loop outlived its cancellation"
    assert ledger.swallowed == 1
