"""``/today [date]``: the anniversaries of a day."""

from __future__ import annotations

import datetime as dt

from bot.core.context import RequestContext
from bot.core.domain import Anniversary, pick
from bot.core.i18n import Translator
from bot.core.reply import Button, Reply, ReplyBuilder
from bot.core.timeutil import parse_day
from handlers.base import UsageError


def years_ago_text(t: Translator, years: int) -> str:
    """ "7 years ago" with the language's plural rules; "this year" for 0."""
    if years == 0:
        return t.gettext("this year")
    return t.ngettext("{count} year ago", "{count} years ago", years)


def digest(t: Translator, day: dt.date, items: list[Anniversary]) -> Reply:
    """The "on this day" digest for ``day``: the text of the daily post and of ``/today``."""
    out = ReplyBuilder()
    out.bold(t.gettext("On this day, {date}", date=t.day_month(day))).line()
    if not items:
        out.line().text(t.gettext("Nothing is recorded for this day yet."))
        return out.build()
    for item in items:
        out.line()
        if item.year is not None:
            out.bold(f"{item.year}").text(f" ({years_ago_text(t, day.year - item.year)}) — ")
        out.bold(pick(item.title, t.language)).line()
        text = pick(item.text, t.language)
        if text:
            out.line(text)
    return out.build()


async def show_today(ctx: RequestContext) -> Reply:
    """``/today`` for the chat's local date, or ``/today MM-DD`` / ``YYYY-MM-DD``."""
    local_today = ctx.local_now.date()
    if ctx.args:
        if len(ctx.args) > 1:
            raise UsageError()
        try:
            day = parse_day(ctx.args[0], local_today)
        except ValueError:
            raise UsageError(
                ctx.t.gettext("“{text}” is not a date.", text=ctx.args[0][:40])
            ) from None
    else:
        day = local_today
    items = await ctx.core.on_this_day(day)
    reply = digest(ctx.t, day, items)
    previous, following = day - dt.timedelta(days=1), day + dt.timedelta(days=1)
    buttons = (
        (
            Button("◀ " + ctx.t.day_month(previous), action=f"today:{previous.isoformat()}"),
            Button(ctx.t.day_month(following) + " ▶", action=f"today:{following.isoformat()}"),
        ),
    )
    return Reply(spans=reply.spans, buttons=buttons)
