"""Planning ahead (``DELIVERY_PLAN_AHEAD``): the running bot's minute tick queues the daily
posts of the next minute, each held until its due time, and a subscription changed meanwhile
withdraws them and is planned again under its new settings, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import select, update

from bot.app import App
from bot.core.domain import ChatSettings, DeliveryStatus
from db import models
from db.deliveries import SqlDeliveryLedger
from tests.scheduling.support import AT, add_subscriptions, deliveries, service

AHEAD = dt.timedelta(seconds=60)
BEFORE = AT - AHEAD
"""06:59 UTC: the tick before 09:00 in Brussels, which queues that minute's posts."""
LEASE = dt.timedelta(seconds=60)
LONDON_NINE = dt.datetime(2026, 5, 9, 8, 0, tzinfo=dt.UTC)
"""09:00 in London, or 10:00 in Brussels."""


async def _chat_ids(app: App, ids: list[int]) -> list[str]:
    async with app.sessions() as session:
        found = {
            row.id: row.chat_id
            for row in await session.execute(
                select(models.Subscription.id, models.Subscription.chat_id)
            )
        }
    return [found[i] for i in ids]


async def _next_runs(app: App) -> dict[int, dt.datetime | None]:
    async with app.sessions() as session:
        return {
            row.id: row.next_run_at
            for row in await session.execute(
                select(models.Subscription.id, models.Subscription.next_run_at)
            )
        }


async def _rows(app: App) -> dict[int, tuple[dt.datetime, dt.datetime | None, str]]:
    """Each subscription's daily row: due, not before, status."""
    return {
        r.subscription_id: (r.due_at, r.not_before, r.status)
        for r in await deliveries(app)
        if r.item_key == "today"
    }


async def test_the_next_minute_is_queued_ahead_and_claimable_at_its_time(empty_app: App) -> None:
    await add_subscriptions(empty_app, [{} for _ in range(5)])  # 09:00 in Brussels: AT
    counts = await service(empty_app, {}, at=BEFORE).plan(AHEAD)
    assert (counts.subscriptions, counts.queued) == (5, 5)
    rows = await _rows(empty_app)
    assert set(rows.values()) == {(AT, AT, "queued")}
    assert set((await _next_runs(empty_app)).values()) == {AT + dt.timedelta(days=1)}

    ledger = SqlDeliveryLedger(empty_app.sessions)
    a_second_before = AT - dt.timedelta(seconds=1)
    assert await ledger.claim("w", ["console"], a_second_before, LEASE, 10) == []
    # not late work for a one-off tick; a running drainer sleeps until the minute comes
    assert (await ledger.pending(["console"], LEASE, a_second_before)).total == 0
    assert (await ledger.pending(["console"], LEASE)).next_retry_at == AT
    # the minute's own tick plans nothing twice, and the rows can be claimed
    assert (await service(empty_app, {}, at=AT).plan(AHEAD)).queued == 0
    assert len(await ledger.claim("w", ["console"], AT, LEASE, 10)) == 5


async def test_without_planning_ahead_nothing_is_queued_before_its_minute(empty_app: App) -> None:
    """The one-off ``tick`` (and ``DELIVERY_PLAN_AHEAD=0``) plans at its instant only."""
    await add_subscriptions(empty_app, [{}, {}])
    assert (await service(empty_app, {}, at=BEFORE).plan()).queued == 0
    assert (await service(empty_app, {}, at=AT).plan()).queued == 2
    assert {not_before for _, not_before, _ in (await _rows(empty_app)).values()} == {None}


