"""Buttons: paging and choices edit their message, other presses answer anew, and a button
of an old message still works after the bot restarted (a new client, the same database)."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator

from bot.adapters.discord import DiscordAdapter
from bot.app import App
from bot.config import Settings
from bot.core.i18n import translator
from tests.discord.conftest import (
    OPTIONS,
    World,
    command,
    custom_ids,
    events_dataset,
    message_of,
    text_of,
)
from tests.discord.test_commands import readable
from tests.fakes.discord_server import FakeDiscordServer


@contextlib.asynccontextmanager
async def running(app: App, settings: Settings) -> AsyncIterator[DiscordAdapter]:
    """A fresh adapter (a new discord.py client) for the duration of the block."""
    adapter = DiscordAdapter(app.dispatcher, settings, options=OPTIONS)
    await adapter.start()
    try:
        yield adapter
    finally:
        await adapter.stop()


async def test_buttons_of_an_old_message_work_after_a_restart(
    app: App, dc: FakeDiscordServer, world: World, discord_settings: Settings
) -> None:
    await app.store.upsert(events_dataset(7))
    server = world.ru
    async with running(app, discord_settings):
        _, card = await command(dc, server, server.member, "memorial", {"query": "Liège"})
        _, events = await command(dc, server, server.member, "events")
    old_card, old_events = message_of(card), message_of(events)
    memorial_buttons = [i for i in custom_ids(card) if i.startswith("cb:m:")]
    assert len(memorial_buttons) == 3
    assert "cb:ev:5" in custom_ids(events)
    first_page = text_of(events)
    assert "Бессмертный полк 4" in first_page and "Бессмертный полк 5" not in first_page

    async with running(app, discord_settings) as second:
        assert second.bot.user is not None
        pressed = await dc.press_button(old_card, memorial_buttons[0], server.member)
        opened = await pressed.response()
        assert opened.type == 4  # a new message with that memorial's card
        slug = memorial_buttons[0].removeprefix("cb:m:")
        memorial = await app.core.memorial(slug)
        assert memorial is not None
        assert opened.embeds[0]["title"] == memorial.names["ru"]
        assert "📍" in opened.embeds[0]["fields"][0]["name"]

        paged = await dc.press_button(old_events, "cb:ev:5", server.member)
        page = await paged.response()
        assert page.type == 7  # the events message, edited in place
        second_page = "\n".join(str(e.get("description")) for e in old_events.embeds)
        assert "Бессмертный полк 5" in second_page and "Бессмертный полк 6" in second_page
        assert "Бессмертный полк 4" not in second_page
        assert "<t:" in second_page  # each reader sees the start in their own time
        assert old_events.edits
        assert old_events.custom_ids[0] == "cb:ev:0"
    assert [c.kind for c in dc.gateway_connections] == ["identify", "identify"]


async def test_paging_and_choices_edit_in_place(
    app: App, dc: FakeDiscordServer, world: World, discord_settings: Settings
) -> None:
    server = world.fr
    t = translator("fr")
    async with running(app, discord_settings):
        _, today = await command(dc, server, server.member, "today", {"date": "05-09"})
        message = message_of(today)
        assert custom_ids(today) == ["cb:today:2026-05-08", "cb:today:2026-05-10"]
        pressed = await dc.press_button(message, "cb:today:2026-05-10", server.member)
        assert (await pressed.response()).type == 7
        assert message.embeds[0]["title"] == t.gettext(
            "On this day, {date}", date=t.day_month(dt.date(2026, 5, 10))
        )
        assert message.custom_ids == ["cb:today:2026-05-09", "cb:today:2026-05-11"]

        _, search = await command(dc, server, server.member, "memorial", {"query": "Soviet"})
        more = [i for i in custom_ids(search) if i.startswith("cb:ms:")]
        assert more == ["cb:ms:5:Soviet"]
        paged = await dc.press_button(message_of(search), more[0], server.member)
        assert (await paged.response()).type == 7
        assert readable(message_of(search).embeds[0]["title"]).startswith(
            t.gettext("Results {first}–{last} for “{query}”", first="6", last="10", query="Soviet")
        )

        _, chooser = await command(dc, server, server.member, "language")
        buttons = custom_ids(chooser)
        assert buttons == ["cb:lang:en", "cb:lang:ru", "cb:lang:fr", "cb:lang:nl", "cb:lang:de"]
        refused = await dc.press_button(message_of(chooser), "cb:lang:de", server.member)
        answer = await refused.response()
        assert (answer.type, answer.ephemeral) == (4, True)  # a refusal, not an edit
        assert answer.content == t.gettext(
            "Only the administrators of this chat can change its settings."
        )
        assert await app.core.stored_language("discord", str(server.general.id)) is None
        chosen = await dc.press_button(message_of(chooser), "cb:lang:de", server.owner)
        assert (await chosen.response()).type == 7
        assert readable(message_of(chooser).text) == translator("de").gettext(
            "Language set to {language}.", language="Deutsch"
        )
        assert message_of(chooser).custom_ids == []
        assert await app.core.stored_language("discord", str(server.general.id)) == "de"
