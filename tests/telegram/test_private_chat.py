"""Every command in a private chat, end to end: the real PTB application long-polling the fake
Bot API server, the real core on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.adapters.telegram import TelegramAdapter
from bot.app import App
from bot.core.domain import GeoPoint
from bot.core.geo import map_url
from bot.core.i18n import translator
from handlers.registry import COMMANDS_BY_NAME
from tests.fakes.telegram_server import FakeTelegramServer, FakeUser, parse_html
from tests.telegram.conftest import ask, sqlite_only


async def test_every_command_answers_in_html(
    app: App, tg: FakeTelegramServer, alice: FakeUser, adapter: TelegramAdapter
) -> None:
    asked: set[str] = set()

    async def command(text: str, replies: int = 1) -> list[str]:
        asked.add(text.split(maxsplit=1)[0].removeprefix("/"))
        sent = await ask(tg, alice, text, replies=replies)
        assert all(m.parse_mode == "HTML" for m in sent if m.kind == "message")
        return [m.html or "" for m in sent]

    [start] = await command("/start")
    assert start.startswith("<b>Welcome! This bot keeps the memory of the Second World War.</b>")
    assert "/memorial [name, place or person] — Find a memorial" in start
    [help_] = await command("/help")
    assert help_.startswith("<b>Commands</b>\n/start — ")
    [today] = await command("/today")
    assert today.startswith("<b>On this day, May 9</b>")
    assert "<b>1945</b> (81 years ago) — <b>Victory Day</b>" in today
    card, _venue = await command("/memorial Liège", replies=2)
    assert card.startswith("<b>")
    assert "Liège" in card
    [near] = await command("/near 50.63 5.57")
    assert near.startswith("<b>Memorials nearest to 50.6300, 5.5700</b>")
    [events] = await command("/events")
    assert events.startswith("<b>Upcoming events</b>\n\n<b>")
    [language] = await command("/language")
    assert language == "Current language: English. Choose another:"
    [zone] = await command("/timezone Europe/Moscow")
    assert zone.startswith("Time zone set to Europe/Moscow.\nThe local time there is ")
    [subscribed] = await command("/subscribe 08:30")
    assert subscribed.startswith("Subscribed. The “on this day” post will arrive every day at 8:30")
    [settings] = await command("/settings")
    assert settings == (
        "<b>Settings of this chat</b>\nLanguage: English\nTime zone: Europe/Moscow\n"
        "Daily post: every day at 8:30\u202fAM\nAnnouncements: all announcements"
    )
    [unsubscribed] = await command("/unsubscribe")
    assert unsubscribed == "Unsubscribed. Send /subscribe to start again."
    [organizers] = await command("/organizer")
    assert organizers == "Only the bot's organizers can change who organizes."
    [event] = await command("/event new")
    assert event.startswith("Only organizers can announce events")
    [calendar] = await command("/calendar on")
    assert calendar.startswith("Here there is no calendar of the community's own")
    [regiment] = await command("/regiment")
    assert regiment.startswith("<b>The Immortal Regiment</b>")
    [follow] = await command("/follow none")
    assert follow == "This chat now hears of no announcements."
    [setup] = await command("/setup")
    assert setup.startswith("In which language should the posts be?")
    [cancelled] = await command("/cancel")
    assert cancelled == "Cancelled: nothing was saved. Send /setup to start again."
    assert asked == set(COMMANDS_BY_NAME), "every command of the registry is exercised"

    subscription = await app.core.chats.get_subscription("telegram", str(alice.id))
    assert subscription is not None and not subscription.active
    assert subscription.timezone == "Europe/Moscow"
    assert tg.stats.errors == {}, "the fake refused nothing"


@sqlite_only
async def test_a_memorial_answer_is_its_card_then_its_place(
    app: App, tg: FakeTelegramServer, alice: FakeUser, adapter: TelegramAdapter
) -> None:
    [hit] = await app.core.search_memorials("Liège", 1)
    memorial = hit.memorial
    card, venue = await ask(tg, alice, "/memorial Liège", replies=2)
    assert (card.kind, venue.kind) == ("message", "venue")
    url = map_url(GeoPoint(memorial.lat, memorial.lon))
    assert f'<a href="{url.replace("&", "&amp;")}">Map</a>' in (card.html or "")
    assert card.link_preview_options == {"is_disabled": True}
    rows = (card.reply_markup or {})["inline_keyboard"]
    assert rows[0] == [{"text": "Open the map", "url": url}]
    assert all(row[0]["callback_data"].startswith("m:") for row in rows[1:])
    assert venue.venue is not None
    assert venue.venue["location"] == {"latitude": memorial.lat, "longitude": memorial.lon}
    assert venue.venue["title"] == memorial.names["en"]
    assert venue.venue["address"] == "Liège (Cointe), Belgium"


@sqlite_only
async def test_bad_input_gets_a_usage_hint(
    tg: FakeTelegramServer, alice: FakeUser, adapter: TelegramAdapter
) -> None:
    [bad_date] = await ask(tg, alice, "/today 99-99")
    assert bad_date.text == "“99-99” is not a date.\nUsage: /today [MM-DD or YYYY-MM-DD]"
    [missing] = await ask(tg, alice, "/near 50.1")
    assert missing.text == (
        "“50.1” is not a position. Send a latitude and a longitude, such as 50.63 5.57 "
        "(a comma works too: 50,63 5,57).\n"
        "Usage: /near [latitude longitude]"
    )
    [overlong] = await ask(tg, alice, "/memorial " + "Liège " * 300)
    assert overlong.text == "The message is too long.\nUsage: /memorial [name, place or person]"
    [unknown] = await ask(tg, alice, "/fly")
    assert unknown.text == "I don't know the command /fly. Send /help to see the commands."
    [chat] = await ask(tg, alice, "hello")
    assert (chat.text or "").startswith("No memorial matches “hello”")


@sqlite_only
async def test_data_with_markup_characters_is_escaped(
    tg: FakeTelegramServer, alice: FakeUser, adapter: TelegramAdapter
) -> None:
    [reply] = await ask(tg, alice, '/memorial <b>"Tom & Jerry"</b>')
    assert reply.raw_text is not None
    assert "&lt;b&gt;&quot;Tom &amp; Jerry&quot;&lt;/b&gt;" in reply.raw_text
    assert reply.text is not None and '<b>"Tom & Jerry"</b>' in reply.text
    assert parse_html(reply.raw_text)[0] == reply.text


@sqlite_only
@pytest.mark.parametrize("code", ["ru", "de"])
async def test_the_users_app_language_is_spoken(
    tg: FakeTelegramServer, adapter: TelegramAdapter, code: str
) -> None:
    user = tg.add_user("Max", language_code=code)
    tg.private_chat(user)
    [reply] = await ask(tg, user, "/today")
    t = translator(code)
    expected = t.gettext("On this day, {date}", date=t.day_month(dt.date(2026, 5, 9)))
    assert expected != "On this day, May 9"
    assert reply.text is not None and reply.text.startswith(expected)
