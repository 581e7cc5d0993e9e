"""``TelegramSender``: scheduled posts through the real scheduler to channels, topics and users;
Telegram's errors as the core's delivery errors; long texts split, never refused."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from bot.adapters.telegram import TelegramAdapter, TelegramSender, open_sender
from bot.adapters.telegram import sender as sender_module
from bot.adapters.telegram.render import TEXT_LIMIT, utf16_len
from bot.app import App
from bot.config import ConfigError, Settings
from bot.core.delivery import PermanentError, RetryLater, RetryScope, TransientError
from bot.core.reply import Reply, ReplyBuilder
from bot.core.timeutil import FixedClock
from bot.scheduling.service import DeliveryService
from bot.scheduling.settings import DeliverySettings
from db.deliveries import SqlDeliveryLedger
from tests.conftest import NOW
from tests.fakes.telegram_server import FakeTelegramServer, FakeUser, FloodLimits, parse_html
from tests.telegram.conftest import ask, post, sqlite_only


def _scheduler(app: App, sender: TelegramSender) -> DeliveryService:
    """The real delivery service at the test's instant (09:00 in Brussels)."""
    return DeliveryService(
        ledger=SqlDeliveryLedger(app.sessions),
        senders={"telegram": sender},
        anniversaries=app.core.on_this_day,
        settings=DeliverySettings(poll_interval=0.01),
        clock=FixedClock(NOW),
    )


async def test_the_daily_post_reaches_a_channel_and_a_forum_topic(
    app: App, tg: FakeTelegramServer, alice: FakeUser, adapter: TelegramAdapter
) -> None:
    channel = tg.add_channel("Chronicle", creator=alice)
    await post(tg, channel, "/subscribe 09:00")
    forum = tg.add_supergroup("Regiment", is_forum=True, creator=alice)
    topic = tg.add_topic(forum, "Daily memory", by=alice)
    await ask(tg, alice, "/subscribe 09:00", forum, thread=topic)

    report = await _scheduler(app, adapter.sender).tick()
    assert report.drained.sent == 2, report

    daily = tg.sent(channel)[-1]
    assert daily.parse_mode == "HTML"
    assert daily.text is not None and daily.text.startswith("On this day, May 9")
    assert {"type": "bold", "offset": 0, "length": len("On this day, May 9")} in daily.entities
    in_topic = tg.sent(forum)[-1]
    assert in_topic.message_thread_id == topic
    assert in_topic.text == daily.text


async def test_a_blocked_user_fails_permanently_and_is_deactivated(
    app: App, tg: FakeTelegramServer, alice: FakeUser, adapter: TelegramAdapter
) -> None:
    await ask(tg, alice, "/subscribe 09:00")
    tg.private_chat(alice).blocked = True  # before Telegram tells the bot: the 403 must do
    with pytest.raises(PermanentError, match="blocked by the user"):
        await adapter.sender.send(str(alice.id), Reply(title="x"))

    report = await _scheduler(app, adapter.sender).tick()
    assert (report.drained.failed, report.drained.deactivated) == (1, 1)
    subscription = await app.core.chats.get_subscription("telegram", str(alice.id))
    assert subscription is not None and not subscription.active


@sqlite_only
async def test_errors_become_delivery_errors(
    app: App, tg: FakeTelegramServer, alice: FakeUser, telegram_settings: Settings
) -> None:
    reply = ReplyBuilder().text("memory").build()
    async with open_sender(telegram_settings, app.core) as sender:
        tg.inject_flood(alice, 7)
        with pytest.raises(RetryLater) as flood:
            await sender.send(str(alice.id), reply)
        assert flood.value.retry_after == 7
        assert flood.value.scope is RetryScope.CHAT

        with pytest.raises(PermanentError, match=r"(?i)chat not found"):
            await sender.send("424242", reply)

        tg.fail_next("sendMessage", error_code=500, description="Internal Server Error")
        with pytest.raises(TransientError, match="Internal Server Error"):
            await sender.send(str(alice.id), reply)

        left = tg.add_supergroup("Gone", bot_status="left")
        with pytest.raises(PermanentError, match="not a member"):
            await sender.send(str(left.id), reply)

        forum = tg.add_supergroup("Forum", is_forum=True, creator=alice)
        with pytest.raises(PermanentError, match=r"(?i)thread not found"):
            await sender.send(str(forum.id), reply, thread_id="999")

        await sender.send(str(alice.id), reply)
    assert [m.text for m in tg.sent(alice)] == ["memory"]


async def test_a_post_to_a_migrated_group_moves_the_subscription_and_arrives(
    app: App, tg: FakeTelegramServer, alice: FakeUser, telegram_settings: Settings
) -> None:
    group = tg.add_group("Veterans", creator=alice)
    await app.core.subscribe("telegram", str(group.id), language="en", timezone="Europe/Brussels")
    supergroup = tg.migrate_group(group, by=alice)  # the bot is not running: no update read
    async with open_sender(telegram_settings, app.core) as sender:
        await sender.send(str(group.id), ReplyBuilder().bold("Victory Day").build())
    [delivered] = tg.sent(supergroup)
    assert delivered.html == "<b>Victory Day</b>"
    moved = await app.core.chats.get_subscription("telegram", str(supergroup.id))
    assert moved is not None and moved.active
    assert await app.core.chats.get_subscription("telegram", str(group.id)) is None


