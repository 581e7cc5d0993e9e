"""``/today [date]``: the anniversaries of a day, and never an empty page.

A day with anniversaries shows each with its year ("N years ago"), its text and its first
source. A day without any (an operator deleted them, or a new installation's data has a gap)
shows the memorial of the day and the events coming up, so the daily post always has
something to say.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from bot.core.context import RequestContext
from bot.core.domain import Anniversary, Event, GeoPoint, Memorial, pick
from bot.core.geo import map_url
from bot.core.i18n import Translator
from bot.core.reply import Button, Reply, ReplyBuilder
from bot.core.sources import write_sources
from bot.core.timeutil import parse_day, zone
from handlers.base import UsageError
from handlers.memorials import KIND_LABELS, place_line

DESCRIPTION_MAX = 600
"""The memorial of the day shows at most this much of its description."""
FIRST_YEAR = 1930
"""The earliest year ``/today`` speaks of: the dataset's anniversaries start in the late
1930s."""
LAST_YEAR = 2100
"""The latest: a daily post of a future year counts the years since each anniversary, but
"8,054 years ago" in 9999 speaks of nothing."""


def year_range(today: dt.date) -> tuple[int, int]:
    """The years a date given to ``/today`` may have."""
    return FIRST_YEAR, max(LAST_YEAR, today.year + 1)


def years_ago_text(t: Translator, years: int, current_year: bool = True) -> str | None:
    """ "7 years ago" with the language's plural rules; "this year" for 0. For a day of a
    past year (``current_year`` False): "7 years earlier", and nothing for 0 (1945 is not
    "this year" on 9 May 1945)."""
    if years == 0:
        return t.gettext("this year") if current_year else None
    if not current_year and years > 0:
        return t.ngettext("{count} year earlier", "{count} years earlier", years)
    return t.ngettext("{count} year ago", "{count} years ago", years)


def shorten(text: str, limit: int) -> str:
    """``text`` cut at the last sentence (else word) end before ``limit`` characters."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    end = max(cut.rfind(". "), cut.rfind("! "), cut.rfind("? "))
    if end > limit // 3:
        return cut[: end + 1]
    return cut.rsplit(" ", 1)[0] + " …"


def memorial_of_the_day(out: ReplyBuilder, t: Translator, memorial: Memorial) -> None:
    """The memorial of the day: name, kind and place, description, map link and source."""
    out.line().bold(t.gettext("Memorial of the day")).line()
    out.bold(pick(memorial.names, t.language)).line()
    kind = t.gettext(KIND_LABELS[memorial.kind])
    out.italic(f"{kind} · {place_line(t, memorial)}").line()
    description = pick(memorial.description, t.language)
    if description:
        out.line(shorten(description, DESCRIPTION_MAX))
    point = GeoPoint(memorial.lat, memorial.lon)
    out.link(t.gettext("Map"), map_url(point)).line()
    write_sources(out, t, memorial.sources, limit=1)


def coming_events(out: ReplyBuilder, t: Translator, events: Sequence[Event]) -> None:
    """The events coming up, one line each: date, time and title in the event's own zone."""
    if not events:
        return
    out.line().bold(t.gettext("Coming up")).line()
    for event in events:
        place = zone(event.timezone)
        if event.confirmed:
            when = t.date_time(event.starts_at, place)
        else:
            when = t.full_date(event.starts_at.astimezone(place).date())
        out.line(f"{when} — {pick(event.title, t.language)}")
        if not event.confirmed:
            out.italic(t.gettext("Usually held; an organizer confirms each year.")).line()


def digest(
    t: Translator,
    day: dt.date,
    items: Sequence[Anniversary],
    *,
    memorial: Memorial | None = None,
    events: Sequence[Event] = (),
    current_year: int | None = None,
) -> Reply:
    """The "on this day" digest for ``day``: the text of the daily post and of ``/today``.

    Each anniversary shows its first source; a day without anniversaries shows ``memorial``
    (the memorial of the day) and ``events`` instead. A day of another year than
    ``current_year`` (default: the day's own) shows its year in the header, and a past one
    counts years "earlier" instead of "ago".
    """
    out = ReplyBuilder()
    this_year = current_year is None or day.year == current_year
    past = current_year is not None and day.year < current_year
    shown = t.day_month(day) if this_year else t.full_date(day)
    out.bold(t.gettext("On this day, {date}", date=shown)).line()
    for item in items:
        out.line()
        if item.year is not None:
            ago = years_ago_text(t, day.year - item.year, current_year=not past)
            out.bold(f"{item.year}").text(f" ({ago}) — " if ago else " — ")
        out.bold(pick(item.title, t.language)).line()
        text = pick(item.text, t.language)
        if text:
            out.line(text)
        write_sources(out, t, item.sources, limit=1)
    if not items:
        if memorial is None:
            out.line().text(t.gettext("Nothing is recorded for this day yet.")).line()
        else:
            memorial_of_the_day(out, t, memorial)
        coming_events(out, t, events)
    return out.build()


async def show_today(ctx: RequestContext) -> Reply:
    """``/today`` for the chat's local date, or ``/today MM-DD`` / ``YYYY-MM-DD``."""
    local_today = ctx.local_now.date()
    text = ctx.option("date")
    if text:
        if len(text.split()) > 1:
            raise UsageError()
        try:
            day = parse_day(text, local_today)
        except ValueError:
            raise UsageError(ctx.t.gettext("“{text}” is not a date.", text=text[:40])) from None
        first, last = year_range(local_today)
        if not first <= day.year <= last:
            raise UsageError(
                ctx.t.gettext(
                    "The bot speaks of the years from {first} to {last}.",
                    first=str(first),
                    last=str(last),
                )
            )
    else:
        day = local_today
    content = await ctx.core.day_content(day)
    reply = digest(
        ctx.t,
        day,
        content.anniversaries,
        memorial=content.memorial,
        events=content.events,
        current_year=local_today.year,
    )
    previous, following = day - dt.timedelta(days=1), day + dt.timedelta(days=1)
    buttons = (
        (
            Button("◀ " + ctx.t.day_month(previous), action=f"today:{previous.isoformat()}"),
            Button(ctx.t.day_month(following) + " ▶", action=f"today:{following.isoformat()}"),
        ),
    )
    return Reply(spans=reply.spans, buttons=buttons)
