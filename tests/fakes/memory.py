"""In-memory implementations of the core's ports, for fast handler tests (no database)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

from bot.core.domain import (
    Anniversary,
    CalendarLink,
    ChatSettings,
    ConversationKey,
    ConversationState,
    Event,
    EventStatus,
    Memorial,
    Organizer,
    Person,
    Pin,
    Rsvp,
    RsvpAnswer,
    RsvpCount,
    Subscription,
)
from bot.core.records import Dataset
from bot.core.regiment import (
    Decision,
    Entry,
    EntryStatus,
    LedgerRow,
    March,
    MarchChat,
    Regiment,
    RegimentSettings,
    Slot,
)
from bot.core.search import chronicle_search_text
from bot.core.services import Core, CoreSettings
from bot.core.timeutil import FixedClock


class FakeMemorialRepository:
    """Memorials and people in lists."""

    def __init__(self, memorials: list[Memorial], people: list[Person]) -> None:
        self.memorials = sorted(memorials, key=lambda m: m.slug)
        self.people = people

    async def all_memorials(self) -> list[Memorial]:
        return list(self.memorials)

    async def get_memorial(self, slug: str) -> Memorial | None:
        return next((m for m in self.memorials if m.slug == slug), None)

    async def all_people(self) -> list[Person]:
        return list(self.people)


class FakeAnniversaryRepository:
    """Anniversaries in a list."""

    def __init__(self, anniversaries: list[Anniversary]) -> None:
        self.anniversaries = anniversaries

    async def on_day(self, month: int, day: int) -> list[Anniversary]:
        found = [a for a in self.anniversaries if (a.month, a.day) == (month, day)]
        return sorted(found, key=lambda a: (a.year is None, a.year or 0, a.slug))


class FakeEventRepository:
    """Events in a list."""

    def __init__(self, events: list[Event]) -> None:
        self.events = events

    async def upcoming(self, after: dt.datetime, limit: int) -> list[Event]:
        published = (e for e in self.events if e.status is not EventStatus.DRAFT)
        moved = (e.next_occurrence(after) for e in published)
        found = sorted((e for e in moved if e is not None), key=lambda e: (e.starts_at, e.slug))
        return found[:limit]

    async def all_events(self) -> list[Event]:
        return sorted(self.events, key=lambda e: (e.starts_at, e.slug))

    async def get_event(self, event_id: int) -> Event | None:
        return next((e for e in self.events if e.id == event_id), None)

    async def save_event(self, event: Event) -> Event:
        if event.id is None:
            event = replace(event, id=max((e.id or 0 for e in self.events), default=0) + 1)
        self.events = [e for e in self.events if e.id != event.id] + [event]
        return event


class FakeChatRepository:
    """Chat settings and subscriptions in dictionaries."""

    def __init__(self) -> None:
        self.settings: dict[tuple[str, str], ChatSettings] = {}
        self.subscriptions: dict[tuple[str, str, str], Subscription] = {}

    async def get_settings(self, platform: str, chat_id: str) -> ChatSettings | None:
        return self.settings.get((platform, chat_id))

    async def save_settings(self, settings: ChatSettings) -> None:
        self.settings[(settings.platform, settings.chat_id)] = settings
        for key, subscription in list(self.subscriptions.items()):
            if key[:2] == (settings.platform, settings.chat_id):
                self.subscriptions[key] = replace(
                    subscription,
                    language=settings.language or subscription.language,
                    timezone=settings.timezone or subscription.timezone,
                )

    async def get_subscription(
        self, platform: str, chat_id: str, thread_id: str = ""
    ) -> Subscription | None:
        return self.subscriptions.get((platform, chat_id, thread_id))

    async def save_subscription(self, subscription: Subscription) -> Subscription:
        key = (subscription.platform, subscription.chat_id, subscription.thread_id)
        stored = replace(subscription, id=subscription.id or len(self.subscriptions) + 1)
        self.subscriptions[key] = stored
        return stored

    async def migrate_chat(self, platform: str, old_chat_id: str, new_chat_id: str) -> None:
        if (platform, old_chat_id) in self.settings:
            settings = self.settings.pop((platform, old_chat_id))
            self.settings[(platform, new_chat_id)] = replace(settings, chat_id=new_chat_id)
        for key in [k for k in self.subscriptions if k[:2] == (platform, old_chat_id)]:
            subscription = self.subscriptions.pop(key)
            self.subscriptions[(platform, new_chat_id, key[2])] = replace(
                subscription, chat_id=new_chat_id
            )

    async def deactivate_chat(self, platform: str, chat_id: str) -> int:
        count = 0
        for key, subscription in list(self.subscriptions.items()):
            if key[:2] == (platform, chat_id) and subscription.active:
                self.subscriptions[key] = replace(subscription, active=False)
                count += 1
        return count


class FakeConversationRepository:
    """Conversations in a dictionary."""

    def __init__(self) -> None:
        self.states: dict[ConversationKey, ConversationState] = {}

    async def get_conversation(self, key: ConversationKey) -> ConversationState | None:
        return self.states.get(key)

    async def save_conversation(self, state: ConversationState) -> None:
        self.states[state.key] = state

    async def delete_conversation(self, key: ConversationKey) -> bool:
        return self.states.pop(key, None) is not None

    async def delete_idle_conversations(self, before: dt.datetime) -> int:
        idle = [key for key, state in self.states.items() if state.updated_at < before]
        for key in idle:
            del self.states[key]
        return len(idle)


class FakeOrganizerRepository:
    """Organizers in a dictionary."""

    def __init__(self) -> None:
        self.organizers: dict[tuple[str, str], Organizer] = {}

    async def list_organizers(self) -> list[Organizer]:
        return [self.organizers[key] for key in sorted(self.organizers)]

    async def add_organizer(self, organizer: Organizer) -> bool:
        key = (organizer.platform, organizer.user_id)
        new = key not in self.organizers
        self.organizers[key] = organizer
        return new

    async def remove_organizer(self, platform: str, user_id: str) -> bool:
        return self.organizers.pop((platform, user_id), None) is not None

    async def is_organizer(self, platform: str, user_id: str) -> bool:
        return (platform, user_id) in self.organizers


class FakeRsvpRepository:
    """Answers to events in a dictionary."""

    def __init__(self) -> None:
        self.rsvps: dict[tuple[int, str, str], Rsvp] = {}

    async def answer(self, rsvp: Rsvp) -> Rsvp | None:
        key = (rsvp.event_id, rsvp.platform, rsvp.user_id)
        current = self.rsvps.get(key)
        if current is not None and current.answer is rsvp.answer:
            del self.rsvps[key]
            return None
        self.rsvps[key] = rsvp
        return rsvp

    async def count(self, event_id: int) -> RsvpCount:
        found = [r for r in self.rsvps.values() if r.event_id == event_id]
        return RsvpCount(
            yes=sum(r.answer is RsvpAnswer.YES for r in found),
            no=sum(r.answer is RsvpAnswer.NO for r in found),
        )

    async def answers(self, event_id: int) -> list[Rsvp]:
        found = [r for r in self.rsvps.values() if r.event_id == event_id]
        return sorted(found, key=lambda r: (r.platform, r.name, r.user_id))


class FakePinRepository:
    """Pins in a list."""

    def __init__(self) -> None:
        self.pins: list[Pin] = []

    async def add_pin(self, pin: Pin) -> None:
        same = (pin.platform, pin.chat_id, pin.message_id)
        self.pins = [p for p in self.pins if (p.platform, p.chat_id, p.message_id) != same]
        self.pins.append(pin)

    async def due_pins(self, platform: str, now: dt.datetime) -> list[Pin]:
        return [p for p in self.pins if p.platform == platform and p.until <= now]

    async def remove_pin(self, pin: Pin) -> None:
        self.pins = [p for p in self.pins if p != pin]


class FakeCalendarRepository:
    """Calendar spaces and links in memory."""

    def __init__(self) -> None:
        self.spaces: dict[tuple[str, str], bool] = {}
        self.saved: dict[tuple[str, str, int], CalendarLink] = {}

    async def set_calendar(self, platform: str, space_id: str, enabled: bool) -> None:
        self.spaces[(platform, space_id)] = enabled

    async def calendar_spaces(self, platform: str) -> list[str]:
        return sorted(s for (p, s), on in self.spaces.items() if p == platform and on)

    async def links(self, platform: str, space_id: str) -> list[CalendarLink]:
        return [k for k in self.saved.values() if (k.platform, k.space_id) == (platform, space_id)]

    async def save_link(self, link: CalendarLink) -> None:
        self.saved[(link.platform, link.space_id, link.event_id)] = link

    async def links_of(self, event_id: int) -> list[CalendarLink]:
        return [k for k in self.saved.values() if k.event_id == event_id]


@asynccontextmanager
async def no_transaction() -> AsyncIterator[None]:
    """The fakes write at once: a unit of work that only marks the block."""
    yield


def fake_core(
    dataset: Dataset,
    *,
    now: dt.datetime,
    settings: CoreSettings | None = None,
    media_dir: Path | None = None,
) -> Core:
    """A core over in-memory repositories holding ``dataset``."""
    people = {p.slug: p for p in dataset.people}
    memorials = [
        replace(
            m,
            people=tuple(
                replace(ref, names=people[ref.slug].names) for ref in m.people if ref.slug in people
            ),
        )
        for m in dataset.memorials
    ]
    return Core(
        memorials=FakeMemorialRepository(memorials, dataset.people),
        anniversaries=FakeAnniversaryRepository(dataset.anniversaries),
        events=FakeEventRepository(dataset.events),
        chats=FakeChatRepository(),
        clock=FixedClock(now),
        settings=settings or CoreSettings(),
        conversations=FakeConversationRepository(),
        unit_of_work=no_transaction,
        organizers=FakeOrganizerRepository(),
        rsvps=FakeRsvpRepository(),
        pins=FakePinRepository(),
        calendars=FakeCalendarRepository(),
        regiment=Regiment(
            FakeRegimentRepository(),
            RegimentSettings(media_dir=media_dir or Path("data/media")),
            FixedClock(now),
        ),
    )


class FakeRegimentRepository:
    """The Immortal Regiment in dicts (no ledger: rows queued are kept in ``rows``)."""

    def __init__(self) -> None:
        self.entries: dict[int, Entry] = {}
        self.decisions_by_id: dict[int, Decision] = {}
        self.marches: dict[int, March] = {}
        self.chats: dict[int, list[tuple[int, str]]] = {}
        self.slot_rows: list[Slot] = []
        self.rows: list[LedgerRow] = []
        self.subscriptions: dict[tuple[str, str], MarchChat] = {}

    async def add_entry(self, entry: Entry) -> Entry:
        saved = replace(entry, id=len(self.entries) + 1)
        self.entries[saved.id or 0] = saved
        return saved

    async def save_entry(self, entry: Entry) -> Entry:
        self.entries[entry.id or 0] = entry
        return entry

    async def get_entry(self, entry_id: int) -> Entry | None:
        return self.entries.get(entry_id)

    async def entry_by_public_id(self, public_id: str) -> Entry | None:
        return next((e for e in self.entries.values() if e.public_id == public_id), None)

    async def entries_of(self, platform: str, user_id: str) -> list[Entry]:
        mine = [
            e
            for e in self.entries.values()
            if (e.submitter.platform, e.submitter.user_id) == (platform, user_id)
        ]
        return sorted(mine, key=lambda e: -(e.id or 0))

    async def delete_entries_of(self, platform: str, user_id: str) -> list[Entry]:
        gone = await self.entries_of(platform, user_id)
        for entry in gone:
            del self.entries[entry.id or 0]
        return gone

    async def submitted_since(self, platform: str, user_id: str, since: dt.datetime) -> int:
        mine = {e.id for e in await self.entries_of(platform, user_id)}
        return sum(
            1
            for d in self.decisions_by_id.values()
            if d.entry_id in mine and d.at >= since and d.action.value in ("submitted", "edited")
        )

    async def with_status(
        self, status: EntryStatus, limit: int = 100, offset: int = 0
    ) -> list[Entry]:
        found = [e for e in self.entries.values() if e.status is status]
        return found[offset : offset + limit]

    async def count_with_status(self, status: EntryStatus) -> int:
        return len([e for e in self.entries.values() if e.status is status])

    async def add_decision(self, decision: Decision) -> Decision:
        saved = replace(decision, id=len(self.decisions_by_id) + 1)
        self.decisions_by_id[saved.id or 0] = saved
        return saved

    async def decisions(self, entry_id: int) -> list[Decision]:
        return [d for d in self.decisions_by_id.values() if d.entry_id == entry_id]

    async def get_decision(self, decision_id: int) -> Decision | None:
        return self.decisions_by_id.get(decision_id)

    async def chronicle_version(self) -> str:
        approved = [e for e in self.entries.values() if e.published]
        return f"{len(approved)}:{max((str(e.updated_at) for e in approved), default='')}"

    async def chronicle(self) -> list[tuple[str, str]]:
        return [
            (e.public_id, chronicle_search_text(e.full_name, e.other_spelling, e.rank_unit))
            for e in self.entries.values()
            if e.published
        ]

    async def all_entries(self) -> list[Entry]:
        return list(self.entries.values())

    async def add_march(self, march: March, chats: Sequence[tuple[int, str]]) -> March:
        saved = replace(march, id=len(self.marches) + 1)
        self.marches[saved.id or 0] = saved
        self.chats[saved.id or 0] = list(chats)
        return saved

    async def get_march(self, march_id: int) -> March | None:
        return self.marches.get(march_id)

    async def marches_after(self, instant: dt.datetime) -> list[March]:
        return [m for m in self.marches.values() if m.status == "scheduled"]

    async def cancel_march(self, march_id: int) -> None:
        self.marches[march_id] = replace(self.marches[march_id], status="cancelled")

    async def march_chats(self, march_id: int) -> list[MarchChat]:
        by_id = {chat.subscription_id: chat for chat in self.subscriptions.values()}
        return [
            replace(by_id[subscription], title=title)
            for subscription, title in self.chats.get(march_id, [])
        ]

    async def slots(self, march_id: int) -> list[Slot]:
        return [s for s in self.slot_rows if s.march_id == march_id]

    async def slots_of(self, entry_id: int) -> list[Slot]:
        return [s for s in self.slot_rows if s.entry_id == entry_id]

    async def add_slots(self, march_id: int, entry_ids: Sequence[int]) -> list[Slot]:
        taken = await self.slots(march_id)
        known = {s.entry_id for s in taken}
        position = len(taken)
        added = []
        for entry_id in entry_ids:
            if entry_id not in known:
                added.append(Slot(march_id, entry_id, position))
                position += 1
        self.slot_rows.extend(added)
        return added

    async def queue_rows(self, rows: Sequence[LedgerRow]) -> int:
        self.rows.extend(rows)
        return len(rows)

    async def personal_subscription(
        self, platform: str, chat_id: str, language: str, timezone: str
    ) -> int:
        chat = self.subscriptions.get((platform, chat_id))
        if chat is None:
            chat = MarchChat(len(self.subscriptions) + 1, platform, chat_id, timezone)
            self.subscriptions[(platform, chat_id)] = chat
        return chat.subscription_id

    async def event_chats(self) -> list[MarchChat]:
        return []

    async def set_photo_ref(self, photo_key: str, platform: str, ref: str) -> None:
        for entry in self.entries.values():
            if entry.photo_key == photo_key:
                self.entries[entry.id or 0] = replace(
                    entry, photo_refs={**entry.photo_refs, platform: ref}
                )
