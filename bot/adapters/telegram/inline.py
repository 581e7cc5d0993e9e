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
from bot.core.context import RequestContext
from bot.core.domain import Memorial, pick
from bot.core.reply import Button
from handlers.memorials import KIND_LABELS, memorial_card, place_line

INLINE_PAGE = 10
"""Results per answer; Telegram asks for the next page with the offset we give."""
INLINE_MAX = 50
"""Results at most, over every page."""
INLINE_CACHE_SECONDS = 60
MAX_INLINE_QUERY_CHARS = 200


def result_id(slug: str) -> str:
    """A result id of at most 64 bytes: the slug, or its hash when the slug is longer."""
    if 1 <= len(slug.encode()) <= 64:
        return slug
    return hashlib.sha256(slug.encode()).hexdigest()[:40]


def memorial_deep_link(bot_username: str, slug: str) -> str | None:
    """The link that opens a memorial in a private chat with the bot."""
    return deep_link(bot_username, f"memorial_{slug}")


def memorial_result(
    ctx: RequestContext, memorial: Memorial, bot_username: str
) -> InlineQueryResultArticle:
    """One inline result: the memorial card as an HTML message, with the map and the deep link
    as buttons."""
    t = ctx.t
    source = memorial_card(ctx, memorial)
    card = render(source)
    name = pick(memorial.names, ctx.language) or memorial.slug
    text = card.texts[0] if card.texts else f"<b>{escape(name)}</b>"
    rows = [tuple(button for button in row if button.url) for row in source.buttons]
    link = memorial_deep_link(bot_username, memorial.slug)
    if link is not None:
        rows.append((Button(t.gettext("Open in the bot"), url=link),))
    kind = t.gettext(KIND_LABELS[memorial.kind])
    return InlineQueryResultArticle(
        id=result_id(memorial.slug),
        title=name,
        description=f"{kind} · {place_line(t, memorial)}",
        input_message_content=InputTextMessageContent(
            text, parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW
        ),
        reply_markup=keyboard(rows),
    )


def inline_offset(offset: str) -> int:
    """The page offset Telegram sends back (0 for the first page or anything unexpected)."""
    return min(int(offset), INLINE_MAX) if offset.isdigit() else 0


def next_offset(offset: int, found: int) -> str:
    """The offset of the next page, or "" when this page is the last."""
    following = offset + INLINE_PAGE
    return str(following) if found > following and following < INLINE_MAX else ""
