"""A neutral ``Reply`` as Discord messages: embeds, content and buttons. Pure: no network.

- Text spans become Discord markdown. Every span is escaped first (``escape_markdown`` and
  ``escape_mentions``): data such as a memorial's name or a user's query can neither format
  the message nor mention anyone (``allowed_mentions`` is "none" on every send as well).
- A reply is an embed: its ``title`` (or a first line that is all bold) is the embed title,
  the rest the description; a ``Venue`` becomes a field with the coordinates and a map link
  (Discord has no location message); ``image_url`` the embed image. A short ephemeral reply
  without a heading (a usage hint, a refusal, an apology) is plain content instead.
- Every limit is respected by splitting, never by failing: content 2000, embed title 256,
  description 4096, field name 256 and value 1024, 25 fields, 6000 characters in all the
  embeds of a message, 10 embeds a message; text is split at line breaks (a line too long
  for one message at word boundaries), each part styled on its own.
- Buttons: at most 5 rows of 5. An action button's ``custom_id`` is ``cb:<action>``; the
  ``ActionButton`` dynamic item parses the action back out of it, so buttons keep working
  after a restart. Rows that do not fit are merged, labels cut to 80 characters.
- ``/command`` in the text becomes a command mention (``</command:id>``) when the command ids
  are known: Discord shows it in the reader's language and makes it clickable.
- Events (``render_events``) show their start as ``<t:unix:F>``: every reader sees the time
  in their own zone, with the local time of the place beside it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, Self, runtime_checkable

import discord
from discord.utils import escape_markdown, escape_mentions

from bot.core.conversation import action as conversation_action
from bot.core.geo import map_url
from bot.core.reply import Button, OutgoingFile, Photo, Reply, Span, Style, Venue

CONTENT_LIMIT = 2000
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FIELDS_LIMIT = 25
EMBED_TOTAL_LIMIT = 6000
EMBEDS_PER_MESSAGE = 10
BUTTON_LABEL_LIMIT = 80
ROWS_LIMIT = 5
BUTTONS_PER_ROW = 5
CUSTOM_ID_LIMIT = 100
URL_LIMIT = 512

EMBED_COLOUR = 0xB22222
"""The colour of the bot's embeds (a dark red)."""
ELLIPSIS = "…"

ACTION_TEMPLATE = re.compile(r"cb(?:~(?P<copy>\d{1,2}))?:(?P<action>.+)", re.DOTALL)
"""A button's ``custom_id``: ``cb:<action>`` (``cb~2:<action>`` for a second button with the
same action on one message)."""

NO_MENTIONS = discord.AllowedMentions.none()
"""Nobody is ever mentioned: no ``@everyone``, ``@here``, role or user ping."""

_COMMAND = re.compile(r"(?<![\w/<:.\\-])/([a-z][a-z0-9_-]{0,31})(?![\w/-])")
_UNESCAPED_BRACKET = re.compile(r"(?<!\\)((?:\\\\)*)([\[\]])")
"""A square bracket after an even number of backslashes (none, or escaped backslashes): live."""
_LINK_END = re.compile(r"(?<!\\)((?:\\\\)*)\](?=\s*\()")
"""The ``](`` that makes ``[label](url)`` a masked link, its bracket live."""


def units(text: str) -> int:
    """The length of ``text`` as Discord counts it (UTF-16 code units: never too short)."""
    return len(text.encode("utf-16-le")) // 2


_OTHER_MARKUP = re.compile(r"<(?=#\d|/[^\s>]+:\d|t:-?\d|a?:\w+:\d)")
"""What Discord draws in place of the text beside mentions of people (which
``escape_mentions`` handles): a channel link ``<#id>``, a command ``</name:id>``, a timestamp
``<t:…>``, a custom emoji ``<:name:id>``; a zero-width space after ``<`` shows it as typed."""


def escape(text: str) -> str:
    """``text`` with Discord markdown, mentions and other markup neutralized. The ``]`` of
    every ``](`` is escaped: ``escape_markdown`` escapes only the first of several masked links
    in one text (its pattern runs from the first ``[`` to the last ``)``), and the others
    stayed live links, with any label and any address."""
    escaped = _LINK_END.sub(r"\1\\]", escape_markdown(text))
    return _OTHER_MARKUP.sub("<\u200b", escape_mentions(escaped))


