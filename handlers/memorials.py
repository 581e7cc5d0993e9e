"""``/memorial`` and ``/near``: finding memorials by name or by place, and a memorial's card."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from typing import Any

from bot.core.context import RequestContext
from bot.core.conversation import Answer, Answers, Choice, Flow, Invalid, Step
from bot.core.domain import (
    GeoPoint,
    Memorial,
    MemorialKind,
    Precision,
    ScoredMemorial,
    parse_number,
    pick,
)
from bot.core.geo import NEAR_RADIUS_KM, NotAPosition, OutOfRange, map_url, parse_coordinates
from bot.core.i18n import Translator
from bot.core.places import find_city
from bot.core.reply import MAX_ACTION_BYTES, AnswerKind, Button, Reply, ReplyBuilder, Venue
from bot.core.sources import write_sources
from handlers.base import N_, UsageError

SEARCH_LIMIT = 5
PAGE_SIZE = 5
MAX_RESULTS = 50
NEAR_LIMIT = 5
MAX_QUERY_CHARS = 200

KIND_LABELS: dict[MemorialKind, str] = {
    MemorialKind.GRAVE: N_("Grave"),
    MemorialKind.MASS_GRAVE: N_("Mass grave"),
    MemorialKind.MONUMENT: N_("Monument"),
    MemorialKind.PLAQUE: N_("Memorial plaque"),
    MemorialKind.CEMETERY: N_("Cemetery"),
    MemorialKind.MUSEUM: N_("Museum"),
    MemorialKind.MEMORIAL: N_("Memorial"),
}


def memorial_action(slug: str) -> str:
    """The action id of a button that opens a memorial's card."""
    return f"m:{slug}"


def country_name(t: Translator, code: str) -> str:
    """A country's name in the translator's language (the code when Babel does not know it)."""
    name = t.locale.territories.get(code.upper())
    return name if isinstance(name, str) else code


def place_line(t: Translator, memorial: Memorial) -> str:
    """ "City, Country" in the reader's language."""
    parts = [pick(memorial.city, t.language), country_name(t, memorial.country)]
    return ", ".join(part for part in parts if part)


def memorial_card(ctx: RequestContext, memorial: Memorial) -> Reply:
    """Everything known about one memorial, with its place on a map."""
    t = ctx.t
    name = pick(memorial.names, ctx.language)
    out = ReplyBuilder()
    out.bold(name).line()
    kind = t.gettext(KIND_LABELS[memorial.kind])
    year = f" · {memorial.year}" if memorial.year else ""
    out.italic(f"{kind} · {place_line(t, memorial)}{year}").line()
    if memorial.address:
        out.line(t.gettext("Address: {address}", address=memorial.address))
    description = pick(memorial.description, ctx.language)
    if description:
        out.line().line(description)
    inscription = pick(memorial.inscription, ctx.language)
    if inscription:
        out.line().text(t.gettext("Inscription:") + " ").italic(inscription).line()
    if memorial.people:
        names = [pick(person.names, ctx.language) for person in memorial.people]
        out.line().line(t.gettext("Commemorates: {names}", names=t.join(names)))
    point = GeoPoint(memorial.lat, memorial.lon)
    where = t.coordinates(memorial.lat, memorial.lon)
    if memorial.precision is Precision.TOWN:
        position = t.gettext(
            "Position: {coordinates} (town centre; the exact site is not known)", coordinates=where
        )
    else:
        position = t.gettext("Position: {coordinates}", coordinates=where)
    out.line().text(position + " ").link(t.gettext("Map"), map_url(point)).line()
    write_sources(out, t, memorial.sources)
    out.row(Button(t.gettext("Open the map"), url=map_url(point)))
    return out.build(venue=Venue(point, name, place_line(t, memorial)))


async def show_memorial(ctx: RequestContext) -> Reply:
    """``/memorial <query>``: the best match's card, other matches as buttons; a weak best
    match asks "did you mean …?"; a bare ``/memorial`` asks which memorial."""
    t = ctx.t
    query = ctx.option("query") or ctx.arg_text.strip()
    if not query:
        return await ctx.start_flow(MEMORIAL)
    if len(query) > MAX_QUERY_CHARS:
        raise UsageError(t.gettext("The query is too long."))
    found = await ctx.core.search_memorials(query, SEARCH_LIMIT + 1)
    hits = found[:SEARCH_LIMIT]
    if not hits:
        return (
            ReplyBuilder()
            .line(t.gettext("No memorial matches “{query}”.", query=query))
            .text(t.gettext("Try another spelling, a town, or a person's name."))
            .build()
        )
    if hits[0].score < STRONG_MATCH:
        return did_you_mean(ctx, query, hits)
    card = memorial_card(ctx, hits[0].memorial)
    others = hits[1:]
    if not others:
        return card
    buttons = card.buttons + _memorial_buttons(ctx, others)
    action = page_action(query, SEARCH_LIMIT)
    if len(found) > SEARCH_LIMIT and action:
        buttons += ((Button(ctx.t.gettext("More results ▶"), action=action),),)
    return Reply(spans=card.spans, buttons=buttons, venue=card.venue)


