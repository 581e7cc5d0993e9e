"""What a handler receives: who asks, where, in which language and zone, with which arguments."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from bot.core.domain import ChatKind, GeoPoint
from bot.core.i18n import Translator
from bot.core.services import Core
from bot.core.timeutil import zone


@dataclass(frozen=True, slots=True)
class ChatRef:
    """The conversation: a chat id (a string on every platform), its kind, a forum topic."""

    id: str
    kind: ChatKind
    thread_id: str = ""
    title: str = ""


@dataclass(frozen=True, slots=True)
class UserRef:
    """The person who wrote; ``is_admin`` is the platform's word on chat administration."""

    id: str
    name: str = ""
    client_language: str | None = None
    is_admin: bool = False


AdminCheck = Callable[[], Awaitable[bool]]


@dataclass(frozen=True, slots=True)
class Incoming:
    """A request as an adapter hands it to the dispatcher.

    Exactly one of ``text`` (a message, e.g. ``/memorial Liège``), ``action`` (a pressed
    button's action id) or ``location`` (a shared location) is the request.
    """

    platform: str
    chat: ChatRef
    user: UserRef
    text: str | None = None
    action: str | None = None
    location: GeoPoint | None = None
    check_admin: AdminCheck | None = None
    """Asks the platform whether the user administers the chat; called only when needed."""


@dataclass(frozen=True, slots=True)
class RequestContext:
    """Everything a handler may use; it holds no platform object."""

    core: Core
    platform: str
    chat: ChatRef
    user: UserRef
    language: str
    timezone: str
    t: Translator
    now: dt.datetime
    command: str = ""
    args: tuple[str, ...] = ()
    arg_text: str = ""
    location: GeoPoint | None = None
    extras: dict[str, str] = field(default_factory=dict)
    """Adapter facts a handler may show, e.g. ``bot_username`` for deep links."""
    check_admin: AdminCheck | None = None

    @property
    def zone(self) -> ZoneInfo:
        """The chat's time zone."""
        return zone(self.timezone)

    @property
    def local_now(self) -> dt.datetime:
        """The current instant in the chat's zone."""
        return self.now.astimezone(self.zone)

    async def can_configure(self) -> bool:
        """Private chats configure themselves; elsewhere admins and organizers may."""
        if (
            self.chat.kind is ChatKind.PRIVATE
            or self.user.is_admin
            or self.core.is_organizer(self.platform, self.user.id)
        ):
            return True
        return self.check_admin is not None and await self.check_admin()
