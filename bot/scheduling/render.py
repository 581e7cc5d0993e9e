"""What a delivery says: each (item, date, language) rendered once and reused across the fan-out.

Daily posts are the ``/today`` digest of the subscriber's local date (``handlers.today.digest``,
with "N years ago"). A daily post is never skipped for lack of content: a day without
anniversaries shows the memorial of the day and the events coming up (``Core.day_content``).
Event items announce, remind of, or cancel an event, its time shown in the event's own zone;
a yearly ceremony not yet confirmed says so.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from bot.core.domain import LANGUAGES, Anniversary, Event, EventStatus, RsvpCount, pick
from bot.core.i18n import Translator, translator
from bot.core.reply import Reply, ReplyBuilder
from bot.core.services import DayContent
from bot.core.timeutil import zone
from bot.scheduling.planner import DAILY_ITEM, parse_event_key, split_kind
from handlers.events import event_card, rsvp_buttons
from handlers.today import digest

log = logging.getLogger(__name__)

AnniversariesOf = Callable[[dt.date], Awaitable[Sequence[Anniversary]]]
EventById = Callable[[int], Awaitable[Event | None]]
RsvpCountOf = Callable[[int], Awaitable[RsvpCount]]
DayContentOf = Callable[[dt.date], Awaitable[DayContent]]


def day_content_of(anniversaries: AnniversariesOf) -> DayContentOf | None:
    """The day's full content behind an anniversaries callable: ``Core.on_this_day`` comes
    with its ``Core.day_content`` (memorial of the day, events coming up); None otherwise."""
    owner = getattr(anniversaries, "__self__", None)
    found = getattr(owner, "day_content", None)
    return found if callable(found) else None


CacheKey = tuple[str, dt.date, str, str]
"""(item, occurrence date, language, subscriber's zone for an event item)."""


@dataclass(frozen=True, slots=True)
class Rendered:
    """A delivery's message, or the reason there is nothing to send."""

    reply: Reply | None
    skip_reason: str | None = None
    expires_at: dt.datetime | None = None
    """After this instant the message is moot (an event that has started)."""


def event_heading(t: Translator, kind: str, event: Event) -> str:
    """The first line of an event item: what happens to which event."""
    title = pick(event.title, t.language)
    what, minutes, sequence = split_kind(kind)
    if what == "cancelled":
        return t.gettext("Event cancelled: {title}", title=title)
    if what == "remind":
        if minutes >= 2 * 24 * 60:
            days = minutes // (24 * 60)
            return t.ngettext(
                "In {count} day: {title}", "In {count} days: {title}", days, title=title
            )
        if minutes >= 24 * 60:
            return t.gettext("Tomorrow: {title}", title=title)
        return t.gettext("Today: {title}", title=title)
    if event.status is EventStatus.MOVED:
        return t.gettext("Event moved: {title}", title=title)
    if sequence > 1:
        return t.gettext("Event changed: {title}", title=title)
    return t.gettext("New event: {title}", title=title)


def event_message(
    t: Translator,
    kind: str,
    event: Event,
    viewer_zone: str = "",
    count: RsvpCount | None = None,
) -> Reply:
    """An announcement, reminder or cancellation notice of ``event``: a heading, then the
    event's card (``handlers.events.event_card``: the time in the place's zone and, when it
    reads differently, in the subscriber's; the description only in the announcement)."""
    out = ReplyBuilder().bold(event_heading(t, kind, event)).line()
    what = split_kind(kind)[0]
    event_card(out, t, event, viewer_zone or event.timezone, description=what == "announce")
    if what != "cancelled":
        out.row(*rsvp_buttons(t, event, count or RsvpCount()))
    if what == "announce":
        return out.build(pin_until=event.ends)
    return out.build()


def announced_language(event: Event, language: str) -> str:
    """The language a subscriber gets an event in: theirs when the event is announced in it
    (or in every language), else the first of the event's."""
    if not event.languages or language in event.languages:
        return language
    return event.languages[0]


ItemRenderer = Callable[[str, dt.date, str, str], Awaitable["Rendered"]]
"""Renders the items of a feature that has its own (``item key, date, language, zone``)."""


class Renderer:
    """Renders delivery items, caching each (item, date, language) for ``ttl`` seconds.

    Items whose key starts with ``<prefix>:`` of ``items`` are rendered by that feature (the
    Immortal Regiment's portraits and notices)."""

    def __init__(
        self,
        anniversaries: AnniversariesOf,
        events: EventById,
        *,
        rsvp_count: RsvpCountOf | None = None,
        monotonic: Callable[[], float],
        ttl: float = 60.0,
        max_entries: int = 4096,
        day_content: DayContentOf | None = None,
        items: Mapping[str, ItemRenderer] | None = None,
    ) -> None:
        self.anniversaries = anniversaries
        self.items = dict(items or {})
        self.day_content = day_content or day_content_of(anniversaries)
        self.events = events
        self.rsvp_count = rsvp_count
        self.monotonic = monotonic
        self.ttl = ttl
        self.max_entries = max_entries
        self.renders = 0
        """How many times an item was actually rendered (not taken from the cache)."""
        self._cache: OrderedDict[
            tuple[str, dt.date, str, str], tuple[float, asyncio.Task[Rendered]]
        ]
        self._cache = OrderedDict()

    async def render(
        self, item_key: str, day: dt.date, language: str, timezone: str = ""
    ) -> Rendered:
        """The message of an item for a language (and, for an event, a subscriber's zone);
        concurrent callers share one rendering."""
        if item_key == DAILY_ITEM or item_key.partition(":")[0] in self.items:
            timezone = ""
        key = (item_key, day, language, timezone)
        now = self.monotonic()
        cached = self._cache.get(key)
        if cached is not None and now - cached[0] <= self.ttl:
            self._cache.move_to_end(key)
            task = cached[1]
        else:
            task = asyncio.ensure_future(self._render(item_key, day, language, timezone))
            self._cache[key] = (now, task)
            while len(self._cache) > self.max_entries:
                self._cache.popitem(last=False)
        try:
            return await asyncio.shield(task)
        except Exception:
            self._cache.pop(key, None)
            raise

    async def _render(
        self, item_key: str, day: dt.date, language: str, timezone: str = ""
    ) -> Rendered:
        self.renders += 1
        feature = self.items.get(item_key.partition(":")[0])
        if feature is not None:
            return await feature(item_key, day, language, timezone)
        t = translator(language if language in LANGUAGES else "en")
        if item_key == DAILY_ITEM:
            if self.day_content is not None:
                content = await self.day_content(day)
            else:
                items = [
                    item
                    for item in await self.anniversaries(day)
                    if item.year is None or item.year <= day.year
                ]
                content = DayContent(day, items)
            return Rendered(
                digest(
                    t,
                    day,
                    content.anniversaries,
                    memorial=content.memorial,
                    events=content.events,
                )
            )
        parsed = parse_event_key(item_key)
        if parsed is None:
            return Rendered(None, f"unknown item {item_key!r}")
        event_id, kind = parsed
        event = await self.events(event_id)
        if event is None:
            return Rendered(None, "the event was removed")
        start_day = event.starts_at.astimezone(zone(event.timezone)).date()
        what, _, sequence = split_kind(kind)
        if event.status is EventStatus.DRAFT:
            return Rendered(None, "the event is a draft")
        if sequence != event.sequence:
            return Rendered(None, "a newer version of the event was announced")
        if what == "cancelled":
            if event.status is not EventStatus.CANCELLED:
                return Rendered(None, "the event is no longer cancelled")
        elif event.status is EventStatus.CANCELLED:
            return Rendered(None, "the event was cancelled")
        elif start_day != day:
            return Rendered(None, "the event was moved to another day")
        t = translator(announced_language(event, t.language))
        count = await self.rsvp_count(event_id) if self.rsvp_count is not None else None
        return Rendered(event_message(t, kind, event, timezone, count), expires_at=event.starts_at)
