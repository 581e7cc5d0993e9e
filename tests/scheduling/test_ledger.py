"""The SQL ledger on SQLite and PostgreSQL: queueing once, catch-up, fan-out, claims, leases."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import sqlite3
from collections.abc import Sequence
from functools import partial
from zoneinfo import ZoneInfo

import psycopg
import pytest
from sqlalchemy import event, select, text, update

from bot.app import App
from bot.core.domain import DeliveryStatus, Event, EventStatus
from bot.scheduling import liveness as liveness_module
from bot.scheduling.liveness import Liveness, LivenessLost
from bot.scheduling.planner import plan_daily
from bot.scheduling.ports import DailyPlan, DueSubscription, Outcome
from bot.scheduling.settings import DeliverySettings
from db import models
from db.deliveries import SqlDeliveryLedger
from db.engine import create_engine_for, parse_database_url, sessionmaker_for
from db.locks import AdvisoryLock, FileLock, worker_lock_key
from tests.scheduling.support import (
    AT,
    add_event,
    add_subscriptions,
    deliveries,
    service,
    set_next_run,
)

WINDOW = dt.timedelta(hours=6)
LEASE = dt.timedelta(seconds=60)


async def _plan(app: App, at: dt.datetime = AT) -> tuple[int, int]:
    counts = await SqlDeliveryLedger(app.sessions).queue_daily(
        at, lambda due: plan_daily(due, at, WINDOW)
    )
    return counts.queued, counts.skipped


async def test_tick_twice_queues_each_item_once(empty_app: App) -> None:
    await add_subscriptions(empty_app, [{}, {}, {"topics": ["events"]}])
    assert await _plan(empty_app) == (2, 0)
    assert await _plan(empty_app) == (0, 0)
    # Even with next runs rewound (a crash between insert and update, or two planners), the
    # unique key keeps one row per subscription, item and date.
    await set_next_run(empty_app, AT)
    assert await _plan(empty_app) == (0, 0)
    await set_next_run(empty_app, AT)
    results = await asyncio.gather(_plan(empty_app), _plan(empty_app))
    assert sum(queued for queued, _ in results) == 0
    rows = await deliveries(empty_app)
    assert len(rows) == 2
    assert {(r.item_key, r.occurrence_date) for r in rows} == {("today", dt.date(2026, 5, 9))}
    assert all(r.status == "queued" and r.due_at == AT for r in rows)


async def test_a_hot_minute_in_small_batches_queues_everyone_once(empty_app: App) -> None:
    """The hot minute, scaled down: many zones due at one instant, planned in small batches
    (two at once on PostgreSQL); every subscription gets one row and a later next run."""
    zones = ["Europe/Brussels", "Asia/Kathmandu", "America/St_Johns", "Australia/Eucla"]
    rows = []
    for n in range(1200):
        zone = zones[n % len(zones)]
        local = AT.astimezone(ZoneInfo(zone)).time().replace(tzinfo=None)
        rows.append({"timezone": zone, "delivery_time": local, "next_run_at": AT})
    await add_subscriptions(empty_app, rows)
    ledger = SqlDeliveryLedger(empty_app.sessions)
    counts = await ledger.queue_daily(AT, lambda due: plan_daily(due, AT, WINDOW), 100)
    assert (counts.queued, counts.subscriptions) == (1200, 1200)
    queued = await deliveries(empty_app)
    assert len({r.subscription_id for r in queued}) == 1200
    assert {r.due_at for r in queued} == {AT}
    async with empty_app.sessions() as session:
        next_runs = set(await session.scalars(select(models.Subscription.next_run_at)))
    assert None not in next_runs and all(run > AT for run in next_runs if run is not None)
    assert (await ledger.queue_daily(AT, lambda due: plan_daily(due, AT, WINDOW), 100)).queued == 0


async def test_next_run_is_kept_for_the_due_query(empty_app: App) -> None:
    await add_subscriptions(
        empty_app, [{"timezone": "Asia/Kathmandu", "delivery_time": dt.time(7)}]
    )
    await _plan(empty_app)
    async with empty_app.sessions() as session:
        next_run = await session.scalar(select(models.Subscription.next_run_at))
    # 07:00 in Kathmandu (+05:45) is 01:15 UTC; at 07:00 UTC today's has passed.
    assert next_run == dt.datetime(2026, 5, 10, 1, 15, tzinfo=dt.UTC)


async def test_catch_up_inside_the_window_is_queued_outside_skipped(empty_app: App) -> None:
    await add_subscriptions(
        empty_app,
        [
            {"delivery_time": dt.time(6, 0)},  # due 04:00 UTC: 3 h late
            {"delivery_time": dt.time(0, 30)},  # due 22:30 UTC the day before: 8.5 h late
        ],
    )
    ids = await add_subscriptions(empty_app, [{"delivery_time": dt.time(8, 0)}])
    async with empty_app.sessions.begin() as session:
        for subscription in await session.scalars(select(models.Subscription)):
            local = dt.datetime.combine(dt.date(2026, 5, 9), subscription.delivery_time)
            due = local.replace(tzinfo=dt.timezone(dt.timedelta(hours=2))).astimezone(dt.UTC)
            late = subscription.id == ids[0]
            subscription.next_run_at = due - dt.timedelta(days=2) if late else due
    queued, skipped = await _plan(empty_app)
    rows = await deliveries(empty_app)
    by_sub: dict[int, list[models.Delivery]] = {}
    for row in rows:
        by_sub.setdefault(row.subscription_id, []).append(row)
    first, second, third = sorted(by_sub)
    assert [r.status for r in by_sub[first]] == ["queued"]
    assert [r.status for r in by_sub[second]] == ["skipped"]
    assert "too late" in (by_sub[second][0].reason or "")
    # Down for two days: the old posts are recorded as skipped, today's is queued.
    assert sorted((r.occurrence_date.day, r.status) for r in by_sub[third]) == [
        (7, "skipped"),
        (8, "skipped"),
        (9, "queued"),
    ]
    assert (queued, skipped) == (2, 3)


async def test_catch_up_is_delivered_once_through_the_service(empty_app: App) -> None:
    from tests.scheduling.support import RecordingSender

    await add_subscriptions(empty_app, [{"delivery_time": dt.time(6, 0)}, {}])
    sender = RecordingSender()
    svc = service(empty_app, {"console": sender})
    await set_next_run(empty_app, AT - dt.timedelta(hours=4))  # down since 03:00 UTC
    report = await svc.tick()
    assert report.drained.sent == 2
    again = await svc.tick()
    assert again.planned.queued == 0 and again.drained.sent == 0
    assert len(sender.sent) == 2


async def test_events_are_fanned_out_once_to_event_subscribers(empty_app: App) -> None:
    await add_subscriptions(empty_app, [{}, {"topics": ["today"]}, {"active": False}])
    soon = Event(
        slug="wreath",
        starts_at=AT + dt.timedelta(hours=23),
        timezone="Europe/Brussels",
        title={"en": "Wreath laying"},
    )
    later = Event(
        slug="march",
        starts_at=AT + dt.timedelta(days=10),
        timezone="Europe/Moscow",
        title={"en": "March"},
    )
    cancelled = Event(
        slug="concert",
        starts_at=AT + dt.timedelta(days=3),
        timezone="Europe/Brussels",
        title={"en": "Concert"},
        status=EventStatus.CANCELLED,
    )
    soon_id = await add_event(empty_app, soon, AT - dt.timedelta(days=3))
    later_id = await add_event(empty_app, later, AT - dt.timedelta(minutes=10))
    cancelled_id = await add_event(empty_app, cancelled, AT - dt.timedelta(minutes=1))
    svc = service(empty_app, {})
    counts = await svc.plan()
    again = await svc.plan()
    assert again.queued == again.skipped == 0
    rows = await deliveries(empty_app)
    keys = sorted(r.item_key for r in rows if r.item_key != "today")
    assert keys == sorted(
        [
            f"event:{soon_id}:day-before",
            f"event:{later_id}:announce",
            f"event:{cancelled_id}:cancelled",
        ]
    )
    assert counts.queued == 3 + 2  # three event items for one subscriber, two daily posts
    async with empty_app.sessions() as session:
        markers = {m.item_key: m for m in await session.scalars(select(models.DeliveryFanOut))}
    assert markers[f"event:{soon_id}:announce"].status == "skipped"
    assert "too late" in (markers[f"event:{soon_id}:announce"].reason or "")
    assert markers[f"event:{later_id}:announce"].recipients == 1


async def _queued_rows(app: App, count: int) -> None:
    await add_subscriptions(app, [{} for _ in range(count)])
    await _plan(app)


async def test_two_claimers_never_get_the_same_row(empty_app: App, database_url: str) -> None:
    await _queued_rows(empty_app, 300)
    engines = [create_engine_for(parse_database_url(database_url)) for _ in range(2)]
    try:
        ledgers = [SqlDeliveryLedger(sessionmaker_for(engine)) for engine in engines]
        for ledger in ledgers:  # connect both before the race
            await ledger.pending(None, LEASE)

        async def drain(ledger: SqlDeliveryLedger, worker: str) -> list[int]:
            got: list[int] = []
            while rows := await ledger.claim(worker, ["console"], AT, LEASE, 7):
                assert len(rows) <= 7
                got.extend(r.id for r in rows)
                await asyncio.sleep(0.001)
            return got

        first, second = await asyncio.gather(drain(ledgers[0], "a"), drain(ledgers[1], "b"))
    finally:
        for engine in engines:
            await engine.dispose()
    assert not set(first) & set(second)
    assert len(first) + len(second) == 300
    assert first and second


async def test_an_expired_lease_is_claimed_again_and_the_old_holder_is_fenced(
    empty_app: App,
) -> None:
    await _queued_rows(empty_app, 3)
    ledger = SqlDeliveryLedger(empty_app.sessions)
    held = await ledger.claim("a", ["console"], AT, LEASE, 10)
    assert len(held) == 3 and all(r.attempts == 1 for r in held)
    assert (
        await ledger.claim("b", ["console"], AT + LEASE - dt.timedelta(seconds=1), LEASE, 10) == []
    )
    pending = await ledger.pending(["console"], LEASE)
    assert pending.sending == 3 and pending.next_claimable_at == AT + LEASE
    taken = await ledger.claim("b", ["console"], AT + LEASE + dt.timedelta(seconds=1), LEASE, 10)
    assert [r.id for r in taken] == [r.id for r in held]
    assert all(r.attempts == 2 for r in taken)
    sent = [Outcome(r.id, r.subscription_id, DeliveryStatus.SENT) for r in held]
    assert await ledger.finish("a", sent, AT) == 0  # fenced: "b" holds them now
    assert await ledger.finish("b", sent, AT) == 3
    assert (await ledger.status_counts()) == {"sent": 3}


async def test_a_batch_of_outcomes_is_written_in_a_few_statements(empty_app: App) -> None:
    # The drainers' writer records what finished meanwhile in one transaction; one UPDATE per
    # row held the transaction (on SQLite the database's only write lock, which a command's
    # write then waited for) through as many round trips as rows: at ~1,000 sends a second
    # the soak's /subscribe waited behind them (p95 560 ms). Rows with the same outcome are
    # written together; a row another worker took over is still not recorded.
    await _queued_rows(empty_app, 60)
    ledger = SqlDeliveryLedger(empty_app.sessions)
    held = await ledger.claim("a", ["console"], AT, LEASE, 60)
    assert len(held) == 60
    taken = await ledger.claim("b", ["console"], AT + LEASE + dt.timedelta(seconds=1), LEASE, 1)
    retry_at = AT + dt.timedelta(seconds=30)
    outcomes = [Outcome(r.id, r.subscription_id, DeliveryStatus.SENT) for r in held[:50]]
    outcomes += [
        Outcome(r.id, r.subscription_id, DeliveryStatus.QUEUED, "429", retry_at, attempted=False)
        for r in held[50:55]
    ]
    outcomes += [
        Outcome(r.id, r.subscription_id, DeliveryStatus.QUEUED, "5xx", retry_at) for r in held[55:]
    ]
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    engine = empty_app.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        recorded = await ledger.finish("a", outcomes, AT)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert recorded == 59  # the row "b" took over is fenced
    assert len([s for s in statements if s.lstrip().upper().startswith("UPDATE")]) <= 3
    rows = {r.id: r for r in await deliveries(empty_app)}
    assert [rows[r.id].status for r in taken] == ["sending"]
    assert taken[0].id == held[0].id
    assert all(rows[r.id].status == "sent" and rows[r.id].sent_at for r in held[1:50])
    assert all(
        rows[r.id].status == "queued"
        and rows[r.id].reason == "429"
        and rows[r.id].attempts == 0
        and rows[r.id].claimed_by is None
        for r in held[50:55]
    )
    assert all(
        rows[r.id].status == "queued" and rows[r.id].reason == "5xx" and rows[r.id].attempts == 1
        for r in held[55:]
    )


async def _age_heartbeat(app: App, worker: str, seconds: float) -> None:
    """As if ``worker`` had not beaten for ``seconds`` more (no sleeping, no flakiness)."""
    async with app.sessions.begin() as session:
        await session.execute(
            update(models.DeliveryWorker)
            .where(models.DeliveryWorker.worker == worker)
            .values(seen_at=models.DeliveryWorker.seen_at - seconds)
        )


async def test_rows_of_a_holder_whose_heartbeat_stopped_are_taken_over_before_the_lease(
    empty_app: App,
) -> None:
    await _queued_rows(empty_app, 3)
    ledger = SqlDeliveryLedger(empty_app.sessions)
    alive = dt.timedelta(seconds=3)
    await ledger.heartbeat("a")
    held = await ledger.claim("a", ["console"], AT, LEASE, 10, liveness=alive)
    assert len(held) == 3
    # "a" beats: its rows stay its own
    assert await ledger.claim("b", ["console"], AT, LEASE, 10, liveness=alive) == []
    # "a" stops beating (killed): "b" takes its rows long before the lease runs out, and
    # "a" never takes back its own rows as if they were a dead one's
    await _age_heartbeat(empty_app, "a", 10)
    assert await ledger.claim("a", ["console"], AT, LEASE, 10, liveness=alive) == []
    assert await ledger.claim("b", ["console"], AT, LEASE, 10) == []  # the lease alone
    taken = await ledger.claim("b", ["console"], AT, LEASE, 10, liveness=alive)
    assert sorted(r.id for r in taken) == sorted(r.id for r in held)
    sent = [Outcome(r.id, r.subscription_id, DeliveryStatus.SENT) for r in held]
    assert await ledger.finish("a", sent, AT) == 0  # fenced as after a lease
    assert await ledger.finish("b", sent, AT) == 3
    # a holder that never beat (an older version during an upgrade) keeps its rows for the
    # lease: it may well be alive
    await _queued_rows(empty_app, 2)
    old = await ledger.claim("old", ["console"], AT, LEASE, 10)
    assert len(old) == 2
    assert await ledger.claim("b", ["console"], AT, LEASE, 10, liveness=alive) == []
    later = AT + LEASE + dt.timedelta(seconds=1)
    assert len(await ledger.claim("b", ["console"], later, LEASE, 10, liveness=alive)) == 2
    await ledger.retire("a")
    async with empty_app.sessions() as session:
        assert list(await session.scalars(select(models.DeliveryWorker.worker))) == []


async def _end_lock(ledger: SqlDeliveryLedger, worker: str, *, kill: bool = True) -> None:
    """What the kernel and the server do when ``worker``'s process is killed: its liveness
    lock ends with it (PostgreSQL: the server ends its session; SQLite: the file is closed).
    Its row stays, with a fresh heartbeat: nobody retired it."""
    lock = ledger._locks[worker]
    if isinstance(lock, AdvisoryLock):
        assert lock._connection is not None
        pid = await lock._connection.scalar(text("SELECT pg_backend_pid()"))
        async with ledger.sessions() as admin:
            await admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        if kill:
            assert not await lock.held()  # the dead process's connection, closed
    else:
        assert isinstance(lock, FileLock) and lock._file is not None
        lock._file.close()  # the flock goes with the last descriptor, as at exit
        lock._file = None


async def test_rows_of_a_holder_whose_lock_ended_are_taken_over_at_once(empty_app: App) -> None:
    """A killed holder's heartbeat is still fresh for up to ``timeout``; its lock tells at
    once that it is gone, so its rows are claimed at the next beat, not seconds later."""
    await _queued_rows(empty_app, 3)
    dead, alive_ledger = (
        SqlDeliveryLedger(empty_app.sessions),
        SqlDeliveryLedger(empty_app.sessions),
    )
    alive = dt.timedelta(seconds=30)  # a heartbeat that could not expire during the test
    assert await dead.hold("a")
    assert await dead.heartbeat("a", ["console"], alive) == {"console": 1}
    held = await dead.claim("a", ["console"], AT, LEASE, 10, liveness=alive)
    assert len(held) == 3
    assert await alive_ledger.hold("b")
    assert await alive_ledger.heartbeat("b", ["console"], alive) == {"console": 2}
    assert await alive_ledger.claim("b", ["console"], AT, LEASE, 10, liveness=alive) == []
    await _end_lock(dead, "a")
    assert await alive_ledger.heartbeat("b", ["console"], alive) == {"console": 1}
    taken = await alive_ledger.claim("b", ["console"], AT, LEASE, 10, liveness=alive)
    assert sorted(r.id for r in taken) == sorted(r.id for r in held)
    sent = [Outcome(r.id, r.subscription_id, DeliveryStatus.SENT) for r in held]
    assert await dead.finish("a", sent, AT) == 0  # fenced
    assert await alive_ledger.finish("b", sent, AT) == 3
    await alive_ledger.retire("b")


async def test_a_worker_that_never_held_a_lock_is_judged_by_its_heartbeat_alone(
    empty_app: App,
) -> None:
    """A worker of a version before the lock (during an upgrade) holds none: it must not be
    taken for dead because no lock of its is found."""
    await _queued_rows(empty_app, 2)
    old, new = SqlDeliveryLedger(empty_app.sessions), SqlDeliveryLedger(empty_app.sessions)
    alive = dt.timedelta(seconds=30)
    await old.heartbeat("old", ["console"], alive)  # no hold(): no lock key
    assert len(await old.claim("old", ["console"], AT, LEASE, 10, liveness=alive)) == 2
    assert await new.hold("new")
    assert await new.heartbeat("new", ["console"], alive) == {"console": 2}
    assert await new.claim("new", ["console"], AT, LEASE, 10, liveness=alive) == []
    await new.retire("new")


async def test_a_lost_lock_stops_new_sends_until_it_is_taken_again(
    empty_app: App, database_url: str
) -> None:
    """Once this process's lock is gone the others may take its rows at once, so it must not
    start a send on the strength of an older beat; at its next beat it takes the lock again
    (the connection was cut, the process lives)."""
    ledger = SqlDeliveryLedger(empty_app.sessions)
    liveness = Liveness(ledger, "me", interval=10.0, timeout=dt.timedelta(seconds=30))
    await liveness.start()
    try:
        assert liveness.fresh()
        await _end_lock(ledger, "me", kill=False)
        if database_url.startswith("postgres"):
            lock = ledger._locks["me"]
            assert not await lock.held()  # the cut connection is noticed at the next check
            # a lock nobody can take again (another session holds its key)
            async with empty_app.engine.connect() as other:
                await other.execute(
                    text("SELECT pg_advisory_lock(:key)"), {"key": worker_lock_key("me")}
                )
                with pytest.raises(LivenessLost):
                    await liveness.beat()
                assert not liveness.fresh()
                await other.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": worker_lock_key("me")}
                )
        await liveness.beat()  # taken again
        assert liveness.fresh()
        assert ledger._locks["me"].holding
    finally:
        await liveness.stop()
    assert "me" not in ledger._locks


async def test_a_joining_worker_waits_for_every_peer_to_beat_not_for_one_interval(
    empty_app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A peer whose beat comes late (a loaded machine) still sends at its old, whole share:
    the joining worker must not start before that peer has counted it (it waited one
    interval before, and drew 429s under load)."""
    monkeypatch.setattr(liveness_module, "JOIN_MARGIN", 0.05)
    ledger = SqlDeliveryLedger(empty_app.sessions)
    await ledger.heartbeat("peer", ["telegram"])
    joining = Liveness(
        ledger, "new", interval=0.1, timeout=dt.timedelta(seconds=5), platforms=["telegram"]
    )
    start = asyncio.create_task(joining.start())
    await asyncio.sleep(0.8)  # eight intervals: the peer has not beaten again
    assert not start.done()
    peers = await ledger.heartbeat("peer", ["telegram"])
    assert peers == {"telegram": 2}  # the late beat counts the newcomer
    await asyncio.wait_for(start, 2)
    assert joining.peers == {"telegram": 2}
    await joining.stop()


