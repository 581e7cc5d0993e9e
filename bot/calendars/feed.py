"""What a calendar feed holds: the upcoming published events, optionally only those of a
country, a town or a memorial, each with its place filled in from its memorial.

An event held at a memorial (the curated ceremonies, for one) may store neither a place nor
a position: the memorial's name, address or town, position and country stand in for them.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from bot.core.domain import LANGUAGES, Event, EventStatus, Memorial, pick
from bot.core.ports import EventRepository, MemorialRepository

FEED_LIMIT = 500
"""The most events a feed holds (the soonest ones)."""


def fold(text: str) -> str:
    """``text`` compared loosely: without accents, case or extra spaces ("Liège" = "liege")."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(bare.casefold().split())


@dataclass(frozen=True, slots=True)
class FeedFilter:
    """Which events a feed holds: all of them, or those of a country (ISO code), a town
    (in any language it is known by) or a memorial (slug); several at once must all hold."""

    country: str | None = None
    city: str | None = None
    memorial: str | None = None

    def matches(self, event: Event, memorial: Memorial | None) -> bool:
        """Whether ``event`` (held at ``memorial``, when it is) belongs in the feed."""
        if self.memorial is not None and event.memorial != self.memorial:
            return False
        if self.country is not None:
            country = event.country or (memorial.country if memorial else None)
            if (country or "").upper() != self.country.upper():
                return False
        if self.city is not None:
            names = [event.city or ""]
            if memorial is not None:
                names.extend(memorial.city.values())
            if fold(self.city) not in {fold(name) for name in names if name}:
                return False
        return True


def memorial_place(memorial: Memorial) -> dict[str, str]:
    """The place of an event at ``memorial``, per language: its name, then its address or
    else its town."""
    place: dict[str, str] = {}
    for language in LANGUAGES:
        parts = [pick(memorial.names, language), memorial.address or pick(memorial.city, language)]
        text = ", ".join(part for part in parts if part)
        if text:
            place[language] = text
    return place


def located(event: Event, memorial: Memorial | None) -> Event:
    """``event`` with what it does not store of its place taken from its memorial: the
    place's text, position and country."""
    if memorial is None:
        return event
    return replace(
        event,
        place=event.place or memorial_place(memorial),
        country=event.country or memorial.country,
        lat=event.lat if event.lat is not None else memorial.lat,
        lon=event.lon if event.lon is not None else memorial.lon,
    )


async def _memorials_of(
    memorials: MemorialRepository, events: Sequence[Event]
) -> Mapping[str, Memorial]:
    found: dict[str, Memorial] = {}
    for slug in sorted({event.memorial for event in events if event.memorial}):
        memorial = await memorials.get_memorial(slug)
        if memorial is not None:
            found[slug] = memorial
    return found


async def feed_events(
    events: EventRepository,
    memorials: MemorialRepository,
    now: dt.datetime,
    feed_filter: FeedFilter | None = None,
    limit: int = FEED_LIMIT,
) -> list[Event]:
    """The published events that start at or after ``now`` (cancelled ones included, so
    that calendars strike them out), soonest first, that ``feed_filter`` lets through,
    with their places filled in."""
    found = await events.upcoming(now, limit)
    upcoming = [event for event in found if event.status is not EventStatus.DRAFT]
    at = await _memorials_of(memorials, upcoming)
    chosen = feed_filter or FeedFilter()
    return [
        located(event, at.get(event.memorial or ""))
        for event in upcoming
        if chosen.matches(event, at.get(event.memorial or ""))
    ]


async def calendar_event(
    events: EventRepository, memorials: MemorialRepository, event_id: int, now: dt.datetime
) -> Event | None:
    """One published event by id, at its next occurrence when it recurs, with its place
    filled in; None when there is no such event or it is a draft."""
    event = await events.get_event(event_id)
    if event is None or event.status is EventStatus.DRAFT:
        return None
    event = event.next_occurrence(now) or event
    memorial = await memorials.get_memorial(event.memorial) if event.memorial else None
    return located(event, memorial)