async def test_a_subscription_changed_after_its_post_was_queued_ahead_is_planned_again(
    empty_app: App,
) -> None:
    """Five subscriptions at 09:00 in Brussels, queued ahead at 08:59. Then, before 09:00:
    one moves to 10:00, one changes its language, one's chat moves to London (09:00 there is
    an hour later), one is left alone; the fifth's row is claimed at 09:00 and its language
    changed while it is being sent. Each changed one is planned again for its new settings;
    nothing is sent twice or at the old time."""
    ids = await add_subscriptions(empty_app, [{} for _ in range(5)])
    moved, renamed, relocated, untouched, sending = ids
    chats = dict(zip(ids, await _chat_ids(empty_app, ids), strict=True))
    await service(empty_app, {}, at=BEFORE).plan(AHEAD)
    repository = empty_app.chats

    async def edit(subscription_id: int, **changes: object) -> None:
        current = await repository.get_subscription("console", chats[subscription_id])
        assert current is not None
        await repository.save_subscription(dataclasses.replace(current, **changes))  # type: ignore[arg-type]

    await edit(moved, delivery_time=dt.time(10, 0))
    await edit(renamed, language="fr")
    await repository.save_settings(ChatSettings("console", chats[relocated], "en", "Europe/London"))
    rows = await _rows(empty_app)
    assert set(rows) == {untouched, sending}  # the others' rows are withdrawn
    next_runs = await _next_runs(empty_app)
    # planned again from the withdrawn row's time, which the planner sees as due
    assert {next_runs[i] for i in (moved, renamed, relocated)} == {AT}

    ledger = SqlDeliveryLedger(empty_app.sessions)
    claimed = await ledger.claim("w", ["console"], AT, LEASE, 10)
    assert {row.subscription_id for row in claimed} == {untouched, sending}
    await edit(sending, language="de")  # a row being sent is not withdrawn
    assert (await _rows(empty_app))[sending][2] == DeliveryStatus.SENDING.value

    await service(empty_app, {}, at=AT).plan(AHEAD)
    rows = await _rows(empty_app)
    assert rows[renamed] == (AT, None, "queued")  # due now: claimable at once
    assert moved not in rows and relocated not in rows
    next_runs = await _next_runs(empty_app)
    assert next_runs[moved] == next_runs[relocated] == LONDON_NINE
    # the edit of the row being sent queued nothing twice (its next run was recomputed)
    await service(empty_app, {}, at=LONDON_NINE - AHEAD).plan(AHEAD)
    rows = await _rows(empty_app)
    assert rows[moved] == rows[relocated] == (LONDON_NINE, LONDON_NINE, "queued")
    assert len(await deliveries(empty_app)) == 5


async def test_a_post_queued_ahead_and_late_is_not_lost_when_its_subscription_changes(
    empty_app: App,
) -> None:
    """A backlog kept the 09:00 row waiting; at 09:10 the chat changes its language: the row
    is withdrawn and planned again at once, late but inside the lateness window."""
    [subscription] = await add_subscriptions(empty_app, [{}])
    [chat] = await _chat_ids(empty_app, [subscription])
    await service(empty_app, {}, at=BEFORE).plan(AHEAD)
    await empty_app.chats.save_settings(ChatSettings("console", chat, "nl", "Europe/Brussels"))
    assert await _rows(empty_app) == {}
    later = AT + dt.timedelta(minutes=10)
    await service(empty_app, {}, at=later).plan(AHEAD)
    assert await _rows(empty_app) == {subscription: (AT, None, "queued")}


async def test_a_retried_row_is_never_withdrawn(empty_app: App) -> None:
    """A row sent once and waiting for its retry (``not_before`` after its due time) stays."""
    [subscription] = await add_subscriptions(empty_app, [{}])
    [chat] = await _chat_ids(empty_app, [subscription])
    await service(empty_app, {}, at=BEFORE).plan(AHEAD)
    retry = AT + dt.timedelta(seconds=30)
    async with empty_app.sessions.begin() as session:
        await session.execute(update(models.Delivery).values(not_before=retry, attempts=1))
    await empty_app.chats.save_settings(ChatSettings("console", chat, "nl", "Europe/Brussels"))
    assert await _rows(empty_app) == {subscription: (AT, retry, "queued")}