@sqlite_only
async def test_a_long_post_is_split_into_valid_messages(
    app: App, tg: FakeTelegramServer, alice: FakeUser, telegram_settings: Settings
) -> None:
    out = ReplyBuilder().bold("Chronicle <1941–1945> & more").line()
    for number in range(1, 400):
        out.text(f"{number}. ").bold(f"Day {number} & <night>").text(" — ")
        out.link("map", "https://www.openstreetmap.org/?mlat=50.6&mlon=5.5")
        out.line(' «Tom & Jerry» "quoted" 🎖')
    reply = out.build()
    async with open_sender(telegram_settings, app.core) as sender:
        await sender.send(str(alice.id), reply)
    sent = tg.sent(alice)
    assert len(sent) >= 4
    assert all(m.text is not None and utf16_len(m.text) <= TEXT_LIMIT for m in sent)
    assert all(m.raw_text is not None and parse_html(m.raw_text)[0] == m.text for m in sent)
    assert "\n".join(m.text or "" for m in sent) == reply.plain_text()
    assert all(m.text is not None and m.text[0] in "0123456789C" for m in sent)
    assert sum(e["type"] == "text_link" for m in sent for e in m.entities) == 399


@sqlite_only
async def test_a_post_refused_after_its_first_message_is_resumed_not_repeated(
    app: App, tg: FakeTelegramServer, alice: FakeUser, telegram_settings: Settings
) -> None:
    # Telegram allows about one message a second in a private chat: the second chunk of a
    # long post, sent right after the first, is refused with a 429. The next attempt at the
    # same ledger row (the same key) must send only the rest; before, it sent the first chunk
    # again, and again on every attempt (the soak found chats with a daily post twice).
    tg.flood = FloodLimits(enabled=True)
    out = ReplyBuilder().bold("On this day").line()
    for number in range(1, 60):
        out.line(f"{number}. " + "A long chronicle of the day. " * 3)
    reply = out.build()
    async with open_sender(telegram_settings, app.core) as sender:
        with pytest.raises(RetryLater):
            await sender.send(str(alice.id), reply, key="row-1")
        assert len(tg.sent(alice)) == 1
        await asyncio.sleep(1.05)
        await sender.send(str(alice.id), reply, key="row-1")
        assert not sender.partly_sent
    sent = [m.text or "" for m in tg.sent(alice)]
    assert len(sent) == 2, [text[:30] for text in sent]
    assert "\n".join(sent) == reply.plain_text()


async def test_the_progress_of_posts_never_tried_again_is_not_kept_forever(
    app: App,
    tg: FakeTelegramServer,
    telegram_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A row given up (or taken by another process) after a partial send is never tried here
    again: its progress must not stay in memory for the life of the process."""
    monkeypatch.setattr(sender_module, "PARTLY_SENT_KEPT", 2)
    tg.flood = FloodLimits(enabled=True)
    out = ReplyBuilder().bold("On this day").line()
    for number in range(1, 60):
        out.line(f"{number}. " + "A long chronicle of the day. " * 3)
    reply = out.build()
    users = [tg.add_user(f"Reader {n}") for n in range(3)]
    async with open_sender(telegram_settings, app.core) as sender:
        for number, user in enumerate(users):
            tg.private_chat(user)
            with pytest.raises(RetryLater):
                await sender.send(str(user.id), reply, key=f"row-{number}")
        assert list(sender.partly_sent) == ["row-1", "row-2"]


async def test_a_reply_with_a_venue_in_a_private_chat_is_not_repeated_after_a_429(
    app: App, tg: FakeTelegramServer, alice: FakeUser, adapter: TelegramAdapter
) -> None:
    # The memorial's card, then its venue within the same second: the venue is refused
    # (429); the adapter waits and sends the venue only, not the card again (before, the
    # card went twice and the venue was refused again: an error and an apology).
    tg.flood = FloodLimits(enabled=True)
    replies = await ask(tg, alice, "/memorial Liège", replies=2)
    await asyncio.sleep(0.3)
    kinds = [m.kind for m in tg.sent(alice)]
    assert kinds == ["message", "venue"], kinds
    assert "Liège" in (replies[0].text or "")


@sqlite_only
async def test_replies_to_many_users_at_once_stay_under_the_ceiling(
    app: App, tg: FakeTelegramServer, adapter: TelegramAdapter
) -> None:
    # 45 users ask at the same moment: Telegram allows 30 messages a second per bot. The
    # replies are paced under it (before, 15 of them were refused with a 429 and retried once,
    # and a reply refused twice was lost: the soak lost 10 % of its answers that way).
    tg.flood = FloodLimits(enabled=True)
    users = [tg.add_user(f"User {n}") for n in range(45)]
    for user in users:
        tg.send_user_message(user, tg.private_chat(user), "/events")
    for user in users:
        await tg.wait_for_messages(1, chat_id=tg.private_chat(user), timeout=15)
    assert tg.stats.flood_rejections == 0
    assert all(len(tg.sent(tg.private_chat(user))) == 1 for user in users)


@sqlite_only
async def test_open_sender_refuses_a_wrong_token_without_showing_it(
    tg: FakeTelegramServer, telegram_settings: Settings
) -> None:
    wrong = f"{tg.bot.id}:AAwrongwrongwrongwrongwrongwrongwrong"
    with pytest.raises(ConfigError) as refused:
        async with open_sender(replace(telegram_settings, telegram_token=wrong)):
            pass
    assert wrong not in str(refused.value)
    assert "TELEGRAM_BOT_TOKEN was rejected" in str(refused.value)
    assert refused.value.__cause__ is None and refused.value.__suppress_context__
