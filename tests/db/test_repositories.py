"""Repositories on SQLite and PostgreSQL: they return core types and keep what they store."""

from __future__ import annotations

import datetime as dt

from bot.app import App
from bot.core.domain import ChatSettings, MemorialKind, Precision, Subscription
from db.dataset import load_curated


async def test_curated_dataset_is_loaded_into_an_empty_database(app: App) -> None:
    curated = load_curated()
    memorials = await app.core.memorials.all_memorials()
    assert {m.slug for m in memorials} == {m.slug for m in curated.memorials}
    rebecq = await app.core.memorial("rebecq-national-memorial")
    assert rebecq is not None
    assert rebecq.kind is MemorialKind.MONUMENT
    assert rebecq.precision in (Precision.SITE, Precision.TOWN)
    assert rebecq.names["ru"] and rebecq.names["en"]
    assert rebecq.sources and all(s.label() for s in rebecq.sources)
    manhay = await app.core.memorial("manhay-monument")
    assert manhay is not None
    assert {p.slug for p in manhay.people} == {"alexei-gvozdarev", "vil-kapustin"}
    people = await app.core.memorials.all_people()
    assert {p.slug for p in people} >= {"alexei-gvozdarev", "vil-kapustin"}


async def test_loading_twice_changes_nothing(app: App) -> None:
    assert not await app.store.is_empty()
    assert await app.store.upsert(load_curated()) == 0


async def test_rebecq_unveiling_is_on_12_october(app: App) -> None:
    items = await app.core.on_this_day(dt.date(2026, 10, 12))
    unveiling = [a for a in items if a.year == 2019 and a.memorial == "rebecq-national-memorial"]
    assert unveiling, [a.slug for a in items]
    assert unveiling[0].years_ago(dt.date(2026, 10, 12)) == 7


async def test_on_day_orders_dated_first(app: App) -> None:
    items = await app.anniversaries.on_day(5, 9)
    years = [a.year for a in items]
    dated = [y for y in years if y is not None]
    assert dated == sorted(dated)
    assert years[: len(dated)] == dated


async def test_chat_settings_roundtrip(empty_app: App) -> None:
    chats = empty_app.chats
    assert await chats.get_settings("telegram", "-100") is None
    await chats.save_settings(ChatSettings("telegram", "-100", "ru", None))
    assert await chats.get_settings("telegram", "-100") == ChatSettings(
        "telegram", "-100", "ru", None
    )
    await chats.save_settings(ChatSettings("telegram", "-100", "ru", "Europe/Moscow"))
    stored = await chats.get_settings("telegram", "-100")
    assert stored is not None and stored.timezone == "Europe/Moscow"


async def test_subscription_roundtrip_and_settings_follow(empty_app: App) -> None:
    chats = empty_app.chats
    saved = await chats.save_subscription(
        Subscription(
            platform="discord",
            chat_id="9876543210987654321",
            thread_id="",
            language="en",
            timezone="Europe/Brussels",
            delivery_time=dt.time(8, 15),
        )
    )
    assert saved.id is not None
    topic = await chats.save_subscription(
        Subscription(
            platform="discord",
            chat_id="9876543210987654321",
            thread_id="42",
            language="en",
            timezone="Europe/Brussels",
            delivery_time=dt.time(20, 0),
        )
    )
    assert topic.id != saved.id
    await chats.save_settings(
        ChatSettings("discord", "9876543210987654321", "de", "America/New_York")
    )
    for thread in ("", "42"):
        current = await chats.get_subscription("discord", "9876543210987654321", thread)
        assert current is not None
        assert (current.language, current.timezone) == ("de", "America/New_York")
    again = await chats.save_subscription(
        Subscription(
            platform="discord",
            chat_id="9876543210987654321",
            language="de",
            timezone="America/New_York",
            delivery_time=dt.time(8, 15),
            active=False,
        )
    )
    assert again.id == saved.id and not again.active


async def test_events_are_aware_utc(empty_app: App) -> None:
    from tests.fakes.sample import sample_dataset

    await empty_app.store.upsert(sample_dataset())
    events = await empty_app.events.upcoming(dt.datetime(2026, 1, 1, tzinfo=dt.UTC), 10)
    assert [e.slug for e in events] == ["immortal-regiment-liege-2026"]
    assert events[0].starts_at == dt.datetime(2026, 5, 10, 12, 0, tzinfo=dt.UTC)
    assert events[0].starts_at.tzinfo is not None
    later = await empty_app.events.upcoming(dt.datetime(2026, 5, 10, 12, 1, tzinfo=dt.UTC), 10)
    assert later == []


async def test_migrate_and_deactivate_chat(empty_app: App) -> None:
    chats = empty_app.chats
    await chats.save_settings(ChatSettings("telegram", "-1", "ru", "Europe/Moscow"))
    await chats.save_subscription(
        Subscription(
            platform="telegram",
            chat_id="-1",
            language="ru",
            timezone="Europe/Moscow",
            delivery_time=dt.time(9, 0),
        )
    )
    await chats.save_subscription(
        Subscription(
            platform="telegram",
            chat_id="-100777",
            language="en",
            timezone="UTC",
            delivery_time=dt.time(10, 0),
        )
    )
    await chats.migrate_chat("telegram", "-1", "-100777")
    assert await chats.get_settings("telegram", "-1") is None
    assert await chats.get_subscription("telegram", "-1") is None
    moved = await chats.get_subscription("telegram", "-100777")
    assert moved is not None and moved.language == "ru" and moved.active
    settings = await chats.get_settings("telegram", "-100777")
    assert settings is not None and settings.language == "ru"
    assert await chats.deactivate_chat("telegram", "-100777") == 1
    assert await chats.deactivate_chat("telegram", "-100777") == 0


async def test_a_yearly_event_is_stored_and_comes_back_every_year(empty_app: App) -> None:
    from dataclasses import replace

    from bot.core.domain import Recurrence
    from tests.fakes.sample import sample_dataset

    dataset = sample_dataset()
    dataset.events = [
        replace(e, recurrence=Recurrence.YEARLY, confirmed=False) for e in dataset.events
    ]
    await empty_app.store.upsert(dataset)
    later = await empty_app.events.upcoming(dt.datetime(2026, 5, 10, 12, 1, tzinfo=dt.UTC), 10)
    assert [e.slug for e in later] == ["immortal-regiment-liege-2026"]
    assert later[0].recurrence is Recurrence.YEARLY and later[0].confirmed is False
    assert later[0].starts_at == dt.datetime(2027, 5, 10, 12, 0, tzinfo=dt.UTC)
    assert await empty_app.store.upsert(dataset) == 0
