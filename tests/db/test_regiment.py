"""The Immortal Regiment's service on SQLite and PostgreSQL: moderation, the chronicle's search,
marches in the delivery ledger (fixed and rolling), withdrawal, take-down, the daily limit,
deleting everything, and the chronicle's export and import."""

from __future__ import annotations

import datetime as dt
import io
import json
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from bot.adapters.discord.render import render as discord_render
from bot.adapters.telegram.render import render as telegram_render
from bot.app import App
from bot.core.chronicle import ChronicleFileError, export_chronicle, import_chronicle
from bot.core.i18n import translator
from bot.core.regiment import (
    Action,
    Entry,
    EntryStatus,
    LimitReached,
    March,
    MarchChat,
    Regiment,
    Submitter,
    march_item,
)
from bot.core.reply import ReplyBuilder
from db import models
from handlers.regiment import entry_card, item_renderer
from tests.conftest import NOW

NADIA = Submitter("telegram", "101", "101", "Надежда", "ru", "Europe/Moscow")
CLAIRE = Submitter("discord", "202", "9202", "Claire", "fr", "Europe/Brussels")


def portrait_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (120, 160), (100, 100, 100)).save(out, "JPEG")
    return out.getvalue()


def regiment_of(app: App) -> Regiment:
    assert app.core.regiment is not None
    return app.core.regiment


async def submitted(app: App, name: str, who: Submitter = NADIA, **fields: object) -> Entry:
    regiment = regiment_of(app)
    portrait = await regiment.keep_portrait(portrait_bytes())
    key = await regiment.store(portrait)
    entry = Entry(
        full_name=name,
        submitter=who,
        story="Помним.",
        photo_key=key,
        photo_mime=portrait.mime_type,
        **fields,  # type: ignore[arg-type]
    )
    return await regiment.submit(entry)


async def approved(app: App, name: str, who: Submitter = NADIA, **fields: object) -> Entry:
    entry = await submitted(app, name, who, **fields)
    await regiment_of(app).decide(entry, Action.APPROVED, "console:operator")
    found = await regiment_of(app).repository.get_entry(entry.id or 0)
    assert found is not None
    return found


async def ledger(app: App) -> list[tuple[int, str, dt.datetime, str]]:
    async with app.sessions() as session:
        rows = await session.execute(
            select(
                models.Delivery.subscription_id,
                models.Delivery.item_key,
                models.Delivery.due_at,
                models.Delivery.status,
            ).order_by(models.Delivery.due_at, models.Delivery.id)
        )
        return [(int(s), str(k), d, str(st)) for s, k, d, st in rows]


async def test_nothing_is_searchable_before_approval_and_every_spelling_meets(app: App) -> None:
    regiment = regiment_of(app)
    entry = await submitted(app, "Ivan Gvozdarev", CLAIRE, other_spelling="Иван Гвоздарев")
    assert await regiment.search("Gvozdarev") == []
    await regiment.decide(entry, Action.APPROVED, "console:operator", "Operator")
    for query in ("Гвоздарев", "Gvozdarev", "Gwosdarew", "gvozdarev ivan"):
        assert [e.full_name for e in await regiment.search(query)] == ["Ivan Gvozdarev"], query
    history = [d.action for d in await regiment.repository.decisions(entry.id or 0)]
    assert history == [Action.SUBMITTED, Action.APPROVED]
    [decision] = [d for d in await regiment.repository.decisions(entry.id or 0) if d.actor_name]
    assert decision.actor == "console:operator" and decision.at == NOW


async def test_the_daily_limit_counts_new_and_edited_entries(app: App) -> None:
    regiment = regiment_of(app)
    regiment.settings = replace(regiment.settings, daily_limit=2)
    first = await submitted(app, "Первый")
    await regiment.edit(replace(first, story="Исправлено."))
    with pytest.raises(LimitReached):
        await submitted(app, "Третий")
    assert len(await regiment.repository.entries_of("telegram", "101")) == 1


