"""Servers that switch it on list every published event in their own events (Discord's Guild
Scheduled Events), kept in step with moves and cancellations; where the bot may not manage
events, the failure is shown to the organizers and nothing else is held up."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import replace

import pytest

from bot.adapters.discord import DiscordAdapter
from bot.app import App
from bot.core.domain import Event, EventStatus
from tests.conftest import NOW
from tests.fakes.discord_gateway import PERMISSIONS
from tests.fakes.discord_server import DEFAULT_BOT_PERMISSIONS, FakeDiscordServer
from tests.flows.drivers import DISCORD_OPTIONS, discord_text

pytestmark = pytest.mark.slow

START = NOW + dt.timedelta(days=10)


async def test_events_follow_into_the_servers_own_events(app: App, dc: FakeDiscordServer) -> None:
    owner = dc.add_user("owner", locale="en-US")
    managed = dc.add_guild(
        "Memory",
        preferred_locale="en-US",
        owner=owner,
        channels=["general"],
        bot_permissions=DEFAULT_BOT_PERMISSIONS | PERMISSIONS["MANAGE_EVENTS"],
    )
    unmanaged = dc.add_guild("Readers", preferred_locale="en-US", owner=owner, channels=["general"])
    settings = replace(
        app.settings,
        discord_token=dc.token,
        discord_api_base_url=dc.api_base,
        discord_gateway_url=dc.gateway_url,
        organizer_ids=frozenset({f"discord:{owner.id}"}),
    )
    app.core.settings = replace(app.core.settings, organizer_ids=settings.organizer_ids)
    adapter = DiscordAdapter(
        app.dispatcher, settings, options=dataclasses.replace(DISCORD_OPTIONS, calendar_interval=0)
    )
    await adapter.start()
    try:
        for guild in (managed, unmanaged):
            handle = await dc.slash_command(
                guild, guild.channel("general"), owner, "calendar", {"state": "on"}
            )
            answer = discord_text(await handle.response(timeout=5))
            assert answer == "Announced events will also be listed in this server's events."
        event = await app.core.events.save_event(
            Event(
                slug="immortal-regiment-liege",
                starts_at=START,
                timezone="Europe/Brussels",
                title={"en": "Immortal Regiment at the Citadel"},
                place={"en": "Citadel of Liège"},
                status=EventStatus.SCHEDULED,
                sequence=1,
                announced_at=NOW,
                origin=f"discord:{managed.channel('general').id}",
            )
        )
        assert await adapter.sync_calendars() == 1  # the unmanaged server refused
        [listed] = dc.guild_events(managed)
        assert listed["name"] == "Immortal Regiment at the Citadel"
        assert listed["entity_type"] == 3 and listed["privacy_level"] == 2
        assert listed["entity_metadata"] == {"location": "Citadel of Liège"}
        assert dt.datetime.fromisoformat(listed["scheduled_start_time"]) == START
        assert dc.guild_events(unmanaged) == []
        assert await adapter.sync_calendars() == 0  # nothing changed, nothing sent again

        # The organizers see why it is missing from the other server.
        handle = await dc.slash_command(
            managed, managed.channel("general"), owner, "event", {"action": str(event.id)}
        )
        shown = discord_text(await handle.response(timeout=5))
        assert f"Not listed in the events of server {unmanaged.id}: " in shown
        assert "Missing Permissions" in shown

        moved = await app.core.events.save_event(
            replace(event, starts_at=START + dt.timedelta(hours=3), sequence=2)
        )
        assert await adapter.sync_calendars() == 1
        [listed] = dc.guild_events(managed)
        assert dt.datetime.fromisoformat(listed["scheduled_start_time"]) == moved.starts_at
        await app.core.cancel_event(moved)
        assert await adapter.sync_calendars() == 1
        [listed] = dc.guild_events(managed)
        assert listed["status"] == 4  # cancelled
    finally:
        await adapter.stop()