def link_commands(text: str, commands: Mapping[str, int] | None) -> str:
    """``/name`` of a known command as a clickable command mention ``</name:id>``."""
    if not commands:
        return text

    def mention(match: re.Match[str]) -> str:
        command_id = commands.get(match[1])
        return f"</{match[1]}:{command_id}>" if command_id else match[0]

    return _COMMAND.sub(mention, text)


def safe_url(url: str | None) -> str | None:
    """An http(s) URL usable in a markdown link or a link button, or None."""
    if not url or len(url) > URL_LIMIT or not re.match(r"https?://[^\s/]", url):
        return None
    return url.replace("(", "%28").replace(")", "%29").replace(" ", "%20")


def clip(text: str, limit: int, rendering: Callable[[str], str] = escape) -> str:
    """``rendering(text)``, cut with an ellipsis so that it is at most ``limit`` long."""
    whole = rendering(text)
    if units(whole) <= limit:
        return whole
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if units(rendering(text[:middle].rstrip() + ELLIPSIS)) <= limit:
            low = middle
        else:
            high = middle - 1
    return rendering(text[:low].rstrip() + ELLIPSIS)


# -- text ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Piece:
    """A span's text within one line (no line breaks)."""

    text: str
    style: Style
    url: str | None = None
    moment: dt.datetime | None = None

    def render(self, commands: Mapping[str, int] | None) -> str:
        text = self.text
        if self.style is Style.CODE:
            return _code(text)
        if self.style is Style.CHAT and self.url and self.url.isdigit():
            return f"<#{self.url}>"
        if self.style is Style.TIMESTAMP and self.moment is not None:
            shown = escape(text.strip())
            return timestamp(self.moment) + (f" ({shown})" if shown else "")
        if self.style is Style.LINK:
            url = safe_url(self.url)
            if url is not None and text.strip():
                label = _UNESCAPED_BRACKET.sub(r"\1\\\2", escape(text))
                return f"[{label}]({url})"
        core = text.strip()
        if not core:
            return text
        lead = text[: len(text) - len(text.lstrip())]
        trail = text[len(text.rstrip()) :]
        body = link_commands(escape(core), commands)
        if self.style is Style.BOLD:
            body = f"**{body}**"
        elif self.style is Style.ITALIC:
            body = f"_{body}_"
        return lead + body + trail


def _code(text: str) -> str:
    text = _OTHER_MARKUP.sub("<\u200b", escape_mentions(text))
    if "`" not in text:
        return f"`{text}`"
    if "``" not in text:
        return f"`` {text} ``"
    return "`" + text.replace("`", "ˋ") + "`"


def _lines(spans: Sequence[Span]) -> list[list[_Piece]]:
    """The spans cut at their line breaks: one list of pieces per line."""
    lines: list[list[_Piece]] = [[]]
    for span in spans:
        parts = span.text.split("\n")
        for number, part in enumerate(parts):
            if number:
                lines.append([])
            if part:
                lines[-1].append(_Piece(part, span.style, span.url, span.moment))
    return lines


def _split_text(text: str, fits: Callable[[str], bool]) -> list[str]:
    """``text`` cut into parts that each ``fit``, preferably after a space."""
    parts: list[str] = []
    while text:
        if fits(text):
            parts.append(text)
            break
        low, high = 1, len(text)
        while low < high:
            middle = (low + high + 1) // 2
            if fits(text[:middle]):
                low = middle
            else:
                high = middle - 1
        cut = low
        space = text.rfind(" ", 0, cut)
        if space > cut // 2:
            cut = space + 1
        parts.append(text[:cut])
        text = text[cut:]
    return parts


def _render_line(
    pieces: Sequence[_Piece], limit: int, commands: Mapping[str, int] | None
) -> list[str]:
    """One line of text, as one rendered string, or several when it is too long."""
    rendered = [piece.render(commands) for piece in pieces]
    whole = "".join(rendered)
    if units(whole) <= limit:
        return [whole]
    out: list[str] = []
    current = ""
    for piece, text in zip(pieces, rendered, strict=True):
        parts = [text]
        if units(text) > limit:
            style, url = piece.style, piece.url

            def fits(part: str, style: Style = style, url: str | None = url) -> bool:
                return units(_Piece(part, style, url).render(commands)) <= limit

            parts = [
                _Piece(part, style, url).render(commands) for part in _split_text(piece.text, fits)
            ]
        for part in parts:
            if current and units(current + part) > limit:
                out.append(current)
                current = ""
            current += part
    if current:
        out.append(current)
    return out


