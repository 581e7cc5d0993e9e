"""Events as iCalendar: what ``bot.calendars.ics`` writes, parsed back with ``icalendar`` and
checked against RFC 5545 (and RFC 5546's PUBLISH); and the feed's filter and places."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from zoneinfo import ZoneInfo

import icalendar
import pytest

from bot.calendars.feed import FeedFilter, fold, located
from bot.calendars.ics import CONTENT_TYPE, PRODID, event_ics, event_uid, feed_ics
from bot.core.domain import Event, EventStatus, Memorial, MemorialKind, Precision, Recurrence

NOW = dt.datetime(2026, 5, 1, 8, 30, tzinfo=dt.UTC)
BRUSSELS = ZoneInfo("Europe/Brussels")

CALENDAR_REQUIRED = ("PRODID", "VERSION")
EVENT_REQUIRED = ("UID", "DTSTAMP", "DTSTART")
"""RFC 5545 3.6 and 3.6.1; with METHOD:PUBLISH, RFC 5546 3.2.1 also requires DTSTART,
SUMMARY and SEQUENCE (when not 0) of every VEVENT."""


def ceremony(**changes: object) -> Event:
    """A confirmed ceremony at Liège, noon local time on 9 May 2026."""
    event = Event(
        id=7,
        slug="wreath-liege-2026",
        starts_at=dt.datetime(2026, 5, 9, 12, 0, tzinfo=BRUSSELS).astimezone(dt.UTC),
        timezone="Europe/Brussels",
        title={"en": "Wreath-laying, Liège; 9 May", "ru": "Возложение венков в Льеже"},
        description={"en": "Flowers at the Citadel.\nBring a portrait.", "ru": "Цветы у стены."},
        place={"en": "Citadel of Liège, Liège", "ru": "Цитадель Льежа"},
        country="BE",
        city="Liège",
        lat=50.6497,
        lon=5.5739,
        sequence=1,
        announced_at=dt.datetime(2026, 4, 20, 10, 0, tzinfo=dt.UTC),
    )
    return replace(event, **changes)  # type: ignore[arg-type]


def parse(ics: bytes) -> icalendar.Calendar:
    """The calendar in ``ics``, which must parse and hold no zone it does not define."""
    calendar = icalendar.Calendar.from_ical(ics)
    assert isinstance(calendar, icalendar.Calendar)
    assert calendar.get_missing_tzids() == set()
    return calendar


def local(value: dt.date) -> dt.datetime:
    """A DTSTART or DTEND that must be a date and time, as wall-clock time (no zone)."""
    assert isinstance(value, dt.datetime)
    return value.replace(tzinfo=None)


def text(vevent: icalendar.Event, name: str) -> str:
    """A text property of ``vevent``."""
    return str(vevent[name])


def only_event(ics: bytes) -> icalendar.Event:
    events = parse(ics).events
    assert len(events) == 1
    return events[0]


def test_a_calendar_has_rfc_5545s_required_properties() -> None:
    calendar = parse(event_ics(ceremony(), "en", now=NOW))
    for name in CALENDAR_REQUIRED:
        assert name in calendar, name
    assert calendar["PRODID"] == PRODID
    assert calendar["VERSION"] == "2.0"
    assert calendar["CALSCALE"] == "GREGORIAN"
    assert calendar["METHOD"] == "PUBLISH"
    assert CONTENT_TYPE == "text/calendar; charset=utf-8"


def test_an_event_has_every_property_subscribers_need() -> None:
    vevent = only_event(event_ics(ceremony(), "en", now=NOW))
    for name in (*EVENT_REQUIRED, "DTEND", "SUMMARY", "DESCRIPTION", "LOCATION", "GEO"):
        assert name in vevent, name
    assert vevent["UID"] == "event-wreath-liege-2026@commemoration-bot"
    assert vevent.DTSTAMP == NOW
    assert vevent.DTSTAMP.utcoffset() == dt.timedelta(0)
    assert vevent["SUMMARY"] == "Wreath-laying, Liège; 9 May"
    assert vevent["DESCRIPTION"] == "Flowers at the Citadel.\nBring a portrait."
    assert vevent["LOCATION"] == "Citadel of Liège, Liège"
    geo = vevent["GEO"]
    assert isinstance(geo, icalendar.vGeo)
    assert (geo.latitude, geo.longitude) == (50.6497, 5.5739)
    assert vevent["STATUS"] == "CONFIRMED"
    assert vevent.sequence == 1
    assert vevent.last_modified == dt.datetime(2026, 4, 20, 10, 0, tzinfo=dt.UTC)


def test_the_start_is_local_time_with_its_tzid_and_a_matching_vtimezone() -> None:
    event = ceremony()
    calendar = parse(event_ics(event, "en", now=NOW))
    vevent = calendar.events[0]
    assert vevent["DTSTART"].params["TZID"] == "Europe/Brussels"
    assert vevent["DTEND"].params["TZID"] == "Europe/Brussels"
    assert local(vevent.start) == dt.datetime(2026, 5, 9, 12, 0)
    assert [timezone.tz_name for timezone in calendar.timezones] == ["Europe/Brussels"]
    # The VTIMEZONE itself (not the reader's zoneinfo) gives the right instant, in summer
    # and in winter alike.
    defined = calendar.timezones[0].to_tz(lookup_tzid=False)
    assert local(vevent.start).replace(tzinfo=defined) == event.starts_at
    winter = replace(event, starts_at=dt.datetime(2026, 12, 3, 9, 30, tzinfo=dt.UTC))
    start = only_event(event_ics(winter, "en", now=NOW)).start
    assert local(start) == dt.datetime(2026, 12, 3, 10, 30)
    assert local(start).replace(tzinfo=defined) == winter.starts_at


def test_the_end_is_the_events_or_two_hours_after_the_start() -> None:
    event = ceremony()
    vevent = only_event(event_ics(event, "en", now=NOW))
    assert vevent.end - vevent.start == dt.timedelta(hours=2)
    longer = replace(event, ends_at=event.starts_at + dt.timedelta(hours=5))
    vevent = only_event(event_ics(longer, "en", now=NOW))
    assert local(vevent.end) == dt.datetime(2026, 5, 9, 17, 0)


def test_the_uid_is_stable_and_the_sequence_follows_every_change() -> None:
    first = only_event(event_ics(ceremony(), "en", now=NOW))
    moved_event = ceremony(
        starts_at=dt.datetime(2026, 5, 10, 10, 0, tzinfo=dt.UTC),
        status=EventStatus.MOVED,
        sequence=2,
    )
    moved = only_event(event_ics(moved_event, "ru", now=NOW + dt.timedelta(days=1)))
    assert first["UID"] == moved["UID"] == event_uid(ceremony())
    assert (first.sequence, moved.sequence) == (1, 2)
    assert moved["STATUS"] == "CONFIRMED"
    assert moved["SUMMARY"] == "Возложение венков в Льеже"


def test_a_cancelled_event_is_marked_cancelled() -> None:
    cancelled = ceremony(status=EventStatus.CANCELLED, sequence=3)
    vevent = only_event(event_ics(cancelled, "en", now=NOW))
    assert vevent["STATUS"] == "CANCELLED"
    assert vevent.sequence == 3
    feed = parse(feed_ics([cancelled], "en", now=NOW))
    assert [event["STATUS"] for event in feed.events] == ["CANCELLED"]


def test_a_yearly_unconfirmed_ceremony_is_tentative_on_its_date_only() -> None:
    yearly = ceremony(recurrence=Recurrence.YEARLY, confirmed=False, sequence=0)
    vevent = only_event(event_ics(yearly, "ru", now=NOW))
    assert vevent["STATUS"] == "TENTATIVE"
    assert vevent.start == dt.date(2026, 5, 9)
    assert vevent.end == dt.date(2026, 5, 10)
    assert vevent["DTSTART"].params.get("VALUE") == "DATE"
    description = text(vevent, "DESCRIPTION")
    assert "Цветы у стены." in description
    assert "Usually held" not in description  # translated
    assert "организатор" in description
    assert "SEQUENCE" in vevent
    assert vevent.sequence == 0


def test_the_feed_leaves_drafts_out_and_defines_each_zone_once() -> None:
    moscow = ceremony(
        id=8,
        slug="vyazma-2026",
        starts_at=dt.datetime(2026, 10, 7, 8, 0, tzinfo=dt.UTC),
        timezone="Europe/Moscow",
        country="RU",
        city="Vyazma",
        lat=None,
        lon=None,
    )
    draft = ceremony(id=9, slug="draft-rebecq", status=EventStatus.DRAFT, sequence=0)
    second_liege = ceremony(id=10, slug="liege-evening", sequence=0)
    calendar = parse(feed_ics([ceremony(), draft, moscow, second_liege], "en", now=NOW))
    uids = [str(event["UID"]) for event in calendar.events]
    assert uids == [
        "event-wreath-liege-2026@commemoration-bot",
        "event-vyazma-2026@commemoration-bot",
        "event-liege-evening@commemoration-bot",
    ]
    assert sorted(timezone.tz_name for timezone in calendar.timezones) == [
        "Europe/Brussels",
        "Europe/Moscow",
    ]
    assert "GEO" not in calendar.events[1]
    assert local(calendar.events[1].start) == dt.datetime(2026, 10, 7, 11, 0)
    assert calendar["X-WR-CALNAME"] == "Upcoming events"
    for vevent in calendar.events:
        for name in EVENT_REQUIRED:
            assert name in vevent, name


def test_an_empty_feed_is_a_valid_calendar() -> None:
    calendar = parse(feed_ics([], "de", now=NOW))
    assert calendar.events == []
    assert calendar["METHOD"] == "PUBLISH"


def test_the_same_events_give_the_same_bytes() -> None:
    events = [ceremony(), ceremony(slug="other", id=11)]
    assert feed_ics(events, "fr", now=NOW) == feed_ics(events, "fr", now=NOW)


def test_texts_with_ical_special_characters_round_trip() -> None:
    tricky = ceremony(title={"en": "A, B; C\\D\nE"}, place={"en": "Rue de l'Église, 12; Evere"})
    vevent = only_event(event_ics(tricky, "en", now=NOW))
    assert vevent["SUMMARY"] == "A, B; C\\D\nE"
    assert vevent["LOCATION"] == "Rue de l'Église, 12; Evere"


@pytest.mark.parametrize("language", ["en", "ru", "fr", "nl", "de"])
def test_every_language_makes_a_parsable_calendar(language: str) -> None:
    calendar = parse(feed_ics([ceremony()], language, now=NOW))
    assert calendar.events[0]["SUMMARY"]


# -- the feed: filters and places ---------------------------------------------------------

CITADEL = Memorial(
    slug="liege-citadel-memorial",
    kind=MemorialKind.MEMORIAL,
    names={"en": "Citadel of Liège Memorial", "ru": "Мемориал в Цитадели Льежа"},
    city={"en": "Liège", "nl": "Luik", "de": "Lüttich", "ru": "Льеж"},
    country="BE",
    lat=50.6497,
    lon=5.5739,
    precision=Precision.SITE,
    sources=(),
)


def test_an_event_at_a_memorial_takes_its_place_position_and_country() -> None:
    bare = ceremony(memorial=CITADEL.slug, place={}, country=None, city=None, lat=None, lon=None)
    event = located(bare, CITADEL)
    assert event.place["en"] == "Citadel of Liège Memorial, Liège"
    assert event.place["ru"] == "Мемориал в Цитадели Льежа, Льеж"
    assert (event.country, event.lat, event.lon) == ("BE", 50.6497, 5.5739)
    vevent = only_event(event_ics(event, "ru", now=NOW))
    assert vevent["LOCATION"] == "Мемориал в Цитадели Льежа, Льеж"
    assert "GEO" in vevent
    assert located(ceremony(), CITADEL).place == ceremony().place


def test_the_filter_matches_country_town_in_any_language_and_memorial() -> None:
    at_memorial = ceremony(memorial=CITADEL.slug, country=None, city=None)
    assert FeedFilter().matches(at_memorial, CITADEL)
    assert FeedFilter(country="be").matches(at_memorial, CITADEL)
    assert not FeedFilter(country="NL").matches(at_memorial, CITADEL)
    for town in ("Liège", "liege", "LUIK", "Lüttich", "Льеж"):
        assert FeedFilter(city=town).matches(at_memorial, CITADEL), town
    assert not FeedFilter(city="Genk").matches(at_memorial, CITADEL)
    assert FeedFilter(memorial=CITADEL.slug, country="BE").matches(at_memorial, CITADEL)
    assert not FeedFilter(memorial="evere").matches(at_memorial, CITADEL)
    assert FeedFilter(city="Liege", country="BE").matches(ceremony(), None)
    assert not FeedFilter(memorial=CITADEL.slug).matches(ceremony(), None)
    assert fold("  Liège  ") == fold("LIEGE") == "liege"