def did_you_mean(ctx: RequestContext, query: str, hits: list[ScoredMemorial]) -> Reply:
    """No memorial matches well: the closest ones as buttons."""
    t = ctx.t
    out = ReplyBuilder().line(
        t.gettext("No memorial matches “{query}” exactly.", query=query[:MAX_QUERY_CHARS])
    )
    out.text(t.gettext("Did you mean one of these?"))
    return ReplyBuilder(out.spans, list(_memorial_buttons(ctx, hits))).build()


def suggestion_label(ctx: RequestContext, memorial: Memorial) -> str:
    """A memorial as a choice: its name and town."""
    city = pick(memorial.city, ctx.language)
    name = pick(memorial.names, ctx.language)
    return f"{name} · {city}" if city else name


def page_action(query: str, offset: int) -> str | None:
    """The action id of a page of search results; the query is cut to fit in 64 bytes."""
    prefix = f"ms:{offset}:"
    room = MAX_ACTION_BYTES - len(prefix.encode())
    cut = query.encode()[:room].decode(errors="ignore").strip()
    return prefix + cut if cut else None


async def show_results_page(ctx: RequestContext) -> Reply:
    """The action behind "More results" (``ms:<offset>:<query>``): a page of matches."""
    t = ctx.t
    offset_text, _, query = (ctx.args[0] if ctx.args else "").partition(":")
    offset = parse_number(offset_text, MAX_RESULTS)
    if offset is None or not query:
        return ReplyBuilder().text(t.gettext("This list is no longer available.")).build()
    return replace(await _results_page(ctx, query, offset), replaces=True)


async def _results_page(ctx: RequestContext, query: str, offset: int) -> Reply:
    t = ctx.t
    hits = await ctx.core.search_memorials(query, offset + PAGE_SIZE + 1)
    page = hits[offset : offset + PAGE_SIZE]
    if not page:
        return ReplyBuilder().text(t.gettext("No more results.")).build()
    out = ReplyBuilder().bold(
        t.gettext(
            "Results {first}–{last} for “{query}”",
            first=t.number(offset + 1),
            last=t.number(offset + len(page)),
            query=query,
        )
    )
    buttons = list(_memorial_buttons(ctx, page))
    navigation = []
    if offset > 0:
        back = page_action(query, max(0, offset - PAGE_SIZE))
        if back:
            navigation.append(Button("◀", action=back))
    if len(hits) > offset + PAGE_SIZE and offset + PAGE_SIZE < MAX_RESULTS:
        forward = page_action(query, offset + PAGE_SIZE)
        if forward:
            navigation.append(Button("▶", action=forward))
    if navigation:
        buttons.append(tuple(navigation))
    return ReplyBuilder(out.spans, buttons).build()


async def open_memorial(ctx: RequestContext) -> Reply:
    """The action behind a memorial button (``m:<slug>``) and the deep link ``memorial_<slug>``."""
    slug = ctx.args[0] if ctx.args else ""
    memorial = await ctx.core.memorial(slug)
    if memorial is None:
        return ReplyBuilder().text(ctx.t.gettext("This memorial is no longer listed.")).build()
    return memorial_card(ctx, memorial)


def _memorial_buttons(
    ctx: RequestContext, hits: list[ScoredMemorial]
) -> tuple[tuple[Button, ...], ...]:
    rows = []
    for hit in hits:
        label = pick(hit.memorial.names, ctx.language)
        if hit.distance_km is not None:
            distance = format_distance(ctx.t, hit.distance_km, hit.memorial.precision)
            label = f"{label} · {distance}"
        rows.append((Button(label, action=memorial_action(hit.memorial.slug)),))
    return tuple(rows)


def format_distance(t: Translator, km: float, precision: Precision = Precision.SITE) -> str:
    """A distance in the reader's number format: metres below 1 km. To a memorial known only
    by its town centre, an approximate one ("about 0.4 km, town centre"): the metres would
    pretend to know where it stands."""
    if precision is Precision.TOWN:
        rounded = t.number(km, 1) if km < 10 else t.number(round(km))
        return t.gettext("about {distance} km, town centre", distance=rounded)
    if km < 1:
        return t.gettext("{distance} m", distance=t.number(round(km * 1000)))
    return t.gettext("{distance} km", distance=t.number(km, 1))