def markdown_chunks(
    spans: Sequence[Span], limit: int, commands: Mapping[str, int] | None = None
) -> list[str]:
    """The spans as escaped Discord markdown, in chunks of at most ``limit`` characters,
    cut at line breaks (a line longer than ``limit`` at word boundaries)."""
    lines: list[str] = []
    for pieces in _lines(spans):
        lines.extend(_render_line(pieces, limit, commands) if pieces else [""])
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        extra = units(line) + (1 if current else 0)
        if current and size + extra > limit:
            chunks.append("\n".join(current))
            current, size = [], 0
            extra = units(line)
        current.append(line)
        size += extra
    if current:
        chunks.append("\n".join(current))
    return [chunk.strip("\n") for chunk in chunks if chunk.strip()]


def heading(reply: Reply) -> tuple[str | None, tuple[Span, ...]]:
    """The embed title and the spans of the body.

    The title is ``reply.title``; without one, a first line made only of bold text (the
    handlers' headings: "On this day, 9 May", a memorial's name) is taken as the title.
    """
    if reply.title:
        return reply.title, reply.spans
    head: list[str] = []
    end = len(reply.spans)
    for index, span in enumerate(reply.spans):
        if span.style is Style.BOLD and "\n" not in span.text:
            head.append(span.text)
        elif span.style is Style.PLAIN and span.text.startswith("\n") and head:
            end = index
            break
        elif span.style is Style.PLAIN and "\n" not in span.text and not span.text.strip():
            head.append(span.text)
        else:
            return None, reply.spans
    title = "".join(head).strip()
    if not title or units(escape(title)) > TITLE_LIMIT:
        return None, reply.spans
    rest = list(reply.spans[end:])
    while rest and rest[0].style is Style.PLAIN and not rest[0].text.strip():
        rest.pop(0)
    if rest and rest[0].style is Style.PLAIN:
        rest[0] = Span(rest[0].text.lstrip("\n"))
    return title, tuple(rest)


# -- buttons ------------------------------------------------------------------------------


@runtime_checkable
class ActionHost(Protocol):
    """The client that answers pressed action buttons (the adapter's bot)."""

    async def handle_action(self, interaction: discord.Interaction[Any], action: str) -> None:
        """Answer the press of a button whose action id is ``action``."""
        ...


class ActionButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=ACTION_TEMPLATE
):
    """A button that sends its action id back to the bot, also after a restart."""

    def __init__(
        self,
        action: str,
        *,
        label: str = "·",
        custom_id: str | None = None,
        row: int | None = None,
    ) -> None:
        super().__init__(
            discord.ui.Button(
                label=label,
                custom_id=custom_id or action_custom_id(action),
                style=discord.ButtonStyle.secondary,
            ),
            row=row,
        )
        self.action = action

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> Self:
        """The button of a pressed ``custom_id`` (any message, any earlier run of the bot)."""
        custom_id = getattr(item, "custom_id", None)
        return cls(match["action"], custom_id=custom_id if isinstance(custom_id, str) else None)

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        """Hand the press to the bot."""
        host = interaction.client
        if isinstance(host, ActionHost):
            await host.handle_action(interaction, self.action)


def action_custom_id(action: str, copy: int = 0) -> str:
    """The ``custom_id`` of an action button (``copy`` > 0 for a repeated action)."""
    return f"cb~{copy}:{action}" if copy else f"cb:{action}"


def parse_custom_id(custom_id: str) -> str | None:
    """The action id inside an action button's ``custom_id``, or None."""
    match = ACTION_TEMPLATE.fullmatch(custom_id)
    return match["action"] if match else None


