"""Neutral replies: what a handler returns and every adapter renders.

Text is a sequence of spans with simple emphasis; each adapter escapes and renders it for its
platform (Telegram HTML, Discord markdown, plain text on the console). Buttons carry a URL or an
action id of at most 64 bytes (Telegram's ``callback_data`` limit).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bot.core.domain import GeoPoint

MAX_ACTION_BYTES = 64


class Style(enum.StrEnum):
    """Emphasis of a span of text."""

    PLAIN = "plain"
    BOLD = "bold"
    ITALIC = "italic"
    CODE = "code"
    LINK = "link"
    CHAT = "chat"
    """A chat or channel: ``text`` names it; ``url`` holds its id, for a platform that can
    link it (Discord's ``<#id>``)."""
    TIMESTAMP = "timestamp"
    """An instant: ``text`` is how it reads in the chat's zone; a platform that shows each
    reader their own time (Discord's ``<t:…>``) renders ``moment`` instead."""


@dataclass(frozen=True, slots=True)
class Span:
    """A run of text with one style; ``url`` is set for links, ``moment`` for timestamps."""

    text: str
    style: Style = Style.PLAIN
    url: str | None = None
    moment: dt.datetime | None = None


class AnswerKind(enum.StrEnum):
    """The kind of answer a conversation step expects."""

    TEXT = "text"
    CHOICE = "choice"
    DATE = "date"
    TIME = "time"
    ZONE = "zone"
    LOCATION = "location"
    MEMORIAL = "memorial"
    PHOTO = "photo"
    FILE = "file"
    CONFIRM = "confirm"

    @property
    def typed(self) -> bool:
        """Whether the answer is typed text (a modal on Discord, ForceReply on Telegram)."""
        return self not in (
            AnswerKind.CHOICE,
            AnswerKind.CONFIRM,
            AnswerKind.PHOTO,
            AnswerKind.FILE,
        )


@dataclass(frozen=True, slots=True)
class Ask:
    """The question a reply asks: each platform renders it natively (Telegram's ForceReply
    or location button, a Discord modal or attachment option, the console's next line).

    ``label`` is a short name of the answer (a modal field's label), ``turn`` the
    conversation's question number (stale buttons and modals are refused).
    """

    kind: AnswerKind
    label: str
    turn: int
    placeholder: str = ""
    max_length: int | None = None
    multiline: bool = False
    location: bool = False
    """Offer "send my location" where the platform has it."""


@dataclass(frozen=True, slots=True)
class Button:
    """A button: opens ``url``, or sends ``action`` back to the bot when pressed."""

    label: str
    action: str | None = None
    url: str | None = None

    def __post_init__(self) -> None:
        if (self.action is None) == (self.url is None):
            raise ValueError("a button needs exactly one of action or url")
        if self.action is not None and len(self.action.encode()) > MAX_ACTION_BYTES:
            raise ValueError(f"action id over {MAX_ACTION_BYTES} bytes: {self.action!r}")


@dataclass(frozen=True, slots=True)
class Venue:
    """A place to show on a map: a position with a title and an address."""

    point: GeoPoint
    title: str
    address: str = ""


@dataclass(frozen=True, slots=True)
class OutgoingFile:
    """A file sent with a reply (an event's ``.ics``): its name, type and bytes."""

    name: str
    mime_type: str
    data: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class Photo:
    """A photo sent with a reply, its text as the caption (an Immortal Regiment portrait):
    the file in the media store, and the platforms' references to it once posted there
    (``refs``: Telegram's ``file_id``), cheaper to repost than the bytes."""

    key: str
    path: Path
    name: str
    refs: Mapping[str, str] = field(default_factory=dict)

    def read(self) -> bytes:
        """The photo's bytes."""
        return self.path.read_bytes()


@dataclass(frozen=True, slots=True)
class Reply:
    """One message from the bot, platform-neutral."""

    spans: tuple[Span, ...] = ()
    buttons: tuple[tuple[Button, ...], ...] = ()
    venue: Venue | None = None
    image_url: str | None = None
    ephemeral: bool = False
    title: str | None = None
    """A heading; Discord renders it as the embed title, others as a bold first line."""
    ask: Ask | None = None
    """The question this reply asks, when it is a conversation's step."""
    replaces: bool = False
    """Answering a pressed button: replace that button's message (paging, choices) rather
    than sending a new one."""
    file: OutgoingFile | None = None
    """A file sent after the text."""
    pin_until: dt.datetime | None = None
    """Pin the message in a group where the bot may, until this instant (an announcement,
    until its event is over)."""
    photo: Photo | None = None
    """A photo shown with the text (the text as its caption, as far as the platform allows)."""

    def plain_text(self) -> str:
        """The text without any markup."""
        head = f"{self.title}\n" if self.title else ""
        return head + "".join(span.text for span in self.spans)


@dataclass(slots=True)
class ReplyBuilder:
    """Builds a ``Reply`` one span at a time."""

    spans: list[Span] = field(default_factory=list)
    buttons: list[tuple[Button, ...]] = field(default_factory=list)

    def text(self, text: str) -> ReplyBuilder:
        """Append plain text."""
        if text:
            self.spans.append(Span(text))
        return self

    def bold(self, text: str) -> ReplyBuilder:
        """Append bold text."""
        if text:
            self.spans.append(Span(text, Style.BOLD))
        return self

    def italic(self, text: str) -> ReplyBuilder:
        """Append italic text."""
        if text:
            self.spans.append(Span(text, Style.ITALIC))
        return self

    def code(self, text: str) -> ReplyBuilder:
        """Append monospaced text."""
        if text:
            self.spans.append(Span(text, Style.CODE))
        return self

    def link(self, text: str, url: str) -> ReplyBuilder:
        """Append a link."""
        self.spans.append(Span(text, Style.LINK, url))
        return self

    def chat(self, text: str, chat_id: str) -> ReplyBuilder:
        """Append a chat's name, linked where the platform links chats."""
        self.spans.append(Span(text, Style.CHAT, chat_id))
        return self

    def fill(self, template: str, name: str, span: Span) -> ReplyBuilder:
        """Append a translated ``template`` whose ``{name}`` is the styled ``span``."""
        before, marker, after = template.partition("{" + name + "}")
        self.text(before)
        if marker:
            self.spans.append(span)
            self.text(after)
        return self

    def timestamp(self, text: str, moment: dt.datetime) -> ReplyBuilder:
        """Append an instant: ``text`` in the chat's zone, or the reader's own time where the
        platform can show it."""
        self.spans.append(Span(text, Style.TIMESTAMP, moment=moment))
        return self

    def line(self, text: str = "") -> ReplyBuilder:
        """Append plain text and a line break."""
        return self.text(text + "\n")

    def row(self, *buttons: Button) -> ReplyBuilder:
        """Append a row of buttons."""
        if buttons:
            self.buttons.append(tuple(buttons))
        return self

    def build(
        self,
        *,
        venue: Venue | None = None,
        image_url: str | None = None,
        ephemeral: bool = False,
        title: str | None = None,
        ask: Ask | None = None,
        replaces: bool = False,
        file: OutgoingFile | None = None,
        pin_until: dt.datetime | None = None,
        photo: Photo | None = None,
    ) -> Reply:
        """Freeze into a ``Reply``; trailing line breaks are dropped."""
        spans = list(self.spans)
        while spans and spans[-1].style is Style.PLAIN and spans[-1].text.endswith("\n"):
            stripped = spans[-1].text.rstrip("\n")
            spans[-1:] = [Span(stripped)] if stripped else []
        return Reply(
            spans=tuple(spans),
            buttons=tuple(self.buttons),
            venue=venue,
            image_url=image_url,
            ephemeral=ephemeral,
            title=title,
            ask=ask,
            replaces=replaces,
            file=file,
            pin_until=pin_until,
            photo=photo,
        )


def text_reply(text: str, *, ephemeral: bool = False) -> Reply:
    """A reply of plain text."""
    return Reply(spans=(Span(text),), ephemeral=ephemeral)
