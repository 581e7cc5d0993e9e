"""What every reply must be on every platform, whatever the input: within the platform's
limits, and inert (no markup, link or mention that the input did not earn)."""

from __future__ import annotations

import importlib
import logging
import re
from html.parser import HTMLParser

from bot.core.reply import Reply

discord_render = importlib.import_module("bot.adapters.discord.render")
telegram_render = importlib.import_module("bot.adapters.telegram.render")

TELEGRAM_TAGS = {"b", "i", "code", "a"}
"""The only HTML the Telegram renderer writes."""
EVIL = "evil.example"
"""The host every hostile link in the fuzz strategies points to."""
DISCORD_MASKED_LINK = re.compile(r"(?<!\\)((?:\\\\)*)\]\(\s*<?\s*([^)\s>]*)")
"""The end of a live masked link, ``](url``, and its address."""
CODE_SPAN = re.compile(r"``.*?``|`[^`]*`", re.DOTALL)
"""Inline code, where Discord draws no markup."""
DISCORD_MENTION = re.compile(
    r"@(everyone|here)|<[@#][!&]?123456789012345678>|</memorial:1>|<t:0:F>|<a?:\w+:\d+>"
)
"""The mentions and markup the strategies type (``NASTY``), live; the bot's own timestamps
and channel links (``Style.TIMESTAMP``, ``Style.CHAT``) use other values."""


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def check_telegram(reply: Reply, *, private: bool = True) -> None:
    """Every text and caption within Telegram's limits, only the renderer's own tags, and no
    link to a hostile host."""
    rendered = telegram_render.render(reply, private=private)
    for text in rendered.texts:
        assert telegram_render.utf16_len(_visible(text)) <= telegram_render.TEXT_LIMIT, text[:200]
    if rendered.caption is not None:
        assert telegram_render.utf16_len(_visible(rendered.caption)) <= (
            telegram_render.CAPTION_LIMIT
        )
    for text in (*rendered.texts, rendered.caption or ""):
        parser = _Tags()
        parser.feed(text)
        parser.close()
        for tag, attrs in parser.tags:
            assert tag in TELEGRAM_TAGS, (tag, text[:300])
            assert EVIL not in (attrs.get("href") or ""), text[:300]
    for row in getattr(rendered.markup, "inline_keyboard", ()) or ():
        for button in row:
            assert len((button.callback_data or "").encode()) <= 64
            assert EVIL not in (button.url or "")


def _visible(html_text: str) -> str:
    """The text Telegram counts: without tags, entities decoded."""
    import html

    return html.unescape(re.sub(r"<[^>]+>", "", html_text))


def check_discord(reply: Reply) -> None:
    """Every message within Discord's limits, mentions off, no live mention or masked link
    to a hostile host."""
    rendered = discord_render.render(reply)
    for message in rendered.messages:
        payload = message.payload()
        assert payload["allowed_mentions"] == {"parse": []}
        content = message.content or ""
        assert discord_render.units(content) <= discord_render.CONTENT_LIMIT
        texts = [content]
        assert len(message.embeds) <= discord_render.EMBEDS_PER_MESSAGE
        assert sum(discord_render.embed_size(e) for e in message.embeds) <= (
            discord_render.EMBED_TOTAL_LIMIT
        )
        for embed in message.embeds:
            assert discord_render.units(embed.title or "") <= discord_render.TITLE_LIMIT
            assert discord_render.units(embed.description or "") <= (
                discord_render.DESCRIPTION_LIMIT
            )
            assert len(embed.fields) <= discord_render.FIELDS_LIMIT
            texts += [embed.title or "", embed.description or ""]
            for field in embed.fields:
                assert discord_render.units(field.name or "") <= discord_render.FIELD_NAME_LIMIT
                assert discord_render.units(field.value or "") <= (discord_render.FIELD_VALUE_LIMIT)
                texts += [field.name or "", field.value or ""]
            assert EVIL not in (embed.url or "")
        for text in (CODE_SPAN.sub("", text) for text in texts):
            assert not DISCORD_MENTION.search(text), text[:300]
            for match in DISCORD_MASKED_LINK.finditer(text):
                assert EVIL not in match[2], text[:300]
        assert len(message.rows) <= discord_render.ROWS_LIMIT
        for row in message.rows:
            assert len(row) <= discord_render.BUTTONS_PER_ROW
            for button in row:
                assert EVIL not in (button.url or "")


def check(reply: Reply | None) -> None:
    """A reply, rendered for Telegram (private and group) and Discord, is safe on both."""
    if reply is None:
        return
    check_telegram(reply, private=True)
    check_telegram(reply, private=False)
    check_discord(reply)


class Failures(logging.Handler):
    """Collects the tracebacks the dispatcher logs when a handler fails (the user then gets
    the apology instead of an answer: a crash, for the fuzz suite)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def describe(self) -> str:
        formatter = logging.Formatter()
        return "\n".join(
            record.getMessage()
            + ("\n" + formatter.formatException(record.exc_info) if record.exc_info else "")
            for record in self.records
        )