def _usable(button: Button) -> Button | None:
    label = button.label.strip() or "·"
    if len(label) > BUTTON_LABEL_LIMIT:
        label = label[: BUTTON_LABEL_LIMIT - 1].rstrip() + ELLIPSIS
    if button.url is not None:
        url = safe_url(button.url)
        return Button(label, url=url) if url else None
    if button.action is None or len(action_custom_id(button.action, 99)) > CUSTOM_ID_LIMIT:
        return None
    return Button(label, action=button.action)


def pack_rows(rows: Sequence[Sequence[Button]]) -> tuple[tuple[Button, ...], ...]:
    """The buttons in at most 5 rows of 5: too-wide rows are wrapped, and while there are
    more than 5 rows the two neighbouring rows with the fewest buttons are merged (rows of
    action buttons first), or, when none fit together, every button is laid out five a
    row. Buttons beyond 25 are left out."""
    packed: list[list[Button]] = []
    for row in rows:
        usable = [button for button in map(_usable, row) if button is not None]
        for start in range(0, len(usable), BUTTONS_PER_ROW):
            packed.append(usable[start : start + BUTTONS_PER_ROW])
    while len(packed) > ROWS_LIMIT:
        best: tuple[int, bool, int] | None = None
        for index in range(len(packed) - 1):
            size = len(packed[index]) + len(packed[index + 1])
            if size > BUTTONS_PER_ROW:
                continue
            has_url = any(b.url for b in packed[index] + packed[index + 1])
            key = (size, has_url, index)
            if best is None or key < best:
                best = key
        if best is None:
            flat = [button for row in packed for button in row]
            packed = [
                flat[start : start + BUTTONS_PER_ROW]
                for start in range(0, len(flat), BUTTONS_PER_ROW)
            ]
            break
        index = best[2]
        packed[index : index + 2] = [packed[index] + packed[index + 1]]
    return tuple(tuple(row) for row in packed[:ROWS_LIMIT])


def build_view(rows: Sequence[Sequence[Button]]) -> discord.ui.View | None:
    """A view of the (packed) rows: link buttons and ``ActionButton`` dynamic items."""
    if not rows:
        return None
    view = discord.ui.View(timeout=None)
    seen: dict[str, int] = {}
    for number, row in enumerate(rows):
        for button in row:
            if button.url is not None:
                view.add_item(discord.ui.Button(label=button.label, url=button.url, row=number))
                continue
            action = button.action or ""
            copy = seen.get(action, -1) + 1
            seen[action] = copy
            view.add_item(
                ActionButton(
                    action,
                    label=button.label,
                    custom_id=action_custom_id(action, copy),
                    row=number,
                )
            )
    return view


# -- messages -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DiscordMessage:
    """One message to send: content and/or embeds, and the button rows of its view."""

    content: str | None = None
    embeds: tuple[discord.Embed, ...] = ()
    rows: tuple[tuple[Button, ...], ...] = ()

    def view(self) -> discord.ui.View | None:
        """A fresh view with this message's buttons (None without buttons)."""
        return build_view(self.rows)

    def payload(self) -> dict[str, Any]:
        """The JSON body of ``POST /channels/{id}/messages`` (mentions always off)."""
        body: dict[str, Any] = {"allowed_mentions": dict(NO_MENTIONS.to_dict())}
        if self.content:
            body["content"] = self.content
        if self.embeds:
            body["embeds"] = [embed.to_dict() for embed in self.embeds]
        view = self.view()
        if view is not None:
            body["components"] = view.to_components()
        return body


@dataclass(frozen=True, slots=True)
class RenderedReply:
    """A reply as one or more Discord messages; the buttons are on the last one."""

    messages: tuple[DiscordMessage, ...]
    ephemeral: bool = False
    file: OutgoingFile | None = None
    """A file sent after the messages (an event's ``.ics``)."""
    replaces: bool = False
    """Answering a button: replace that button's message (the reply said so)."""
    photo: Photo | None = None
    """A photo attached to the first message, shown as its embed's image."""

    @property
    def single(self) -> bool:
        """Whether the reply fits in one message without a file (so it can replace another
        in place)."""
        return len(self.messages) == 1 and self.file is None and self.photo is None


def embed_size(embed: discord.Embed) -> int:
    """The characters of an embed that count towards Discord's 6000."""
    size = units(embed.title or "") + units(embed.description or "")
    for item in embed.fields:
        size += units(item.name or "") + units(item.value or "")
    size += units(embed.footer.text or "") + units(embed.author.name or "")
    return size


