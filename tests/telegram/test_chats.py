"""Every kind of chat: groups (commands with @botname, admins vs members), channels, forum
topics; and the chat's life: blocked, removed, migrated to a supergroup."""

from __future__ import annotations

import asyncio

from bot.adapters.telegram import TelegramAdapter
from bot.app import App
from bot.core.domain import Subscription
from bot.core.i18n import translator
from tests.fakes.telegram_server import FakeTelegramServer, FakeUser
from tests.telegram.conftest import ask, post

BOT = "commemoration_test_bot"


async def _subscription(app: App, chat_id: int, thread: int | None = None) -> Subscription | None:
    thread_id = "" if thread is None else str(thread)
    return await app.core.chats.get_subscription("telegram", str(chat_id), thread_id)


async def _eventually_inactive(app: App, chat_id: int) -> None:
    """Wait until the chat's subscription is inactive (the update is handled in the background)."""
    async with asyncio.timeout(5):
        while True:
            subscription = await _subscription(app, chat_id)
            if subscription is not None and not subscription.active:
                return
            await asyncio.sleep(0.02)


def _member_checks(tg: FakeTelegramServer) -> int:
    return sum(1 for call in tg.calls if call.method.lower() == "getchatmember")


async def test_group_commands_and_admin_rights(
    app: App, tg: FakeTelegramServer, alice: FakeUser, adapter: TelegramAdapter
) -> None:
    member = tg.add_user("Bob", language_code="en")
    group = tg.add_group("Veterans", creator=alice, members=[member])

    [today] = await ask(tg, member, f"/today@{BOT}", group)
    assert today.text is not None and today.text.startswith("On this day, May 9")
    assert today.reply_to_message_id is not None, "in groups a reply quotes the request"
    assert _member_checks(tg) == 0, "reading commands never ask who is an admin"

    [refused] = await ask(tg, member, f"/subscribe@{BOT}", group)
    assert refused.text == "Only the administrators of this chat can change its settings."
    assert _member_checks(tg) == 1
    assert await _subscription(app, group.id) is None

    [done] = await ask(tg, alice, f"/subscribe@{BOT} 07:45", group)
    assert done.text is not None and done.text.startswith("Subscribed.")
    subscription = await _subscription(app, group.id)
    assert subscription is not None and subscription.active
    assert subscription.delivery_time.isoformat() == "07:45:00"

    tg.set_admin(group, member)
    [changed] = await ask(tg, member, "/language de", group)
    german = translator("de")
    assert changed.text == german.gettext("Language set to {language}.", language="Deutsch")
    assert await app.core.stored_language("telegram", str(group.id)) == "de"

    # Commands for other bots, unknown unaddressed commands and chatter are left alone.
    tg.send_user_message(member, group, "/today@some_other_bot")
    tg.send_user_message(member, group, "/weather")
    tg.send_user_message(member, group, "good morning")
    [unknown] = await ask(tg, member, f"/weather@{BOT}", group)
    assert unknown.text is not None and "/weather" in unknown.text
    assert len(tg.sent(group)) == 5


async def test_a_member_cannot_press_a_groups_language_button(
    app: App, tg: FakeTelegramServer, alice: FakeUser, adapter: TelegramAdapter
) -> None:
    member = tg.add_user("Bob", language_code="en")
    group = tg.add_supergroup("Council", creator=alice, members=[member])
    [chooser] = await ask(tg, alice, "/language", group)
    tg.press_button(member, chooser, "lang:fr")
    [refusal] = (await tg.wait_for_messages(2, chat_id=group))[1:]
    assert refusal.text == "Only the administrators of this chat can change its settings."
    assert refusal.reply_to_message_id == chooser.message_id
    assert chooser.edits == [], "the chooser stays for the admins"
    assert await app.core.stored_language("telegram", str(group.id)) is None

    tg.press_button(alice, chooser, "lang:fr")
    await tg.wait_for_edits(1, chat_id=group)
    assert await app.core.stored_language("telegram", str(group.id)) == "fr"


async def test_a_channel_post_subscribes_the_channel(
    app: App, tg: FakeTelegramServer, alice: FakeUser, adapter: TelegramAdapter
) -> None:
    channel = tg.add_channel("Chronicle", creator=alice)
    [confirmation] = await post(tg, channel, "/subscribe 09:00")
    assert confirmation.text is not None and confirmation.text.startswith("Subscribed.")
    subscription = await _subscription(app, channel.id)
    assert subscription is not None and subscription.active
    assert _member_checks(tg) == 0, "a channel post speaks for the channel's admins"

    [today] = await post(tg, channel, f"/today@{BOT}")
    assert today.text is not None and today.text.startswith("On this day, May 9")
    assert today.reply_to_message_id is None


