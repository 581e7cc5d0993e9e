"""Scheduled posts through ``DiscordSender``: over REST to a channel id, without the gateway
cache; Discord's errors as the core's delivery errors; a channel the bot may no longer post
in is turned off and the server's administrators are told at their next interaction."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.adapters.discord import DiscordAdapter, DiscordSender, open_sender, render
from bot.app import App
from bot.config import ConfigError, Settings
from bot.core.delivery import PermanentError, RetryLater, RetryScope, TransientError
from bot.core.i18n import translator
from bot.core.reply import Photo, Reply, ReplyBuilder, text_reply
from bot.core.timeutil import FixedClock
from bot.runner import delivery_service, run_tick
from handlers.today import digest
from tests.conftest import NOW
from tests.discord.conftest import World, command, text_of
from tests.discord.test_commands import readable
from tests.fakes.discord_server import MISSING_ACCESS, FakeDiscordServer, free_tcp_port

ROUTE = "POST /channels/{channel_id}/messages"


async def victory_digest(app: App, language: str = "ru") -> Reply:
    """The daily post of 9 May."""
    day = dt.date(2026, 5, 9)
    return digest(translator(language), day, await app.core.on_this_day(day))


async def test_the_daily_post_goes_out_through_the_scheduler(
    app: App, dc: FakeDiscordServer, world: World, adapter: DiscordAdapter
) -> None:
    server = world.ru
    await command(dc, server, server.owner, "setup", {"channel": server.news.id, "time": "09:00"})
    service = delivery_service(
        app, {"discord": adapter.sender}, clock=FixedClock(NOW + dt.timedelta(minutes=1)), env={}
    )
    report = await service.tick()
    assert report.drained.sent == 1
    [post] = dc.messages(server.news)
    assert post.source == "channel"
    assert post.allowed_mentions == {"parse": []}
    t = translator("ru")
    assert post.embeds[0]["title"] == t.gettext("On this day, {date}", date="9 мая")
    assert not post.pings.anyone


async def test_a_tick_of_the_runner_posts_through_open_sender(
    app: App, dc: FakeDiscordServer, world: World, discord_settings: Settings
) -> None:
    channel = world.ru.news
    await app.core.subscribe(
        "discord",
        str(channel.id),
        language="ru",
        timezone="Europe/Moscow",
        delivery_time=dt.time(10, 0),
    )
    app.settings = discord_settings
    out, err = io.StringIO(), io.StringIO()
    report = await run_tick(app, NOW + dt.timedelta(minutes=1), env={}, stdout=out, stderr=err)
    assert report.drained.sent == 1, err.getvalue()
    [post] = dc.messages(channel)
    assert post.embeds[0]["title"] == "В этот день, 9 мая"
    assert dc.gateway_connections == []


async def test_a_post_needs_no_gateway_and_no_cache(
    app: App, dc: FakeDiscordServer, world: World, discord_settings: Settings
) -> None:
    channel = world.fr.news
    async with open_sender(discord_settings, app.core) as sender:
        await sender.send(str(channel.id), await victory_digest(app, "fr"))
        long = ReplyBuilder().bold("Heading").line()
        for number in range(40):
            long.line(f"{number} " + "mot " * 100)
        await sender.send(str(channel.id), long.build())
    assert dc.gateway_connections == []
    posts = dc.messages(channel)
    assert len(posts) >= 4
    assert posts[0].embeds[0]["title"] == translator("fr").gettext(
        "On this day, {date}", date="9 mai"
    )
    assert all(post.allowed_mentions == {"parse": []} for post in posts)
    with pytest.raises(ConfigError, match="rejected") as refused:
        async with open_sender(replace(discord_settings, discord_token="wrong-token")):
            pass
    assert "wrong-token" not in str(refused.value)
    port = free_tcp_port()
    unreachable = replace(discord_settings, discord_api_base_url=f"http://127.0.0.1:{port}/api")
    with pytest.raises(ConfigError, match="cannot reach"):
        async with open_sender(unreachable):
            pass


async def test_a_forbidden_channel_is_turned_off_and_admins_are_told(
    app: App, dc: FakeDiscordServer, world: World, adapter: DiscordAdapter
) -> None:
    server = world.ru
    news = str(server.news.id)
    await command(dc, server, server.owner, "setup", {"channel": server.news.id})
    dc.forbid(server.news, MISSING_ACCESS)
    with pytest.raises(PermanentError, match="50001"):
        await adapter.sender.send(news, await victory_digest(app))
    subscription = await app.chats.get_subscription("discord", news)
    assert subscription is not None
    assert not subscription.active
    assert adapter.notices.pending(server.guild.id) == [news]

    # a member is not told; the answer itself is as usual
    handle, _ = await command(dc, server, server.member, "help")
    await asyncio.sleep(0.1)
    assert handle.followups == []
    # an administrator is told once, in their language, ephemeral
    handle, answer = await command(dc, server, server.organizer, "help")
    assert not answer.ephemeral
    [notice] = await handle.wait_for_followups(1)
    assert notice.ephemeral
    assert not notice.pings.anyone
    t = translator("ru")
    assert readable(notice.content) == "\n".join(
        [
            t.gettext(
                "I can no longer post in {channel}, so its daily post is turned off.",
                channel=f"<#{news}>",
            ),
            t.gettext(
                "Give me the View Channel, Send Messages and Embed Links permissions there "
                "and run /setup again."
            ),
        ]
    )
    again, _ = await command(dc, server, server.organizer, "help")
    await asyncio.sleep(0.1)
    assert again.followups == []
    # the other server hears nothing of it
    other, _ = await command(dc, world.fr, world.fr.owner, "help")
    await asyncio.sleep(0.1)
    assert other.followups == []


async def test_the_scheduler_turns_off_a_channel_that_answers_forbidden(
    app: App, dc: FakeDiscordServer, world: World, adapter: DiscordAdapter
) -> None:
    server = world.fr
    await command(dc, server, server.owner, "setup", {"channel": server.news.id})
    dc.forbid(server.news, 50013)
    service = delivery_service(
        app, {"discord": adapter.sender}, clock=FixedClock(NOW + dt.timedelta(minutes=1)), env={}
    )
    report = await service.tick()
    assert (report.drained.sent, report.drained.failed) == (0, 1)
    subscription = await app.chats.get_subscription("discord", str(server.news.id))
    assert subscription is not None
    assert not subscription.active
    assert adapter.notices.pending(server.guild.id) == [str(server.news.id)]


async def test_a_deleted_channel_is_turned_off(
    app: App, dc: FakeDiscordServer, world: World, adapter: DiscordAdapter
) -> None:
    server = world.ru
    await command(dc, server, server.owner, "setup", {"channel": server.news.id})
    payload = server.news.to_json()
    await dc.dispatch("CHANNEL_DELETE", payload, guild_id=server.guild.id)
    await dc.wait_for(lambda: adapter.notices.pending(server.guild.id) or None, 5, "notice")
    subscription = await app.chats.get_subscription("discord", str(server.news.id))
    assert subscription is not None
    assert not subscription.active


async def test_unknown_channels_and_rate_limits(
    app: App, dc: FakeDiscordServer, world: World, discord_settings: Settings
) -> None:
    channel = str(world.ru.general.id)
    reply = text_reply("Victory Day")
    async with open_sender(discord_settings) as sender:
        with pytest.raises(PermanentError, match="10003"):
            await sender.send(str(dc.snowflake()), reply)
        dc.inject_429(ROUTE, retry_after=7.5)
        with pytest.raises(RetryLater) as chat_limit:
            await sender.send(channel, reply)
        assert (chat_limit.value.retry_after, chat_limit.value.scope) == (7.5, RetryScope.CHAT)
        dc.inject_429(ROUTE, retry_after=2.0, is_global=True)
        with pytest.raises(RetryLater) as global_limit:
            await sender.send(channel, reply)
        assert global_limit.value.scope is RetryScope.GLOBAL
        await sender.send(channel, reply)
    assert [m.text for m in dc.messages(world.ru.general)] == ["Victory Day"]


@pytest.fixture
async def flaky_api() -> AsyncIterator[tuple[str, list[int]]]:
    """A server that answers POSTs from a script of statuses: 200, 429 (0.05 s), 502, 200 …"""
    script = [200, 429, 502, 200, 503, 503, 503, 503]
    seen: list[int] = []

    async def post(request: web.Request) -> web.Response:
        status = script[len(seen)] if len(seen) < len(script) else 200
        seen.append(status)
        if status == 200:
            return web.json_response({"id": str(len(seen))})
        if status == 429:
            return web.json_response(
                {"message": "You are being rate limited.", "retry_after": 0.05, "global": False},
                status=429,
            )
        return web.Response(status=status, text="upstream trouble")

    application = web.Application()
    application.router.add_post("/api/channels/{channel}/messages", post)
    runner = web.AppRunner(application)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}/api", seen
    finally:
        await runner.cleanup()


async def test_a_split_post_finishes_its_later_parts(
    monkeypatch: pytest.MonkeyPatch, flaky_api: tuple[str, list[int]]
) -> None:
    monkeypatch.setattr("bot.adapters.discord.sender.asyncio.sleep", _no_sleep)
    base, seen = flaky_api
    sender = DiscordSender("token", base)
    long = ReplyBuilder()
    for number in range(12):
        long.line(f"{number} " + "word " * 100)
    assert len(render(long.build()).messages) == 2
    try:
        await sender.send("1", long.build())  # 200, then 429 and 502 waited out, then 200
        assert seen[:4] == [200, 429, 502, 200]
        with pytest.raises(TransientError, match="503"):
            await sender.send("1", text_reply("first part only"))  # a first part fails at once
    finally:
        await sender.close()
    assert seen[4:] == [503]
    port = free_tcp_port()
    offline = DiscordSender("token", f"http://127.0.0.1:{port}/api")
    try:
        with pytest.raises(TransientError):
            await offline.send("1", text_reply("nobody listens"))
    finally:
        await offline.close()


async def _no_sleep(seconds: float) -> None:
    return None


async def test_a_failing_gone_hook_still_raises_the_delivery_error(
    dc: FakeDiscordServer, world: World, discord_settings: Settings
) -> None:
    calls: list[str] = []

    async def broken(channel_id: str, reason: str) -> None:
        calls.append(channel_id)
        raise RuntimeError("database down")

    token = discord_settings.discord_token or ""
    sender = DiscordSender(token, dc.api_base, on_gone=broken)
    dc.forbid(world.fr.general)
    try:
        with pytest.raises(PermanentError):
            await sender.send(str(world.fr.general.id), text_reply("hello"))
    finally:
        await sender.close()
    assert calls == [str(world.fr.general.id)]


async def test_answers_show_the_channel_mention_not_a_ping(
    dc: FakeDiscordServer, world: World, adapter: DiscordAdapter
) -> None:
    _, answer = await command(dc, world.ru, world.ru.owner, "setup", {"channel": world.ru.news.id})
    assert f"<#{world.ru.news.id}>" in text_of(answer)
    assert answer.allowed_mentions == {"parse": []}


async def _post_raw(
    dc: FakeDiscordServer, channel_id: int, body: dict[str, object]
) -> tuple[int, dict[str, Any]]:
    url = f"{dc.api_base}/channels/{channel_id}/messages"
    async with (
        aiohttp.ClientSession(headers={"Authorization": f"Bot {dc.token}"}) as http,
        http.post(url, json=body) as answer,
    ):
        return answer.status, await answer.json()


async def test_the_fake_enforces_a_nonce_as_discord_documents_it(
    dc: FakeDiscordServer, world: World
) -> None:
    channel = world.fr.general
    status, first = await _post_raw(
        dc, channel.id, {"content": "one", "nonce": "n-1", "enforce_nonce": True}
    )
    assert status == 200 and first["nonce"] == "n-1"
    # the same nonce again: the first message comes back, no second one is created
    status, again = await _post_raw(
        dc, world.ru.news.id, {"content": "other", "nonce": "n-1", "enforce_nonce": True}
    )
    assert status == 200 and again["id"] == first["id"] and again["content"] == "one"
    assert [m.content for m in dc.messages(channel)] == ["one"]
    assert dc.messages(world.ru.news) == []
    assert dc.stats.nonce_repeats == 1
    # without enforce_nonce the nonce is only echoed: a repeat is a second message
    for _ in range(2):
        status, _ = await _post_raw(dc, channel.id, {"content": "two", "nonce": "n-2"})
        assert status == 200
    assert [m.content for m in dc.messages(channel)] == ["one", "two", "two"]
    # "in the past few minutes": once the window is over, the nonce is new again
    dc.nonce_window = 0.0
    status, later = await _post_raw(
        dc, channel.id, {"content": "one", "nonce": "n-1", "enforce_nonce": True}
    )
    assert status == 200 and later["id"] != first["id"]
    # validated as Discord does
    status, error = await _post_raw(dc, channel.id, {"content": "x", "nonce": "n" * 26})
    assert status == 400 and "nonce" in error["errors"]
    status, error = await _post_raw(
        dc, channel.id, {"content": "x", "nonce": "n-3", "enforce_nonce": "yes"}
    )
    assert status == 400 and "enforce_nonce" in error["errors"]


async def test_a_resend_with_the_same_key_posts_once_text_parts_and_photo(
    dc: FakeDiscordServer, world: World, discord_settings: Settings, tmp_path: Path
) -> None:
    """What a restarted process does after a kill -9 between Discord's answer and the ledger's
    record: the same delivery again, with the same key."""
    channel = world.fr.general
    portrait = tmp_path / "portrait.jpg"
    portrait.write_bytes(b"\xff\xd8\xff\xe0 a portrait")
    photo = Photo(key="p1", path=portrait, name="portrait.jpg")
    long = ReplyBuilder()
    for number in range(12):
        long.line(f"{number} " + "word " * 100)
    sender = DiscordSender(discord_settings.discord_token or "", dc.api_base)
    try:
        for _ in range(3):
            await sender.send(str(channel.id), long.build(), key="row-1")
            await sender.send(
                str(channel.id), ReplyBuilder().line("x").build(photo=photo), key="row-2"
            )
        await sender.send(str(channel.id), text_reply("no key"))
        await sender.send(str(channel.id), text_reply("no key"))
    finally:
        await sender.close()
    posted = dc.messages(channel)
    assert len(posted) == 2 + 1 + 2  # two parts, one photo, and the two without a key
    assert dc.stats.nonce_repeats == 2 * 3
    assert len(dc.uploads) == 3  # the photo was uploaded each time; Discord kept the first
    with_photo = [m for m in posted if m.attachments]
    assert len(with_photo) == 1 and with_photo[0].attachments[0]["filename"] == "portrait.jpg"
    nonces = [m.nonce for m in posted if m.nonce is not None]
    assert len(set(nonces)) == 3 and all(len(str(n)) <= 25 for n in nonces)
