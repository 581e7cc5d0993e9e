"""Two people fill forms in the same group at the same time; their answers never mix."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from bot.app import App
from bot.core.timeutil import FixedClock
from tests.fakes.discord_server import FakeDiscordServer
from tests.fakes.telegram_server import FakeTelegramServer
from tests.flows.drivers import Bot, DiscordChat, TelegramChat, start_discord, start_telegram

pytestmark = pytest.mark.slow


async def test_two_admins_in_one_telegram_group(
    app: App, clock: FixedClock, tg: FakeTelegramServer
) -> None:
    settings = replace(app.settings, telegram_token=tg.token, telegram_api_base_url=tg.base_url)
    running = Bot(app, settings, clock, start_telegram)
    await running.open()
    try:
        alice = tg.add_user("Alice", username="alice", language_code="en")
        bob = tg.add_user("Bob", username="bob", language_code="en")
        group = tg.add_group("Veterans", creator=alice)
        tg.set_member(group, bob)
        tg.set_admin(group, bob)
        anna, boris = TelegramChat(running, tg, alice, group), TelegramChat(running, tg, bob, group)

        assert "Which time zone?" in await anna.send("/timezone")
        assert "Subscribed." in await boris.send("/subscribe")  # at DEFAULT_DELIVERY_TIME
        assert "At what time" in await boris.press("Another time")
        # Each answer goes to its own author's form, whatever came in between.
        assert "Several time zones match “Moscow”" in await anna.send("Moscow")
        assert "moved from 9:00" in await boris.send("07:30")
        # Bob presses the button of Alice's question: it is not his to answer.
        refused = await boris.press("Europe/Moscow")
        assert "This question is closed; there is nothing to answer." in refused
        assert await app.core.chats.get_settings("telegram", str(group.id)) is None
        assert "Time zone set to Europe/Moscow." in await anna.press("Europe/Moscow")
    finally:
        await running.close()
    stored = await running.app.core.chats.get_settings("telegram", str(group.id))
    subscription = await running.app.core.chats.get_subscription("telegram", str(group.id))
    assert stored is not None and stored.timezone == "Europe/Moscow"
    assert subscription is not None
    assert subscription.delivery_time == dt.time(7, 30)
    assert subscription.timezone == "Europe/Moscow"


async def test_two_organizers_in_one_discord_channel(
    app: App, clock: FixedClock, dc: FakeDiscordServer
) -> None:
    owner = dc.add_user("owner", locale="en-US")
    helper = dc.add_user("helper", locale="en-GB")
    guild = dc.add_guild("Memory", preferred_locale="en-US", owner=owner, channels=["general"])
    role = dc.add_role(guild, "organizers")
    dc.add_member(guild, helper, roles=[role])
    organizers = frozenset({f"discord:role:{role.id}"})
    app.core.settings = replace(app.core.settings, organizer_ids=organizers)
    settings = replace(
        app.settings,
        discord_token=dc.token,
        discord_api_base_url=dc.api_base,
        discord_gateway_url=dc.gateway_url,
        organizer_ids=organizers,
    )
    running = Bot(app, settings, clock, start_discord)
    await running.open()
    channel = guild.channel("general")
    try:
        first = DiscordChat(running, dc, guild, channel, owner)
        second = DiscordChat(running, dc, guild, channel, helper)
        assert "Which time zone?" in await first.send("/timezone")
        assert "Subscribed." in await second.send("/subscribe")  # at DEFAULT_DELIVERY_TIME
        assert "At what time" in await second.press("Another time")
        assert "Several time zones match “Moscow”" in await first.send("Moscow")
        assert "moved from 9:00" in await second.send("07:30")
        assert "Time zone set to Europe/Moscow." in await first.press("Europe/Moscow")
    finally:
        await running.close()
    assert first.ephemeral and all(first.ephemeral) and all(second.ephemeral)
    core = running.app.core
    stored = await core.chats.get_settings("discord", str(channel.id))
    subscription = await core.chats.get_subscription("discord", str(channel.id))
    assert stored is not None and stored.timezone == "Europe/Moscow"
    assert subscription is not None and subscription.delivery_time == dt.time(7, 30)
