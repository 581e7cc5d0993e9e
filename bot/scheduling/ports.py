"""What the scheduler needs from storage, and the records it exchanges with it.

``db/deliveries.py`` implements ``DeliveryLedger`` in SQL; the scheduler itself never imports
SQLAlchemy. Every instant is aware UTC.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from bot.core.domain import DeliveryStatus, Event


class DueSubscription(NamedTuple):
    """An active subscription whose daily post is due (or whose next run must be recomputed).

    A named tuple, as ``PlannedRow``: a hot minute makes 100,000 of each.
    """

    id: int
    timezone: str
    delivery_time: dt.time
    topics: tuple[str, ...]
    next_run_at: dt.datetime | None


class PlannedRow(NamedTuple):
    """A ledger row to insert: queued to be sent, or skipped at once with a reason."""

    subscription_id: int
    item_key: str
    occurrence_date: dt.date
    due_at: dt.datetime
    status: DeliveryStatus = DeliveryStatus.QUEUED
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class DailyPlan:
    """What a batch of due subscriptions produces: rows, and each one's next run."""

    rows: list[PlannedRow]
    next_run_at: dict[int, dt.datetime]


DailyPlanner = Callable[[Sequence[DueSubscription]], DailyPlan]
"""Turns due subscriptions into a plan; run by the ledger inside the claiming transaction.

What it plans for a subscription must depend only on its zone, delivery time, next run and
whether it has the daily topic (not on its id): the SQL ledger calls it with one
representative of each such key and applies that plan to every due subscription sharing it."""


@dataclass(frozen=True, slots=True)
class ScheduledEvent:
    """An event with the instant it was announced (or last changed)."""

    event: Event
    announced_at: dt.datetime


@dataclass(frozen=True, slots=True)
class FanOut:
    """An event item for every subscription with the "events" topic.

    With ``skip_reason`` set, the item is recorded once as skipped instead of fanned out.
    """

    item_key: str
    occurrence_date: dt.date
    due_at: dt.datetime
    skip_reason: str | None = None
    audience: tuple[str, ...] = ("all",)
    """The follows that hear of it: ``all``, ``country:BE``, ``city:Liège``,
    ``memorial:<slug>``."""


@dataclass(slots=True)
class QueueCounts:
    """How many ledger rows a planning pass inserted."""

    queued: int = 0
    skipped: int = 0
    subscriptions: int = 0

    def add(self, other: QueueCounts) -> None:
        """Add another pass's counts to these."""
        self.queued += other.queued
        self.skipped += other.skipped
        self.subscriptions += other.subscriptions


@dataclass(frozen=True, slots=True)
class ClaimedRow:
    """A ledger row claimed for sending, with what the sender needs."""

    id: int
    subscription_id: int
    item_key: str
    occurrence_date: dt.date
    due_at: dt.datetime
    attempts: int
    """Attempts so far, this one included."""
    platform: str
    chat_id: str
    thread_id: str
    language: str
    active: bool
    timezone: str = ""
    """The subscriber's zone (an event's time is shown in it too)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a claimed row ends (sent, failed, skipped) or goes back to the queue (queued)."""

    delivery_id: int
    subscription_id: int
    status: DeliveryStatus
    reason: str | None = None
    not_before: dt.datetime | None = None
    deactivate: bool = False
    """Deactivate the subscription and skip its other queued rows (a permanent error)."""
    attempted: bool = True
    """False when the row goes back to the queue without a send (the claim is not counted)."""


@dataclass(frozen=True, slots=True)
class Pending:
    """Unfinished rows of some platforms, and when the next one can be claimed."""

    queued: int
    sending: int
    next_claimable_at: dt.datetime | None
    """The earliest of ``next_retry_at`` and ``lease_expires_at``."""
    by_platform: dict[str, int] = field(default_factory=dict)
    next_retry_at: dt.datetime | None = None
    """When the first queued row may be claimed (the epoch when one is ready now)."""
    lease_expires_at: dt.datetime | None = None
    """When the first lease of a sending row runs out."""

    @property
    def total(self) -> int:
        """Queued and sending rows together."""
        return self.queued + self.sending


