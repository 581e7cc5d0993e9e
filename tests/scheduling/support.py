"""Fakes and helpers for the scheduling tests: fake time, recording senders, rows in bulk."""

from __future__ import annotations

import asyncio
import datetime as dt
import heapq
import itertools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select

from bot.app import App
from bot.core.delivery import DeliveryError
from bot.core.domain import Anniversary, AnniversaryKind, Event, Source
from bot.core.reply import Reply
from bot.core.timeutil import FixedClock
from bot.scheduling.service import DeliveryService
from bot.scheduling.settings import DeliverySettings
from db import models
from db.deliveries import SqlDeliveryLedger

_CHAT_IDS = itertools.count(1000)

AT = dt.datetime(2026, 5, 9, 7, 0, tzinfo=dt.UTC)
"""9 May 2026, 07:00 UTC: 09:00 in Brussels."""


class FakeTime:
    """Time that moves only when someone sleeps; sleeping returns at once."""

    def __init__(self, start: dt.datetime = AT) -> None:
        self.start = start
        self.t = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.t

    def now(self) -> dt.datetime:
        return self.start + dt.timedelta(seconds=self.t)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += max(0.0, seconds)
        await asyncio.sleep(0)


class VirtualTime:
    """A virtual clock for concurrent tasks without I/O: time jumps to the next sleeper's wake-up
    once every task is blocked, so waits are exact and nothing really sleeps."""

    def __init__(self) -> None:
        self.t = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def monotonic(self) -> float:
        return self.t

    def now(self) -> dt.datetime:
        return AT + dt.timedelta(seconds=self.t)

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.t + max(0.0, seconds), next(self._seq), future))
        await future

    async def run(self, *coroutines: Awaitable[Any]) -> list[Any]:
        """Run ``coroutines`` to completion in virtual time."""
        tasks = [asyncio.ensure_future(c) for c in coroutines]
        while not all(task.done() for task in tasks):
            for _ in range(20):
                await asyncio.sleep(0)
            if all(task.done() for task in tasks):
                break
            if not self._sleepers:
                raise RuntimeError("deadlock: tasks wait but nobody sleeps")
            wake, _, future = heapq.heappop(self._sleepers)
            self.t = max(self.t, wake)
            if not future.done():
                future.set_result(None)
        return [task.result() for task in tasks]


@dataclass
class Sent:
    chat_id: str
    thread_id: str
    text: str
    at: float


@dataclass
class RecordingSender:
    """Records each send; ``script`` maps a chat id to errors to raise on its next sends."""

    time: Any = None
    sent: list[Sent] = field(default_factory=list)
    attempts: list[str] = field(default_factory=list)
    script: dict[str, list[Exception]] = field(default_factory=dict)
    replies: list[Reply] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)

    async def send(self, chat_id: str, reply: Reply, thread_id: str = "", *, key: str = "") -> None:
        self.attempts.append(chat_id)
        self.keys.append(key)
        errors = self.script.get(chat_id)
        if errors:
            raise errors.pop(0)
        at = self.time.monotonic() if self.time is not None else 0.0
        self.sent.append(Sent(chat_id, thread_id, reply.plain_text(), at))
        self.replies.append(reply)

    def chats(self) -> list[str]:
        return [s.chat_id for s in self.sent]


def anniversary_source(
    items: dict[tuple[int, int], list[str]] | None = None,
) -> Callable[[dt.date], Awaitable[list[Anniversary]]]:
    """Anniversaries for the renderer: one per day unless ``items`` says otherwise."""
    calls: list[dt.date] = []

    async def on_day(day: dt.date) -> list[Anniversary]:
        calls.append(day)
        titles = (items or {}).get((day.month, day.day), ["Victory Day"])
        return [
            Anniversary(
                slug=f"a-{i}",
                month=day.month,
                day=day.day,
                kind=AnniversaryKind.COMMEMORATION_DAY,
                title={"en": title, "ru": f"{title} (ru)"},
                text={"en": "Text."},
                sources=(Source(seed="test"),),
                year=1945,
            )
            for i, title in enumerate(titles)
        ]

    on_day.calls = calls  # type: ignore[attr-defined]
    return on_day


async def add_subscriptions(
    app: App,
    rows: Sequence[dict[str, Any]],
) -> list[int]:
    """Insert subscriptions in bulk; each dict overrides the defaults."""
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    values = []
    for row in rows:
        value = {
            "platform": "console",
            "chat_id": str(next(_CHAT_IDS)),
            "thread_id": "",
            "language": "en",
            "timezone": "Europe/Brussels",
            "delivery_time": dt.time(9, 0),
            "topics": ["today", "events"],
            "active": True,
            "next_run_at": None,
            "created_at": now,
            "updated_at": now,
        }
        value.update(row)
        values.append(value)
    async with app.sessions.begin() as session:
        await session.execute(insert(models.Subscription), values)
    async with app.sessions() as session:
        ids = await session.scalars(select(models.Subscription.id).order_by(models.Subscription.id))
        return list(ids)[-len(values) :]


async def add_event(app: App, event: Event, announced_at: dt.datetime) -> int:
    """Store an event announced (last changed) at ``announced_at``."""
    async with app.sessions.begin() as session:
        row = models.Event(
            slug=event.slug,
            starts_at=event.starts_at,
            timezone=event.timezone,
            place=dict(event.place),
            organizer=event.organizer,
            status=event.status.value,
            title=dict(event.title),
            description=dict(event.description),
            sources=[],
            updated_at=announced_at,
        )
        session.add(row)
        await session.flush()
        return row.id


async def deliveries(app: App) -> list[models.Delivery]:
    """Every ledger row, by id."""
    async with app.sessions() as session:
        return list(await session.scalars(select(models.Delivery).order_by(models.Delivery.id)))


async def set_next_run(app: App, value: dt.datetime | None) -> None:
    """Set every subscription's next run."""
    from sqlalchemy import update

    async with app.sessions.begin() as session:
        await session.execute(update(models.Subscription).values(next_run_at=value))


def service(
    app: App,
    senders: dict[str, Any],
    *,
    at: dt.datetime = AT,
    time: Any = None,
    settings: DeliverySettings | None = None,
    anniversaries: Any = None,
    worker: str | None = None,
) -> DeliveryService:
    """A delivery service over the app's database at a fixed instant, on fake time."""
    return DeliveryService(
        ledger=SqlDeliveryLedger(app.sessions),
        senders=senders,
        anniversaries=anniversaries or anniversary_source(),
        settings=settings or DeliverySettings(poll_interval=0.01),
        clock=FixedClock(at),
        time=time or FakeTime(at),
        worker=worker,
    )


__all__ = ["DeliveryError"]
