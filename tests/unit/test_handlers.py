"""Handlers through the dispatcher, on in-memory fakes: no database, no network."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.core.context import ChatRef, Incoming, UserRef
from bot.core.domain import ChatKind, GeoPoint
from bot.core.reply import Reply
from bot.core.services import Core, CoreSettings
from handlers.dispatch import Dispatcher, parse_command
from tests.fakes.memory import fake_core
from tests.fakes.sample import sample_dataset

NOW = dt.datetime(2026, 5, 9, 7, 0, tzinfo=dt.UTC)
PRIVATE = ChatRef("100", ChatKind.PRIVATE)
GROUP = ChatRef("-200", ChatKind.GROUP)
USER = UserRef("100", "Anna")


@pytest.fixture
def core() -> Core:
    return fake_core(
        sample_dataset(), now=NOW, settings=CoreSettings(organizer_ids=frozenset({"telegram:7"}))
    )


@pytest.fixture
def dispatcher(core: Core) -> Dispatcher:
    return Dispatcher(core, bot_username="MemoryBot")


async def ask(
    dispatcher: Dispatcher, text: str, chat: ChatRef = PRIVATE, user: UserRef = USER
) -> Reply:
    reply = await dispatcher.handle(Incoming("telegram", chat, user, text=text))
    assert reply is not None, text
    return reply


def test_parse_command() -> None:
    parsed = parse_command("/Memorial@MemoryBot  Liège  ")
    assert parsed is not None
    assert (parsed.name, parsed.addressee, parsed.arg_text) == ("memorial", "MemoryBot", "Liège")
    assert parse_command("hello") is None
    assert parse_command("/") is None


async def test_today_lists_anniversaries_with_years_ago(dispatcher: Dispatcher) -> None:
    reply = await ask(dispatcher, "/today 10-12")
    text = reply.plain_text()
    assert "On this day, October 12" in text
    assert "Unveiling of the National Memorial at Rebecq" in text
    assert "2019 (7 years ago)" in text
    actions = [b.action for row in reply.buttons for b in row]
    assert actions == ["today:2026-10-11", "today:2026-10-13"]


async def test_today_defaults_to_the_chats_local_date(dispatcher: Dispatcher) -> None:
    text = (await ask(dispatcher, "/today")).plain_text()
    assert "May 9" in text and "Victory Day" in text and "81 years ago" in text


async def test_today_accepts_a_full_date_and_hides_later_anniversaries(
    dispatcher: Dispatcher,
) -> None:
    text = (await ask(dispatcher, "/today 2010-10-12")).plain_text()
    assert "years ago" not in text and "2019" not in text
    # nothing happened yet on that day in 2010: the memorial of the day stands in
    assert "Memorial of the day" in text


@pytest.mark.parametrize("arg", ["13-45", "02-30", "tomorrow", "1945-5-9-1"])
async def test_today_rejects_bad_dates_with_usage(dispatcher: Dispatcher, arg: str) -> None:
    reply = await ask(dispatcher, f"/today {arg}")
    assert "Usage: /today [MM-DD or YYYY-MM-DD]" in reply.plain_text()
    assert reply.ephemeral


async def test_memorial_finds_by_alias_and_person(dispatcher: Dispatcher) -> None:
    for query in ("Manet", "Gvozdarew", "Гвоздарев", "manhay"):
        reply = await ask(dispatcher, f"/memorial {query}")
        assert reply.plain_text().startswith("Monument at Manhay"), query
        assert reply.venue is not None


async def test_memorial_without_query_asks_which(dispatcher: Dispatcher) -> None:
    reply = await ask(dispatcher, "/memorial")
    assert reply.ask is not None
    assert "Which memorial?" in reply.plain_text()


async def test_memorial_nothing_found(dispatcher: Dispatcher) -> None:
    reply = await ask(dispatcher, "/memorial Zzyzx")
    assert "No memorial matches “Zzyzx”." in reply.plain_text()


async def test_near_orders_by_distance(dispatcher: Dispatcher) -> None:
    reply = await ask(dispatcher, "/near 50.66 4.13")
    text = reply.plain_text()
    assert text.index("Rebecq") < text.index("Manhay")
    assert [b.action for row in reply.buttons for b in row] == [
        "m:rebecq-memorial",
        "m:manhay-monument",
    ]


async def test_shared_location_answers_nearest(dispatcher: Dispatcher) -> None:
    reply = await dispatcher.handle(
        Incoming("telegram", PRIVATE, USER, location=GeoPoint(50.29, 5.67))
    )
    assert reply is not None
    assert reply.plain_text().index("Manhay") < reply.plain_text().index("Rebecq")


@pytest.mark.parametrize("args", ["", "50.6", "91 4", "50 181", "abc def", "nan 4"])
async def test_near_bad_arguments(dispatcher: Dispatcher, args: str) -> None:
    reply = await ask(dispatcher, f"/near {args}")
    if not args:
        assert reply.ask is not None and "Where?" in reply.plain_text()
    else:
        assert "Usage: /near [latitude longitude]" in reply.plain_text()


async def test_events_shown_in_the_chats_zone(dispatcher: Dispatcher) -> None:
    text = (await ask(dispatcher, "/events")).plain_text()
    assert "Immortal Regiment <march> & wreaths" in text
    assert "Sun, May 10, 2026, 2:00\u202fPM" in text  # 12:00 UTC is 14:00 in Brussels
    assert "Citadel of Liège" in text


async def test_language_choice_persists_and_changes_replies(dispatcher: Dispatcher) -> None:
    reply = await ask(dispatcher, "/language")
    assert [b.action for row in reply.buttons for b in row] == [
        "lang:en",
        "lang:ru",
        "lang:fr",
        "lang:nl",
        "lang:de",
    ]
    await ask(dispatcher, "/language ru")
    text = (await ask(dispatcher, "/today 05-09")).plain_text()
    assert "9 мая" in text and "День Победы" in text


async def test_language_button_press(dispatcher: Dispatcher, core: Core) -> None:
    reply = await dispatcher.handle(Incoming("telegram", PRIVATE, USER, action="lang:de"))
    assert reply is not None
    assert await core.stored_language("telegram", PRIVATE.id) == "de"


async def test_unknown_language_is_a_usage_error(dispatcher: Dispatcher) -> None:
    reply = await ask(dispatcher, "/language klingon")
    assert "Usage: /language [code]" in reply.plain_text()


async def test_client_language_is_used_until_the_chat_chooses(dispatcher: Dispatcher) -> None:
    dutch = UserRef("5", client_language="nl-BE")
    text = (await ask(dispatcher, "/today 05-09", user=dutch)).plain_text()
    assert "9 mei" in text
    unknown = UserRef("6", client_language="pt-BR")
    assert "May 9" in (await ask(dispatcher, "/today 05-09", user=unknown)).plain_text()


async def test_timezone_set_and_shown(dispatcher: Dispatcher) -> None:
    assert "Europe/Brussels" in (await ask(dispatcher, "/timezone")).plain_text()
    reply = await ask(dispatcher, "/timezone europe/moscow")
    assert "Europe/Moscow" in reply.plain_text()
    assert "Europe/Moscow" in (await ask(dispatcher, "/settings")).plain_text()
    bad = await ask(dispatcher, "/timezone Mars/Olympus")
    assert "I found no time zone for “Mars/Olympus”" in bad.plain_text()
    assert bad.ask is not None


async def test_subscribe_and_unsubscribe(dispatcher: Dispatcher, core: Core) -> None:
    reply = await ask(dispatcher, "/subscribe 07:30")
    assert "7:30\u202fAM" in reply.plain_text()
    subscription = await core.chats.get_subscription("telegram", PRIVATE.id)
    assert subscription is not None and subscription.active
    assert subscription.delivery_time == dt.time(7, 30)
    assert "every day at 7:30\u202fAM" in (await ask(dispatcher, "/settings")).plain_text()
    assert "Unsubscribed" in (await ask(dispatcher, "/unsubscribe")).plain_text()
    assert "not subscribed" in (await ask(dispatcher, "/unsubscribe")).plain_text()
    bad = await ask(dispatcher, "/subscribe 25:00")
    assert "Usage: /subscribe [HH:MM]" in bad.plain_text()


async def test_subscribe_without_a_time_offers_another(dispatcher: Dispatcher, core: Core) -> None:
    confirmed = await ask(dispatcher, "/subscribe")  # DEFAULT_DELIVERY_TIME, 09:00
    assert confirmed.ask is None
    [button] = [b for row in confirmed.buttons for b in row]
    assert button.action is not None
    question = await dispatcher.handle(Incoming("telegram", PRIVATE, USER, action=button.action))
    assert question is not None and question.ask is not None
    await ask(dispatcher, "2")  # the second button, 08:00
    subscription = await core.chats.get_subscription("telegram", PRIVATE.id)
    assert subscription is not None and subscription.delivery_time == dt.time(8, 0)


async def test_group_settings_need_an_admin_or_organizer(
    dispatcher: Dispatcher, core: Core
) -> None:
    member = UserRef("8")
    reply = await ask(dispatcher, "/subscribe", chat=GROUP, user=member)
    assert "Only the administrators" in reply.plain_text()
    assert await core.chats.get_subscription("telegram", GROUP.id) is None
    admin = UserRef("9", is_admin=True)
    await ask(dispatcher, "/subscribe", chat=GROUP, user=admin)
    organizer = UserRef("7")
    await ask(dispatcher, "/language fr", chat=GROUP, user=organizer)
    assert await core.stored_language("telegram", GROUP.id) == "fr"
    # Reading is open to everyone.
    assert (
        "Paramètres" in (await ask(dispatcher, "/settings", chat=GROUP, user=member)).plain_text()
        or "Settings" in (await ask(dispatcher, "/settings", chat=GROUP, user=member)).plain_text()
    )


async def test_commands_for_another_bot_are_ignored(dispatcher: Dispatcher) -> None:
    reply = await dispatcher.handle(Incoming("telegram", GROUP, USER, text="/today@OtherBot"))
    assert reply is None
    reply = await dispatcher.handle(Incoming("telegram", GROUP, USER, text="/today@MemoryBot"))
    assert reply is not None


async def test_plain_text_in_a_group_is_ignored_and_in_private_is_a_search(
    dispatcher: Dispatcher,
) -> None:
    assert await dispatcher.handle(Incoming("telegram", GROUP, USER, text="hello")) is None
    reply = await ask(dispatcher, "hello")
    assert "No memorial matches “hello”" in reply.plain_text()


async def test_unknown_command(dispatcher: Dispatcher) -> None:
    assert "I don't know the command /frob" in (await ask(dispatcher, "/frob")).plain_text()


async def test_overlong_arguments_get_a_usage_hint(dispatcher: Dispatcher) -> None:
    reply = await ask(dispatcher, "/memorial " + "x" * 5000)
    assert "too long" in reply.plain_text()


async def test_a_failing_handler_is_logged_and_apologised_for(
    dispatcher: Dispatcher,
    core: Core,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(*_: object) -> list[object]:
        raise RuntimeError("database on fire")

    monkeypatch.setattr(core, "on_this_day", broken)
    reply = await ask(dispatcher, "/today")
    assert "Sorry, something went wrong" in reply.plain_text()
    assert "database on fire" in caplog.text


async def test_start_deep_link_opens_a_memorial(dispatcher: Dispatcher) -> None:
    reply = await ask(dispatcher, "/start memorial_manhay-monument")
    assert reply.plain_text().startswith("Monument at Manhay")
    welcome = await ask(dispatcher, "/start")
    assert "/memorial" in welcome.plain_text()


async def test_memorial_button_and_vanished_memorial(dispatcher: Dispatcher) -> None:
    reply = await dispatcher.handle(Incoming("telegram", PRIVATE, USER, action="m:rebecq-memorial"))
    assert reply is not None and "Rebecq" in reply.plain_text()
    gone = await dispatcher.handle(Incoming("telegram", PRIVATE, USER, action="m:nowhere"))
    assert gone is not None and "no longer listed" in gone.plain_text()


async def test_help_lists_every_command(dispatcher: Dispatcher) -> None:
    from handlers.registry import COMMANDS

    text = (await ask(dispatcher, "/help")).plain_text()
    for command in COMMANDS:
        assert f"/{command.name}" in text


def _many_memorials_core() -> Core:
    from dataclasses import replace

    dataset = sample_dataset()
    base = dataset.memorials[0]
    dataset.memorials = [
        replace(
            base,
            slug=f"liege-memorial-{n:02d}",
            names={"en": f"Liège memorial {n:02d}", "ru": f"Льеж {n:02d}"},
        )
        for n in range(12)
    ]
    dataset.anniversaries = []
    return fake_core(dataset, now=NOW)


async def test_memorial_results_page_forward_and_back() -> None:
    dispatcher = Dispatcher(_many_memorials_core())
    first = await ask(dispatcher, "/memorial Liège memorial")
    actions = [b.action for row in first.buttons for b in row if b.action]
    assert actions[-1] == "ms:5:Liège memorial"
    page = await dispatcher.handle(Incoming("telegram", PRIVATE, USER, action=actions[-1]))
    assert page is not None
    assert "Results 6–10 for “Liège memorial”" in page.plain_text()
    nav = [b.action for b in page.buttons[-1]]
    assert nav == ["ms:0:Liège memorial", "ms:10:Liège memorial"]
    last = await dispatcher.handle(Incoming("telegram", PRIVATE, USER, action=nav[1]))
    assert last is not None and [b.action for b in last.buttons[-1]] == ["ms:5:Liège memorial"]
    stale = await dispatcher.handle(Incoming("telegram", PRIVATE, USER, action="ms:x:"))
    assert stale is not None and "no longer available" in stale.plain_text()


def test_page_action_fits_in_64_bytes() -> None:
    from handlers.memorials import page_action

    action = page_action("Льеж " * 30, 45)
    assert action is not None and len(action.encode()) <= 64
    assert action.startswith("ms:45:Льеж")


async def test_events_paging() -> None:
    from dataclasses import replace

    dataset = sample_dataset()
    event = dataset.events[0]
    dataset.events = [
        replace(
            event,
            slug=f"e{n}",
            starts_at=event.starts_at + dt.timedelta(days=n),
            title={"en": f"Event number {n}"},
        )
        for n in range(7)
    ]
    dispatcher = Dispatcher(fake_core(dataset, now=NOW))
    first = await ask(dispatcher, "/events")
    assert "Event number 4" in first.plain_text() and "Event number 5" not in first.plain_text()
    assert [b.action for b in first.buttons[-1]] == ["ev:5"]
    second = await dispatcher.handle(Incoming("telegram", PRIVATE, USER, action="ev:5"))
    assert second is not None and "Event number 6" in second.plain_text()
    assert [b.action for b in second.buttons[-1]] == ["ev:0"]


async def test_admin_is_asked_only_when_a_setting_changes(core: Core) -> None:
    dispatcher = Dispatcher(core)
    calls: list[str] = []

    async def is_admin() -> bool:
        calls.append("asked")
        return True

    member = UserRef("8")
    await dispatcher.handle(
        Incoming("telegram", GROUP, member, text="/today", check_admin=is_admin)
    )
    assert calls == []
    reply = await dispatcher.handle(
        Incoming("telegram", GROUP, member, text="/subscribe 08:00", check_admin=is_admin)
    )
    assert calls == ["asked"]
    assert reply is not None and "Subscribed" in reply.plain_text()


async def test_migrated_chat_keeps_settings_and_subscription(core: Core) -> None:
    dispatcher = Dispatcher(core)
    admin = UserRef("9", is_admin=True)
    await ask(dispatcher, "/language de", chat=GROUP, user=admin)
    await ask(dispatcher, "/subscribe 08:00", chat=GROUP, user=admin)
    await core.migrate_chat("telegram", GROUP.id, "-100200")
    assert await core.chats.get_subscription("telegram", GROUP.id) is None
    moved = await core.chats.get_subscription("telegram", "-100200")
    assert moved is not None and moved.active and moved.language == "de"
    assert await core.stored_language("telegram", "-100200") == "de"
    assert await core.chat_gone("telegram", "-100200") == 1
    gone = await core.chats.get_subscription("telegram", "-100200")
    assert gone is not None and not gone.active


def test_command_menu_is_translated() -> None:
    from bot.core.i18n import translator
    from handlers.registry import COMMANDS, command_menu

    menu = command_menu(translator("en"))
    assert [name for name, _ in menu] == [c.name for c in COMMANDS]
    assert all(description for _, description in menu)