@dataclass(frozen=True, slots=True)
class PreviewRow:
    """What a planning pass and a drain would do with one row (``tick --dry-run``).

    ``status`` is QUEUED for a row that would be queued and sent (or is queued already,
    ``already_queued``), SKIPPED for one that would be recorded as skipped, with ``reason``.
    An event item skipped as a whole has no subscriber (``subscription_id`` 0)."""

    item_key: str
    occurrence_date: dt.date
    due_at: dt.datetime
    status: DeliveryStatus
    reason: str | None = None
    subscription_id: int = 0
    platform: str = ""
    chat_id: str = ""
    thread_id: str = ""
    language: str = ""
    timezone: str = ""
    active: bool = True
    already_queued: bool = False


class DeliveryLedger(Protocol):
    """The delivery ledger and the due-queries behind it."""

    async def queue_daily(
        self,
        now: dt.datetime,
        planner: DailyPlanner,
        batch_size: int = 5000,
        *,
        horizon: dt.datetime | None = None,
    ) -> QueueCounts:
        """Plan every active subscription whose next run is unknown or due by ``horizon``
        (``now`` unless given), in batches; a row due after ``now`` is queued ahead, with its
        due time as ``not_before``.

        Each batch is one transaction: rows inserted with ON CONFLICT DO NOTHING, next runs
        advanced; on PostgreSQL the subscriptions are locked with SKIP LOCKED so two processes
        never plan the same one at once.
        """
        ...

    async def events_since(self, since: dt.datetime) -> Sequence[ScheduledEvent]:
        """Events starting at or after ``since``."""
        ...

    async def get_event(self, event_id: int) -> Event | None:
        """One event by id."""
        ...

    async def fan_out(self, items: Sequence[FanOut], now: dt.datetime) -> QueueCounts:
        """Record each item once (a marker row) and, unless skipped, queue it for every active
        subscription with the "events" topic, in the same transaction."""
        ...

    async def claim(
        self,
        worker: str,
        platforms: Sequence[str],
        now: dt.datetime,
        lease: dt.timedelta,
        limit: int,
        *,
        liveness: dt.timedelta | None = None,
    ) -> list[ClaimedRow]:
        """Claim up to ``limit`` rows: queued and ready, or sending with an expired lease, or
        (with ``liveness``) sending and held by another worker whose last ``heartbeat`` is
        older than that."""
        ...

    async def hold(self, worker: str) -> bool:
        """Take, or check that this process still holds, ``worker``'s liveness lock: a lock
        that dies with the process, so that the others know at once that it is gone. ``False``
        when it was lost and cannot be taken again."""
        ...

    async def heartbeat(
        self,
        worker: str,
        platforms: Sequence[str] = (),
        alive: dt.timedelta = dt.timedelta(seconds=3),
        forget_after: float = 3600.0,
    ) -> dict[str, int]:
        """Record that ``worker`` (sending to ``platforms``) is alive now, on the storage's
        clock; return how many workers seen within ``alive`` send to each platform."""
        ...

    async def waiting_peers(
        self, worker: str, since: float | None, alive: dt.timedelta
    ) -> tuple[int, float]:
        """How many workers other than ``worker``, seen within ``alive``, have not beaten
        since ``since`` (the storage's clock in seconds since the epoch; ``None``: now), and
        ``since`` itself: a joining worker waits until every peer has seen it."""
        ...

    async def retire(self, worker: str) -> None:
        """Forget ``worker``: it stopped cleanly."""
        ...

    async def finish(self, worker: str, outcomes: Sequence[Outcome], now: dt.datetime) -> int:
        """Record outcomes of rows this worker still holds; returns how many were recorded."""
        ...

    async def pending(
        self,
        platforms: Sequence[str] | None,
        lease: dt.timedelta,
        now: dt.datetime | None = None,
    ) -> Pending:
        """Unfinished rows (of ``platforms``, or all), and when the next one can be claimed;
        with ``now``, without the rows scheduled for after ``now`` that were never tried."""
        ...

    async def preview(
        self,
        now: dt.datetime,
        planner: DailyPlanner,
        items: Sequence[FanOut],
        lease: dt.timedelta,
    ) -> list[PreviewRow]:
        """What ``queue_daily`` and ``fan_out`` would insert at ``now`` and the rows already
        waiting to be claimed, writing nothing."""
        ...
