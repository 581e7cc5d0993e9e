"""The core's use cases, shared by every adapter, the CLI and the scheduler."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from bot.core.domain import (
    LANGUAGES,
    Anniversary,
    ChatSettings,
    Event,
    EventStatus,
    GeoPoint,
    Memorial,
    ScoredMemorial,
    Subscription,
)
from bot.core.geo import proximity_score
from bot.core.i18n import base_language
from bot.core.ports import (
    AnniversaryRepository,
    CalendarRepository,
    ChatRepository,
    Clock,
    ConversationRepository,
    EventRepository,
    MemorialRepository,
    MemorialSearchSource,
    OrganizerRepository,
    PinRepository,
    RsvpRepository,
    UnitOfWork,
)
from bot.core.regiment import Regiment
from bot.core.search import Hit, MemorialIndex, documents_from
from bot.core.timeutil import zone

log = logging.getLogger(__name__)

SEARCH_VERSION_CHECK_SECONDS = 10.0
"""How often, at most, the search index asks (in the background) whether memorials changed."""


@dataclass(frozen=True, slots=True)
class CoreSettings:
    """Bot-wide defaults and permissions."""

    default_language: str = "en"
    default_timezone: str = "Europe/Brussels"
    default_delivery_time: dt.time = dt.time(9, 0)
    organizer_ids: frozenset[str] = field(default_factory=frozenset)
    """Bot-wide organizers as ``platform:user_id``."""
    conversation_idle: dt.timedelta = dt.timedelta(minutes=30)
    """A conversation (a form being filled) ends after this long without an answer."""


@dataclass(frozen=True, slots=True)
class DayContent:
    """What the "on this day" post of a date shows.

    The day's anniversaries; on a day without any, a memorial of the day (so that no post is
    ever empty) and the events coming up.
    """

    day: dt.date
    anniversaries: list[Anniversary]
    memorial: Memorial | None = None
    events: list[Event] = field(default_factory=list)


DAY_EVENTS_AHEAD = dt.timedelta(days=30)
"""How far ahead a day without anniversaries looks for events to show."""
DAY_EVENTS_LIMIT = 3


@dataclass(frozen=True, slots=True)
class EffectiveSettings:
    """A chat's settings with the defaults filled in."""

    language: str
    timezone: str
    subscription: Subscription | None


