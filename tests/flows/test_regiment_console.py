"""The Immortal Regiment on the console (the operator is an organizer): a submission with a
photo that carries a GPS position, moderation, a march in the console's chat, the portrait
posted once at its slot across a restart, and the entry found in the other script."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest

from bot.app import App
from bot.core.timeutil import FixedClock
from bot.runner import delivery_service
from bot.scheduling.console import ConsoleSender
from tests.conftest import NOW
from tests.flows.drivers import Bot, ConsoleChat
from tests.flows.test_regiment import has_metadata, jpeg_with_gps

pytestmark = pytest.mark.slow


async def test_the_regiment_on_the_console(app: App, clock: FixedClock, tmp_path: Path) -> None:
    bot = Bot(app, app.settings, clock)
    console = ConsoleChat(bot)
    photo = tmp_path / "grandfather.jpg"
    photo.write_bytes(jpeg_with_gps())
    not_a_photo = tmp_path / "letter.jpg"
    not_a_photo.write_bytes(b"Dear family, this is a letter, not a picture.")
    try:
        assert "full name" in await console.send("/regiment new")
        await console.send("Ivan Gvozdarev")
        await console.press("Skip")
        assert "is not a possible year" in await console.send("1815-1843")
        await console.send("1914–1944")
        await console.send("Partisan, Belgian Resistance")
        await console.press("Skip")
        await console.send("He fought in the Ardennes.")
        assert "not an image" in await console.send(str(not_a_photo))
        await console.send(str(photo))
        preview = await console.press("Publish without my name")
        assert "🖼" in preview and "Ivan Gvozdarev" in preview
        assert "waiting for moderation" in await console.press("Send to the moderators")

        queue = await console.send("/regiment queue")
        assert "Ivan Gvozdarev" in queue
        assert "Approved: Ivan Gvozdarev" in await console.press("Approve")

        assert "On which day" in await console.send("/regiment march")
        await console.send("2026-05-09")
        await console.send("11:00")
        await console.press("1 minute")
        await console.press("English")
        await console.press("In this chat")
        await console.press("same moment everywhere")
        assert "1 portrait" in await console.press("Schedule the march")

        out = io.StringIO()

        async def tick(at: dt.datetime) -> None:
            service = delivery_service(
                bot.app, {"console": ConsoleSender(out)}, clock=FixedClock(at), env={}
            )
            await service.tick()

        await tick(NOW + dt.timedelta(minutes=1))  # the family (the operator here) is told
        assert "Ivan Gvozdarev marches" in out.getvalue()
        slot = dt.datetime(2026, 5, 9, 9, 0, tzinfo=dt.UTC)  # 11:00 in Brussels
        await tick(slot)
        posted = out.getvalue().count("🎖")
        assert posted == 1
        await console.restart()
        await tick(slot + dt.timedelta(minutes=3))
        assert out.getvalue().count("🎖") == 1
        regiment = bot.app.core.regiment
        assert regiment is not None
        [entry] = await regiment.search("Гвоздарев")
        stored = regiment.photo_path(entry)
        assert stored is not None and not has_metadata(stored.read_bytes())
        # a deep link opens the entry
        assert "Ivan Gvozdarev" in await console.send(f"/start rg_{entry.public_id}")

        # a second entry is sent back with a typed request; the family edits it
        await console.send("/regiment new")
        await console.send("Anna Gvozdareva")
        await console.press("Skip")
        await console.send("1918-?")
        await console.press("Skip")
        await console.press("Skip")
        await console.send("She waited for her brother.")
        await console.send(str(photo))
        await console.press("Sign with my name")
        await console.press("Send to the moderators")
        await console.send("/regiment queue")
        assert "Why" not in await console.press("Ask for changes")
        assert "Sent back: Anna Gvozdareva" in await console.send("Please add her years of death.")
        await tick(slot + dt.timedelta(minutes=4))
        assert "Please add her years of death." in out.getvalue()
        [anna] = [
            e
            for e in await regiment.repository.entries_of("console", "console")
            if e.full_name == "Anna Gvozdareva"
        ]
        assert "changes asked" in await console.send("/regiment mine")
        assert "Skip keeps what is there now: 1918–?" in "".join(
            [
                await console.send(f"/regiment edit {anna.public_id}"),
                await console.press("Skip"),
                await console.press("Skip"),
            ]
        )
        await console.send("1918–1990")
        for _ in range(4):
            await console.press("Skip")
        await console.press("Sign with my name")
        assert "waiting for moderation" in await console.press("Send to the moderators")
        edited = await regiment.repository.get_entry(anna.id or 0)
        assert edited is not None and edited.died == 1990 and edited.story == anna.story
        assert edited.photo_key == anna.photo_key
    finally:
        await bot.close()