async def test_a_forum_topic_has_its_own_subscription_and_replies(
    app: App, tg: FakeTelegramServer, alice: FakeUser, adapter: TelegramAdapter
) -> None:
    forum = tg.add_supergroup("Regiment", is_forum=True, creator=alice)
    topic = tg.add_topic(forum, "Daily memory", by=alice)
    other = tg.add_topic(forum, "Chatter", by=alice)

    [reply] = await ask(tg, alice, "/subscribe 09:00", forum, thread=topic)
    assert reply.message_thread_id == topic
    assert reply.text is not None and reply.text.startswith("Subscribed.")
    in_topic = await _subscription(app, forum.id, topic)
    assert in_topic is not None and in_topic.active
    assert await _subscription(app, forum.id) is None
    assert await _subscription(app, forum.id, other) is None

    [settings] = await ask(tg, alice, "/settings", forum, thread=other)
    assert settings.message_thread_id == other
    assert settings.text is not None and settings.text.endswith(
        "Daily post: off\nAnnouncements: no announcements"
    )

    [general] = await ask(tg, alice, "/today", forum)
    assert general.message_thread_id is None


async def test_a_user_who_blocks_the_bot_is_unsubscribed(
    app: App, tg: FakeTelegramServer, alice: FakeUser, adapter: TelegramAdapter
) -> None:
    await ask(tg, alice, "/subscribe 09:00")
    assert (subscription := await _subscription(app, alice.id)) is not None
    assert subscription.active
    tg.block_bot(alice)
    await _eventually_inactive(app, alice.id)


async def test_the_bot_removed_from_a_group_stops_posting_there(
    app: App, tg: FakeTelegramServer, alice: FakeUser, adapter: TelegramAdapter
) -> None:
    group = tg.add_group("Veterans", creator=alice)
    await ask(tg, alice, "/subscribe 09:00", group)
    tg.my_chat_member(group, "left", by=alice)
    await _eventually_inactive(app, group.id)


async def test_a_migrated_group_keeps_its_subscription(
    app: App, tg: FakeTelegramServer, alice: FakeUser, adapter: TelegramAdapter
) -> None:
    group = tg.add_group("Veterans", creator=alice)
    await ask(tg, alice, "/subscribe 10:15", group)
    await ask(tg, alice, "/language nl", group)
    supergroup = tg.migrate_group(group, by=alice)
    [reply] = await ask(tg, alice, "/settings", supergroup)
    assert reply.text is not None
    assert "10:15" in reply.text, "the subscription followed the group"
    moved = await _subscription(app, supergroup.id)
    assert moved is not None and moved.active
    assert moved.language == "nl"
    assert await _subscription(app, group.id) is None


# Each command as typed in a group or a channel, and how many messages it answers with (the
# memorial card is followed by its venue).
EVERY_COMMAND = (
    ("start", "", 1),
    ("help", "", 1),
    ("today", " 10-12", 1),
    ("memorial", " Luik", 2),
    ("near", " 50.66 4.13", 1),
    ("events", "", 1),
    ("language", "", 1),
    ("timezone", " Europe/Brussels", 1),
    ("subscribe", " 08:00", 1),
    ("setup", " en Europe/Brussels 08:00", 1),
    ("follow", " all", 1),
    ("settings", "", 1),
    ("unsubscribe", "", 1),
    ("cancel", "", 1),
    ("organizer", "", 1),
    ("event", "", 1),
    ("calendar", " on", 1),
    ("regiment", "", 1),
)


def test_the_group_and_channel_scripts_cover_the_registry() -> None:
    from handlers.registry import COMMANDS_BY_NAME

    assert {name for name, _, _ in EVERY_COMMAND} == set(COMMANDS_BY_NAME)


async def test_every_command_in_a_group_and_in_a_channel(
    app: App, tg: FakeTelegramServer, alice: FakeUser, adapter: TelegramAdapter
) -> None:
    group = tg.add_group("Veterans", creator=alice)
    channel = tg.add_channel("Chronicle", creator=alice)
    for name, arguments, replies in EVERY_COMMAND:
        in_group = await ask(tg, alice, f"/{name}@{BOT}{arguments}", group, replies=replies)
        in_channel = await post(tg, channel, f"/{name}{arguments}", replies=replies)
        for sent in (in_group, in_channel):
            assert sent[0].text, name
            assert "Sorry" not in sent[0].text and "Usage" not in sent[0].text, sent[0].text
    group_subscription = await _subscription(app, group.id)
    channel_subscription = await _subscription(app, channel.id)
    assert group_subscription is not None and not group_subscription.active
    assert channel_subscription is not None and not channel_subscription.active
    assert tg.stats.errors == {}, "the fake refused nothing"
