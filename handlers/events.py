"""``/events``: upcoming ceremonies and Immortal Regiment actions."""

from __future__ import annotations

from bot.core.context import RequestContext
from bot.core.domain import Event, EventStatus, GeoPoint, pick
from bot.core.geo import map_url
from bot.core.i18n import Translator
from bot.core.reply import Button, Reply, ReplyBuilder
from bot.core.timeutil import zone
from handlers.base import N_
from handlers.memorials import country_name

EVENTS_PAGE = 5
EVENTS_MAX = 100

STATUS_LABELS: dict[EventStatus, str] = {
    EventStatus.DRAFT: N_("draft: not announced"),
    EventStatus.SCHEDULED: N_("scheduled"),
    EventStatus.MOVED: N_("moved"),
    EventStatus.CANCELLED: N_("cancelled"),
}


def event_when(t: Translator, event: Event, viewer_zone: str) -> str:
    """When an event starts, in the place's zone (labelled with it); for a yearly ceremony
    not yet confirmed, only its usual date (no hour is known)."""
    if not event.confirmed:
        return t.full_date(event.starts_at.astimezone(zone(event.timezone)).date())
    local = t.date_time(event.starts_at, zone(event.timezone))
    return t.gettext("{time} ({zone})", time=local, zone=event.timezone)


def viewer_time(t: Translator, event: Event, viewer_zone: str) -> str | None:
    """The start in the reader's zone, when it reads differently from the place's."""
    if not event.confirmed or viewer_zone == event.timezone:
        return None
    here = t.date_time(event.starts_at, zone(viewer_zone))
    if here == t.date_time(event.starts_at, zone(event.timezone)):
        return None
    return t.gettext("{time} in {zone}", time=here, zone=viewer_zone)


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
    here = viewer_time(t, event, viewer_zone)
    if here:
        out.line(here)
    place = pick(event.place, t.language)
    if place:
        out.line(t.gettext("Place: {place}", place=place))
    if event.lat is not None and event.lon is not None:
        point = GeoPoint(event.lat, event.lon)
        out.text(t.coordinates(event.lat, event.lon) + " ").link(t.gettext("Map"), map_url(point))
        out.line()
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


async def follow_label(ctx: RequestContext, follow: str) -> str:
    """A follow as the chat reads it."""
    t = ctx.t
    kind, _, value = follow.partition(":")
    if kind == "all":
        return t.gettext("all announcements")
    if kind == "none":
        return t.gettext("no announcements")
    if kind == "country":
        return t.gettext("announcements in {place}", place=country_name(t, value))
    if kind == "city":
        return t.gettext("announcements in {place}", place=value)
    memorial = await ctx.core.memorial(value)
    name = pick(memorial.names, ctx.language) if memorial is not None else value
    return t.gettext("announcements at {place}", place=name)