async def test_a_march_queues_one_row_per_chat_and_slot_and_tells_each_family(app: App) -> None:
    regiment = regiment_of(app)
    smirnova = await approved(app, "Мария Смирнова")
    ivan = await approved(app, "Ivan Gvozdarev", CLAIRE)
    group = await regiment.repository.personal_subscription(
        "telegram", "-100", "ru", "Europe/Moscow"
    )
    channel = await regiment.repository.personal_subscription(
        "discord", "555", "fr", "Europe/Paris"
    )
    march = March(
        day=dt.date(2026, 5, 10),
        start_time=dt.time(11, 0),
        timezone="Europe/Brussels",
        spacing=dt.timedelta(minutes=2),
        languages=("ru", "fr"),
        created_by="console:operator",
    )
    chats = [
        MarchChat(group, "telegram", "-100", "Europe/Moscow", "Волонтёры"),
        MarchChat(channel, "discord", "555", "Europe/Paris", "#général"),
    ]
    saved, count = await regiment.schedule_march(march, chats)
    assert count == 2 and saved.id is not None
    rows = await ledger(app)
    posts = [(s, key, due) for s, key, due, _ in rows if key.startswith("rgm:")]
    nine = dt.datetime(2026, 5, 10, 9, 0, tzinfo=dt.UTC)  # 11:00 in Brussels
    assert posts == [
        (group, march_item(saved.id, smirnova.id or 0), nine),
        (channel, march_item(saved.id, smirnova.id or 0), nine),
        (group, march_item(saved.id, ivan.id or 0), nine + dt.timedelta(minutes=2)),
        (channel, march_item(saved.id, ivan.id or 0), nine + dt.timedelta(minutes=2)),
    ]
    slot_notices = [key for _, key, _, _ in rows if key.startswith("rgn:") and ":slot:" in key]
    assert len(slot_notices) == 2
    # the notice says when, in the family's own zone (Moscow: 12:00)
    render = item_renderer(regiment)
    told = await render(f"rgn:{smirnova.id}:slot:{saved.id}", NOW.date(), "ru", "")
    assert told.reply is not None
    text = told.reply.plain_text()
    assert "12:00" in text and "Europe/Moscow" in text and "Волонтёры" in text
    # an entry approved later joins at the end; one withdrawn before its slot is not posted
    late = await approved(app, "Пётр Смирнов")
    assert (late.id or 0) in {s.entry_id for s in await regiment.repository.slots(saved.id)}
    await regiment.decide(late, Action.WITHDRAWN, "telegram:101")
    skipped = await render(march_item(saved.id, late.id or 0), march.day, "ru", "")
    assert skipped.reply is None and "withdrawn" in (skipped.skip_reason or "")
    posted = await render(march_item(saved.id, ivan.id or 0), march.day, "nl", "")
    assert posted.reply is not None and posted.reply.photo is not None
    assert "Régiment immortel" in posted.reply.plain_text() or posted.reply.plain_text()


async def test_a_rolling_march_starts_at_the_same_local_time_in_each_zone(app: App) -> None:
    regiment = regiment_of(app)
    entry = await approved(app, "Мария Смирнова")
    moscow = await regiment.repository.personal_subscription(
        "telegram", "-1", "ru", "Europe/Moscow"
    )
    brussels = await regiment.repository.personal_subscription(
        "telegram", "-2", "fr", "Europe/Brussels"
    )
    march = March(
        day=dt.date(2026, 5, 10),
        start_time=dt.time(11, 0),
        timezone="Europe/Brussels",
        spacing=dt.timedelta(minutes=1),
        languages=(),
        created_by="console:operator",
        rolling=True,
    )
    saved, _ = await regiment.schedule_march(
        march,
        [
            MarchChat(moscow, "telegram", "-1", "Europe/Moscow"),
            MarchChat(brussels, "telegram", "-2", "Europe/Brussels"),
        ],
    )
    due = {
        s: at
        for s, key, at, _ in await ledger(app)
        if key == march_item(saved.id or 0, entry.id or 0)
    }
    assert due[moscow] == dt.datetime(2026, 5, 10, 8, 0, tzinfo=dt.UTC)
    assert due[brussels] == dt.datetime(2026, 5, 10, 9, 0, tzinfo=dt.UTC)


