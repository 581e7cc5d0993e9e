"""Events as iCalendar (RFC 5545) with the maintained ``icalendar`` library.

Every calendar is ``METHOD:PUBLISH`` with its ``PRODID``, ``VERSION:2.0`` and
``CALSCALE:GREGORIAN``. Every event has a ``UID`` that never changes (``event-<slug>@
commemoration-bot``), its ``SEQUENCE`` (bumped by every change its followers hear of), a
``DTSTART``/``DTEND`` in the place's zone with the matching ``VTIMEZONE`` (generated from
zoneinfo by icalendar, over the years the calendar spans), and a ``STATUS``: ``CANCELLED``
for a cancelled event, ``TENTATIVE`` for a ceremony no organizer has confirmed yet (shown
as an all-day event on its usual date, as the bot shows it: no hour is invented), and
``CONFIRMED`` otherwise. Drafts never enter a feed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from zoneinfo import ZoneInfo

import icalendar
from icalendar.enums import STATUS

from bot.core.domain import Event, EventStatus, pick
from bot.core.i18n import translator
from bot.core.timeutil import zone

PRODID = "-//commemoration-bot//Calendars//EN"
UID_DOMAIN = "commemoration-bot"
CONTENT_TYPE = "text/calendar; charset=utf-8"
"""The HTTP Content-Type of what this module makes."""


def event_uid(event: Event) -> str:
    """The event's ``UID``: the same for every version of it, in every file and feed."""
    return f"event-{event.slug}@{UID_DOMAIN}"


def ics_status(event: Event) -> STATUS:
    """The ``STATUS`` of an event: cancelled, tentative (not confirmed yet) or confirmed."""
    if event.status is EventStatus.CANCELLED:
        return STATUS.CANCELLED
    if not event.confirmed:
        return STATUS.TENTATIVE
    return STATUS.CONFIRMED


def _place_zone(event: Event) -> ZoneInfo:
    """The place's zone; UTC when the stored name is not a known zone."""
    try:
        return zone(event.timezone)
    except ValueError:
        return ZoneInfo("UTC")


def _span(event: Event) -> tuple[dt.date | dt.datetime, dt.date | dt.datetime]:
    """``DTSTART`` and ``DTEND``: local times in the place's zone, or, for an event whose
    date only is known, the local date and the next day."""
    place = _place_zone(event)
    start = event.starts_at.astimezone(place)
    if not event.confirmed:
        return start.date(), start.date() + dt.timedelta(days=1)
    return start, event.ends.astimezone(place)


def vevent(event: Event, language: str, *, stamp: dt.datetime) -> icalendar.Event:
    """One ``VEVENT`` of ``event``, its texts in ``language`` (one of ``LANGUAGES``)."""
    t = translator(language)
    start, end = _span(event)
    lines = [pick(event.description, language)]
    if not event.confirmed:
        lines.append(t.gettext("Usually held; an organizer confirms each year."))
    description = "\n\n".join(line for line in lines if line)
    component = icalendar.Event.new(
        uid=event_uid(event),
        stamp=stamp.astimezone(dt.UTC),
        start=start,
        end=end,
        summary=pick(event.title, language) or event.slug,
        description=description or None,
        location=pick(event.place, language) or None,
        sequence=event.sequence,
        status=ics_status(event),
        last_modified=event.announced_at.astimezone(dt.UTC) if event.announced_at else None,
    )
    if event.lat is not None and event.lon is not None:
        component.add("geo", (event.lat, event.lon))
    return component


def _calendar(components: list[icalendar.Event], name: str | None) -> bytes:
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    if name:
        calendar.add("name", name)
        calendar.add("x-wr-calname", name)
    for component in components:
        calendar.add_component(component)
    starts = [component.start for component in components]
    if starts:
        # Zone definitions over whole years around the events: as small as can be, and
        # the same bytes for the same events all year long.
        first = min(value.year for value in starts)
        last = max(component.end.year for component in components)
        calendar.add_missing_timezones(dt.date(first, 1, 1), dt.date(last + 2, 1, 1))
    ics: bytes = calendar.to_ical()
    return ics


def event_ics(event: Event, language: str, *, now: dt.datetime | None = None) -> bytes:
    """A calendar file holding one event (a draft too: its organizer may want it), its
    texts in ``language``; ``now`` is its ``DTSTAMP`` (default: the current time)."""
    stamp = now or dt.datetime.now(dt.UTC)
    return _calendar([vevent(event, language, stamp=stamp)], None)


def feed_ics(events: Iterable[Event], language: str, *, now: dt.datetime | None = None) -> bytes:
    """A calendar of ``events`` (drafts left out) named "Upcoming events" in ``language``;
    ``now`` is the ``DTSTAMP`` of every event (default: the current time)."""
    stamp = now or dt.datetime.now(dt.UTC)
    components = [
        vevent(event, language, stamp=stamp)
        for event in events
        if event.status is not EventStatus.DRAFT
    ]
    return _calendar(components, translator(language).gettext("Upcoming events"))
