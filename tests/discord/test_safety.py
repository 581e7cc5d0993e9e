"""Mention and markdown injection from data and user input, and Discord's size limits, end to
end: the fake computes who a message would notify and refuses any message over a limit."""

from __future__ import annotations

import datetime as dt

from bot.adapters.discord import DiscordAdapter
from bot.app import App
from bot.core.domain import (
    Anniversary,
    AnniversaryKind,
    Event,
    Memorial,
    MemorialKind,
    Precision,
    Source,
)
from bot.core.i18n import translator
from bot.core.records import Dataset
from bot.core.reply import Reply
from handlers.today import digest
from tests.discord.conftest import EVENT_START, World, command, message_of
from tests.fakes.discord_server import FakeDiscordServer, SentMessage

ZWSP = "\u200b"
SEED = (Source(seed="discord-tests.txt"),)


def hostile(role_id: int, user_id: int) -> str:
    """Text that would ping everyone, a role and a user, and format the message."""
    return (
        f"@everyone @here <@&{role_id}> <@{user_id}> **Hero** __x__ [click](https://evil.example)"
    )


def assert_inert(message: SentMessage, role_id: int) -> None:
    """Nobody is notified and the markdown shows as typed."""
    assert not message.pings.anyone, message.pings
    assert message.allowed_mentions == {"parse": []}
    text = message.text
    assert "@everyone" not in text.replace(f"@{ZWSP}everyone", "")
    assert f"<@&{role_id}>" not in text
    assert "**Hero**" not in text
    assert r"\*\*Hero\*\*" in text


async def test_hostile_data_and_queries_ping_nobody(
    app: App, dc: FakeDiscordServer, world: World, adapter: DiscordAdapter
) -> None:
    server = world.ru
    role, user = server.organizers.id, server.member.id
    bad = hostile(role, user)
    memorial = Memorial(
        slug="hostile-memorial",
        kind=MemorialKind.MONUMENT,
        names={"en": f"Zzyzx {bad}", "ru": f"Zzyzx {bad}"},
        city={"en": f"City {bad}"},
        country="BE",
        lat=50.0,
        lon=4.0,
        precision=Precision.SITE,
        sources=SEED,
        description={"ru": bad},
    )
    event = Event(
        slug="hostile-event",
        starts_at=EVENT_START,
        timezone="Europe/Brussels",
        title={"en": bad},
        place={"en": bad},
        description={"en": bad},
    )
    anniversary = Anniversary(
        slug="hostile-day",
        month=5,
        day=9,
        kind=AnniversaryKind.OTHER,
        title={"en": bad},
        text={"en": bad},
        sources=SEED,
    )
    await app.store.upsert(
        Dataset(memorials=[memorial], events=[event], anniversaries=[anniversary])
    )
    app.core.invalidate_index()

    _, card = await command(dc, server, server.member, "memorial", {"query": "Zzyzx"})
    assert_inert(message_of(card), role)
    _, events = await command(dc, server, server.member, "events")
    assert_inert(message_of(events), role)
    _, today = await command(dc, server, server.member, "today")
    assert_inert(message_of(today), role)

    # the user's own text comes back in ephemeral content: still inert
    _, nothing = await command(dc, server, server.member, "memorial", {"query": f"qqq {bad}"})
    assert_inert(message_of(nothing), role)
    short = f"@everyone <@&{role}> **Hero**"
    _, usage = await command(dc, server, server.organizer, "timezone", {"zone": short})
    assert usage.ephemeral
    assert usage.content
    assert f"@{ZWSP}everyone" in usage.content
    assert_inert(message_of(usage), role)

    # a scheduled post of the same data
    await adapter.sender.send(str(server.news.id), await _digest(app))
    [post] = dc.messages(server.news)
    assert_inert(post, role)


async def _digest(app: App) -> Reply:
    day = dt.date(2026, 5, 9)
    return digest(translator("en"), day, await app.core.on_this_day(day))


async def test_a_long_reply_is_split_within_discord_limits(
    app: App, dc: FakeDiscordServer, world: World, adapter: DiscordAdapter
) -> None:
    words = " ".join(f"*слово{n}*" for n in range(900))
    long_days = [
        Anniversary(
            slug=f"long-{number}",
            month=6,
            day=22,
            year=1941,
            kind=AnniversaryKind.OTHER,
            title={"en": "T" * 300, "ru": "Т" * 300},
            text={"en": words, "ru": words},
            sources=SEED,
        )
        for number in range(3)
    ]
    await app.store.upsert(Dataset(anniversaries=long_days))
    server = world.ru
    handle, first = await command(dc, server, server.member, "today", {"date": "06-22"})
    assert first.type == 4
    parts = [message_of(first)]
    await dc.wait_for(
        lambda: True if handle.followups and handle.followups[-1].custom_ids else None,
        5,
        "the last part, with the buttons",
    )
    assert len(handle.followups) >= 6
    parts += handle.followups
    for part in parts:  # the fake refused any part over a limit; check anyway
        assert len(part.content) <= 2000
        assert len(part.embeds) <= 10
        total = 0
        for embed in part.embeds:
            assert len(embed.get("title") or "") <= 256
            assert len(embed.get("description") or "") <= 4096
            total += len(embed.get("title") or "") + len(embed.get("description") or "")
        assert total <= 6000
    text = "\n".join(part.text for part in parts)
    assert text.count("слово899") == 3
    assert parts[-1].custom_ids == ["cb:today:2026-06-21", "cb:today:2026-06-23"]
    assert all(not part.custom_ids for part in parts[:-1])
