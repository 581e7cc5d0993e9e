"""Inline mode, deep links and shared locations."""

from __future__ import annotations

import time

from bot.adapters.telegram import TelegramAdapter
from bot.app import App
from bot.core.domain import GeoPoint
from bot.core.i18n import translator
from tests.fakes.telegram_server import FakeTelegramServer, FakeUser, parse_html
from tests.telegram.conftest import ask, sqlite_only

BOT = "commemoration_test_bot"


@sqlite_only
async def test_inline_mode_offers_memorial_cards_with_a_deep_link(
    app: App, tg: FakeTelegramServer, boris: FakeUser, adapter: TelegramAdapter
) -> None:
    expected = [hit.memorial for hit in await app.core.search_memorials("Liège", 10)]
    update = tg.inline_query(boris, "Liège")
    answer = await tg.wait_for_inline_answer(update["inline_query"]["id"])
    results = answer["results"]
    assert [r["id"] for r in results] == [m.slug for m in expected]
    assert answer["is_personal"] is True
    assert answer["next_offset"] == ""
    first, memorial = results[0], expected[0]
    assert first["type"] == "article"
    assert first["title"] == memorial.names["ru"], "in the user's language"
    content = first["input_message_content"]
    assert content["parse_mode"] == "HTML"
    text, entities = parse_html(content["message_text"])
    assert text.startswith(memorial.names["ru"])
    assert entities[0]["type"] == "bold"
    buttons = [b for row in first["reply_markup"]["inline_keyboard"] for b in row]
    assert buttons[-1]["text"] == translator("ru").gettext("Open in the bot")
    assert buttons[-1]["url"] == f"https://t.me/{BOT}?start=memorial_{memorial.slug}"
    assert buttons[0]["url"].startswith("https://www.openstreetmap.org/")
    assert all("callback_data" not in b for b in buttons)

    empty = tg.inline_query(boris, "   ")
    assert (await tg.wait_for_inline_answer(empty["inline_query"]["id"]))["results"] == []


@sqlite_only
async def test_inline_results_come_a_page_at_a_time(
    tg: FakeTelegramServer, alice: FakeUser, adapter: TelegramAdapter
) -> None:
    first = tg.inline_query(alice, "Soviet")
    page = await tg.wait_for_inline_answer(first["inline_query"]["id"])
    assert len(page["results"]) == 10
    assert page["next_offset"] == "10"
    second = tg.inline_query(alice, "Soviet", offset="10")
    following = await tg.wait_for_inline_answer(second["inline_query"]["id"])
    assert following["results"]
    assert not {r["id"] for r in following["results"]} & {r["id"] for r in page["results"]}


@sqlite_only
async def test_a_deep_link_opens_the_memorial(
    app: App, tg: FakeTelegramServer, alice: FakeUser, adapter: TelegramAdapter
) -> None:
    memorial = await app.core.memorial("liege-citadel-memorial")
    assert memorial is not None
    card, place = await ask(tg, alice, "/start memorial_liege-citadel-memorial", replies=2)
    assert card.text is not None and card.text.startswith(memorial.names["en"])
    assert place.venue is not None and place.venue["title"] == memorial.names["en"]


@sqlite_only
async def test_a_shared_location_lists_the_nearest_memorials(
    app: App, tg: FakeTelegramServer, alice: FakeUser, adapter: TelegramAdapter
) -> None:
    nearest = await app.core.nearest_memorials(GeoPoint(50.6326, 5.5797), 5)
    before = len(tg.sent(alice))
    tg.share_location(alice, None, 50.6326, 5.5797)
    [reply] = (await tg.wait_for_messages(before + 1, chat_id=alice))[before:]
    assert reply.text is not None
    assert reply.text.startswith("Memorials nearest to 50.6326, 5.5797")
    assert reply.callback_data == [f"m:{hit.memorial.slug}" for hit in nearest]


@sqlite_only
async def test_a_location_in_a_group_is_a_request_only_when_it_answers_the_bot(
    tg: FakeTelegramServer, alice: FakeUser, adapter: TelegramAdapter
) -> None:
    group = tg.add_group("Walkers", creator=alice)
    tg.share_location(alice, group, 50.6326, 5.5797)  # shared for the friends, not the bot
    [prompt] = await ask(tg, alice, "/help", group)
    before = len(tg.sent(group))
    answer = {
        "message_id": prompt.message_id + 100,
        "from": alice.to_json(),
        "chat": group.to_json(),
        "date": int(time.time()),
        "location": {"latitude": 50.6326, "longitude": 5.5797},
        "reply_to_message": prompt.message,
    }
    tg.inject_update("message", answer)
    [reply] = (await tg.wait_for_messages(before + 1, chat_id=group))[before:]
    assert reply.text is not None and reply.text.startswith("Memorials nearest to")
    assert len(tg.sent(group)) == before + 1
