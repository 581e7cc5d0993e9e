"""What a handler receives: who asks, where, in which language and zone, with which arguments."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from bot.core.domain import ChatKind, GeoPoint
from bot.core.i18n import Translator
from bot.core.services import Core
from bot.core.timeutil import zone

CONSOLE = "console"
"""The console's platform name: the person at the terminal is the operator."""

if TYPE_CHECKING:
    from bot.core.reply import Reply


class FlowStarter(Protocol):
    """What a handler needs of conversations (implemented by the flow engine)."""

    async def start(
        self, ctx: RequestContext, name: str, answers: dict[str, Any]
    ) -> Reply:  # pragma: no cover - protocol
        """Begin flow ``name`` for the context's user and return its first question."""
        ...

    async def cancel_current(self, ctx: RequestContext) -> Reply:  # pragma: no cover
        """End the context's user's conversation here, saving nothing."""
        ...


@dataclass(frozen=True, slots=True)
class ChatRef:
    """The conversation: a chat id (a string on every platform), its kind, a forum topic."""

    id: str
    kind: ChatKind
    thread_id: str = ""
    title: str = ""
    locale: str = ""
    """The place's own language, where the platform has one (a Discord server's preferred
    locale): the default language when the chat is set up."""
    space: str = ""
    """The community the chat belongs to, where the platform has one (a Discord server)."""


@dataclass(frozen=True, slots=True)
class UserRef:
    """The person who wrote; ``is_admin`` is the platform's word on chat administration."""

    id: str
    name: str = ""
    client_language: str | None = None
    is_admin: bool = False
    can_manage_events: bool = False
    """The platform's word that the user may manage events here (Discord's Manage Events)."""


AdminCheck = Callable[[], Awaitable[bool]]
PostCheck = Callable[[str], bool]
"""Whether the bot may post in a chat (by id), as far as the platform knows."""
Fetch = Callable[[], Awaitable[bytes]]
OptionValue = str | int | float | bool


class AttachmentKind(enum.StrEnum):
    """What a user attached: a photo (compressed by the platform) or a file as it was sent."""

    PHOTO = "photo"
    DOCUMENT = "document"


@dataclass(frozen=True, slots=True)
class Attachment:
    """A photo or file sent to the bot: described by the platform, its bytes fetched on demand.

    ``file_ref`` is the platform's own reference (a Telegram ``file_id``, a Discord attachment
    URL, a path on the console): cheap to repost by reference. ``fetch`` downloads the bytes.
    """

    kind: AttachmentKind
    file_ref: str
    mime_type: str = ""
    size: int | None = None
    file_name: str = ""
    fetch: Fetch | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Incoming:
    """A request as an adapter hands it to the dispatcher.

    The request is one of: ``text`` (a message, e.g. ``/memorial Liège``), a ``command`` with
    typed ``options`` (a Discord slash command: no text to re-parse), ``action`` (a pressed
    button's action id), ``location`` (a shared location) or ``attachment`` (a photo or file,
    with ``text`` as its caption). ``is_answer`` marks text that answers the bot's question
    (a Discord modal): it goes to the conversation even when it starts with ``/``.
    """

    platform: str
    chat: ChatRef
    user: UserRef
    text: str | None = None
    action: str | None = None
    location: GeoPoint | None = None
    check_admin: AdminCheck | None = None
    """Asks the platform whether the user administers the chat; called only when needed."""
    command: str | None = None
    options: Mapping[str, OptionValue] = field(default_factory=dict)
    attachment: Attachment | None = None
    is_answer: bool = False
    can_post: PostCheck | None = None
    """Whether the bot may post in a chat of this place (Discord: another channel of the
    server); None when the platform cannot tell."""


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
    options: Mapping[str, OptionValue] = field(default_factory=dict)
    """The command's parameters by name: typed values from Discord, or the words of a typed
    command assigned to the registry's parameters in order (the last takes the rest)."""
    attachment: Attachment | None = None
    can_post: PostCheck | None = None
    flows: FlowStarter | None = None
    """Starts a conversation (the dispatcher's engine); None outside the dispatcher."""

    def option(self, name: str) -> str:
        """A parameter's value as text ("" when absent)."""
        value = self.options.get(name)
        if value is None or isinstance(value, bool):
            return ""
        return str(value).strip()

    async def start_flow(self, name: str, answers: Mapping[str, Any] | None = None) -> Reply:
        """Start the conversation ``name`` (prefilled with ``answers``) and return its first
        question; the answers' step is validated first, as if the user had sent it."""
        if self.flows is None:
            raise RuntimeError("conversations need the dispatcher")
        return await self.flows.start(self, name, dict(answers or {}))

    async def cancel_flow(self) -> Reply:
        """End this user's conversation here (``/cancel``)."""
        if self.flows is None:
            raise RuntimeError("conversations need the dispatcher")
        return await self.flows.cancel_current(self)

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
            or await self.core.is_bot_organizer(self.platform, self.user.id)
        ):
            return True
        return self.check_admin is not None and await self.check_admin()

    async def is_bot_organizer(self) -> bool:
        """Whether the user is a bot-wide organizer (the console's operator is one)."""
        return self.platform == CONSOLE or await self.core.is_bot_organizer(
            self.platform, self.user.id
        )

    async def may_organize(self) -> bool:
        """Whether the user may announce events from here: a bot-wide organizer anywhere;
        in a group, its administrators (asked of the platform at this moment); in a Discord
        server, members with Manage Events or an organizer role."""
        if await self.is_bot_organizer():
            return True
        if self.chat.kind is ChatKind.PRIVATE:
            return False
        if self.user.is_admin or self.user.can_manage_events:
            return True
        return self.check_admin is not None and await self.check_admin()
