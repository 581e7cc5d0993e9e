"""Platform 5xx, timeouts and a 429 storm, through the real senders against the fake servers:
every row is retried until sent, none is lost and none is sent twice. (The engine's own handling of
transient errors, timeouts and 429s with fake senders is in ``tests/scheduling/test_drain.py``.)
"""

from __future__ import annotations

import dataclasses

from telegram import Bot
from telegram.request import HTTPXRequest

from bot.adapters.discord import DiscordSender
from bot.adapters.telegram import TelegramSender, open_sender
from bot.app import App
from bot.config import Settings
from bot.scheduling.settings import DeliverySettings
from db.deliveries import SqlDeliveryLedger
from tests.fakes.discord_server import FakeDiscordServer
from tests.fakes.telegram_server import FakeTelegramServer
from tests.scheduling.support import FakeTime, add_subscriptions, service

CHATS = 12
SETTINGS = DeliverySettings(poll_interval=0.01, max_attempts=4, concurrency=4)


async def _subscribe(app: App, platform: str, chat_ids: list[int]) -> None:
    """A daily-post subscription for each chat (``add_subscriptions``' defaults otherwise)."""
    rows = [{"platform": platform, "chat_id": str(c), "topics": ["today"]} for c in chat_ids]
    await add_subscriptions(app, rows)


async def test_telegram_5xx_and_a_429_storm_lose_nothing(empty_app: App) -> None:
    async with FakeTelegramServer() as tg:
        chats = [tg.private_chat(tg.add_user(f"User {n}")).id for n in range(CHATS)]
        await _subscribe(empty_app, "telegram", chats)
        tg.fail_next("sendMessage", error_code=502, description="Bad Gateway", times=5)
        tg.fail_next("sendMessage", error_code=500, description="Internal Server Error", times=3)
        for chat in chats[:6]:  # a storm: half the chats flood-limited three times each
            tg.inject_flood(chat, retry_after=2, times=3)
        tg.inject_flood(chats[-1], retry_after=5, times=10)  # more 429s than attempts
        settings = dataclasses.replace(
            Settings(database_url="sqlite://"),
            telegram_token=tg.token,
            telegram_api_base_url=tg.base_url,
        )
        async with open_sender(settings, empty_app.core) as sender:
            report = await service(
                empty_app, {"telegram": sender}, time=FakeTime(), settings=SETTINGS
            ).tick()
        received = {chat: len(tg.sent(chat)) for chat in chats}
    assert report.drained.sent == CHATS and report.drained.failed == 0, report
    assert report.drained.retried == 5 + 3 + 6 * 3 + 10  # every injected failure retried
    assert set(received.values()) == {1}, received
    ledger = SqlDeliveryLedger(empty_app.sessions)
    assert await ledger.status_counts() == {"sent": CHATS}


async def test_a_discord_429_storm_loses_nothing(empty_app: App) -> None:
    async with FakeDiscordServer() as dc:
        guild = dc.add_guild("Storm", channels=[f"c{n}" for n in range(CHATS)])
        channels = [channel.id for channel in guild.text_channels]
        await _subscribe(empty_app, "discord", channels)
        route = "POST /channels/{channel_id}/messages"
        dc.inject_429(route, retry_after=0.05, count=20)
        dc.inject_429(route, retry_after=0.05, is_global=True, count=3)
        sender = DiscordSender(dc.token, dc.api_base)
        try:
            report = await service(
                empty_app, {"discord": sender}, time=FakeTime(), settings=SETTINGS
            ).tick()
        finally:
            await sender.close()
        received = {channel: len(dc.messages(channel)) for channel in channels}
    assert report.drained.sent == CHATS and report.drained.failed == 0, report
    assert report.drained.retried == 20 + 3
    assert set(received.values()) == {1}, received
    ledger = SqlDeliveryLedger(empty_app.sessions)
    assert await ledger.status_counts() == {"sent": CHATS}


async def test_telegram_timeouts_are_retried_and_send_once(empty_app: App) -> None:
    """A send that hangs past the client's timeout (the request never processed) is retried
    at the ledger's pace; every chat gets its post once."""
    async with FakeTelegramServer() as tg:
        chats = [tg.private_chat(tg.add_user(f"User {n}")).id for n in range(CHATS)]
        await _subscribe(empty_app, "telegram", chats)
        tg.stall_next("sendMessage", seconds=1.5, times=3)
        tg.stall_next("sendMessage", seconds=1.5, chat_id=chats[0], times=2)
        bot = Bot(tg.token, base_url=tg.base_url, request=HTTPXRequest(read_timeout=0.4))
        await bot.initialize()
        try:
            report = await service(
                empty_app,
                {"telegram": TelegramSender(bot, empty_app.core)},
                time=FakeTime(),
                settings=SETTINGS,
            ).tick()
        finally:
            await bot.shutdown()
        received = {chat: len(tg.sent(chat)) for chat in chats}
    assert report.drained.sent == CHATS and report.drained.failed == 0, report
    assert report.drained.retried == 3 + 2
    assert set(received.values()) == {1}, received
    assert await SqlDeliveryLedger(empty_app.sessions).status_counts() == {"sent": CHATS}


async def test_discord_5xx_and_timeouts_lose_nothing(empty_app: App) -> None:
    """502s, 503s and a timeout come back to the ledger (the sender posts through its own
    HTTP session), which retries each; every channel gets one message."""
    async with FakeDiscordServer() as dc:
        guild = dc.add_guild("Faults", channels=[f"c{n}" for n in range(CHATS)])
        channels = [channel.id for channel in guild.text_channels]
        await _subscribe(empty_app, "discord", channels)
        route = "POST /channels/{channel_id}/messages"
        for channel in channels[:3]:
            dc.fail_next(route, status=502, major=channel)
        for channel in channels[3:5]:
            dc.fail_next(route, status=503, major=channel, count=2)
        dc.fail_next(route, status=500, stall=1.5, major=channels[5])
        sender = DiscordSender(dc.token, dc.api_base, timeout=0.5)
        try:
            report = await service(
                empty_app, {"discord": sender}, time=FakeTime(), settings=SETTINGS
            ).tick()
        finally:
            await sender.close()
        received = {channel: len(dc.messages(channel)) for channel in channels}
        statuses = dc.stats.by_status
    assert report.drained.sent == CHATS and report.drained.failed == 0, report
    assert report.drained.retried == 3 + 2 * 2 + 1
    assert statuses[502] == 3 and statuses[503] == 4
    assert set(received.values()) == {1}, received
    assert await SqlDeliveryLedger(empty_app.sessions).status_counts() == {"sent": CHATS}
