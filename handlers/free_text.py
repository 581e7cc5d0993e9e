"""Free text in a private chat, understood: a date opens that day, coordinates the nearest
memorials, anything else is a memorial search (with "did you mean …?" when the best match is
weak)."""

from __future__ import annotations

from dataclasses import replace

from bot.core.context import RequestContext
from bot.core.geo import parse_coordinates
from bot.core.reply import Reply
from bot.core.timeutil import parse_day
from handlers import memorials, today


async def understand(ctx: RequestContext) -> Reply:
    """What the user meant by ``ctx.arg_text``."""
    text = ctx.arg_text.strip()
    try:
        parse_day(text, ctx.local_now.date())
    except ValueError:
        pass
    else:
        return await today.show_today(replace(ctx, command="today", options={"date": text}))
    try:
        point = parse_coordinates(text)
    except ValueError:
        pass
    else:
        return await memorials.nearest_to(replace(ctx, command="near"), point)
    if len(text) > memorials.MAX_QUERY_CHARS:
        text = text[: memorials.MAX_QUERY_CHARS]
    return await memorials.show_memorial(
        replace(ctx, command="memorial", options={"query": text}, arg_text=text)
    )
