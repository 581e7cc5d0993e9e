"""A neutral ``Reply`` rendered for Telegram: pure functions, no network.

Text becomes Bot API HTML (``parse_mode=HTML``) with every piece of data escaped; buttons become
an inline keyboard (``callback_data`` = the action id, or a URL); a venue stays a venue, sent
after the text. Text over Telegram's limits (4096 characters for a message, 1024 for a caption,
counted in UTF-16 code units to be safe) is split at line boundaries, preferably at a blank
line, and only inside a line when one line alone is too long; the split is made on the plain
text before escaping, so it can never fall inside an HTML tag or entity, and every chunk is
well-formed HTML on its own.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from telegram import (
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)

from bot.core.conversation import is_navigation, navigation_of
from bot.core.reply import (
    MAX_ACTION_BYTES,
    Ask,
    Button,
    OutgoingFile,
    Photo,
    Reply,
    Span,
    Style,
    Venue,
)

Markup = InlineKeyboardMarkup | ForceReply | ReplyKeyboardMarkup
PLACEHOLDER_LIMIT = 64

TEXT_LIMIT = 4096
"""Characters of a message after entity parsing."""
CAPTION_LIMIT = 1024
"""Characters of a media caption after entity parsing."""
MAX_BUTTONS_PER_ROW = 8
MAX_BUTTONS = 100
START_PARAMETER = re.compile(r"[A-Za-z0-9_-]{1,64}")
_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")


def escape(text: str) -> str:
    """Text made safe for Bot API HTML: ``&``, ``<``, ``>``, ``"`` and ``'`` escaped."""
    return html.escape(text, quote=True)