def _new_embed(title: str | None = None, description: str | None = None) -> discord.Embed:
    return discord.Embed(title=title, description=description, colour=EMBED_COLOUR)


def _venue_field(venue: Venue) -> tuple[str, str]:
    """A place as an embed field: its address (or name) and the coordinates linking to a map."""
    point = venue.point
    name = clip(venue.address or venue.title or "📍", FIELD_NAME_LIMIT - 2)
    coordinates = f"{point.lat:.5f}, {point.lon:.5f}"
    return f"📍 {name}", f"[{coordinates}]({safe_url(map_url(point))})"


def pack_embeds(embeds: Sequence[discord.Embed]) -> list[tuple[discord.Embed, ...]]:
    """Embeds grouped into messages: at most 10 a message and 6000 characters in all."""
    messages: list[list[discord.Embed]] = []
    size = 0
    for embed in embeds:
        extra = embed_size(embed)
        if (
            not messages
            or len(messages[-1]) >= EMBEDS_PER_MESSAGE
            or size + extra > EMBED_TOTAL_LIMIT
        ):
            messages.append([])
            size = 0
        messages[-1].append(embed)
        size += extra
    return [tuple(group) for group in messages]


def uses_content(reply: Reply) -> bool:
    """Whether a reply is sent as plain content: a short ephemeral notice without a heading,
    a place or an image (a usage hint, a refusal, a setting changed, an apology)."""
    return (
        reply.ephemeral
        and not reply.title
        and reply.venue is None
        and reply.image_url is None
        and reply.photo is None
        and heading(reply)[0] is None
    )


def render(reply: Reply, *, commands: Mapping[str, int] | None = None) -> RenderedReply:
    """A neutral reply as Discord messages, every limit respected (see the module doc).

    A question that expects typed text gets an "answer" button first: it opens a modal."""
    buttons = list(reply.buttons)
    ask = reply.ask
    if ask is not None and ask.kind.typed:
        buttons.insert(0, (Button("✎ " + ask.label, action=conversation_action(ask.turn, "open")),))
    rows = pack_rows(buttons)
    if uses_content(reply):
        chunks = markdown_chunks(reply.spans, CONTENT_LIMIT, commands) or [ELLIPSIS]
        messages = [DiscordMessage(content=chunk) for chunk in chunks]
    else:
        title, body = heading(reply)
        chunks = markdown_chunks(body, DESCRIPTION_LIMIT, commands)
        first = _new_embed(
            title=clip(title, TITLE_LIMIT) if title else None,
            description=chunks[0] if chunks else None,
        )
        if reply.venue is not None:
            name, value = _venue_field(reply.venue)
            first.add_field(name=name, value=value, inline=False)
            if title:
                first.url = safe_url(map_url(reply.venue.point))
        image = safe_url(reply.image_url)
        if reply.photo is not None:
            first.set_image(url=f"attachment://{reply.photo.name}")
        elif image:
            first.set_image(url=image)
        if first.title is None and first.description is None and not first.fields:
            first.description = ELLIPSIS
        embeds = [first] + [_new_embed(description=chunk) for chunk in chunks[1:]]
        messages = [DiscordMessage(embeds=group) for group in pack_embeds(embeds)]
    last = messages[-1]
    messages[-1] = DiscordMessage(content=last.content, embeds=last.embeds, rows=rows)
    return RenderedReply(
        tuple(messages),
        ephemeral=reply.ephemeral,
        file=reply.file,
        replaces=reply.replaces,
        photo=reply.photo,
    )


def text_message(text: str, *, ephemeral: bool = True) -> RenderedReply:
    """A plain notice as content (escaped, split at 2000 characters)."""
    chunks = markdown_chunks((Span(text),), CONTENT_LIMIT) or [ELLIPSIS]
    return RenderedReply(tuple(DiscordMessage(content=chunk) for chunk in chunks), ephemeral)


# -- events -------------------------------------------------------------------------------


def timestamp(moment: dt.datetime, style: str = "F") -> str:
    """A Discord timestamp (``<t:unix:F>``): shown in each reader's own zone and language."""
    return f"<t:{int(moment.timestamp())}:{style}>"