def position_problem(t: Translator, text: str, error: ValueError) -> str:
    """Why typed coordinates were refused: not a position at all, or a latitude or
    longitude out of its range."""
    if isinstance(error, OutOfRange):
        if error.axis == "latitude":
            return t.gettext(
                "Latitude {value} is out of range: it goes from -90 to 90.",
                value=t.decimal(error.value),
            )
        return t.gettext(
            "Longitude {value} is out of range: it goes from -180 to 180.",
            value=t.decimal(error.value),
        )
    return t.gettext(
        "“{text}” is not a position. Send a latitude and a longitude, such as 50.63 5.57 "
        "(a comma works too: 50,63 5,57).",
        text=text.strip()[:60],
    )


async def show_nearest(ctx: RequestContext) -> Reply:
    """``/near <lat> <lon>`` (any notation), or a shared location: memorials by great-circle
    distance; a bare ``/near`` asks where."""
    t = ctx.t
    if ctx.location is not None:
        point = ctx.location
    else:
        typed = [ctx.option("latitude"), ctx.option("longitude")]
        text = " ".join(part for part in typed if part) or ctx.arg_text
        if not text.strip():
            return await ctx.start_flow(NEAR)
        try:
            point = parse_coordinates(text)
        except (NotAPosition, OutOfRange) as error:
            raise UsageError(position_problem(t, text, error)) from None
    return await nearest_to(ctx, point)


async def nearest_to(ctx: RequestContext, point: GeoPoint, place: str = "") -> Reply:
    """The memorials nearest to ``point`` (named ``place`` when a town was given); those
    beyond ``NEAR_RADIUS_KM`` are labelled far away, not listed as if near."""
    t = ctx.t
    hits = await ctx.core.nearest_memorials(point, NEAR_LIMIT)
    if not hits:
        return ReplyBuilder().text(t.gettext("No memorials are listed yet.")).build()
    where = place or t.coordinates(point.lat, point.lon)
    near = [hit for hit in hits if (hit.distance_km or 0.0) <= NEAR_RADIUS_KM]
    far = hits[len(near) :]
    radius = t.number(NEAR_RADIUS_KM)
    out = ReplyBuilder()
    if near:
        out.bold(t.gettext("Memorials nearest to {place}", place=where)).line()
    else:
        out.bold(
            t.gettext("No memorial within {radius} km of {place}.", radius=radius, place=where)
        ).line()
        out.line(t.gettext("The nearest ones are far away."))
    for number, hit in enumerate(hits, start=1):
        if near and far and number == len(near) + 1:
            out.line(t.gettext("Far away (more than {radius} km)", radius=radius))
        memorial = hit.memorial
        distance = format_distance(t, hit.distance_km or 0.0, memorial.precision)
        out.text(f"{number}. ").bold(pick(memorial.names, ctx.language))
        out.line(f" — {place_line(t, memorial)} — {distance}")
    return ReplyBuilder(out.spans, list(_memorial_buttons(ctx, hits))).build()


# -- conversations: which memorial, and where ------------------------------------------------

STRONG_MATCH = 90.0
"""A best match scoring below this is offered as "did you mean …?" instead of opened."""
MEMORIAL = "memorial"
NEAR = "near"


def clear_match(hits: list[ScoredMemorial]) -> ScoredMemorial | None:
    """The best hit when it matches well and better than the next one; else None (the
    person is asked which one they mean)."""
    if not hits or hits[0].score < STRONG_MATCH:
        return None
    if len(hits) > 1 and hits[1].score >= hits[0].score:
        return None
    return hits[0]


async def _parse_memorial(ctx: RequestContext, answers: Answers, answer: Answer) -> str:
    t = ctx.t
    if answer.choice is not None and await ctx.core.memorial(answer.choice) is not None:
        return answer.choice
    query = answer.given
    if not query:
        raise Invalid(t.gettext("Please send a name, a town or a person."))
    if len(query) > MAX_QUERY_CHARS:
        raise Invalid(t.gettext("The query is too long."))
    hits = await ctx.core.search_memorials(query, SEARCH_LIMIT)
    best = clear_match(hits)
    if best is not None:
        return best.memorial.slug
    suggestions = [[hit.memorial.slug, suggestion_label(ctx, hit.memorial)] for hit in hits]
    if not hits:
        raise Invalid(
            t.gettext("No memorial matches “{query}”.", query=query)
            + " "
            + t.gettext("Try another spelling, a town, or a person's name."),
            {"suggestions": []},
        )
    if hits[0].score >= STRONG_MATCH:
        message = t.gettext("Several memorials match “{query}”.", query=query)
    else:
        message = t.gettext("No memorial matches “{query}” exactly.", query=query)
    return_hint = hits[0].score >= STRONG_MATCH
    raise Invalid(message, {"suggestions": suggestions}, hint=return_hint)


async def _memorial_choices(ctx: RequestContext, answers: Answers) -> list[Choice]:
    return [Choice(slug, label) for slug, label in answers.get("suggestions", [])]