def utf16_len(text: str) -> int:
    """The length of ``text`` in UTF-16 code units (never less than its code points)."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def acceptable_url(url: str | None) -> bool:
    """Whether Telegram accepts ``url`` in a link or a URL button (http(s) with a real host,
    or ``tg://``); anything else is shown as plain text or left out."""
    if not url or any(ch.isspace() for ch in url):
        return False
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return False
    scheme = parts.scheme.lower()
    if scheme == "tg":
        return bool(url.partition("://")[2])
    if scheme not in ("http", "https") or not host:
        return False
    if _IPV4.fullmatch(host):
        return True
    labels = host.split(".")
    tld = labels[-1]
    return (
        len(labels) >= 2
        and all(labels)
        and ((len(tld) >= 2 and tld.isalpha()) or tld.startswith("xn--"))
    )


def deep_link(bot_username: str, payload: str) -> str | None:
    """``https://t.me/<bot>?start=<payload>``; None when the payload is not a valid start
    parameter (1-64 of ``A-Z a-z 0-9 _ -``) or the username is unknown."""
    if not bot_username or not START_PARAMETER.fullmatch(payload):
        return None
    return f"https://t.me/{bot_username}?start={payload}"


# -- text --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Piece:
    """A run of text with one style inside one line (no line break)."""

    text: str
    style: Style = Style.PLAIN
    url: str | None = None


Line = tuple[Piece, ...]


def reply_lines(reply: Reply) -> list[Line]:
    """The reply's text as lines of pieces; the title, if any, is a bold first line."""
    spans: list[Span] = []
    if reply.title:
        spans += [Span(reply.title, Style.BOLD), Span("\n")]
    spans += reply.spans
    lines: list[list[Piece]] = [[]]
    for span in spans:
        for number, part in enumerate(span.text.replace("\r\n", "\n").split("\n")):
            if number:
                lines.append([])
            if part:
                lines[-1].append(Piece(part, span.style, span.url))
    return [tuple(line) for line in lines]


def piece_html(piece: Piece) -> str:
    """One piece as HTML: its text escaped, wrapped in the tag of its style."""
    body = escape(piece.text)
    if piece.style is Style.BOLD:
        return f"<b>{body}</b>"
    if piece.style is Style.ITALIC:
        return f"<i>{body}</i>"
    if piece.style is Style.CODE:
        return f"<code>{body}</code>"
    if piece.style is Style.LINK and acceptable_url(piece.url):
        return f'<a href="{escape(piece.url or "")}">{body}</a>'
    return body


def line_html(line: Line) -> str:
    """One line as HTML."""
    return "".join(piece_html(piece) for piece in line)


def line_length(line: Line) -> int:
    """The length of a line as Telegram counts it after parsing (UTF-16 code units)."""
    return sum(utf16_len(piece.text) for piece in line)


def _blank(line: Line) -> bool:
    return all(not piece.text.strip() for piece in line)


def _trimmed(lines: Sequence[Line]) -> list[Line]:
    start, end = 0, len(lines)
    while start < end and _blank(lines[start]):
        start += 1
    while end > start and _blank(lines[end - 1]):
        end -= 1
    return list(lines[start:end])


def _size(lines: Sequence[Line]) -> int:
    return sum(line_length(line) for line in lines) + max(0, len(lines) - 1)


def _cut_index(text: str, room: int) -> int:
    """Where to cut ``text`` so that its head fits in ``room`` UTF-16 units: after the last
    space of the head when that keeps at least half of it, else at the last fitting
    character."""
    fit, used = 0, 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > room:
            break
        fit = index + 1
    space = text.rfind(" ", 0, fit)
    if space >= fit // 2 and space > 0:
        return space + 1
    return fit


def split_line(line: Line, first_room: int, room: int) -> list[Line]:
    """A line too long for one message, cut into parts: between pieces where a piece fits a
    whole part, else at a space, else between characters."""
    parts: list[Line] = []
    current: list[Piece] = []
    free = first_room
    for piece in line:
        text = piece.text
        while text:
            length = utf16_len(text)
            if length <= free:
                current.append(Piece(text, piece.style, piece.url))
                free -= length
                break
            if current and length <= room:
                parts.append(tuple(current))
                current, free = [], room
                continue
            cut = _cut_index(text, free)
            if cut == 0:
                if not current:  # a part cannot even hold one character: cannot happen
                    raise ValueError("a message limit below two characters")
                parts.append(tuple(current))
                current, free = [], room
                continue
            current.append(Piece(text[:cut], piece.style, piece.url))
            parts.append(tuple(current))
            current, free = [], room
            text = text[cut:]
    if current:
        parts.append(tuple(current))
    return parts


def _paragraph_cut(lines: list[Line], limit: int) -> tuple[list[Line], list[Line]]:
    """Split a full chunk at its last blank line when the head keeps at least half the room."""
    size = 0
    best: int | None = None
    for index, line in enumerate(lines):
        if index and _blank(line) and size >= limit // 2:
            best = index
        size += line_length(line) + (1 if index else 0)
    if best is None:
        return lines, []
    return lines[:best], lines[best + 1 :]


def split_lines(lines: Sequence[Line], first_limit: int, limit: int) -> list[list[Line]]:
    """Group lines into chunks: the first at most ``first_limit`` long, the others ``limit``
    (lengths after parsing, line breaks included); blank lines at a chunk's edges are
    dropped, and so are chunks left empty."""
    chunks: list[list[Line]] = []
    current: list[Line] = []
    size = 0

    def room() -> int:
        return first_limit if not chunks else limit

    def close(group: list[Line]) -> None:
        kept = _trimmed(group)
        if kept:
            chunks.append(kept)

    for line in _trimmed(lines):
        length = line_length(line)
        if size + length + (1 if current else 0) <= room():
            size += length + (1 if current else 0)
            current.append(line)
            continue
        if current:
            head, current = _paragraph_cut(current, room())
            close(head)
            size = _size(current)
            if current and size + length + 1 <= room():
                size += length + 1
                current.append(line)
                continue
            close(current)
        parts = split_line(line, room(), limit)
        if not parts:  # a blank line after a full chunk: nothing to carry over
            current, size = [], 0
            continue
        for part in parts[:-1]:
            close([part])
        current = [parts[-1]]
        size = line_length(parts[-1])
    close(current)
    return chunks


def render_html(lines: Sequence[Line]) -> str:
    """Lines as one HTML text."""
    return "\n".join(line_html(line) for line in lines)


def split_html(reply: Reply, first_limit: int = TEXT_LIMIT, limit: int = TEXT_LIMIT) -> list[str]:
    """The reply's text as HTML chunks, each within Telegram's limit."""
    return [render_html(chunk) for chunk in split_lines(reply_lines(reply), first_limit, limit)]


# -- buttons -----------------------------------------------------------------------------


def inline_button(button: Button) -> InlineKeyboardButton | None:
    """One button: ``callback_data`` is the action id, or a URL; None when Telegram would
    refuse it (no label, an action over 64 bytes, a URL it does not accept)."""
    if not button.label.strip():
        return None
    if button.action is not None:
        if not 1 <= len(button.action.encode()) <= MAX_ACTION_BYTES:
            return None
        return InlineKeyboardButton(button.label, callback_data=button.action)
    if acceptable_url(button.url):
        return InlineKeyboardButton(button.label, url=button.url)
    return None


def keyboard(rows: Iterable[Sequence[Button]]) -> InlineKeyboardMarkup | None:
    """An inline keyboard of the rows (at most 8 buttons a row, 100 in all); None if empty."""
    out: list[list[InlineKeyboardButton]] = []
    total = 0
    for row in rows:
        buttons = [b for b in (inline_button(button) for button in row) if b is not None]
        buttons = buttons[: MAX_BUTTONS - total]
        total += len(buttons)
        out += [
            buttons[start : start + MAX_BUTTONS_PER_ROW]
            for start in range(0, len(buttons), MAX_BUTTONS_PER_ROW)
        ]
    return InlineKeyboardMarkup(out) if out else None


# -- a whole reply ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RenderedReply:
    """What to send for one reply, in order: the photo (with ``caption``), the ``texts``
    (the keyboard goes on the last message sent before the venue), then the venue."""

    texts: tuple[str, ...]
    markup: Markup | None = None
    venue: Venue | None = None
    photo_url: str | None = None
    caption: str | None = None
    file: OutgoingFile | None = None
    photo: Photo | None = None
    """A photo from the media store, sent first with ``caption`` (by its Telegram reference
    when it has one)."""

    @property
    def editable(self) -> bool:
        """Whether the reply fits one text message with an inline keyboard (or none), so it
        can replace a message in place."""
        return (
            len(self.texts) == 1
            and self.venue is None
            and self.photo_url is None
            and self.photo is None
            and self.file is None
            and (self.markup is None or isinstance(self.markup, InlineKeyboardMarkup))
        )


def question_markup(
    ask: Ask, buttons: Sequence[Sequence[Button]], *, private: bool
) -> Markup | None:
    """How a conversation's question is asked on Telegram.

    - a location, in a private chat: a keyboard with the "send my location" button, and
      the Back and Cancel buttons as keyboard buttons (they send their label);
    - typed text in a group, when the question offers nothing but Cancel (``/cancel`` does
      the same): ``ForceReply`` (selective: only the person asked gets the reply field), so
      the answer reaches the bot even with privacy mode on;
    - otherwise the inline keyboard of its choices, Back, Skip and Cancel (in a private chat
      every message reaches the bot, and in a group a reply to the question does).
    """
    placeholder = ask.placeholder[:PLACEHOLDER_LIMIT] or None
    if ask.location and private:
        navigation = [
            KeyboardButton(button.label)
            for row in buttons
            for button in row
            if is_navigation(button.action)
        ]
        return ReplyKeyboardMarkup(
            [[KeyboardButton("📍 " + ask.label, request_location=True)], navigation],
            resize_keyboard=True,
            one_time_keyboard=True,
            input_field_placeholder=placeholder,
        )
    only_cancel = all(navigation_of(button.action) == "cancel" for row in buttons for button in row)
    if ask.kind.typed and not private and only_cancel:
        return ForceReply(selective=True, input_field_placeholder=placeholder)
    return keyboard(buttons)


def _navigation(row: Sequence[Button]) -> bool:
    return all(
        (button.action or "").split(":")[2:3] in (["back"], ["skip"], ["cancel"]) for button in row
    )


def render(reply: Reply, *, private: bool = True) -> RenderedReply:
    """Render a reply: HTML chunks within the limits, the keyboard (or the way a question is
    answered, see ``question_markup``), the venue, the photo."""
    markup: Markup | None
    if reply.ask is not None:
        markup = question_markup(reply.ask, reply.buttons, private=private)
    else:
        markup = keyboard(reply.buttons)
    lines = reply_lines(reply)
    if reply.photo is not None:
        chunks = split_lines(lines, CAPTION_LIMIT, TEXT_LIMIT)
        caption = render_html(chunks[0]) if chunks else None
        texts = tuple(render_html(chunk) for chunk in chunks[1:])
        return RenderedReply(texts, markup, reply.venue, caption=caption, photo=reply.photo)
    if reply.image_url and acceptable_url(reply.image_url):
        chunks = split_lines(lines, CAPTION_LIMIT, TEXT_LIMIT)
        caption = render_html(chunks[0]) if chunks else None
        texts = tuple(render_html(chunk) for chunk in chunks[1:])
        return RenderedReply(texts, markup, reply.venue, reply.image_url, caption)
    texts = tuple(render_html(chunk) for chunk in split_lines(lines, TEXT_LIMIT, TEXT_LIMIT))
    return RenderedReply(texts, markup, reply.venue, file=reply.file)


def venue_address(venue: Venue) -> str:
    """The venue's address, or its coordinates when it has none (Telegram requires one)."""
    return venue.address.strip() or f"{venue.point.lat:.5f}, {venue.point.lon:.5f}"