async def test_a_take_down_removes_it_from_the_chronicle_and_tells_the_family(app: App) -> None:
    regiment = regiment_of(app)
    entry = await approved(app, "Ivan Gvozdarev", CLAIRE)
    assert await regiment.search("Gvozdarev")
    decision = await regiment.decide(entry, Action.TAKEN_DOWN, "console:operator", reason="Doublon")
    assert await regiment.search("Gvozdarev") == []
    told = await item_renderer(regiment)(
        f"rgn:{entry.id}:taken_down:{decision.id}", NOW.date(), "fr", ""
    )
    assert told.reply is not None and "Doublon" in told.reply.plain_text()


async def test_a_rejection_reaches_the_family_in_its_language(app: App) -> None:
    regiment = regiment_of(app)
    entry = await submitted(app, "Пётр Смирнов")
    decision = await regiment.decide(
        entry, Action.REJECTED, "console:operator", reason="reason:photo"
    )
    told = await item_renderer(regiment)(
        f"rgn:{entry.id}:rejected:{decision.id}", NOW.date(), "en", ""
    )
    assert told.reply is not None
    expected = translator("ru").gettext("The photo is unclear, or it does not show the person.")
    assert expected in told.reply.plain_text()


async def test_deleting_everything_removes_entries_history_and_portraits(app: App) -> None:
    regiment = regiment_of(app)
    entry = await approved(app, "Мария Смирнова")
    other = await approved(app, "Ivan Gvozdarev", CLAIRE)
    path = regiment.photo_path(entry)
    assert path is not None and path.exists()
    assert await regiment.delete_all("telegram", "101") == 1
    assert await regiment.repository.get_entry(entry.id or 0) is None
    assert await regiment.repository.decisions(entry.id or 0) == []
    assert not path.exists()
    assert await regiment.repository.get_entry(other.id or 0) is not None


async def test_the_chronicle_travels_between_installations(app: App, tmp_path: Path) -> None:
    regiment = regiment_of(app)
    first = await approved(app, "Мария Смирнова", other_spelling="Maria Smirnova")
    await submitted(app, "Ivan Gvozdarev", CLAIRE)
    target = tmp_path / "out" / "chronicle.json"
    target.parent.mkdir()
    assert await export_chronicle(regiment, target) == 2
    document = json.loads(target.read_text("utf-8"))
    photo = document["entries"][0]["photo"]["path"]
    assert (target.parent / photo).is_file()
    await regiment.delete_all("telegram", "101")
    await regiment.delete_all("discord", "202")
    report = await import_chronicle(regiment, target)
    assert (report.added, report.kept, report.errors) == (2, 0, [])
    again = await import_chronicle(regiment, target)
    assert (again.added, again.kept) == (0, 2)
    back = await regiment.repository.entry_by_public_id(first.public_id)
    assert back is not None and back.status is EntryStatus.APPROVED
    assert back.other_spelling == "Maria Smirnova" and regiment.photo_path(back) is not None
    assert [e.full_name for e in await regiment.search("Смирнова")] == ["Мария Смирнова"]
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "something else"}', "utf-8")
    with pytest.raises(ChronicleFileError):
        await import_chronicle(regiment, bad)


def test_names_and_stories_cannot_inject_markup_or_mentions() -> None:
    hostile = Entry(
        full_name="<b>@everyone</b> [click](https://evil.example)",
        submitter=NADIA,
        story="<a href='https://evil.example'>x</a> @here",
    )
    out = ReplyBuilder()
    entry_card(out, translator("en"), hostile)
    reply = out.build()
    html = "".join(telegram_render(reply).texts)
    assert "<b>@everyone</b>" not in html and "&lt;b&gt;" in html
    assert "<a href" not in html
    [message] = discord_render(reply).messages
    payload = message.payload()
    assert payload["allowed_mentions"]["parse"] == []
    description = payload["embeds"][0]["description"]
    assert "](https://evil.example)" not in description.replace("\\", "") or "\\[" in description
