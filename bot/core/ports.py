"""Ports: the small protocols the core needs from the outside world.

Implementations live elsewhere and are named by technology (``SqlMemorialRepository`` in
``db/``, ``TelegramSender`` in ``bot/adapters/telegram``); tests use in-memory fakes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol, runtime_checkable

from bot.core.domain import (
    Anniversary,
    CalendarLink,
    ChatSettings,
    ConversationKey,
    ConversationState,
    Event,
    Memorial,
    Organizer,
    Person,
    Pin,
    Rsvp,
    RsvpCount,
    Subscription,
)
from bot.core.records import Dataset, ImportReport
from bot.core.reply import Reply
from bot.core.search import SearchDocument


class Clock(Protocol):
    """Tells the time; always an aware UTC instant."""

    def now(self) -> dt.datetime:
        """The current instant, aware, in UTC."""
        ...


class MemorialRepository(Protocol):
    """Read access to memorials and the people they commemorate."""

    async def all_memorials(self) -> Sequence[Memorial]:
        """Every memorial with its people."""
        ...

    async def get_memorial(self, slug: str) -> Memorial | None:
        """One memorial by slug."""
        ...

    async def all_people(self) -> Sequence[Person]:
        """Every person."""
        ...


@runtime_checkable
class MemorialSearchSource(Protocol):
    """What a memorial repository offers to build the search index fast (optional).

    A ``MemorialRepository`` that also implements this gives the core stored search documents
    instead of every memorial, a batch lookup for the hits, and a cheap version to notice
    changes made by another process (an import while the bot runs).
    """

    async def search_documents(self) -> Sequence[SearchDocument]:
        """Every memorial's slug, position and stored search text, by slug."""
        ...

    async def memorials_by_slugs(self, slugs: Sequence[str]) -> Sequence[Memorial]:
        """The memorials with these slugs (with their people), in any order."""
        ...

    async def search_version(self) -> str:
        """A value that changes whenever a memorial is added, changed or removed."""
        ...


class DatasetStore(Protocol):
    """Whole datasets in and out: what import and export need of the storage."""

    async def known_slugs(self) -> dict[str, set[str]]:
        """The slugs stored, per kind (``memorials``, ``people``, ``anniversaries``, ``events``)."""
        ...

    async def import_dataset(
        self, dataset: Dataset, progress: Callable[[int, int], None] | None = None
    ) -> ImportReport:
        """Write a valid dataset in one transaction, records matched by slug; what it did."""
        ...

    async def load_dataset(self) -> Dataset:
        """Everything stored, in a stable order."""
        ...


class AnniversaryRepository(Protocol):
    """Read access to anniversaries."""

    async def on_day(self, month: int, day: int) -> Sequence[Anniversary]:
        """Anniversaries that fall on a month and day, oldest year first."""
        ...


class EventRepository(Protocol):
    """Events: announced ones for everybody, drafts for their organizers."""

    async def upcoming(self, after: dt.datetime, limit: int) -> Sequence[Event]:
        """Published events that start at or after ``after``, soonest first."""
        ...

    async def all_events(self) -> Sequence[Event]:
        """Every event, drafts and past ones included, soonest first."""
        ...

    async def get_event(self, event_id: int) -> Event | None:
        """One event by id."""
        ...

    async def save_event(self, event: Event) -> Event:
        """Create the event (no id) or replace the stored one; the stored event."""
        ...


class ChatRepository(Protocol):
    """Per-chat settings and subscriptions."""

    async def get_settings(self, platform: str, chat_id: str) -> ChatSettings | None:
        """The chat's stored settings, if any."""
        ...

    async def save_settings(self, settings: ChatSettings) -> None:
        """Store a chat's settings and apply language and zone to its subscriptions."""
        ...

    async def get_subscription(
        self, platform: str, chat_id: str, thread_id: str = ""
    ) -> Subscription | None:
        """The chat's (or topic's) subscription, active or not."""
        ...

    async def save_subscription(self, subscription: Subscription) -> Subscription:
        """Create or update the chat's subscription (matched by platform, chat and thread)."""
        ...

    async def migrate_chat(self, platform: str, old_chat_id: str, new_chat_id: str) -> None:
        """Move a chat's settings and subscriptions to a new id (a group became a supergroup)."""
        ...

    async def deactivate_chat(self, platform: str, chat_id: str) -> int:
        """Deactivate every subscription of a chat; returns how many were active."""
        ...


