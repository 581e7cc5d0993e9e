"""The delivery service: plan what is due into the ledger, then let each platform drain it.

``tick()`` is one pass (the ``tick`` command): plan at the clock's instant, drain until the
queue is empty, report. In the running bot, ``start()`` keeps one drainer per platform running
and ``request_plan()`` (called by the APScheduler job every minute) plans and wakes them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import socket
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from bot.core.domain import DeliveryStatus
from bot.core.ports import Clock, Sender
from bot.scheduling.drain import Drainer, DrainStats
from bot.scheduling.limiter import RateLimiter, policy_for
from bot.scheduling.liveness import Liveness
from bot.scheduling.planner import MAX_CATCHUP, event_items, plan_daily, too_late_reason
from bot.scheduling.ports import DeliveryLedger, Outcome, PreviewRow, QueueCounts
from bot.scheduling.pressure import LoopPressure
from bot.scheduling.render import AnniversariesOf, ItemRenderer, Renderer, RsvpCountOf
from bot.scheduling.settings import DeliverySettings
from bot.scheduling.timing import SystemTime, TimeSource

log = logging.getLogger(__name__)


def worker_id() -> str:
    """A name for this process in ``claimed_by``: host, pid and a random suffix."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(slots=True)
class TickReport:
    """What one pass did: rows queued and skipped by planning, outcomes of the drain, and
    rows left queued for platforms without a sender."""

    planned: QueueCounts = field(default_factory=QueueCounts)
    drained: DrainStats = field(default_factory=DrainStats)
    left_queued: dict[str, int] = field(default_factory=dict)

    @property
    def skipped(self) -> int:
        """Rows skipped at planning and at sending."""
        return self.planned.skipped + self.drained.skipped


