"""Domain types shared by every part of the bot.

Content is data: names, titles and texts are ``Localized`` mappings from a language code to
text, resolved with a fallback chain (requested language, then English, then any).
"""

from __future__ import annotations

import calendar
import datetime as dt
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from bot.core.timeutil import zone

LANGUAGES: tuple[str, ...] = ("en", "ru", "fr", "nl", "de")
"""The five languages the bot speaks, English first (the fallback)."""

Localized = Mapping[str, str]


def pick(text: Localized | None, language: str) -> str:
    """Return ``text`` in ``language``, else English, else any non-empty translation, else ""."""
    if not text:
        return ""
    for code in (language, "en"):
        value = text.get(code)
        if value:
            return value
    for value in text.values():
        if value:
            return value
    return ""


class MemorialKind(enum.StrEnum):
    """What kind of place a memorial is."""

    GRAVE = "grave"
    MASS_GRAVE = "mass_grave"
    MONUMENT = "monument"
    PLAQUE = "plaque"
    CEMETERY = "cemetery"
    MUSEUM = "museum"
    MEMORIAL = "memorial"


class Precision(enum.StrEnum):
    """How exact a memorial's coordinates are."""

    SITE = "site"
    TOWN = "town"


class AnniversaryKind(enum.StrEnum):
    """What an anniversary commemorates."""

    BATTLE = "battle"
    LIBERATION = "liberation"
    COMMEMORATION_DAY = "commemoration_day"
    UNVEILING = "unveiling"
    CEREMONY = "ceremony"
    FOUNDING = "founding"
    TRAGEDY = "tragedy"
    OTHER = "other"


class EventStatus(enum.StrEnum):
    """The state of an event: a draft is never announced."""

    DRAFT = "draft"
    SCHEDULED = "scheduled"
    MOVED = "moved"
    CANCELLED = "cancelled"


class Recurrence(enum.StrEnum):
    """How an event comes back: a ceremony held on about the same day every year."""

    YEARLY = "yearly"


class Platform(enum.StrEnum):
    """Chat platforms the bot speaks on."""

    TELEGRAM = "telegram"
    DISCORD = "discord"
    CONSOLE = "console"


class ChatKind(enum.StrEnum):
    """The kind of conversation a request comes from."""

    PRIVATE = "private"
    GROUP = "group"
    CHANNEL = "channel"