async def test_workers_starting_together_each_count_the_other_before_sending(
    empty_app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first to beat counts itself alone; it must not start at the whole ceiling."""
    monkeypatch.setattr(liveness_module, "JOIN_MARGIN", 0.05)
    ledger = SqlDeliveryLedger(empty_app.sessions)
    workers = [
        Liveness(
            ledger, name, interval=0.1, timeout=dt.timedelta(seconds=5), platforms=["telegram"]
        )
        for name in ("a", "b")
    ]
    await asyncio.wait_for(asyncio.gather(*(w.start() for w in workers)), 5)
    assert [w.peers for w in workers] == [{"telegram": 2}, {"telegram": 2}]
    for worker in workers:
        await worker.stop()


async def test_rows_of_other_platforms_and_future_retries_are_not_claimed(empty_app: App) -> None:
    await add_subscriptions(empty_app, [{"platform": "telegram", "chat_id": "42"}, {}])
    await _plan(empty_app)
    ledger = SqlDeliveryLedger(empty_app.sessions)
    rows = await ledger.claim("a", ["console"], AT, LEASE, 10)
    assert [r.platform for r in rows] == ["console"]
    retry_at = AT + dt.timedelta(seconds=30)
    await ledger.finish(
        "a",
        [Outcome(rows[0].id, rows[0].subscription_id, DeliveryStatus.QUEUED, "5xx", retry_at)],
        AT,
    )
    assert await ledger.claim("a", ["console"], AT, LEASE, 10) == []
    pending = await ledger.pending(None, LEASE)
    assert pending.by_platform == {"console": 1, "telegram": 1}
    assert pending.next_claimable_at is not None and pending.next_claimable_at <= retry_at
    again = await ledger.claim("a", ["console"], retry_at, LEASE, 10)
    assert [r.id for r in again] == [rows[0].id] and again[0].attempts == 2


async def test_permanent_failure_deactivates_and_skips_the_rest(empty_app: App) -> None:
    (sub,) = await add_subscriptions(empty_app, [{}])
    event = Event(
        slug="e",
        starts_at=AT + dt.timedelta(days=5),
        timezone="Europe/Brussels",
        title={"en": "E"},
    )
    await add_event(empty_app, event, AT - dt.timedelta(minutes=1))
    await service(empty_app, {}).plan()
    ledger = SqlDeliveryLedger(empty_app.sessions)
    (first,) = await ledger.claim("a", ["console"], AT, LEASE, 1)
    outcome = Outcome(first.id, sub, DeliveryStatus.FAILED, "blocked by the user", deactivate=True)
    assert await ledger.finish("a", [outcome], AT) == 1
    rows = await deliveries(empty_app)
    assert sorted((r.status, r.reason) for r in rows) == [
        ("failed", "blocked by the user"),
        ("skipped", "subscription deactivated: blocked by the user"),
    ]
    async with empty_app.sessions() as session:
        assert await session.scalar(select(models.Subscription.active)) is False


def test_default_settings_are_sane() -> None:
    settings = DeliverySettings()
    assert settings.lateness_window == dt.timedelta(hours=6)
    assert settings.claim_lease.total_seconds() > settings.send_timeout + settings.max_hold


async def test_a_planner_waits_for_the_one_that_holds_the_due_subscriptions(
    empty_app: App, database_url: str
) -> None:
    """Two ``tick`` processes: the one whose due-query skips the other's locked rows must not
    find the queue empty and leave all the sending to the other one."""
    if not database_url.startswith("postgresql"):
        return  # SQLite: one writer; the second planner simply waits for the lock
    await add_subscriptions(empty_app, [{} for _ in range(5)])
    ledger = SqlDeliveryLedger(empty_app.sessions)
    locked = asyncio.Event()

    async def other_planner() -> None:
        async with empty_app.sessions.begin() as session:
            await session.execute(
                select(models.Subscription.id).with_for_update()  # planning them, slowly
            )
            locked.set()
            await asyncio.sleep(0.6)
            await session.execute(
                update(models.Subscription).values(next_run_at=AT + dt.timedelta(days=1))
            )

    other = asyncio.create_task(other_planner())
    await locked.wait()
    started = asyncio.get_running_loop().time()
    counts = await ledger.queue_daily(AT, lambda due: plan_daily(due, AT, WINDOW))
    waited = asyncio.get_running_loop().time() - started
    await other
    assert counts.queued == 0
    assert waited >= 0.5  # it returned only once the other planner had committed


# Zones with every kind of DST rule: gaps and repeated hours of an hour (Europe, the US,
# Chile, Morocco's Ramadan shifts), of half an hour (Lord Howe), at midnight (Havana,
# Santiago), quarter-hour offsets (Chatham, Kathmandu), two-hour shifts (Troll), none.
PROPERTY_ZONES = (
    "Europe/Brussels",
    "Europe/London",
    "America/New_York",
    "America/St_Johns",
    "America/Havana",
    "America/Santiago",
    "Africa/Casablanca",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Asia/Kathmandu",
    "Antarctica/Troll",
    "Pacific/Apia",
    "UTC",
)
# Ticks on and around DST transitions of 2026 (Europe 29 March and 25 October, the US 8 March
# and 1 November, Lord Howe 5 April and 4 October, Santiago 5 April and 6 September).
PROPERTY_TICKS = (
    dt.datetime(2026, 3, 8, 6, 30, tzinfo=dt.UTC),
    dt.datetime(2026, 3, 8, 7, 15, tzinfo=dt.UTC),
    dt.datetime(2026, 3, 29, 0, 45, tzinfo=dt.UTC),
    dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.UTC),
    dt.datetime(2026, 4, 4, 14, 45, tzinfo=dt.UTC),
    dt.datetime(2026, 4, 5, 3, 0, tzinfo=dt.UTC),
    dt.datetime(2026, 4, 6, 2, 0, tzinfo=dt.UTC),
    dt.datetime(2026, 9, 6, 4, 0, tzinfo=dt.UTC),
    dt.datetime(2026, 10, 4, 15, 30, tzinfo=dt.UTC),
    dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC),
    dt.datetime(2026, 10, 25, 1, 15, tzinfo=dt.UTC),
    dt.datetime(2026, 11, 1, 6, 0, tzinfo=dt.UTC),
    dt.datetime(2026, 11, 1, 6, 45, tzinfo=dt.UTC),
)


async def _due_state(
    app: App, now: dt.datetime
) -> tuple[list[DueSubscription], set[tuple[object, ...]]]:
    """The due subscriptions (as the planner sees them) and every ledger row."""
    async with app.sessions() as session:
        subscriptions = await session.scalars(
            select(models.Subscription).where(models.Subscription.active.is_(True))
        )
        due = [
            DueSubscription(s.id, s.timezone, s.delivery_time, tuple(s.topics), s.next_run_at)
            for s in subscriptions
            if s.next_run_at is None or s.next_run_at <= now
        ]
    rows: set[tuple[object, ...]] = {
        (
            r.subscription_id,
            r.item_key,
            r.occurrence_date,
            r.due_at,
            r.status,
            r.reason,
            r.not_before,
        )
        for r in await deliveries(app)
    }
    return due, rows


@pytest.mark.parametrize(
    "ahead", [dt.timedelta(0), dt.timedelta(minutes=50)], ids=["at-now", "planned-ahead"]
)
async def test_the_plan_in_sql_is_the_planner_applied_to_each_subscription(
    empty_app: App, ahead: dt.timedelta
) -> None:
    """The ledger plans once per key (zone, time, next run, daily topic) and lets the database
    copy that plan to every due subscription with the key. Property: over zones with every
    kind of DST rule and ticks around their transitions, the rows and next runs it writes
    are exactly what the planner computes for each subscription alone; planned ahead (up to
    ``now + ahead``), a row due after ``now`` waits for its due time (``not_before``)."""
    chooser = random.Random(15)
    times = [dt.time(h, m) for h in (0, 1, 2, 3, 23) for m in (0, 15, 30, 45)]
    times += [dt.time(9), dt.time(12, 30), dt.time(23, 59), dt.time(7, 10)]
    rows = []
    for _ in range(700):
        first_tick = PROPERTY_TICKS[0]
        next_run: dt.datetime | None = chooser.choice(
            [
                None,
                first_tick,
                first_tick - dt.timedelta(minutes=chooser.randrange(1, 600)),
                first_tick - dt.timedelta(days=chooser.randrange(1, 10)),
                first_tick + dt.timedelta(hours=chooser.randrange(1, 48)),
            ]
        )
        rows.append(
            {
                "timezone": chooser.choice(PROPERTY_ZONES),
                "delivery_time": chooser.choice(times),
                "topics": chooser.choice([["today", "events"], ["events"], ["today"]]),
                "next_run_at": next_run,
            }
        )
    await add_subscriptions(empty_app, rows)
    ledger = SqlDeliveryLedger(empty_app.sessions)
    checked = planned_ahead = 0
    for now in PROPERTY_TICKS:
        horizon = now + ahead
        due, before = await _due_state(empty_app, horizon)
        expected = plan_daily(due, now, WINDOW, horizon)
        counts = await ledger.queue_daily(
            now, partial(plan_daily, now=now, window=WINDOW, horizon=horizon), 7, horizon=horizon
        )
        _, after = await _due_state(empty_app, horizon)
        added = after - before
        assert added == {
            (
                r.subscription_id,
                r.item_key,
                r.occurrence_date,
                r.due_at,
                r.status.value,
                r.reason,
                r.due_at if r.due_at > now else None,
            )
            for r in expected.rows
        }, now
        planned_ahead += sum(1 for row in added if row[-1] is not None)
        assert (counts.subscriptions, counts.queued + counts.skipped) == (len(due), len(added))
        async with empty_app.sessions() as session:
            next_runs = dict(
                (
                    await session.execute(
                        select(models.Subscription.id, models.Subscription.next_run_at)
                    )
                ).all()
            )
        assert {s.id: next_runs[s.id] for s in due} == expected.next_run_at, now
        checked += len(due)
    assert checked > 1000
    assert (planned_ahead > 20) == bool(ahead), planned_ahead


async def test_a_subscription_changed_while_its_key_is_planned_is_recomputed(
    empty_app: App, database_url: str
) -> None:
    """Between reading the keys and writing the plan, a user moves one subscription to 10:00
    (its next run becomes NULL, "recompute"): the statement must not give it the plan of the
    key it had, but leave it to be recomputed for its new time."""
    ids = await add_subscriptions(empty_app, [{"next_run_at": AT} for _ in range(6)])
    changed = ids[-1]

    def edit() -> None:
        if database_url.startswith("sqlite"):
            with sqlite3.connect(database_url.removeprefix("sqlite:///")) as connection:
                connection.execute(
                    "UPDATE subscriptions SET delivery_time = '10:00:00.000000', "
                    "next_run_at = NULL WHERE id = ?",
                    (changed,),
                )
        else:
            with psycopg.connect(database_url.replace("+psycopg", ""), autocommit=True) as pg:
                pg.execute(
                    "UPDATE subscriptions SET delivery_time = '10:00', next_run_at = NULL "
                    "WHERE id = %s",
                    (changed,),
                )

    edits: list[int] = []

    def planner(due: Sequence[DueSubscription]) -> DailyPlan:
        if not edits:
            edits.append(changed)
            edit()
        return plan_daily(due, AT, WINDOW)

    ledger = SqlDeliveryLedger(empty_app.sessions)
    # a batch of one: the key is read from one subscription, the statement takes the others
    await ledger.queue_daily(AT, planner, 1)
    await ledger.queue_daily(AT, planner, 1)  # the next tick recomputes it (SQLite: one pass)
    rows = await deliveries(empty_app)
    assert sorted(r.subscription_id for r in rows) == ids[:-1]
    async with empty_app.sessions() as session:
        next_runs = dict(
            (
                await session.execute(
                    select(models.Subscription.id, models.Subscription.next_run_at)
                )
            ).all()
        )
    # 10:00 in Brussels is 08:00 UTC, still to come today; the others are done for today
    assert next_runs[changed] == dt.datetime(2026, 5, 9, 8, 0, tzinfo=dt.UTC)
    assert {next_runs[i] for i in ids[:-1]} == {AT + dt.timedelta(days=1)}
