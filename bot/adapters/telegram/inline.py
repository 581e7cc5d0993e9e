"""Inline mode: ``@bot Liège`` in any chat offers memorials; choosing one posts its card.

Each result is an article whose message is the memorial card in HTML (the same card
``/memorial`` shows), with the map link as a button and a deep link
(``https://t.me/<bot>?start=memorial_<slug>``) that opens the memorial in the bot itself.
"""

from __future__ import annotations

import hashlib

from telegram import InlineQueryResultArticle, InputTextMessageContent
from telegram.constants import ParseMode

from bot.adapters.telegram.render import deep_link, escape, keyboard, render
from bot.adapters.telegram.sender import NO_PREVIEW
from bot.core.domain import parse_number
from bot.core.reply import Button
from handlers.registry import InlineItem

MAX_INLINE_OFFSET = 10_000
"""The farthest page an inline query's offset may ask for (Telegram hands back what we sent,
but a client can send any string)."""
INLINE_CACHE_SECONDS = 60


def result_id(slug: str) -> str:
    """A result id of at most 64 bytes: the slug, or its hash when the slug is longer."""
    if 1 <= len(slug.encode()) <= 64:
        return slug
    return hashlib.sha256(slug.encode()).hexdigest()[:40]


def inline_result(item: InlineItem, bot_username: str) -> InlineQueryResultArticle:
    """One inline result: the memorial card as an HTML message, with the map and the deep
    link as buttons."""
    card = render(item.card)
    text = card.texts[0] if card.texts else f"<b>{escape(item.title)}</b>"
    rows = [tuple(button for button in row if button.url) for row in item.card.buttons]
    link = deep_link(bot_username, item.start)
    if link is not None:
        rows.append((Button(item.open_label, url=link),))
    return InlineQueryResultArticle(
        id=result_id(item.key),
        title=item.title,
        description=item.description,
        input_message_content=InputTextMessageContent(
            text, parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW
        ),
        reply_markup=keyboard(rows),
    )


def inline_offset(offset: str) -> int:
    """The page offset Telegram sends back (0 for the first page or anything unexpected)."""
    return parse_number(offset, MAX_INLINE_OFFSET) or 0