def _memorial_prompt(ctx: RequestContext, answers: Answers) -> str:
    t = ctx.t
    if answers.get("suggestions"):
        return t.gettext("Which one do you mean? Or send another name.")
    return t.gettext(
        "Which memorial? Send a name, a town or a person, in any language or spelling."
    )


async def _finish_memorial(ctx: RequestContext, answers: Answers) -> Reply:
    memorial = await ctx.core.memorial(str(answers["memorial"]))
    if memorial is None:
        return ReplyBuilder().text(ctx.t.gettext("This memorial is no longer listed.")).build()
    return memorial_card(ctx, memorial)


MEMORIAL_FLOW = Flow(
    MEMORIAL,
    "memorial",
    (
        Step(
            "memorial",
            AnswerKind.MEMORIAL,
            _memorial_prompt,
            N_("Memorial, town or person"),
            parse=_parse_memorial,
            choices=_memorial_choices,
            placeholder=N_("Rebecq, Citadelle de Liège, Gvozdarev…"),
            max_length=MAX_QUERY_CHARS,
        ),
    ),
    _finish_memorial,
)


async def _parse_place(ctx: RequestContext, answers: Answers, answer: Answer) -> list[Any]:
    t = ctx.t
    if answer.location is not None:
        return [answer.location.lat, answer.location.lon, ""]
    text = answer.given
    if not text:
        raise Invalid(t.gettext("Please share a location or send coordinates."))
    try:
        point = parse_coordinates(text)
    except OutOfRange as error:
        raise Invalid(position_problem(t, text, error)) from None
    except NotAPosition:
        pass
    else:
        return [point.lat, point.lon, ""]
    if len(text) <= MAX_QUERY_CHARS:
        town = await asyncio.to_thread(find_city, text)
        if town is not None:
            return [town.point.lat, town.point.lon, town.name]
    raise Invalid(
        t.gettext(
            "“{text}” is neither coordinates nor a town I know. Send coordinates such as "
            "50.63, 5.57, or share a location.",
            text=text[:60],
        )
    )


def _place_prompt(ctx: RequestContext, answers: Answers) -> str:
    return ctx.t.gettext(
        "Where? Share a location, send coordinates (50.63, 5.57 or 50°38′N 5°34′E), "
        "or the name of a town."
    )


async def _finish_near(ctx: RequestContext, answers: Answers) -> Reply:
    lat, lon, place = answers["place"]
    return await nearest_to(ctx, GeoPoint(float(lat), float(lon)), str(place or ""))


NEAR_FLOW = Flow(
    NEAR,
    "near",
    (
        Step(
            "place",
            AnswerKind.LOCATION,
            _place_prompt,
            N_("Coordinates or town"),
            parse=_parse_place,
            placeholder=N_("50.63, 5.57"),
            max_length=MAX_QUERY_CHARS,
        ),
    ),
    _finish_near,
)


# -- inline results: memorials offered in any chat ---------------------------------------------

INLINE_PAGE = 10
"""Results per page."""
INLINE_MAX = 50
"""Results at most, over every page."""
MAX_INLINE_QUERY_CHARS = 200


@dataclass(frozen=True, slots=True)
class InlineItem:
    """A memorial offered in inline mode: its card, and what the list shows of it.

    ``start`` is the payload that opens it in a private chat with the bot (a deep link);
    ``open_label`` the label of that link."""

    key: str
    title: str
    description: str
    card: Reply
    start: str
    open_label: str


@dataclass(frozen=True, slots=True)
class InlinePage:
    """A page of inline results and the offset of the next page (None after the last)."""

    items: tuple[InlineItem, ...]
    next_offset: int | None


async def inline_memorials(ctx: RequestContext, query: str, offset: int) -> InlinePage:
    """Memorials matching ``query``, a page from ``offset``; each as its ``/memorial`` card."""
    text = query.strip()
    offset = max(0, min(offset, INLINE_MAX))
    if not text or len(text) > MAX_INLINE_QUERY_CHARS:
        return InlinePage((), None)
    hits = await ctx.core.search_memorials(text, min(offset + INLINE_PAGE, INLINE_MAX) + 1)
    t = ctx.t
    items = []
    for hit in hits[offset : offset + INLINE_PAGE]:
        memorial = hit.memorial
        kind = t.gettext(KIND_LABELS[memorial.kind])
        items.append(
            InlineItem(
                key=memorial.slug,
                title=pick(memorial.names, ctx.language) or memorial.slug,
                description=f"{kind} · {place_line(t, memorial)}",
                card=memorial_card(ctx, memorial),
                start=f"memorial_{memorial.slug}",
                open_label=t.gettext("Open in the bot"),
            )
        )
    following = offset + INLINE_PAGE
    more = len(hits) > following and following < INLINE_MAX
    return InlinePage(tuple(items), following if more else None)
