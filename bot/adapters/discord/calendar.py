"""Announced events copied into Discord servers' own events (Guild Scheduled Events).

In a server that switched it on (``/calendar on``), every published event is created as an
external scheduled event (its place, start and end) and kept in step: a new version (a new
time or place) edits it, a cancellation cancels it. What was copied, and any failure, is
stored (``CalendarLink``), so a failure is shown to the event's organizers (``/event ID``)
and tried again at the next pass; it never holds up an announcement, which goes through the
delivery ledger on its own.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import discord

from bot.core.domain import CalendarLink, Event, EventStatus, Platform, pick
from bot.core.services import Core

log = logging.getLogger(__name__)

PLATFORM = Platform.DISCORD.value
EXTERNAL = 3
GUILD_ONLY = 2
CANCELED = 4
NAME_LIMIT = 100
DESCRIPTION_LIMIT = 1000
LOCATION_LIMIT = 100


def scheduled_payload(event: Event, language: str) -> dict[str, Any]:
    """The scheduled event of ``event``: external, at its place, from start to end."""
    place = pick(event.place, language) or event.city or "—"
    return {
        "name": (pick(event.title, language) or event.slug)[:NAME_LIMIT],
        "description": pick(event.description, language)[:DESCRIPTION_LIMIT],
        "scheduled_start_time": event.starts_at.astimezone(dt.UTC).isoformat(),
        "scheduled_end_time": event.ends.astimezone(dt.UTC).isoformat(),
        "privacy_level": GUILD_ONLY,
        "entity_type": EXTERNAL,
        "entity_metadata": {"location": place[:LOCATION_LIMIT]},
    }


async def sync_calendars(core: Core, http: Any, describe: Any) -> int:
    """One pass over the servers that list events: create, edit or cancel what changed;
    returns how many calls Discord accepted."""
    spaces = await core.calendars.calendar_spaces(PLATFORM)
    if not spaces:
        return 0
    now = core.clock.now()
    events = [
        event
        for event in await core.events.all_events()
        if event.id is not None and event.status is not EventStatus.DRAFT and event.confirmed
    ]
    done = 0
    for space in spaces:
        links = {link.event_id: link for link in await core.calendars.links(PLATFORM, space)}
        for event in events:
            assert event.id is not None
            link = links.get(event.id)
            if link is not None and link.sequence == event.sequence and not link.error:
                continue
            if event.status is EventStatus.CANCELLED:
                if link is None or not link.external_id:
                    continue
                payload: dict[str, Any] = {"status": CANCELED}
            elif event.starts_at <= now:
                continue
            else:
                language = event.languages[0] if event.languages else core.settings.default_language
                payload = scheduled_payload(event, language)
            try:
                if link is not None and link.external_id:
                    data = await http.edit_scheduled_event(space, link.external_id, **payload)
                else:
                    data = await http.create_guild_scheduled_event(space, **payload)
            except discord.HTTPException as error:
                reason = describe(error)
                log.warning(
                    "Discord server %s: event %s not listed in its events: %s",
                    space,
                    event.id,
                    reason,
                )
                await core.calendars.save_link(
                    CalendarLink(
                        PLATFORM,
                        space,
                        event.id,
                        link.external_id if link else "",
                        link.sequence if link else 0,
                        reason,
                    )
                )
                continue
            done += 1
            await core.calendars.save_link(
                CalendarLink(PLATFORM, space, event.id, str(data["id"]), event.sequence)
            )
    return done
