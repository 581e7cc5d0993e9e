"""``/events``: upcoming ceremonies and Immortal Regiment actions."""

from __future__ import annotations

from bot.core.context import RequestContext
from bot.core.domain import Event, EventStatus, pick
from bot.core.i18n import Translator
from bot.core.reply import Reply, ReplyBuilder
from bot.core.timeutil import zone
from handlers.base import N_

EVENTS_LIMIT = 10

STATUS_LABELS: dict[EventStatus, str] = {
    EventStatus.SCHEDULED: N_("scheduled"),
    EventStatus.MOVED: N_("moved"),
    EventStatus.CANCELLED: N_("cancelled"),
}


def event_when(t: Translator, event: Event, viewer_zone: str) -> str:
    """When an event starts, in the viewer's zone, naming the place's zone when it differs."""
    text = t.date_time(event.starts_at, zone(viewer_zone))
    if event.timezone != viewer_zone:
        local = t.date_time(event.starts_at, zone(event.timezone))
        text = t.gettext("{time} ({local} local time)", time=text, local=local)
    return text


async def show_events(ctx: RequestContext) -> Reply:
    """The next announced events, times shown in the chat's zone."""
    t = ctx.t
    events = await ctx.core.upcoming_events(EVENTS_LIMIT)
    out = ReplyBuilder().bold(t.gettext("Upcoming events")).line()
    if not events:
        return out.line().text(t.gettext("No events are announced yet.")).build()
    for event in events:
        out.line()
        out.bold(pick(event.title, ctx.language)).line()
        out.line(event_when(t, event, ctx.timezone))
        place = pick(event.place, ctx.language)
        if place:
            out.line(t.gettext("Place: {place}", place=place))
        if event.status is not EventStatus.SCHEDULED:
            out.italic(t.gettext(STATUS_LABELS[event.status])).line()
        description = pick(event.description, ctx.language)
        if description:
            out.line(description)
    return out.build()