class Core:
    """The bot's use cases over its repositories."""

    def __init__(
        self,
        *,
        memorials: MemorialRepository,
        anniversaries: AnniversaryRepository,
        events: EventRepository,
        chats: ChatRepository,
        clock: Clock,
        settings: CoreSettings,
        conversations: ConversationRepository,
        unit_of_work: UnitOfWork,
        organizers: OrganizerRepository,
        rsvps: RsvpRepository,
        pins: PinRepository,
        calendars: CalendarRepository,
        regiment: Regiment | None = None,
    ) -> None:
        self.memorials = memorials
        self.anniversaries = anniversaries
        self.events = events
        self.chats = chats
        self.clock = clock
        self.settings = settings
        self.conversations = conversations
        self.unit_of_work = unit_of_work
        self.organizers = organizers
        self.rsvps = rsvps
        self.pins = pins
        self.calendars = calendars
        self.regiment = regiment
        """The Immortal Regiment (None where it is not set up: the in-memory core of tests)."""
        """Opens one transaction for several writes (``async with core.unit_of_work():``)."""
        self._index: MemorialIndex | None = None
        self._index_version = ""
        self._index_checked = 0.0
        self._index_lock = asyncio.Lock()
        self._refresh: asyncio.Task[None] | None = None

    # -- anniversaries -------------------------------------------------------------------

    async def on_this_day(self, day: dt.date) -> list[Anniversary]:
        """Anniversaries of ``day``'s month and day; those with a year before ``day`` first."""
        items = await self.anniversaries.on_day(day.month, day.day)
        return [item for item in items if item.year is None or item.year <= day.year]

    async def day_content(self, day: dt.date) -> DayContent:
        """The content of ``day``'s post: its anniversaries, or else the memorial of the day
        and the events of the next ``DAY_EVENTS_AHEAD`` (at most ``DAY_EVENTS_LIMIT``)."""
        items = await self.on_this_day(day)
        if items:
            return DayContent(day, items)
        start = dt.datetime.combine(day, dt.time(0), zone(self.settings.default_timezone))
        start = max(start, self.clock.now())
        events = [
            event
            for event in await self.events.upcoming(start, DAY_EVENTS_LIMIT)
            if event.starts_at < start + DAY_EVENTS_AHEAD
        ]
        return DayContent(day, [], await self.memorial_of_the_day(day), events)

    async def memorial_of_the_day(self, day: dt.date) -> Memorial | None:
        """A memorial for ``day``: the memorials in slug order, one a day in turn, so that
        with at least 31 of them no one is shown twice within a month; None when there is
        none."""
        memorials = sorted(await self.memorials.all_memorials(), key=lambda m: m.slug)
        if not memorials:
            return None
        return memorials[day.toordinal() % len(memorials)]

    def local_today(self, timezone: str | None = None) -> dt.date:
        """Today's date in a zone (default: the bot's default zone)."""
        return self.clock.now().astimezone(zone(timezone or self.settings.default_timezone)).date()

    # -- memorials -----------------------------------------------------------------------

    async def index(self) -> MemorialIndex:
        """The memorial search index: built on first use, refreshed when the data changed.

        With a repository that is also a ``MemorialSearchSource`` the index is built from the
        stored search documents, and at most every ``SEARCH_VERSION_CHECK_SECONDS`` a
        background task asks whether memorials changed (an import made by another process)
        and rebuilds the index if so; queries meanwhile use the current one.
        """
        index = self._index
        if index is None:
            async with self._index_lock:
                if self._index is None:
                    await self._build_index()
                index = self._index
            assert index is not None
            return index
        if (
            isinstance(self.memorials, MemorialSearchSource)
            and self._refresh is None
            and time.monotonic() - self._index_checked >= SEARCH_VERSION_CHECK_SECONDS
        ):
            self._index_checked = time.monotonic()
            self._refresh = asyncio.create_task(self._refresh_in_background())
        return index

    async def refresh_index(self) -> bool:
        """Rebuild the index now if the stored memorials changed; whether it was rebuilt."""
        async with self._index_lock:
            self._index_checked = time.monotonic()
            if self._index is not None and isinstance(self.memorials, MemorialSearchSource):
                if await self.memorials.search_version() == self._index_version:
                    return False
                log.info("memorials changed; rebuilding the search index")
            await self._build_index()
            return True

    async def finish_refresh(self) -> None:
        """Wait for a background index refresh, if one runs (before closing the database)."""
        task = self._refresh
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)

    async def _refresh_in_background(self) -> None:
        try:
            await self.refresh_index()
        except Exception:
            log.exception("could not refresh the memorial search index")
        finally:
            self._refresh = None

    async def _build_index(self) -> None:
        """Build the index from the repository (call with the index lock held)."""
        started = time.perf_counter()
        if isinstance(self.memorials, MemorialSearchSource):
            version = await self.memorials.search_version()
            documents = list(await self.memorials.search_documents())
        else:
            version = ""
            documents = documents_from(
                await self.memorials.all_memorials(), await self.memorials.all_people()
            )
        if len(documents) > 5000:
            index = await asyncio.to_thread(MemorialIndex, documents)
        else:
            index = MemorialIndex(documents)
        self._index, self._index_version = index, version
        self._index_checked = time.monotonic()
        log.info(
            "search index of %s memorials built in %.0f ms",
            len(index),
            (time.perf_counter() - started) * 1000,
        )

    def invalidate_index(self) -> None:
        """Forget the search index after the data changed."""
        self._index = None

    async def search_memorials(self, query: str, limit: int = 5) -> list[ScoredMemorial]:
        """Memorials matching a query in any language, script or spelling, best first.

        The query is matched against names, aliases, cities, addresses and the people
        commemorated; each hit has a score from 0 to 100 (see ``bot.core.search``).
        """
        hits = (await self.index()).search(query, limit)
        return await self._hydrate(hits)

    async def nearest_memorials(self, point: GeoPoint, limit: int = 5) -> list[ScoredMemorial]:
        """Memorials by great-circle distance from ``point``, nearest first, in kilometres;
        each scored by its proximity (``geo.proximity_score``), not by a text match."""
        hits = (await self.index()).nearest(point, limit)
        return [
            replace(hit, score=proximity_score(hit.distance_km or 0.0))
            for hit in await self._hydrate(hits)
        ]

    async def _hydrate(self, hits: Sequence[Hit]) -> list[ScoredMemorial]:
        """The memorials behind index hits, in the hits' order (vanished ones left out)."""
        if not hits:
            return []
        slugs = [hit.slug for hit in hits]
        if isinstance(self.memorials, MemorialSearchSource):
            found = {m.slug: m for m in await self.memorials.memorials_by_slugs(slugs)}
        else:
            found = {}
            for slug in slugs:
                memorial = await self.memorials.get_memorial(slug)
                if memorial is not None:
                    found[slug] = memorial
        return [
            ScoredMemorial(found[hit.slug], hit.score, hit.distance_km)
            for hit in hits
            if hit.slug in found
        ]

    async def memorial(self, slug: str) -> Memorial | None:
        """One memorial by slug."""
        return await self.memorials.get_memorial(slug)

    # -- events --------------------------------------------------------------------------

    async def publish_event(self, event: Event) -> Event:
        """Publish a draft: it becomes version 1, announced from now."""
        if event.status is not EventStatus.DRAFT:
            raise ValueError(f"event {event.id} is already published")
        return await self.events.save_event(
            replace(event, status=EventStatus.SCHEDULED, sequence=1, announced_at=self.clock.now())
        )

    async def cancel_event(self, event: Event) -> Event:
        """Cancel an event; its followers hear of it unless it was only a draft."""
        if event.status is EventStatus.CANCELLED:
            raise ValueError(f"event {event.id} is already cancelled")
        heard = event.status is not EventStatus.DRAFT
        return await self.events.save_event(
            replace(
                event,
                status=EventStatus.CANCELLED,
                sequence=event.sequence + 1 if heard else event.sequence,
                announced_at=self.clock.now() if heard else None,
            )
        )

    async def upcoming_events(self, limit: int = 10) -> list[Event]:
        """Announced events that have not started yet, soonest first, cancelled ones included."""
        return list(await self.events.upcoming(self.clock.now(), limit))

    def resolve_language(self, stored: str | None, client: str | None) -> str:
        """The language to speak: the chat's stored choice, else the user's client language
        (``nl-BE``, ``pt-BR`` reduced to the base) when it is one of ours, else the default."""
        return stored or base_language(client) or self.settings.default_language

    # -- chats ---------------------------------------------------------------------------

    async def effective_settings(
        self, platform: str, chat_id: str, thread_id: str = ""
    ) -> EffectiveSettings:
        """The chat's language, zone and subscription, defaults filled in."""
        stored = await self.chats.get_settings(platform, chat_id)
        subscription = await self.chats.get_subscription(platform, chat_id, thread_id)
        return EffectiveSettings(
            language=(stored.language if stored else None) or self.settings.default_language,
            timezone=(stored.timezone if stored else None) or self.settings.default_timezone,
            subscription=subscription,
        )

    async def stored_language(self, platform: str, chat_id: str) -> str | None:
        """The language the chat chose, if it chose one."""
        stored = await self.chats.get_settings(platform, chat_id)
        return stored.language if stored else None

    async def set_language(self, platform: str, chat_id: str, language: str) -> None:
        """Store the chat's language (and apply it to its subscriptions)."""
        if language not in LANGUAGES:
            raise ValueError(f"unknown language {language!r}")
        stored = await self.chats.get_settings(platform, chat_id)
        base = stored or ChatSettings(platform, chat_id)
        await self.chats.save_settings(replace(base, language=language))

    async def set_timezone(self, platform: str, chat_id: str, timezone: str) -> None:
        """Store the chat's time zone (and apply it to its subscriptions)."""
        zone(timezone)
        stored = await self.chats.get_settings(platform, chat_id)
        base = stored or ChatSettings(platform, chat_id)
        await self.chats.save_settings(replace(base, timezone=timezone))

    async def subscribe(
        self,
        platform: str,
        chat_id: str,
        *,
        language: str,
        timezone: str,
        delivery_time: dt.time | None = None,
        thread_id: str = "",
    ) -> Subscription:
        """Subscribe a chat (or topic) to the daily post; re-subscribing updates the time."""
        zone(timezone)
        current = await self.chats.get_subscription(platform, chat_id, thread_id)
        subscription = Subscription(
            platform=platform,
            chat_id=chat_id,
            thread_id=thread_id,
            language=language,
            timezone=timezone,
            delivery_time=delivery_time
            or (current.delivery_time if current else self.settings.default_delivery_time),
            topics=tuple(dict.fromkeys(("today", *current.topics)))
            if current
            else ("today", "events"),
            active=True,
            follow=current.follow if current else "all",
            id=current.id if current else None,
        )
        return await self.chats.save_subscription(subscription)

    async def set_follow(
        self,
        platform: str,
        chat_id: str,
        follow: str,
        *,
        language: str,
        timezone: str,
        thread_id: str = "",
    ) -> Subscription | None:
        """Which announcements a chat hears of; a chat without a subscription gets one for
        announcements only (no daily post), unless it follows none."""
        current = await self.chats.get_subscription(platform, chat_id, thread_id)
        if follow == "none" and (current is None or not current.active):
            return current
        if current is None:
            current = Subscription(
                platform=platform,
                chat_id=chat_id,
                thread_id=thread_id,
                language=language,
                timezone=timezone,
                delivery_time=self.settings.default_delivery_time,
                topics=("events",),
            )
        elif not current.active:
            current = replace(current, topics=("events",), active=True)
        topics = current.topics if "events" in current.topics else (*current.topics, "events")
        return await self.chats.save_subscription(replace(current, follow=follow, topics=topics))

    async def unsubscribe(self, platform: str, chat_id: str, thread_id: str = "") -> bool:
        """Stop the daily post; False when the chat was not subscribed."""
        current = await self.chats.get_subscription(platform, chat_id, thread_id)
        if current is None or not current.active:
            return False
        await self.chats.save_subscription(replace(current, active=False))
        return True

    async def migrate_chat(self, platform: str, old_chat_id: str, new_chat_id: str) -> None:
        """Keep a chat's settings and subscriptions when the platform gives it a new id."""
        if old_chat_id != new_chat_id:
            await self.chats.migrate_chat(platform, old_chat_id, new_chat_id)

    async def chat_gone(self, platform: str, chat_id: str) -> int:
        """The bot was removed or blocked: stop every delivery to the chat."""
        return await self.chats.deactivate_chat(platform, chat_id)

    def is_organizer(self, platform: str, user_id: str) -> bool:
        """Whether a user (or, on Discord, ``role:<id>``) is a bot-wide organizer by the
        environment (``ORGANIZER_IDS``)."""
        return f"{platform}:{user_id}" in self.settings.organizer_ids

    async def is_bot_organizer(self, platform: str, user_id: str) -> bool:
        """Whether a user is a bot-wide organizer: by ``ORGANIZER_IDS`` or added in chat."""
        return self.is_organizer(platform, user_id) or await self.organizers.is_organizer(
            platform, user_id
        )
