"""Draining the ledger through fake senders on fake time: outcomes, retries, 429s, rendering."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from bot.app import App
from bot.core.delivery import PermanentError, RetryLater, RetryScope, TransientError
from bot.core.domain import Event
from bot.scheduling.settings import DeliverySettings
from db import models
from tests.scheduling.support import (
    AT,
    FakeTime,
    RecordingSender,
    add_event,
    add_subscriptions,
    anniversary_source,
    deliveries,
    service,
    set_next_run,
)


async def _statuses(app: App) -> dict[str, str]:
    async with app.sessions() as session:
        rows = await session.execute(
            select(models.Subscription.chat_id, models.Delivery.status, models.Delivery.reason)
            .join(models.Subscription)
            .order_by(models.Delivery.id)
        )
        return {chat: f"{status}: {reason}" if reason else status for chat, status, reason in rows}


async def test_every_row_ends_sent_failed_or_skipped(empty_app: App) -> None:
    await add_subscriptions(empty_app, [{} for _ in range(5)])
    await add_subscriptions(empty_app, [{"delivery_time": dt.time(0, 30)}])  # 8.5 h late
    await set_next_run(empty_app, AT - dt.timedelta(hours=9))
    sender = RecordingSender()
    report = await service(empty_app, {"console": sender}).tick()
    assert (report.planned.queued, report.drained.sent, report.skipped) == (5, 5, 1)
    rows = await deliveries(empty_app)
    assert sorted(r.status for r in rows) == ["sent"] * 5 + ["skipped"]
    assert all(r.sent_at is not None and r.attempts == 1 for r in rows if r.status == "sent")
    assert "Victory Day" in sender.sent[0].text and "81 years ago" in sender.sent[0].text


async def test_each_item_and_language_is_rendered_once(empty_app: App) -> None:
    await add_subscriptions(empty_app, [{} for _ in range(20)])
    await add_subscriptions(empty_app, [{"language": "ru"} for _ in range(10)])
    source = anniversary_source()
    svc = service(empty_app, {"console": RecordingSender()}, anniversaries=source)
    report = await svc.tick()
    assert report.drained.sent == 30
    assert svc.renderer.renders == 2
    assert len(source.calls) == 2  # type: ignore[attr-defined]


async def test_a_day_with_nothing_recorded_is_still_posted(empty_app: App) -> None:
    await add_subscriptions(empty_app, [{}])
    source = anniversary_source({(5, 9): []})
    sender = RecordingSender()
    report = await service(empty_app, {"console": sender}, anniversaries=source).tick()
    assert (report.drained.sent, report.drained.skipped) == (1, 0)
    assert list((await _statuses(empty_app)).values()) == ["sent"]
    assert "Nothing is recorded for this day yet." in sender.sent[0].text


async def test_a_day_without_anniversaries_posts_the_memorial_of_the_day(empty_app: App) -> None:
    from tests.fakes.sample import sample_dataset

    dataset = sample_dataset()
    dataset.anniversaries = []
    await empty_app.store.upsert(dataset)
    await add_subscriptions(empty_app, [{}, {"language": "ru"}])
    sender = RecordingSender()
    svc = service(empty_app, {"console": sender}, anniversaries=empty_app.core.on_this_day)
    report = await svc.tick()
    assert (report.drained.sent, report.drained.skipped) == (2, 0)
    texts = sorted(message.text for message in sender.sent)
    names = {m.slug: m.names for m in dataset.memorials}
    expected = await empty_app.core.memorial_of_the_day(AT.date())
    assert expected is not None
    english = next(text for text in texts if "Memorial of the day" in text)
    assert names[expected.slug]["en"] in english
    assert "Immortal Regiment" in english  # the event of the next day, coming up


async def test_transient_errors_are_retried_with_backoff_and_jitter(empty_app: App) -> None:
    await add_subscriptions(empty_app, [{"chat_id": "flaky"}, {"chat_id": "fine"}])
    time = FakeTime()
    sender = RecordingSender(script={"flaky": [TransientError("502"), TransientError("timeout")]})
    report = await service(empty_app, {"console": sender}, time=time).tick()
    assert report.drained.sent == 2 and report.drained.retried == 2
    assert sender.attempts.count("flaky") == 3
    rows = {r.subscription_id: r for r in await deliveries(empty_app)}
    assert sorted(r.attempts for r in rows.values()) == [1, 3]
    assert time.t >= 1.0 + 2.0  # backoff of at least half of 2 s, then of 4 s


async def test_transient_errors_give_up_after_max_attempts(empty_app: App) -> None:
    await add_subscriptions(empty_app, [{"chat_id": "down"}])
    sender = RecordingSender(script={"down": [TransientError("503")] * 10})
    settings = DeliverySettings(max_attempts=3, poll_interval=0.01)
    report = await service(empty_app, {"console": sender}, settings=settings).tick()
    assert report.drained.failed == 1
    assert (await _statuses(empty_app))["down"] == "failed: gave up after 3 attempts: 503"


async def test_429s_never_use_up_the_attempts(empty_app: App) -> None:
    """A 429 never turns into a lost post: ten of them, with three attempts allowed."""
    await add_subscriptions(empty_app, [{"chat_id": "busy"}])
    time = FakeTime()
    flood: list[Exception] = [RetryLater(1.0, RetryScope.CHAT) for _ in range(10)]
    sender = RecordingSender(time=time, script={"busy": flood})
    settings = DeliverySettings(max_attempts=3, poll_interval=0.01)
    report = await service(empty_app, {"console": sender}, time=time, settings=settings).tick()
    assert report.drained.sent == 1 and report.drained.failed == 0
    assert sender.attempts.count("busy") == 11
    assert (await _statuses(empty_app))["busy"] == "sent"


async def test_a_permanent_error_deactivates_the_subscription(empty_app: App) -> None:
    await add_subscriptions(empty_app, [{"chat_id": "gone"}, {"chat_id": "here"}])
    sender = RecordingSender(script={"gone": [PermanentError("bot was blocked by the user")]})
    report = await service(empty_app, {"console": sender}).tick()
    assert (report.drained.sent, report.drained.failed, report.drained.deactivated) == (1, 1, 1)
    assert (await _statuses(empty_app))["gone"] == "failed: bot was blocked by the user"
    async with empty_app.sessions() as session:
        rows = await session.execute(
            select(models.Subscription.chat_id, models.Subscription.active)
        )
        active = {chat: flag for chat, flag in rows}
    assert active == {"gone": False, "here": True}
    # The next day, only the active subscription gets a post.
    tomorrow = service(empty_app, {"console": sender}, at=AT + dt.timedelta(days=1))
    assert (await tomorrow.tick()).drained.sent == 1


async def test_429_pauses_only_its_chat(empty_app: App) -> None:
    others = [{"platform": "telegram", "chat_id": str(100 + n)} for n in range(20)]
    await add_subscriptions(empty_app, [{"platform": "telegram", "chat_id": "-1009"}, *others])
    time = FakeTime()
    sender = RecordingSender(time=time, script={"-1009": [RetryLater(5.0, RetryScope.CHAT)]})
    svc = service(empty_app, {"telegram": sender}, time=time)
    report = await svc.tick()
    assert report.drained.sent == 21 and report.drained.retried == 1
    flooded = [s.at for s in sender.sent if s.chat_id == "-1009"]
    rest = [s.at for s in sender.sent if s.chat_id != "-1009"]
    assert flooded[0] >= 5.0
    assert max(rest) < 5.0  # the other chats went on during the pause
    assert svc.limiters["telegram"].stats.chat_pauses == 1


async def test_global_429_pauses_the_whole_token(empty_app: App) -> None:
    await add_subscriptions(
        empty_app, [{"platform": "discord", "chat_id": str(500 + n)} for n in range(5)]
    )
    time = FakeTime()
    sender = RecordingSender(time=time, script={"500": [RetryLater(3.0, RetryScope.GLOBAL)]})
    settings = DeliverySettings(poll_interval=0.01, concurrency=1)
    report = await service(empty_app, {"discord": sender}, time=time, settings=settings).tick()
    assert report.drained.sent == 5
    assert min(s.at for s in sender.sent) >= 3.0


async def test_rows_too_late_at_send_time_are_skipped(empty_app: App) -> None:
    await add_subscriptions(empty_app, [{}])
    await service(empty_app, {}).plan()  # queued at 07:00, no sender
    later = service(empty_app, {"console": RecordingSender()}, at=AT + dt.timedelta(hours=7))
    report = await later.tick()
    assert report.drained.skipped == 1 and report.drained.sent == 0
    (status,) = (await _statuses(empty_app)).values()
    assert status.startswith("skipped: too late: 7h00m")


async def test_platforms_without_a_sender_stay_queued(empty_app: App) -> None:
    await add_subscriptions(empty_app, [{"platform": "telegram", "chat_id": "7"}, {}])
    report = await service(empty_app, {"console": RecordingSender()}).tick()
    assert report.drained.sent == 1
    assert report.left_queued == {"telegram": 1}


async def test_event_items_are_rendered_and_skipped_once_moot(empty_app: App) -> None:
    await add_subscriptions(empty_app, [{}, {"language": "ru"}])
    event = Event(
        slug="rally",
        starts_at=AT + dt.timedelta(days=2),
        timezone="Europe/Moscow",
        title={"en": "Immortal Regiment", "ru": "Бессмертный полк"},
        place={"en": "Red Square"},
        description={"en": "Bring a portrait."},
    )
    await add_event(empty_app, event, AT - dt.timedelta(minutes=5))
    sender = RecordingSender()
    report = await service(empty_app, {"console": sender}).tick()
    texts = sorted(s.text for s in sender.sent if "Immortal" in s.text or "Бессмертный" in s.text)
    assert len(texts) == 2, [s.text for s in sender.sent]
    assert any("New event: Immortal Regiment" in t and "Red Square" in t for t in texts)
    assert report.drained.sent == 4
