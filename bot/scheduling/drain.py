"""Senders drain the ledger: claim rows, render, wait for the rate limit, send, record.

One ``Drainer`` per platform (per bot token). The ledger state machine it drives::

    queued ──claim──▶ sending ──▶ sent
       ▲                 │  ├───▶ failed  (permanent error: the subscription is deactivated;
       │                 │  │              or transient errors until ``max_attempts``)
       │                 │  └───▶ skipped (too late, inactive subscription, nothing to say)
       └── retry later ──┘        (429, 5xx, timeout: ``not_before`` = now + wait or backoff)

A claim holds a row while its holder's heartbeat is fresh (``bot.scheduling.liveness``): a row
whose holder died is claimed again a few seconds after its last beat, or, for a holder without
a heartbeat, when ``claim_lease`` runs out. A worker marks a row ``sent`` right after the
platform accepted it, through a writer that commits whatever finished meanwhile in one
transaction: after a ``kill -9`` at most the sends in flight at that moment are repeated (on
Discord not even those: each post carries a nonce, see ``DiscordSender``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot import metrics
from bot.core.delivery import (
    DeliveryTarget,
    PermanentError,
    RetryLater,
    TransientError,
    target_for,
)
from bot.core.domain import DeliveryStatus
from bot.core.ports import Clock, Sender
from bot.core.regiment import is_personal
from bot.core.reply import Reply
from bot.scheduling.limiter import RateLimiter
from bot.scheduling.liveness import Liveness
from bot.scheduling.planner import too_late_reason
from bot.scheduling.ports import ClaimedRow, DeliveryLedger, Outcome, Pending
from bot.scheduling.pressure import LoopPressure
from bot.scheduling.render import Renderer
from bot.scheduling.settings import DeliverySettings
from bot.scheduling.timing import TimeSource

log = logging.getLogger(__name__)

MIN_WAIT = 0.05
CLAIM_GATHER = 0.05
"""While rows are waiting, how long a drainer lets its free slots add up to a batch (a
quarter of ``concurrency``) before it claims again."""
DATABASE_RETRY_CAP = 30.0
"""The longest pause between two attempts to reach the ledger while the database is down."""


@dataclass(slots=True)
class DrainStats:
    """Outcomes recorded by a drain: rows sent, failed, skipped, and retries scheduled."""

    sent: int = 0
    failed: int = 0
    skipped: int = 0
    retried: int = 0
    deactivated: int = 0

    def add(self, other: DrainStats) -> None:
        """Add another drain's counts to these."""
        self.sent += other.sent
        self.failed += other.failed
        self.skipped += other.skipped
        self.retried += other.retried
        self.deactivated += other.deactivated

    @property
    def finished(self) -> int:
        """Rows that reached a final status."""
        return self.sent + self.failed + self.skipped


class OutcomeWriter:
    """Records outcomes in the ledger, committing everything finished meanwhile together."""

    def __init__(self, ledger: DeliveryLedger, worker: str, time: TimeSource) -> None:
        self.ledger = ledger
        self.worker = worker
        self.time = time
        self._queue: asyncio.Queue[tuple[Outcome, asyncio.Future[None] | None] | None]
        self._queue = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start writing."""
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name=f"outcomes:{self.worker}")

    async def record(self, outcome: Outcome) -> None:
        """Record ``outcome`` and wait until it is committed."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((outcome, future))
        await future

    def submit(self, outcome: Outcome) -> None:
        """Record ``outcome`` without waiting (from a task being cancelled)."""
        self._queue.put_nowait((outcome, None))

    async def stop(self) -> None:
        """Write what is left and stop."""
        if self._task is not None:
            self._queue.put_nowait(None)
            await self._task
            self._task = None

    async def _loop(self) -> None:
        running = True
        while running:
            first = await self._queue.get()
            if first is None:
                break
            batch = [first]
            while not self._queue.empty():
                item = self._queue.get_nowait()
                if item is None:
                    running = False
                    break
                batch.append(item)
            error = await self._write([outcome for outcome, _ in batch])
            for _, future in batch:
                if future is not None and not future.done():
                    if error is None:
                        future.set_result(None)
                    else:
                        future.set_exception(error)

    async def _write(self, outcomes: list[Outcome]) -> Exception | None:
        delay = 0.5
        for attempt in range(1, 6):
            try:
                await self.ledger.finish(self.worker, outcomes, self.time.now())
            except Exception as error:
                if attempt == 5:
                    log.exception(
                        "cannot record %s delivery outcomes; their rows will be "
                        "claimed again when the lease runs out",
                        len(outcomes),
                    )
                    return error
                log.warning("recording delivery outcomes failed (%s); retrying", error)
                await self.time.sleep(delay)
                delay *= 2
            else:
                return None
        return None


