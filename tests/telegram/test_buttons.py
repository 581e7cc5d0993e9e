"""Inline keyboards: a press is answered at once, then paging and choices edit the message in
place, and opening a memorial sends a new card with its place."""

from __future__ import annotations

import datetime as dt

from bot.adapters.telegram import TelegramAdapter
from bot.app import App
from bot.core.domain import Event
from bot.core.i18n import translator
from bot.core.records import Dataset
from tests.fakes.telegram_server import FakeTelegramServer, FakeUser
from tests.telegram.conftest import ask, sqlite_only


async def test_a_language_choice_edits_the_chooser_in_place(
    app: App, tg: FakeTelegramServer, alice: FakeUser, adapter: TelegramAdapter
) -> None:
    [chooser] = await ask(tg, alice, "/language")
    assert chooser.callback_data == ["lang:en", "lang:ru", "lang:fr", "lang:nl", "lang:de"]
    assert chooser.button_texts == [
        ["English"],
        ["Русский"],
        ["Français"],
        ["Nederlands"],
        ["Deutsch"],
    ]

    press = tg.press_button(alice, chooser, "lang:ru")
    answer = await tg.wait_for_callback_answer(press["callback_query"]["id"])
    assert answer["text"] is None  # answered first, silently
    [edit] = await tg.wait_for_edits(1, chat_id=alice)
    assert edit.message is chooser
    ru = translator("ru")
    assert chooser.text == ru.gettext("Language set to {language}.", language="Русский")
    assert chooser.reply_markup is None
    assert len(tg.sent(alice)) == 1, "no new message: the chooser itself changed"
    assert await app.core.stored_language("telegram", str(alice.id)) == "ru"

    [today] = await ask(tg, alice, "/today")
    assert today.text is not None
    assert today.text.startswith(ru.gettext("On this day, {date}", date="9 мая"))


@sqlite_only
async def test_memorial_results_page_in_place_and_a_result_opens_its_card(
    tg: FakeTelegramServer, alice: FakeUser, adapter: TelegramAdapter
) -> None:
    card, _venue = await ask(tg, alice, "/memorial Soviet", replies=2)
    assert card.callback_data[-1] == "ms:5:Soviet"
    assert card.button_texts[-1] == ["More results ▶"]

    tg.press_button(alice, card, "ms:5:Soviet")
    await tg.wait_for_edits(1, chat_id=alice)
    assert card.text is not None and card.text.startswith("Results 6–10 for “Soviet”")
    assert card.callback_data[-2:] == ["ms:0:Soviet", "ms:10:Soviet"]
    assert card.button_texts[-1] == ["◀", "▶"]

    tg.press_button(alice, card, "ms:10:Soviet")
    await tg.wait_for_edits(2, chat_id=alice)
    assert card.text is not None and card.text.startswith("Results 11–")
    assert len(tg.sent(alice)) == 2, "paging sends nothing new"

    slug = card.callback_data[0].removeprefix("m:")
    press = tg.press_button(alice, card, f"m:{slug}")
    await tg.wait_for_callback_answer(press["callback_query"]["id"])
    opened, place = (await tg.wait_for_messages(4, chat_id=alice))[2:]
    assert (opened.kind, place.kind) == ("message", "venue")
    assert opened.text is not None and place.venue is not None
    assert opened.text.startswith(place.venue["title"])
    assert len(tg.edits(alice)) == 2, "the list stays as it was"


@sqlite_only
async def test_day_navigation_edits_the_digest(
    tg: FakeTelegramServer, alice: FakeUser, adapter: TelegramAdapter
) -> None:
    [digest] = await ask(tg, alice, "/today")
    assert digest.callback_data == ["today:2026-05-08", "today:2026-05-10"]
    tg.press_button(alice, digest, "today:2026-05-08")
    await tg.wait_for_edits(1, chat_id=alice)
    assert digest.text is not None and digest.text.startswith("On this day, May 8")
    assert digest.callback_data == ["today:2026-05-07", "today:2026-05-09"]


@sqlite_only
async def test_event_pages_edit_in_place(
    app: App, tg: FakeTelegramServer, alice: FakeUser, adapter: TelegramAdapter
) -> None:
    start = dt.datetime(2026, 6, 1, 10, 0, tzinfo=dt.UTC)
    events = [
        Event(
            slug=f"march-{n}",
            starts_at=start + dt.timedelta(days=n),
            timezone="Europe/Brussels",
            title={"en": f"March <{n}> & wreaths"},
        )
        for n in range(7)
    ]
    await app.store.upsert(Dataset(events=events))

    [listing] = await ask(tg, alice, "/events")
    assert listing.text is not None and "March <4> & wreaths" in listing.text
    assert "March <5>" not in listing.text
    assert listing.callback_data == ["ev:5"]
    tg.press_button(alice, listing, "ev:5")
    await tg.wait_for_edits(1, chat_id=alice)
    assert listing.text is not None and "March <6> & wreaths" in listing.text
    assert "March <4>" not in listing.text
    assert listing.callback_data == ["ev:0"]
    assert len(tg.sent(alice)) == 1
