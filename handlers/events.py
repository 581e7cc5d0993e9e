"""``/events``: upcoming ceremonies and Immortal Regiment actions."""

from __future__ import annotations

from bot.core.context import RequestContext
from bot.core.domain import (
    Event,
    EventStatus,
    GeoPoint,
    Rsvp,
    RsvpAnswer,
    RsvpCount,
    parse_number,
    pick,
)
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
    if ctx.command == "" and ctx.args:  # the ``ev:<offset>`` action
        offset = min(parse_number(ctx.args[0]) or 0, EVENTS_MAX)
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


RSVP = "rsvp"


def rsvp_buttons(t: Translator, event: Event, count: RsvpCount) -> tuple[Button, ...]:
    """ "I'll be there" and "Not this time", with the counts over every platform; pressing
    one again takes the answer back."""
    if event.id is None or event.status in (EventStatus.CANCELLED, EventStatus.DRAFT):
        return ()
    coming = t.gettext("I’ll be there")
    not_coming = t.gettext("Not this time")
    return (
        Button(f"✔ {coming} · {count.yes}", action=f"{RSVP}:{event.id}:yes"),
        Button(f"{not_coming} · {count.no}", action=f"{RSVP}:{event.id}:no"),
    )


async def answer_rsvp(ctx: RequestContext) -> Reply:
    """The action behind the answer buttons (``rsvp:<id>:yes|no``): record or take back the
    answer, and show the card with the new counts in place of the pressed one."""
    t = ctx.t
    number, _, said = (ctx.args[0] if ctx.args else "").partition(":")
    event_id = parse_number(number)
    event = await ctx.core.events.get_event(event_id) if event_id is not None else None
    if event is None or said not in ("yes", "no"):
        return ReplyBuilder().text(t.gettext("There is no such event.")).build(ephemeral=True)
    if event.status in (EventStatus.CANCELLED, EventStatus.DRAFT) or event.starts_at <= ctx.now:
        return (
            ReplyBuilder()
            .text(t.gettext("This event no longer takes answers."))
            .build(ephemeral=True)
        )
    await ctx.core.rsvps.answer(
        Rsvp(event.id or 0, ctx.platform, ctx.user.id, RsvpAnswer(said), ctx.user.name)
    )
    count = await ctx.core.rsvps.count(event.id or 0)
    out = ReplyBuilder().bold(pick(event.title, ctx.language)).line()
    event_card(out, t, event, ctx.timezone)
    out.row(*rsvp_buttons(t, event, count))
    return out.build(replaces=True)


async def rsvp_lines(ctx: RequestContext, event: Event, *, names: bool) -> ReplyBuilder:
    """The answers to an event: the counts, and with ``names`` who answered (the names as
    the platforms give them)."""
    t = ctx.t
    out = ReplyBuilder()
    if event.id is None:
        return out
    count = await ctx.core.rsvps.count(event.id)
    out.line(t.gettext("Coming: {yes} · Not coming: {no}", yes=count.yes, no=count.no))
    if names:
        for rsvp in await ctx.core.rsvps.answers(event.id):
            mark = "✔" if rsvp.answer is RsvpAnswer.YES else "✖"
            out.line(f"{mark} {rsvp.name or rsvp.user_id} ({rsvp.platform})")
    return out