class Drainer:
    """Sends the queued rows of one platform through its sender and rate limiter."""

    def __init__(
        self,
        *,
        platform: str,
        sender: Sender,
        ledger: DeliveryLedger,
        renderer: Renderer,
        limiter: RateLimiter,
        settings: DeliverySettings,
        clock: Clock,
        time: TimeSource,
        worker: str,
        rng: random.Random | None = None,
        on_outcome: Callable[[Outcome], None] | None = None,
        liveness: Liveness | None = None,
        pressure: LoopPressure | None = None,
    ) -> None:
        self.platform = platform
        self.liveness = liveness
        self.pressure = pressure
        self.sender = sender
        self.ledger = ledger
        self.renderer = renderer
        self.limiter = limiter
        self.settings = settings
        self.clock = clock
        self.time = time
        self.worker = worker
        self.rng = rng or random.Random()
        self.on_outcome = on_outcome
        self.stats = DrainStats()
        self.writer = OutcomeWriter(ledger, worker, time)
        self.wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._sending: set[int] = set()
        self._rows: dict[asyncio.Task[None], ClaimedRow] = {}

    def stop(self) -> None:
        """Stop claiming; rows not yet being sent go back to the queue."""
        self._stopping.set()

    async def run(self, *, until_empty: bool = True) -> DrainStats:
        """Drain until nothing is left (``until_empty``) or until ``stop()``."""
        if self.liveness is not None:
            await self.liveness.start()  # beats (and waits its turn) before the first claim
        self.writer.start()
        inflight: set[asyncio.Task[None]] = set()
        retry_in = 0.0  # the pause before the next attempt while the database is down
        try:
            while not self._stopping.is_set():
                free = self._capacity() - len(inflight)
                claimed: list[ClaimedRow] = []
                self.wake.clear()  # a wake-up from now on is seen by ``_idle``
                if free > 0:
                    try:
                        claimed = await self.ledger.claim(
                            self.worker,
                            [self.platform],
                            self.time.now(),
                            self.settings.claim_lease,
                            free,
                            liveness=self.liveness.timeout if self.liveness else None,
                        )
                    except Exception as error:
                        # the database restarted or is locked: nothing was claimed (the
                        # transaction rolled back); the running bot waits and tries again
                        # (a one-off pass, ``until_empty``, fails as before)
                        if until_empty:
                            raise
                        retry_in = await self._database_down(error, retry_in, inflight)
                        continue
                    retry_in = self._database_back(retry_in)
                    for row in claimed:
                        task = asyncio.create_task(self._deliver(row))
                        self._rows[task] = row
                        inflight.add(task)
                if inflight:
                    more = len(claimed) == free  # the queue may hold more rows
                    await self._wait_any(inflight, None if more else self.settings.poll_interval)
                    if more:
                        await self._gather_slots(inflight)
                    continue
                try:
                    pending = await self.ledger.pending(
                        [self.platform],
                        self.settings.claim_lease,
                        self.time.now() if until_empty else None,
                    )
                except Exception as error:
                    if until_empty:
                        raise
                    retry_in = await self._database_down(error, retry_in, inflight)
                    continue
                retry_in = self._database_back(retry_in)
                if until_empty:
                    if pending.total == 0:
                        break
                    await self.time.sleep(self._wait_for(pending, polling=True))
                else:
                    await self._idle(self._wait_for(pending, polling=False))
        finally:
            await self._shutdown(inflight)
            await self.writer.stop()
            if self.liveness is not None:
                await self.liveness.stop()
        return self.stats

    def _database_back(self, retry_in: float) -> float:
        if retry_in:
            log.info("%s deliveries: the database answers again", self.platform)
        return 0.0

    async def _database_down(
        self, error: Exception, retry_in: float, inflight: set[asyncio.Task[None]]
    ) -> float:
        """After a failed claim: say so (a warning the first time, then at debug level), let
        the sends in flight finish meanwhile, and wait; the next pause, doubled up to
        ``DATABASE_RETRY_CAP``."""
        if not retry_in:
            log.warning(
                "%s deliveries: the database failed (%s); retrying until it answers",
                self.platform,
                str(error).splitlines()[0] if str(error) else type(error).__name__,
            )
        else:
            log.debug("%s deliveries: the database still fails: %s", self.platform, error)
        pause = max(MIN_WAIT, retry_in or self.settings.poll_interval)
        if inflight:
            await self._wait_any(inflight, pause)
        else:
            await self._idle(pause)
        return min(DATABASE_RETRY_CAP, max(pause * 2, 0.5))

    def _wait_for(self, pending: Pending, *, polling: bool) -> float:
        """How long a drainer with nothing to claim waits before looking again: until the
        first retry is due or the first lease of a dead process runs out; while polling (a
        ``tick`` waiting for another process to finish its sends), at most ``poll_interval``.
        Never less than ``MIN_WAIT``: rows that are ready but not claimable are locked by
        another process's claim, which takes a moment."""
        now = self.time.now()
        delay = self.settings.idle_interval
        if pending.next_retry_at is not None:
            delay = min(delay, (pending.next_retry_at - now).total_seconds())
        if pending.lease_expires_at is not None:
            delay = min(delay, (pending.lease_expires_at - now).total_seconds())
        if polling and pending.sending:
            delay = min(delay, self.settings.poll_interval)
        if self.liveness is not None and pending.sending:
            # rows another process holds: free a moment after its heartbeat stops
            delay = min(delay, self.liveness.interval)
        return max(MIN_WAIT, delay)

    def _capacity(self) -> int:
        """Sends this drainer may have in flight: ``concurrency``, or the share of it the event
        loop's lag leaves (``bot.scheduling.pressure``)."""
        concurrency = self.settings.concurrency
        return concurrency if self.pressure is None else self.pressure.allowed(concurrency)

    async def _gather_slots(self, inflight: set[asyncio.Task[None]]) -> None:
        """Let the free slots add up to a batch before the next claim, for ``CLAIM_GATHER`` at
        most. Claiming as each send finishes made a claim transaction per row or two: at a few
        hundred sends a second the database round trips took a quarter of the event loop, and
        commands waited behind them. The sends still in flight keep the rate limiter busy
        meanwhile."""
        batch = max(1, self.settings.concurrency // 4)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CLAIM_GATHER
        while inflight and self._capacity() - len(inflight) < batch:
            left = deadline - loop.time()
            if left <= 0 or self._stopping.is_set():
                return
            await self._wait_any(inflight, left)

    async def _wait_any(self, inflight: set[asyncio.Task[None]], limit: float | None) -> None:
        stop: asyncio.Future[Any] = asyncio.ensure_future(self._stopping.wait())
        waiting: set[asyncio.Future[Any]] = {*inflight, stop}
        try:
            done, _ = await asyncio.wait(
                waiting, timeout=limit, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            stop.cancel()
        for task in [task for task in inflight if task in done]:
            inflight.discard(task)
            self._rows.pop(task, None)
            if not task.cancelled() and task.exception() is not None:
                log.error("delivery task failed", exc_info=task.exception())

    async def _idle(self, seconds: float) -> None:
        waiters = [
            asyncio.ensure_future(self.wake.wait()),
            asyncio.ensure_future(self._stopping.wait()),
        ]
        try:
            await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    async def _shutdown(self, inflight: set[asyncio.Task[None]]) -> None:
        if not inflight:
            return
        for task in inflight:
            row = self._rows.get(task)
            if row is not None and row.id not in self._sending:
                task.cancel()
        _, still = await asyncio.wait(inflight, timeout=self.settings.send_timeout + 5)
        for task in still:
            task.cancel()
        await asyncio.gather(*inflight, return_exceptions=True)
        self._rows.clear()

    # -- one row --------------------------------------------------------------------------

    async def _deliver(self, row: ClaimedRow) -> None:
        try:
            outcome = await self._attempt(row)
        except asyncio.CancelledError:
            if row.id not in self._sending:
                self.writer.submit(
                    Outcome(
                        row.id,
                        row.subscription_id,
                        DeliveryStatus.QUEUED,
                        reason="released at shutdown",
                        attempted=False,
                    )
                )
            raise
        await self.writer.record(outcome)
        self._count(outcome)

    def _count(self, outcome: Outcome) -> None:
        status = outcome.status
        if status is DeliveryStatus.SENT:
            self.stats.sent += 1
        elif status is DeliveryStatus.FAILED:
            self.stats.failed += 1
            if outcome.deactivate:
                self.stats.deactivated += 1
        elif status is DeliveryStatus.SKIPPED:
            self.stats.skipped += 1
        else:
            self.stats.retried += 1
        metrics.delivery_outcome(self.platform, status.value)
        if self.on_outcome is not None:
            self.on_outcome(outcome)

    def _final(self, row: ClaimedRow, status: DeliveryStatus, reason: str | None) -> Outcome:
        return Outcome(row.id, row.subscription_id, status, reason=reason)

    def _retry(self, row: ClaimedRow, reason: str, delay: float | None = None) -> Outcome:
        if row.attempts >= self.settings.max_attempts:
            return self._final(
                row, DeliveryStatus.FAILED, f"gave up after {row.attempts} attempts: {reason}"
            )
        if delay is None:
            delay = self.backoff(row.attempts)
        not_before = self.time.now() + _seconds(delay)
        return Outcome(
            row.id, row.subscription_id, DeliveryStatus.QUEUED, reason=reason, not_before=not_before
        )

    def backoff(self, attempts: int) -> float:
        """The wait before retry number ``attempts``: exponential, capped, with jitter."""
        ceiling = min(self.settings.backoff_cap, self.settings.backoff_base * 2.0 ** (attempts - 1))
        return float(ceiling / 2 + self.rng.uniform(0, ceiling / 2))

    async def _attempt(self, row: ClaimedRow) -> Outcome:
        if not row.active and not is_personal(row.item_key):
            # a notice about one's own submission goes even when the daily post was stopped
            return self._final(row, DeliveryStatus.SKIPPED, "the subscription is inactive")
        now = self.clock.now()
        late = too_late_reason(row.due_at, now, self.settings.lateness_window)
        if late:
            return self._final(row, DeliveryStatus.SKIPPED, late)
        try:
            rendered = await self.renderer.render(
                row.item_key, row.occurrence_date, row.language, row.timezone
            )
        except Exception as error:
            log.exception("rendering %s for %s failed", row.item_key, row.occurrence_date)
            return self._retry(row, f"rendering failed: {type(error).__name__}")
        if rendered.reply is None:
            return self._final(row, DeliveryStatus.SKIPPED, rendered.skip_reason)
        if rendered.expires_at is not None and now >= rendered.expires_at:
            return self._final(row, DeliveryStatus.SKIPPED, "the event has started")
        target = target_for(row.platform, row.chat_id, row.thread_id)
        wait = self.limiter.ready_in(target)
        if wait > self.settings.max_hold:
            return Outcome(
                row.id,
                row.subscription_id,
                DeliveryStatus.QUEUED,
                reason=f"rate limited for {wait:.0f} s",
                not_before=self.time.now() + _seconds(wait),
                attempted=False,
            )
        slot = await self.limiter.acquire(target)
        self._sending.add(row.id)
        try:
            if self.liveness is not None and not self.liveness.fresh():
                # our beats are late: another process may have taken this row over
                return Outcome(
                    row.id,
                    row.subscription_id,
                    DeliveryStatus.QUEUED,
                    reason="heartbeat late; not sent",
                    attempted=False,
                )
            return await self._send(row, target, rendered.reply)
        finally:
            self._sending.discard(row.id)
            self.limiter.release(slot)

    async def _send(self, row: ClaimedRow, target: DeliveryTarget, reply: Reply) -> Outcome:
        try:
            async with asyncio.timeout(self.settings.send_timeout):
                await self.sender.send(row.chat_id, reply, row.thread_id, key=delivery_key(row))
        except RetryLater as error:
            metrics.rate_limited(self.platform, error.scope.value)
            self.limiter.pause(target, error.retry_after, error.scope)
            log.info(
                "%s %s: 429, retry after %s s (%s)",
                self.platform,
                row.chat_id,
                error.retry_after,
                error.scope.value,
            )
            # A 429 says "later", never "no": it does not count as an attempt, so a row
            # that meets only 429s is never given up (the lateness window still ends it).
            return Outcome(
                row.id,
                row.subscription_id,
                DeliveryStatus.QUEUED,
                reason=error.reason,
                not_before=self.time.now() + _seconds(error.retry_after),
                attempted=False,
            )
        except PermanentError as error:
            log.warning(
                "%s %s: %s; deactivating subscription %s",
                self.platform,
                row.chat_id,
                error.reason,
                row.subscription_id,
            )
            return Outcome(
                row.id,
                row.subscription_id,
                DeliveryStatus.FAILED,
                reason=error.reason,
                deactivate=True,
            )
        except TransientError as error:
            return self._retry(row, error.reason)
        except TimeoutError:
            return self._retry(row, f"no answer within {self.settings.send_timeout:g} s")
        except Exception as error:
            log.exception("%s sender failed on %s", self.platform, row.chat_id)
            return self._retry(row, f"{type(error).__name__}: {error}"[:200])
        return self._final(row, DeliveryStatus.SENT, None)


def delivery_key(row: ClaimedRow) -> str:
    """The same on every attempt at one ledger row, different for any other: the row's id
    with what makes the row unique (so two databases behind one bot token do not clash)."""
    return (
        f"{row.id}|{row.platform}|{row.chat_id}|{row.thread_id}|{row.item_key}|"
        f"{row.occurrence_date.isoformat()}"
    )


def _seconds(value: float) -> dt.timedelta:
    return dt.timedelta(seconds=value)