class DeliveryService:
    """Plans due deliveries and drains them through the platforms' senders."""

    def __init__(
        self,
        *,
        ledger: DeliveryLedger,
        senders: Mapping[str, Sender],
        anniversaries: AnniversariesOf,
        settings: DeliverySettings,
        clock: Clock,
        time: TimeSource | None = None,
        worker: str | None = None,
        rsvp_count: RsvpCountOf | None = None,
        items: Mapping[str, ItemRenderer] | None = None,
    ) -> None:
        self.ledger = ledger
        self.senders = dict(senders)
        self.settings = settings
        self.clock = clock
        self.time = time or SystemTime()
        self.worker = worker or worker_id()
        self.renderer = Renderer(
            anniversaries,
            ledger.get_event,
            monotonic=self.time.monotonic,
            rsvp_count=rsvp_count,
            items=items,
        )
        self.limiters = {
            platform: RateLimiter(
                policy_for(platform, settings.telegram_rate_limit, settings.discord_rate_limit),
                self.time,
            )
            for platform in self.senders
        }
        self.liveness = (
            Liveness(
                ledger,
                self.worker,
                interval=settings.heartbeat_interval,
                timeout=settings.worker_timeout,
                platforms=sorted(self.senders),
                on_peers=self._share_ceilings,
            )
            if settings.worker_timeout is not None
            else None
        )
        self.pressure: LoopPressure | None = None
        """While the bot runs (``start``): the drainers give way to commands when the event
        loop falls behind."""
        self._drainers: dict[str, Drainer] = {}
        self._tasks: list[asyncio.Task[DrainStats]] = []
        self._plan_requested = asyncio.Event()
        self._planning = asyncio.Lock()
        self._planner: asyncio.Task[None] | None = None
        self._stopping = False

    def _share_ceilings(self, peers: Mapping[str, int]) -> None:
        """Processes on the same platform share its token's ceiling."""
        for platform, count in peers.items():
            limiter = self.limiters.get(platform)
            if limiter is not None:
                if count != limiter.share:
                    log.info("%s: %s processes share the rate limit", platform, count)
                limiter.set_share(count)

    # -- planning -------------------------------------------------------------------------

    async def plan(self, ahead: dt.timedelta = dt.timedelta(0)) -> QueueCounts:
        """Queue everything due at the clock's instant: daily posts, then event items.

        With ``ahead``, the daily posts due within that much more are queued too, each to be
        claimed at its due time (``not_before``): the running bot plans a minute ahead, so a
        hot minute's rows are in the ledger when it starts, not some seconds into it."""
        now = self.clock.now()
        horizon = now + ahead
        window = self.settings.lateness_window
        counts = await self.ledger.queue_daily(
            now,
            lambda due: plan_daily(due, now, window, horizon),
            self.settings.batch_size,
            horizon=horizon,
        )
        events = await self.ledger.events_since(now - MAX_CATCHUP)
        counts.add(await self.ledger.fan_out(event_items(events, now, window), now))
        if counts.queued or counts.skipped:
            log.info(
                "planned at %s: %s queued, %s skipped (%s subscriptions due)",
                now.isoformat(),
                counts.queued,
                counts.skipped,
                counts.subscriptions,
            )
        return counts

    async def preview(self) -> list[PreviewRow]:
        """What ``plan`` and a drain would do at the clock's instant, changing nothing: rows
        already queued, rows that would be queued and sent, rows that would be skipped (at
        planning, or at sending: too late, or an inactive subscription)."""
        now = self.clock.now()
        window = self.settings.lateness_window
        events = await self.ledger.events_since(now - MAX_CATCHUP)
        rows = await self.ledger.preview(
            now,
            lambda due: plan_daily(due, now, window),
            event_items(events, now, window),
            self.settings.claim_lease,
        )
        result: list[PreviewRow] = []
        for row in rows:
            reason = None
            if row.status is DeliveryStatus.QUEUED and row.subscription_id:
                reason = None if row.active else "the subscription is inactive"
                reason = reason or too_late_reason(row.due_at, now, window)
            result.append(
                replace(row, status=DeliveryStatus.SKIPPED, reason=reason) if reason else row
            )
        return result

    # -- draining -------------------------------------------------------------------------

    def drainer(
        self, platform: str, on_outcome: Callable[[Outcome], None] | None = None
    ) -> Drainer:
        """A drainer of one platform's rows."""
        return Drainer(
            platform=platform,
            sender=self.senders[platform],
            ledger=self.ledger,
            renderer=self.renderer,
            limiter=self.limiters[platform],
            settings=self.settings,
            clock=self.clock,
            time=self.time,
            worker=self.worker,
            on_outcome=on_outcome,
            liveness=self.liveness,
            pressure=self.pressure,
        )

    async def drain(self, on_outcome: Callable[[Outcome], None] | None = None) -> DrainStats:
        """Send every queued row of the platforms with a sender, until none is left."""
        results = await asyncio.gather(
            *(self.drainer(platform, on_outcome).run(until_empty=True) for platform in self.senders)
        )
        total = DrainStats()
        for stats in results:
            total.add(stats)
        return total

    async def tick(self, on_outcome: Callable[[Outcome], None] | None = None) -> TickReport:
        """One pass: plan at the clock's instant, drain, and say what is left for whom."""
        report = TickReport(planned=await self.plan())
        report.drained = await self.drain(on_outcome)
        await self.expire()
        pending = await self.ledger.pending(None, self.settings.claim_lease)
        report.left_queued = {
            platform: count
            for platform, count in sorted(pending.by_platform.items())
            if platform not in self.senders and count
        }
        return report

    async def expire(self) -> None:
        """What a platform keeps until an event is over (a pinned announcement) is undone
        once it is over (``Sender.unpin_due``, where a sender has it)."""
        now = self.clock.now()
        for platform, sender in self.senders.items():
            unpin = getattr(sender, "unpin_due", None)
            if unpin is None:
                continue
            try:
                await unpin(now)
            except Exception:
                log.exception("unpinning on %s failed; the next tick tries again", platform)

    # -- running with the bot -------------------------------------------------------------

    async def start(self) -> None:
        """Start a long-running drainer per platform and the planner loop (each drainer starts
        the heartbeat before its first claim); the drainers share the event loop with the
        commands, and give way to them when it falls behind (``LoopPressure``)."""
        if self.settings.loop_lag_target > 0:
            self.pressure = LoopPressure(self.settings.loop_lag_target)
            self.pressure.start()
        for platform in self.senders:
            drainer = self.drainer(platform)
            self._drainers[platform] = drainer
            self._tasks.append(
                asyncio.create_task(drainer.run(until_empty=False), name=f"drain:{platform}")
            )
        self._planner = asyncio.create_task(self._plan_loop(), name="plan")

    def request_plan(self) -> None:
        """Ask for a planning pass (the minute tick); passes never overlap."""
        self._plan_requested.set()

    async def _plan_loop(self) -> None:
        while not self._stopping:
            await self._plan_requested.wait()
            self._plan_requested.clear()
            if self._stopping:
                break
            await self.plan_pass()

    async def plan_pass(self) -> None:
        """One minute tick of the running bot, awaited: plan at the clock's instant (and the
        daily posts of the next ``plan_ahead``), undo what has expired, and wake the drainers;
        a failure is logged and the next tick tries again. The planner loop runs it on
        ``request_plan``; a soak driving a simulated clock calls it itself (``bench/soak.py``).
        Passes never overlap."""
        async with self._planning:
            try:
                await self.plan(self.settings.plan_ahead)
                await self.expire()
            except Exception:
                log.exception("planning deliveries failed; the next tick tries again")
            for drainer in self._drainers.values():
                drainer.wake.set()

    async def stop(self) -> None:
        """Stop planning and draining; sends in flight finish, unsent claims are released."""
        self._stopping = True
        self._plan_requested.set()
        if self._planner is not None:
            try:
                await asyncio.wait_for(self._planner, timeout=60)
            except (TimeoutError, asyncio.CancelledError):
                log.warning("planning pass cancelled at shutdown")
            except Exception:
                log.exception("planner failed")
            self._planner = None
        for drainer in self._drainers.values():
            drainer.stop()
        for result in await asyncio.gather(*self._tasks, return_exceptions=True):
            if isinstance(result, BaseException):
                log.error("drainer failed", exc_info=result)
        self._tasks.clear()
        self._drainers.clear()
        if self.pressure is not None:
            await self.pressure.stop()
            self.pressure = None
