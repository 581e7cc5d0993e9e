"""The one APScheduler in the bot: a job every minute that asks the core what is due.

APScheduler 3 ships no type information, so it is imported here and nowhere else. Nothing per
subscriber lives in APScheduler: its single job, with a stable id, only calls ``on_tick``; the
database is the truth. The job coalesces missed runs into one, never overlaps itself, and runs
late up to ``MISFIRE_GRACE_SECONDS`` (APScheduler's default is one second, which silently
drops a tick when the loop is busy). A first run happens at start, for the catch-up.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

log = logging.getLogger(__name__)

TICK_JOB_ID = "deliveries.tick"
MISFIRE_GRACE_SECONDS = 300
APSCHEDULER_LOGGERS = ("apscheduler.executors.default", "apscheduler.scheduler")
"""APScheduler says "Running job …" and "… executed successfully" at INFO every minute."""


class DemoteToDebug(logging.Filter):
    """Turns a logger's INFO records into DEBUG ones (dropped unless DEBUG is on): the bot
    itself logs one line for each tick that did something (``DeliveryService.plan``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Lower INFO to DEBUG; keep the record only when DEBUG is enabled."""
        if record.levelno != logging.INFO:
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


def quiet_apscheduler() -> None:
    """Send APScheduler's per-run chatter to DEBUG (idempotent)."""
    for name in APSCHEDULER_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, DemoteToDebug) for f in logger.filters):
            logger.addFilter(DemoteToDebug())


class MinuteTicker:
    """An ``AsyncIOScheduler`` in the running loop with one job at every minute's start."""

    def __init__(self, on_tick: Callable[[], None], *, run_at_start: bool = True) -> None:
        self.on_tick = on_tick
        self.run_at_start = run_at_start
        self._scheduler: Any = None

    async def _tick(self) -> None:
        self.on_tick()

    def start(self) -> None:
        """Start the scheduler in the running event loop."""
        quiet_apscheduler()
        utc = ZoneInfo("UTC")
        scheduler = AsyncIOScheduler(event_loop=asyncio.get_running_loop(), timezone=utc)
        options: dict[str, Any] = {}
        if self.run_at_start:
            options["next_run_time"] = dt.datetime.now(utc)
        scheduler.add_job(
            self._tick,
            CronTrigger(second=0, timezone=utc),
            id=TICK_JOB_ID,
            name="plan due deliveries",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=MISFIRE_GRACE_SECONDS,
            replace_existing=True,
            **options,
        )
        scheduler.start()
        self._scheduler = scheduler
        log.info("scheduler started: job %s every minute", TICK_JOB_ID)

    def job_options(self) -> dict[str, Any]:
        """The tick job's id, trigger and misfire settings (for tests and logs)."""
        job = self._scheduler.get_job(TICK_JOB_ID) if self._scheduler else None
        if job is None:
            return {}
        return {
            "id": job.id,
            "trigger": str(job.trigger),
            "coalesce": job.coalesce,
            "max_instances": job.max_instances,
            "misfire_grace_time": job.misfire_grace_time,
            "jobs": len(self._scheduler.get_jobs()),
        }

    async def stop(self, grace: float = 1.0) -> None:
        """Pause, let a tick already handed to the loop finish (it only signals, so this takes
        a few loop turns at most), then stop. Shutting down first would cancel that tick and
        APScheduler would log the cancellation as a failed job."""
        scheduler = self._scheduler
        if scheduler is None or not scheduler.running:
            self._scheduler = None
            return
        scheduler.pause()
        executor = scheduler._lookup_executor("default")
        deadline = asyncio.get_running_loop().time() + grace
        running = executor._instances  # APScheduler 3 keeps no event for "job done"
        while running.get(TICK_JOB_ID) and asyncio.get_running_loop().time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        self.shutdown()

    def shutdown(self) -> None:
        """Stop the scheduler at once (the job itself only signals, so nothing is cut short)."""
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        self._scheduler = None
