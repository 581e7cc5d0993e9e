"""Stored organizers on SQLite and PostgreSQL."""

from __future__ import annotations

from bot.app import App
from bot.core.domain import Organizer


async def test_organizers_are_stored_listed_and_removed(app: App) -> None:
    repository = app.core.organizers
    assert await repository.list_organizers() == []
    assert await repository.add_organizer(Organizer("telegram", "8", "Pavel", "telegram:7"))
    assert not await repository.add_organizer(Organizer("telegram", "8", "Pavel Ivanov"))
    assert await repository.add_organizer(Organizer("discord", "99"))
    listed = await repository.list_organizers()
    assert [(o.platform, o.user_id, o.name) for o in listed] == [
        ("discord", "99", ""),
        ("telegram", "8", "Pavel Ivanov"),
    ]
    assert listed[1].added_by == "telegram:7" and listed[1].added_at is not None
    assert await app.core.is_bot_organizer("telegram", "8")
    assert await repository.remove_organizer("telegram", "8")
    assert not await repository.remove_organizer("telegram", "8")
    assert not await app.core.is_bot_organizer("telegram", "8")
