"""``/setup``: who may run it, what it stores, several channels a server, refusals."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.adapters.discord import DiscordAdapter
from bot.app import App
from bot.core.i18n import translator
from bot.scheduling.planner import first_post
from tests.discord.conftest import World, command
from tests.discord.test_commands import readable
from tests.fakes.discord_server import PERMISSIONS, FakeDiscordServer

NOT_ALLOWED = "Only the administrators of this chat can change its settings."


@pytest.fixture
def closed_channel(dc: FakeDiscordServer, world: World) -> int:
    """A channel of Veterans where the bot may not write (known before it connects)."""
    channel = dc.add_channel(world.ru.guild, "archive")
    dc.set_overwrite(channel, dc.bot, deny=PERMISSIONS["SEND_MESSAGES"])
    return channel.id


async def test_setup_is_refused_without_manage_server(
    app: App, dc: FakeDiscordServer, world: World, adapter: DiscordAdapter
) -> None:
    server = world.ru
    handle, refused = await command(
        dc, server, server.member, "setup", {"channel": server.news.id, "language": "ru"}
    )
    assert refused.ephemeral
    assert refused.content == translator("ru").gettext(NOT_ALLOWED)
    assert await app.chats.get_subscription("discord", str(server.news.id)) is None
    assert await app.core.stored_language("discord", str(server.news.id)) is None
    # the Discord client still offers /setup to members: refusing is the bot's job
    assert handle.acknowledged


async def test_setup_with_manage_server_or_an_organizer_role(
    app: App, dc: FakeDiscordServer, world: World, adapter: DiscordAdapter
) -> None:
    server = world.ru
    manager = dc.add_user("manager", locale="en-US")
    role = dc.add_role(server.guild, "managers", permissions=PERMISSIONS["MANAGE_GUILD"])
    dc.add_member(server.guild, manager, roles=[role])
    _, accepted = await command(
        dc,
        server,
        manager,
        "setup",
        {"channel": server.news.id, "language": "ru", "zone": "europe/moscow", "time": "10:00"},
    )
    assert accepted.ephemeral
    assert not accepted.embeds
    t = translator("en")
    assert readable(accepted.content) == t.gettext(
        "{channel} will receive the “on this day” post and the announcements of events every "
        "day at {time} ({zone}), in {language}, from {date}.",
        channel=f"<#{server.news.id}>",
        time=t.time(dt.time(10, 0)),
        zone="Europe/Moscow",
        language="Русский",
        date=t.full_date(first_post(app.core.clock.now(), dt.time(10, 0), "Europe/Moscow")),
    )
    news = await app.chats.get_subscription("discord", str(server.news.id))
    assert news is not None
    assert (news.active, news.language, news.timezone) == (True, "ru", "Europe/Moscow")
    assert news.delivery_time == dt.time(10, 0)
    settings = await app.chats.get_settings("discord", str(server.news.id))
    assert settings is not None
    assert (settings.language, settings.timezone) == ("ru", "Europe/Moscow")

    # a second channel of the same server, in another language, by an organizer
    _, second = await command(
        dc, server, server.organizer, "setup", {"language": "en", "time": "08:00"}
    )
    assert second.ephemeral
    general = await app.chats.get_subscription("discord", str(server.general.id))
    assert general is not None
    assert (general.language, general.timezone) == ("en", "Europe/Brussels")
    assert general.delivery_time == dt.time(8, 0)
    news_again = await app.chats.get_subscription("discord", str(server.news.id))
    assert news_again == news  # untouched


async def test_setup_defaults_and_bad_values(
    app: App, dc: FakeDiscordServer, world: World, adapter: DiscordAdapter
) -> None:
    server = world.fr
    t = translator("fr")
    for options, message in (
        (
            {"language": "klingon"},
            t.gettext("“{text}” is not one of the bot's languages.", text="klingon"),
        ),
        (
            {"zone": "Mars/Olympus"},
            t.gettext("“{text}” is not a known time zone.", text="Mars/Olympus"),
        ),
        ({"time": "25:99"}, t.gettext("“{text}” is not a time of day.", text="25:99")),
    ):
        _, refused = await command(dc, server, server.owner, "setup", options)
        assert refused.ephemeral
        assert readable(refused.content).startswith(message)
    assert await app.chats.get_subscription("discord", str(server.general.id)) is None
    _, done = await command(dc, server, server.owner, "setup", {"channel": server.general.id})
    assert done.ephemeral
    subscription = await app.chats.get_subscription("discord", str(server.general.id))
    assert subscription is not None
    assert subscription.language == "fr"  # the server's preferred locale
    assert subscription.delivery_time == dt.time(9, 0)  # DEFAULT_DELIVERY_TIME


async def test_setup_refuses_a_channel_the_bot_cannot_post_in(
    app: App,
    dc: FakeDiscordServer,
    world: World,
    closed_channel: int,
    adapter: DiscordAdapter,
) -> None:
    server = world.ru
    closed = closed_channel
    _, refused = await command(dc, server, server.owner, "setup", {"channel": closed})
    assert refused.ephemeral
    t = translator("ru")
    assert readable(refused.content) == (
        t.gettext("I cannot post in {channel}.", channel=f"<#{closed}>")
        + " "
        + t.gettext(
            "Give me the View Channel, Send Messages and Embed Links permissions there and "
            "run /setup again."
        )
    )
    assert await app.chats.get_subscription("discord", str(closed)) is None