class DeliveryStatus(enum.StrEnum):
    """Where a delivery ledger row stands; every row ends as sent, failed or skipped."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class Source:
    """Where a fact comes from: a seed file of the project, or a public reference.

    ``ref`` is the title of the publication or page, ``publisher`` who published it, ``date``
    its publication date (``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``). ``seed`` names the file of
    ``shared/seeds/`` it was taken from: provenance only, never shown to users.
    """

    seed: str | None = None
    ref: str | None = None
    url: str | None = None
    publisher: str | None = None
    date: str | None = None

    def label(self) -> str:
        """A short human-readable label for the source (never the seed's file name)."""
        return self.ref or self.url or ""

    def as_row(self) -> dict[str, str]:
        """The source's non-empty fields by name, in the order of SOURCE_FIELDS."""
        return {name: value for name in SOURCE_FIELDS if (value := getattr(self, name))}

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Source:
        """A source from a mapping of SOURCE_FIELDS (other keys are ignored)."""
        return cls(**{name: row.get(name) or None for name in SOURCE_FIELDS})


SOURCE_FIELDS = ("seed", "ref", "publisher", "date", "url")


@dataclass(frozen=True, slots=True)
class GeoPoint:
    """A WGS84 position in decimal degrees."""

    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class PersonRef:
    """A person as shown on a memorial: slug and names."""

    slug: str
    names: Localized


@dataclass(frozen=True, slots=True)
class Memorial:
    """A grave, monument, plaque, cemetery or museum that keeps the memory of the war."""

    slug: str
    kind: MemorialKind
    names: Localized
    city: Localized
    country: str
    lat: float
    lon: float
    precision: Precision
    sources: tuple[Source, ...]
    aliases: tuple[str, ...] = ()
    description: Localized = field(default_factory=dict)
    address: str | None = None
    region: Localized = field(default_factory=dict)
    inscription: Localized = field(default_factory=dict)
    year: int | None = None
    people: tuple[PersonRef, ...] = ()
    id: int | None = None


@dataclass(frozen=True, slots=True)
class Person:
    """Someone commemorated: names and their spellings, life, fate."""

    slug: str
    names: Localized
    sources: tuple[Source, ...]
    aliases: tuple[str, ...] = ()
    born: int | None = None
    died: int | None = None
    rank: Localized = field(default_factory=dict)
    unit: Localized = field(default_factory=dict)
    fate: Localized = field(default_factory=dict)
    burial_memorial: str | None = None
    id: int | None = None


@dataclass(frozen=True, slots=True)
class Anniversary:
    """A dated fact remembered every year on its month and day."""

    slug: str
    month: int
    day: int
    kind: AnniversaryKind
    title: Localized
    text: Localized
    sources: tuple[Source, ...]
    year: int | None = None
    memorial: str | None = None
    observed_in: tuple[str, ...] = ()
    id: int | None = None

    def years_ago(self, on: dt.date) -> int | None:
        """How many years before ``on`` it happened, when the year is known."""
        return None if self.year is None else on.year - self.year


EVENT_LENGTH = dt.timedelta(hours=2)
"""How long an event is taken to last when its organizer gave no end."""
DEFAULT_REMINDERS: tuple[int, ...] = (7 * 24 * 60, 24 * 60, 2 * 60)
"""Reminders of an event, in minutes before it starts: a week, a day and two hours."""


@dataclass(frozen=True, slots=True)
class Event:
    """A ceremony or action announced for a moment in a place's time zone.

    A ``recurrence`` of ``yearly`` marks a ceremony that sources show held every year
    around ``starts_at``'s day; ``confirmed`` is False while no organizer or source has
    confirmed this year's date and time ("usually held; an organizer confirms each year").
    An event announced by an organizer is confirmed and does not recur.
    """

    slug: str
    starts_at: dt.datetime
    timezone: str
    title: Localized
    status: EventStatus = EventStatus.SCHEDULED
    description: Localized = field(default_factory=dict)
    place: Localized = field(default_factory=dict)
    memorial: str | None = None
    organizer: str | None = None
    sources: tuple[Source, ...] = ()
    recurrence: Recurrence | None = None
    confirmed: bool = True
    languages: tuple[str, ...] = ()
    """The languages it is announced in (a following chat in another language gets it in
    the first of these); empty: every language."""
    country: str | None = None
    """ISO code of the place's country (an event at a memorial takes the memorial's)."""
    city: str | None = None
    """The place's town, as written locally (an event at a memorial takes the memorial's)."""
    lat: float | None = None
    lon: float | None = None
    ends_at: dt.datetime | None = None
    reminders: tuple[int, ...] = DEFAULT_REMINDERS
    """Minutes before the start at which reminders go out."""
    sequence: int = 0
    """Bumped by every change that subscribers hear of (time, place, cancellation)."""
    announced_at: dt.datetime | None = None
    """When the current version was published (announcements and reminders are due from
    then); None for a draft."""
    created_by: str | None = None
    """Who created it in chat, as ``platform:user_id``."""
    origin: str | None = None
    """The chat it was published from, as ``platform:chat_id``."""
    id: int | None = None

    @property
    def ends(self) -> dt.datetime:
        """When it is over: its end (when after its start), or ``EVENT_LENGTH`` after it."""
        if self.ends_at is not None and self.ends_at > self.starts_at:
            return self.ends_at
        return self.starts_at + EVENT_LENGTH

    def occurrence_after(self, instant: dt.datetime) -> dt.datetime | None:
        """The start of the first occurrence at or after ``instant``: ``starts_at`` itself,
        or for a yearly event the same local date and time in the first year that is not
        past (29 February falls on 28 February in other years); None when it is over."""
        if self.starts_at >= instant:
            return self.starts_at
        if self.recurrence is not Recurrence.YEARLY:
            return None
        place = zone(self.timezone)
        local = self.starts_at.astimezone(place)
        year = max(local.year, instant.astimezone(place).year)
        while True:
            leap_day = (local.month, local.day) == (2, 29)
            day = 28 if leap_day and not calendar.isleap(year) else local.day
            candidate = local.replace(year=year, day=day, tzinfo=None).replace(tzinfo=place)
            start = candidate.astimezone(dt.UTC)
            if start >= instant:
                return start
            year += 1

    def next_occurrence(self, instant: dt.datetime) -> Event | None:
        """This event moved to its first occurrence at or after ``instant`` (see
        ``occurrence_after``), or None when it is over."""
        start = self.occurrence_after(instant)
        if start is None:
            return None
        return self if start == self.starts_at else replace(self, starts_at=start)


@dataclass(frozen=True, slots=True)
class ChatSettings:
    """A chat's stored choices; ``None`` means "use the default"."""

    platform: str
    chat_id: str
    language: str | None = None
    timezone: str | None = None


@dataclass(frozen=True, slots=True)
class Subscription:
    """A chat (or forum topic) that receives the daily post at a local time."""

    platform: str
    chat_id: str
    language: str
    timezone: str
    delivery_time: dt.time
    thread_id: str = ""
    topics: tuple[str, ...] = ("today", "events")
    active: bool = True
    follow: str = "all"
    """Which announcements the chat hears of: ``all``, ``none``, ``country:BE``,
    ``city:Liège``, ``memorial:<slug>``."""
    id: int | None = None


@dataclass(frozen=True, slots=True)
class ScoredMemorial:
    """A search hit: the memorial, its score (0-100) and, for nearest queries, the distance."""

    memorial: Memorial
    score: float
    distance_km: float | None = None


@dataclass(frozen=True, slots=True)
class ConversationKey:
    """Whose conversation: one per platform, chat, forum topic and user, so that two people
    filling forms in one group never mix."""

    platform: str
    chat_id: str
    thread_id: str
    user_id: str


@dataclass(frozen=True, slots=True)
class ConversationState:
    """A conversation in progress: the flow, the step awaiting an answer, the answers so far.

    ``answers`` holds JSON values only (it is stored as JSON). ``turn`` counts the questions
    asked, so that a button or modal of an earlier question is recognised as stale.
    ``offered`` are the values of the choices the current question offers, in order, and
    ``labels`` what they read (a typed label picks its choice).
    """

    key: ConversationKey
    flow: str
    step: str
    answers: dict[str, Any]
    updated_at: dt.datetime
    turn: int = 1
    offered: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    language: str = ""


@dataclass(frozen=True, slots=True)
class Organizer:
    """A bot-wide organizer added in chat (``/organizer add``), beside ``ORGANIZER_IDS``."""

    platform: str
    user_id: str
    name: str = ""
    added_by: str = ""
    """Who added them, as ``platform:user_id``."""
    added_at: dt.datetime | None = None


class RsvpAnswer(enum.StrEnum):
    """What someone answered to an announcement."""

    YES = "yes"
    NO = "no"


@dataclass(frozen=True, slots=True)
class Rsvp:
    """One person's answer to an event, on one platform, with the name the platform gives."""

    event_id: int
    platform: str
    user_id: str
    answer: RsvpAnswer
    name: str = ""


@dataclass(frozen=True, slots=True)
class RsvpCount:
    """How many said they will come and how many will not, over every platform."""

    yes: int = 0
    no: int = 0


@dataclass(frozen=True, slots=True)
class Pin:
    """A message the bot pinned in a chat, to unpin at ``until``."""

    platform: str
    chat_id: str
    message_id: str
    until: dt.datetime


@dataclass(frozen=True, slots=True)
class CalendarLink:
    """An event as copied into a platform's own calendar of a space (a Discord server's
    scheduled events): which version was copied, and the last failure, if any."""

    platform: str
    space_id: str
    event_id: int
    external_id: str = ""
    sequence: int = 0
    error: str = ""


MAX_RECORD_ID = 2**63 - 1
"""The largest id or count a database column holds (a signed 64-bit integer)."""


def parse_number(text: str, maximum: int = MAX_RECORD_ID) -> int | None:
    """A record id, an offset or a count typed or sent back by a button: ASCII digits only
    (``str.isdigit`` also takes "²" and "٣", which ``int`` refuses or reads unexpectedly) and
    at most ``maximum`` (a larger number overflows the database's integer); None otherwise."""
    text = text.strip()
    if not text or len(text) > 19 or not text.isascii() or not text.isdigit():
        return None
    number = int(text)
    return number if number <= maximum else None
