"""``/events``: upcoming ceremonies and Immortal Regiment actions."""

from __future__ import annotations

from bot.core.context import RequestContext
from bot.core.domain import Event, EventStatus, pick
from bot.core.i18n import Translator
from bot.core.reply import Button, Reply, ReplyBuilder
from bot.core.timeutil import zone
from handlers.base import N_

EVENTS_PAGE = 5
EVENTS_MAX = 100

STATUS_LABELS: dict[EventStatus, str] = {
    EventStatus.SCHEDULED: N_("scheduled"),
    EventStatus.MOVED: N_("moved"),
    EventStatus.CANCELLED: N_("cancelled"),
}


def event_when(t: Translator, event: Event, viewer_zone: str) -> str:
    """When an event starts, in the viewer's zone, naming the place's zone when it differs;
    for a yearly ceremony not yet confirmed, only its usual date (no hour is known)."""
    if not event.confirmed:
        return t.full_date(event.starts_at.astimezone(zone(event.timezone)).date())
    text = t.date_time(event.starts_at, zone(viewer_zone))
    local = t.date_time(event.starts_at, zone(event.timezone))
    if local != text:
        text = t.gettext("{time} ({local} local time)", time=text, local=local)
    return text


def event_card(
    out: ReplyBuilder,
    t: Translator,
    event: Event,
    viewer_zone: str,
    *,
    description: bool = True,
) -> ReplyBuilder:
    """One event as every view shows it (``/events``, announcements and reminders, on every
    platform): when (an instant that Discord shows in each reader's own time), where, its
    status, whether it is only usually held, and its description."""
    when = event_when(t, event, viewer_zone)
    if event.confirmed:
        out.timestamp(when, event.starts_at).line()
    else:
        out.line(when)
    place = pick(event.place, t.language)
    if place:
        out.line(t.gettext("Place: {place}", place=place))
    if event.status is not EventStatus.SCHEDULED:
        out.italic(t.gettext(STATUS_LABELS[event.status])).line()
    if not event.confirmed:
        out.italic(t.gettext("Usually held; an organizer confirms each year.")).line()
    text = pick(event.description, t.language)
    if description and text:
        out.line(text)
    return out


async def show_events(ctx: RequestContext) -> Reply:
    """The next announced events, times shown in the chat's zone, a page at a time."""
    t = ctx.t
    offset = 0
    if ctx.command == "" and ctx.args and ctx.args[0].isdigit():  # the ``ev:<offset>`` action
        offset = min(int(ctx.args[0]), EVENTS_MAX)
    fetched = await ctx.core.upcoming_events(offset + EVENTS_PAGE + 1)
    events = fetched[offset : offset + EVENTS_PAGE]
    out = ReplyBuilder().bold(t.gettext("Upcoming events")).line()
    if not events:
        return out.line().text(t.gettext("No events are announced yet.")).build()
    for event in events:
        out.line()
        out.bold(pick(event.title, ctx.language)).line()
        event_card(out, t, event, ctx.timezone)
    navigation = []
    if offset > 0:
        navigation.append(Button("◀", action=f"ev:{max(0, offset - EVENTS_PAGE)}"))
    if len(fetched) > offset + EVENTS_PAGE:
        navigation.append(Button("▶", action=f"ev:{offset + EVENTS_PAGE}"))
    return out.row(*navigation).build()