class Sender(Protocol):
    """Delivers a reply to a chat on one platform (used for scheduled deliveries)."""

    async def send(self, chat_id: str, reply: Reply, thread_id: str = "", *, key: str = "") -> None:
        """Send ``reply``; raises ``DeliveryError`` subclasses on failure. ``key`` is the same
        for every attempt at one delivery (from its ledger row): a platform that can refuse a
        repeat (Discord's ``nonce`` with ``enforce_nonce``) uses it; the others ignore it."""
        ...


class ConversationRepository(Protocol):
    """Conversations in progress, one per key; they survive a restart."""

    async def get_conversation(self, key: ConversationKey) -> ConversationState | None:
        """The conversation of this key, if one is in progress."""
        ...

    async def save_conversation(self, state: ConversationState) -> None:
        """Create or replace the conversation of ``state.key``."""
        ...

    async def delete_conversation(self, key: ConversationKey) -> bool:
        """End the conversation of this key; whether there was one."""
        ...

    async def delete_idle_conversations(self, before: dt.datetime) -> int:
        """End every conversation not touched since ``before``; how many."""
        ...


class OrganizerRepository(Protocol):
    """Bot-wide organizers added in chat (the environment's ``ORGANIZER_IDS`` are apart)."""

    async def list_organizers(self) -> Sequence[Organizer]:
        """Every stored organizer, by platform and id."""
        ...

    async def add_organizer(self, organizer: Organizer) -> bool:
        """Store an organizer; False when they were one already."""
        ...

    async def remove_organizer(self, platform: str, user_id: str) -> bool:
        """Remove an organizer; whether they were one."""
        ...

    async def is_organizer(self, platform: str, user_id: str) -> bool:
        """Whether a user is a stored organizer."""
        ...


class RsvpRepository(Protocol):
    """Answers to events ("I'll be there", "Not this time"), one per person and platform."""

    async def answer(self, rsvp: Rsvp) -> Rsvp | None:
        """Record an answer; the same answer again takes it back. The answer now stored."""
        ...

    async def count(self, event_id: int) -> RsvpCount:
        """The answers to an event, over every platform."""
        ...

    async def answers(self, event_id: int) -> Sequence[Rsvp]:
        """Who answered, by platform and name."""
        ...


class PinRepository(Protocol):
    """Messages the bot pinned, until when."""

    async def add_pin(self, pin: Pin) -> None:
        """Remember a pinned message."""
        ...

    async def due_pins(self, platform: str, now: dt.datetime) -> Sequence[Pin]:
        """The platform's pins whose time is over."""
        ...

    async def remove_pin(self, pin: Pin) -> None:
        """Forget a pin (it was unpinned, or cannot be)."""
        ...


class CalendarRepository(Protocol):
    """Spaces (Discord servers) that list events in their own calendar, and what was copied."""

    async def set_calendar(self, platform: str, space_id: str, enabled: bool) -> None:
        """Switch a space's own calendar on or off."""
        ...

    async def calendar_spaces(self, platform: str) -> Sequence[str]:
        """The spaces of a platform that switched it on."""
        ...

    async def links(self, platform: str, space_id: str) -> Sequence[CalendarLink]:
        """What was copied into a space's calendar."""
        ...

    async def save_link(self, link: CalendarLink) -> None:
        """Remember a copy (or its failure)."""
        ...

    async def links_of(self, event_id: int) -> Sequence[CalendarLink]:
        """Every copy of one event, failures included (for its organizers)."""
        ...


UnitOfWork = Callable[[], AbstractAsyncContextManager[None]]
"""Opens a unit of work: inside it, every repository write belongs to one transaction,
committed when the block ends and rolled back if it raises."""
