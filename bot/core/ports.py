"""Ports: the small protocols the core needs from the outside world.

Implementations live elsewhere and are named by technology (``SqlMemorialRepository`` in
``db/``, ``TelegramSender`` in ``bot/adapters/telegram``); tests use in-memory fakes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Protocol

from bot.core.domain import (
    Anniversary,
    ChatSettings,
    Event,
    Memorial,
    Person,
    Subscription,
)
from bot.core.reply import Reply


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


class AnniversaryRepository(Protocol):
    """Read access to anniversaries."""

    async def on_day(self, month: int, day: int) -> Sequence[Anniversary]:
        """Anniversaries that fall on a month and day, oldest year first."""
        ...


class EventRepository(Protocol):
    """Read access to announced events."""

    async def upcoming(self, after: dt.datetime, limit: int) -> Sequence[Event]:
        """Events that start at or after ``after``, soonest first."""
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

    async def send(self, chat_id: str, reply: Reply, thread_id: str = "") -> None:
        """Send ``reply``; raises ``DeliveryError`` subclasses on failure."""
        ...
