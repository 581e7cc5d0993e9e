"""``/event``: organizers create, edit, move, cancel and publish events, as conversations.

``/event new`` asks for the title, the place (a memorial found by search, or an address),
the time zone when the place does not settle it, the date and the local time (refusing a date
in the past, a time that does not exist in that zone at a clock change, or one that occurs
twice), a description, the languages, and shows the card as subscribers will see it before
it is published or kept as a draft. ``/event edit ID`` walks the same questions with "Skip"
keeping what is there; ``/event cancel ID`` and ``/event publish ID`` confirm first;
``/event ID`` shows one event. Who may do it is checked at the first step and again when the
change is saved (``RequestContext.may_organize``; outside a bot-wide organizer, only for
events published from the same chat).

A change of time or place is a new version (``sequence``) that subscribers hear of; a change
of the title, the description or the languages is not announced.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
from typing import Any

from anyascii import anyascii
from babel.core import get_global

from bot.calendars.feed import located
from bot.calendars.ics import CONTENT_TYPE, event_ics
from bot.core.context import RequestContext
from bot.core.conversation import (
    Answer,
    Answers,
    Choice,
    Flow,
    Invalid,
    Step,
    time_of_day,
    within,
)
from bot.core.domain import (
    DEFAULT_REMINDERS,
    LANGUAGES,
    Event,
    EventStatus,
    parse_number,
    pick,
)
from bot.core.i18n import LANGUAGE_NAMES
from bot.core.reply import AnswerKind, OutgoingFile, Reply, ReplyBuilder
from bot.core.timeutil import parse_day, parse_hhmm, zone
from handlers import chat_settings, memorials
from handlers.base import N_, NotAllowed, UsageError
from handlers.events import event_card, follow_label, rsvp_buttons, rsvp_lines

MAX_TITLE = 120
MAX_DESCRIPTION = 1000
MAX_ADDRESS = 200
NEW, EDIT, CANCEL, PUBLISH = "event-new", "event-edit", "event-cancel", "event-publish"
ADDRESS = "address:"
KEEP_NOTE = N_("Skip keeps what is there now: {current}")


# -- who may ---------------------------------------------------------------------------------


async def require_organizer(ctx: RequestContext, event: Event | None = None) -> None:
    """Refuse unless the user may organize here (and, for an existing event outside a
    bot-wide organizer's hands, unless it was published from this chat)."""
    t = ctx.t
    refusal = t.gettext(
        "Only organizers can announce events: the bot's organizers, a group's administrators, "
        "or in a Discord server members who may manage events."
    )
    if not await ctx.may_organize():
        raise NotAllowed(refusal)
    elsewhere = event is not None and event.origin != f"{ctx.platform}:{ctx.chat.id}"
    if elsewhere and not await ctx.is_bot_organizer():
        raise NotAllowed(
            t.gettext("This event was announced from another chat; its organizers change it.")
        )


# -- the steps -------------------------------------------------------------------------------


def _current(answers: Answers, name: str) -> Any:
    return (answers.get("current") or {}).get(name)


def _with_current(ctx: RequestContext, answers: Answers, name: str, question: str) -> str:
    now = _current(answers, name)
    if now in (None, "", []):
        return question
    return question + "\n" + ctx.t.gettext(KEEP_NOTE, current=str(now))


async def _parse_title(ctx: RequestContext, answers: Answers, answer: Answer) -> str:
    text = " ".join(answer.given.split())
    if not text:
        raise Invalid(ctx.t.gettext("Please send the event's title."))
    return within(ctx.t, text, MAX_TITLE)


def _zone_of_country(country: str) -> str | None:
    """The zone of a country that has only one (CLDR's data, which Babel ships)."""
    zones = get_global("territory_zones").get(country.upper(), ())
    return str(zones[0]) if len(zones) == 1 else None


async def _parse_place(ctx: RequestContext, answers: Answers, answer: Answer) -> dict[str, Any]:
    """A memorial (its name, town, country, position and, when the country has one, zone)
    or an address as typed."""
    t = ctx.t
    if answer.choice is not None and answer.choice.startswith(ADDRESS):
        return {"address": answer.choice.removeprefix(ADDRESS)}
    slug = answer.choice
    if slug is None:
        text = answer.given
        if not text:
            raise Invalid(t.gettext("Please send a memorial's name or an address."))
        if len(text) > MAX_ADDRESS:
            raise Invalid(t.gettext("That is too long for a place."))
        hits = await ctx.core.search_memorials(text, memorials.SEARCH_LIMIT)
        best = memorials.clear_match(hits)
        if best is not None:
            slug = best.memorial.slug
        else:
            suggestions = [
                [hit.memorial.slug, memorials.suggestion_label(ctx, hit.memorial)] for hit in hits
            ]
            suggestions.append([ADDRESS + text, t.gettext("At the address “{text}”", text=text)])
            raise Invalid(
                t.gettext("Is it at one of these memorials, or at that address?"),
                {"suggestions": suggestions},
                hint=True,
            )
    memorial = await ctx.core.memorial(slug)
    if memorial is None:
        raise Invalid(t.gettext("This memorial is no longer listed."))
    return {
        "memorial": memorial.slug,
        "names": dict(memorial.names),
        "city": pick(memorial.city, "fr") or pick(memorial.city, "en"),
        "country": memorial.country,
        "lat": memorial.lat,
        "lon": memorial.lon,
        "zone": _zone_of_country(memorial.country),
    }


async def _place_choices(ctx: RequestContext, answers: Answers) -> list[Choice]:
    return [Choice(value, label) for value, label in answers.get("suggestions", [])]


def _needs_zone(answers: Answers) -> bool:
    place = answers.get("place") or {}
    return not place.get("zone") and not (place == {} and _current(answers, "zone"))


def _zone_step() -> Step:
    step = chat_settings.TIMEZONE_FLOW.steps[0]
    return dataclasses.replace(
        step,
        prompt=lambda ctx, answers: ctx.t.gettext(
            "In which time zone is the place? Send its city or country."
        ),
        needed=_needs_zone,
    )


def _event_zone(answers: Answers) -> str:
    place = answers.get("place") or {}
    return str(place.get("zone") or answers.get("zone") or _current(answers, "zone") or "UTC")


async def _parse_date(ctx: RequestContext, answers: Answers, answer: Answer) -> str:
    return future_day(ctx, answer.given, _event_zone(answers)).isoformat()


def future_day(ctx: RequestContext, text: str, zone_name: str) -> dt.date:
    """A date typed as people write it ("05-09" in December is next May), today or later in
    zone ``zone_name``; raise ``Invalid`` otherwise."""
    t = ctx.t
    local_today = ctx.now.astimezone(zone(zone_name)).date()
    try:
        day = dt.date.fromisoformat(_day_text(text, local_today))
    except ValueError:
        raise Invalid(
            t.gettext(
                "“{text}” is not a date. Send it as DD.MM.YYYY or YYYY-MM-DD.",
                text=text[:40],
            )
        ) from None
    if day < local_today:
        raise Invalid(
            t.gettext("{date} is in the past there.", date=t.full_date(day)),
        )
    return day


def _day_text(text: str, today: dt.date) -> str:
    day = parse_day(text, today)
    if not re.search(r"\d{4}", text) and day < today:
        day = day.replace(year=day.year + 1)  # "05-09" in December means next May
    return day.isoformat()


def local_start(day: dt.date, at: dt.time, name: str) -> dt.datetime:
    """The instant a local date and time stand for in zone ``name``; raise ValueError with
    ``gap`` (the time does not exist: a clock change skips it) or ``ambiguous`` (it occurs
    twice)."""
    tz = zone(name)
    first = dt.datetime.combine(day, at, tzinfo=tz)
    second = first.replace(fold=1)
    if first.utcoffset() != second.utcoffset():
        # The same wall time has two offsets: a repeated hour (clocks back) or a skipped one
        # (clocks forward); a skipped time does not survive the round trip through UTC.
        back = first.astimezone(dt.UTC).astimezone(tz)
        if back.replace(tzinfo=None) != first.replace(tzinfo=None):
            raise ValueError("gap")
        raise ValueError("ambiguous")
    return first.astimezone(dt.UTC)


async def _parse_time(ctx: RequestContext, answers: Answers, answer: Answer) -> str:
    t = ctx.t
    at = time_of_day(t, answer.given)
    name = _event_zone(answers)
    day = dt.date.fromisoformat(str(answers.get("date") or _current(answers, "date")))
    try:
        start = local_start(day, at, name)
    except ValueError as problem:
        if str(problem) == "gap":
            message = t.gettext(
                "{time} does not exist on that day in {zone}: the clocks skip it. "
                "Choose another time.",
                time=t.time(at),
                zone=name,
            )
        else:
            message = t.gettext(
                "{time} happens twice on that day in {zone}, when the clocks go back. "
                "Choose another time.",
                time=t.time(at),
                zone=name,
            )
        raise Invalid(message) from None
    if start <= ctx.now:
        raise Invalid(t.gettext("That moment has already passed."))
    return at.strftime("%H:%M")


async def _parse_description(ctx: RequestContext, answers: Answers, answer: Answer) -> str:
    return within(ctx.t, answer.given, MAX_DESCRIPTION)


ALL_LANGUAGES = "all"


async def language_choices(ctx: RequestContext, answers: Answers) -> list[Choice]:
    everyone = Choice(ALL_LANGUAGES, ctx.t.gettext("All five languages"))
    return [everyone] + [Choice(code, LANGUAGE_NAMES[code]) for code in LANGUAGES]


async def parse_languages(ctx: RequestContext, answers: Answers, answer: Answer) -> list[str]:
    given = answer.given
    if given == ALL_LANGUAGES:
        return []
    codes = [chat_settings.find_language(part) for part in re.split(r"[\s,;]+", given) if part]
    if not codes or any(code is None for code in codes):
        raise Invalid(
            ctx.t.gettext(
                "Choose a language, or send several codes such as “ru fr”.",
            )
        )
    return list(dict.fromkeys(code for code in codes if code))


REMINDER_PRESETS: dict[str, tuple[int, ...]] = {
    "default": DEFAULT_REMINDERS,
    "day": (24 * 60, 2 * 60),
    "hours": (2 * 60,),
    "none": (),
}
_DURATION = re.compile(r"^(\d{1,3})\s*([dhm])$")
_UNIT_MINUTES = {"d": 24 * 60, "h": 60, "m": 1}


def reminders_label(ctx: RequestContext, minutes: tuple[int, ...]) -> str:
    """Reminders as people say them: "7 days, 1 day and 2 hours before"."""
    t = ctx.t
    if not minutes:
        return t.gettext("no reminders")
    parts = []
    for value in minutes:
        if value % (24 * 60) == 0:
            days = value // (24 * 60)
            parts.append(t.ngettext("{count} day", "{count} days", days))
        elif value % 60 == 0:
            parts.append(t.ngettext("{count} hour", "{count} hours", value // 60))
        else:
            parts.append(t.ngettext("{count} minute", "{count} minutes", value))
    return t.gettext("{times} before", times=t.join(parts))


async def _reminder_choices(ctx: RequestContext, answers: Answers) -> list[Choice]:
    return [Choice(key, reminders_label(ctx, value)) for key, value in REMINDER_PRESETS.items()]


async def _parse_reminders(ctx: RequestContext, answers: Answers, answer: Answer) -> list[int]:
    """A preset, or typed durations such as "3d 1d 2h" (at most three, within 30 days)."""
    given = answer.given.lower()
    if given in REMINDER_PRESETS:
        return list(REMINDER_PRESETS[given])
    minutes: list[int] = []
    for part in re.split(r"[\s,;]+", given):
        match = _DURATION.match(part)
        if match is None:
            minutes = []
            break
        minutes.append(int(match.group(1)) * _UNIT_MINUTES[match.group(2)])
    if not minutes or len(minutes) > 3 or not all(0 < m <= 30 * 24 * 60 for m in minutes):
        raise Invalid(
            ctx.t.gettext(
                "Choose one of the buttons, or send up to three delays such as “3d 1d 2h”."
            )
        )
    return sorted(set(minutes), reverse=True)


PUBLISH_NOW, KEEP_DRAFT = "publish", "draft"


async def _confirm_choices(ctx: RequestContext, answers: Answers) -> list[Choice]:
    t = ctx.t
    if _current(answers, "status") not in (None, EventStatus.DRAFT.value):
        return [Choice(PUBLISH_NOW, "✔ " + t.gettext("Save"))]  # a published event's change
    return [
        Choice(PUBLISH_NOW, "✔ " + t.gettext("Publish")),
        Choice(KEEP_DRAFT, t.gettext("Keep as a draft")),
    ]


async def _preview(ctx: RequestContext, answers: Answers) -> Reply:
    """The card as subscribers will see it."""
    event = build_event(ctx, answers, None)
    if event.status is EventStatus.DRAFT:
        event = dataclasses.replace(event, status=EventStatus.SCHEDULED)
    out = ReplyBuilder().italic(ctx.t.gettext("Subscribers will see:")).line().line()
    out.bold(pick(event.title, ctx.language)).line()
    event_card(out, ctx.t, event, ctx.timezone)
    return out.build()


def _steps(*, editing: bool) -> tuple[Step, ...]:
    def ask(name: str, question: str) -> Any:
        return lambda ctx, answers: _with_current(ctx, answers, name, ctx.t.gettext(question))

    steps = (
        Step(
            "title",
            AnswerKind.TEXT,
            ask("title", N_("What is the event called?")),
            N_("Title"),
            parse=_parse_title,
            max_length=MAX_TITLE,
            placeholder=N_("Immortal Regiment at the Citadel of Liège"),
        ),
        Step(
            "place",
            AnswerKind.MEMORIAL,
            ask("place", N_("Where? Send a memorial's name, or an address.")),
            N_("Memorial or address"),
            parse=_parse_place,
            choices=_place_choices,
            max_length=MAX_ADDRESS,
        ),
        _zone_step(),
        Step(
            "date",
            AnswerKind.DATE,
            ask("date", N_("On what date? (DD.MM.YYYY)")),
            N_("Date"),
            parse=_parse_date,
            placeholder=N_("05.05.2027"),
            max_length=20,
        ),
        Step(
            "time",
            AnswerKind.TIME,
            ask("time", N_("At what local time does it start? (HH:MM)")),
            N_("Local time"),
            parse=_parse_time,
            placeholder=N_("14:00"),
            max_length=5,
        ),
        Step(
            "description",
            AnswerKind.TEXT,
            ask("description", N_("A few words for the announcement (or Skip).")),
            N_("Description"),
            parse=_parse_description,
            optional=True,
            multiline=True,
            max_length=MAX_DESCRIPTION,
        ),
        Step(
            "languages",
            AnswerKind.CHOICE,
            ask("languages", N_("In which languages is it announced?")),
            N_("Languages"),
            parse=parse_languages,
            choices=language_choices,
        ),
        Step(
            "reminders",
            AnswerKind.CHOICE,
            ask("reminders", N_("When should followers be reminded?")),
            N_("Reminders"),
            parse=_parse_reminders,
            choices=_reminder_choices,
        ),
        Step(
            "confirm",
            AnswerKind.CONFIRM,
            lambda ctx, answers: (
                ctx.t.gettext("Publish it now, or keep it as a draft?")
                if _current(answers, "status") in (None, EventStatus.DRAFT.value)
                else ctx.t.gettext("Save the change? Followers hear of a new time or place.")
            ),
            N_("Confirm"),
            choices=_confirm_choices,
            card=_preview,
        ),
    )
    if not editing:
        return steps
    return tuple(
        dataclasses.replace(step, optional=True) if step.name not in ("confirm",) else step
        for step in steps
    )


# -- building and saving ---------------------------------------------------------------------


def slug_for(title: str, seed: str) -> str:
    """A readable, unique slug for a new event."""
    words = re.sub(r"[^a-z0-9]+", "-", anyascii(title).lower()).strip("-")[:48].strip("-")
    digest = hashlib.sha256(seed.encode()).hexdigest()[:8]
    return f"{words or 'event'}-{digest}"


def build_event(ctx: RequestContext, answers: Answers, existing: Event | None) -> Event:
    """The event the answers describe (over ``existing`` when editing: a skipped answer
    keeps what is there)."""

    def given(name: str) -> Any:
        value = answers.get(name)
        return value if value is not None else _current(answers, name)

    title = str(given("title") or "")
    place = answers.get("place") or {}
    name = _event_zone(answers)
    day = dt.date.fromisoformat(str(given("date")))
    start = local_start(day, parse_hhmm(str(given("time"))), name)
    languages = given("languages")
    description = given("description")
    base = existing or Event(
        slug=slug_for(title, f"{ctx.platform}:{ctx.user.id}:{ctx.now.isoformat()}:{title}"),
        starts_at=start,
        timezone=name,
        title={},
        status=EventStatus.DRAFT,
        created_by=f"{ctx.platform}:{ctx.user.id}",
        origin=f"{ctx.platform}:{ctx.chat.id}",
    )
    languages_list = list(languages or [])
    title_languages = languages_list or [ctx.language]
    event = dataclasses.replace(
        base,
        title={code: title for code in title_languages} if answers.get("title") else base.title,
        description=(
            {code: str(description) for code in title_languages}
            if answers.get("description")
            else base.description
        ),
        starts_at=start,
        timezone=name,
        languages=tuple(languages_list) if languages is not None else base.languages,
    )
    reminders = answers.get("reminders")
    if reminders is not None:
        event = dataclasses.replace(event, reminders=tuple(int(m) for m in reminders))
    if place.get("memorial"):
        event = dataclasses.replace(
            event,
            memorial=str(place["memorial"]),
            place=dict(place.get("names") or {}),
            city=place.get("city"),
            country=place.get("country"),
            lat=place.get("lat"),
            lon=place.get("lon"),
        )
    elif place.get("address"):
        country = get_global("zone_territories").get(name)
        event = dataclasses.replace(
            event,
            memorial=None,
            place={code: str(place["address"]) for code in LANGUAGES},
            city=None,
            country=country if isinstance(country, str) and len(country) == 2 else None,
            lat=None,
            lon=None,
        )
    return event


def _heard_of(before: Event, after: Event) -> bool:
    """Whether subscribers hear of a change: the time or the place changed."""
    return (before.starts_at, before.timezone, before.memorial, before.place) != (
        after.starts_at,
        after.timezone,
        after.memorial,
        after.place,
    )


async def _finish_new(ctx: RequestContext, answers: Answers) -> Reply:
    await require_organizer(ctx)
    event = build_event(ctx, answers, None)
    if answers.get("confirm") == PUBLISH_NOW:
        event = dataclasses.replace(
            event, status=EventStatus.SCHEDULED, sequence=1, announced_at=ctx.now
        )
    saved = await ctx.core.events.save_event(event)
    return _saved_reply(ctx, saved, created=True)


async def _finish_edit(ctx: RequestContext, answers: Answers) -> Reply:
    existing = await ctx.core.events.get_event(int(answers["event_id"]))
    if existing is None:
        return ReplyBuilder().text(ctx.t.gettext("There is no such event.")).build()
    await require_organizer(ctx, existing)
    event = build_event(ctx, answers, existing)
    publish = answers.get("confirm") == PUBLISH_NOW
    if existing.status is EventStatus.DRAFT:
        if publish:
            event = dataclasses.replace(
                event, status=EventStatus.SCHEDULED, sequence=1, announced_at=ctx.now
            )
    elif _heard_of(existing, event):
        moved = existing.starts_at != event.starts_at
        event = dataclasses.replace(
            event,
            status=EventStatus.MOVED if moved else existing.status,
            sequence=existing.sequence + 1,
            announced_at=ctx.now,
        )
    saved = await ctx.core.events.save_event(event)
    return _saved_reply(ctx, saved, created=False)


def _saved_reply(ctx: RequestContext, event: Event, *, created: bool) -> Reply:
    t = ctx.t
    out = ReplyBuilder()
    if event.status is EventStatus.DRAFT:
        out.line(
            t.gettext(
                "Saved as draft #{id}; nobody is told yet. Publish it with /event publish {id}.",
                id=event.id,
            )
        )
    elif created:
        out.line(
            t.gettext(
                "Event #{id} is published: every chat that follows it will be told.", id=event.id
            )
        )
    else:
        out.line(t.gettext("Event #{id} is saved.", id=event.id))
    out.line().bold(pick(event.title, ctx.language)).line()
    event_card(out, t, event, ctx.timezone)
    return out.build()


# -- cancel and publish ----------------------------------------------------------------------


async def _confirm_only(ctx: RequestContext, answers: Answers) -> list[Choice]:
    verb = answers.get("verb")
    label = ctx.t.gettext("Cancel the event") if verb == CANCEL else ctx.t.gettext("Publish")
    return [Choice("yes", "✔ " + label)]


async def _event_card(ctx: RequestContext, answers: Answers) -> Reply:
    event = await ctx.core.events.get_event(int(answers["event_id"]))
    out = ReplyBuilder()
    if event is not None:
        out.bold(pick(event.title, ctx.language)).line()
        event_card(out, ctx.t, event, ctx.timezone)
    return out.build()


async def _finish_status(ctx: RequestContext, answers: Answers) -> Reply:
    t = ctx.t
    event = await ctx.core.events.get_event(int(answers["event_id"]))
    if event is None:
        return ReplyBuilder().text(t.gettext("There is no such event.")).build()
    await require_organizer(ctx, event)
    if answers.get("verb") == CANCEL:
        if event.status is EventStatus.CANCELLED:
            return ReplyBuilder().text(t.gettext("This event is already cancelled.")).build()
        await ctx.core.cancel_event(event)
        return (
            ReplyBuilder()
            .text(t.gettext("Event #{id} is cancelled; its followers will be told.", id=event.id))
            .build()
        )
    if event.status is not EventStatus.DRAFT:
        return ReplyBuilder().text(t.gettext("This event is already published.")).build()
    return _saved_reply(ctx, await ctx.core.publish_event(event), created=True)


def _confirm_step() -> Step:
    return Step(
        "confirm",
        AnswerKind.CONFIRM,
        lambda ctx, answers: ctx.t.gettext("Are you sure?"),
        N_("Confirm"),
        choices=_confirm_only,
        card=_event_card,
    )


NEW_FLOW = Flow(NEW, "event", _steps(editing=False), _finish_new)
EDIT_FLOW = Flow(EDIT, "event", _steps(editing=True), _finish_edit)
CANCEL_FLOW = Flow(CANCEL, "event", (_confirm_step(),), _finish_status)
PUBLISH_FLOW = Flow(PUBLISH, "event", (_confirm_step(),), _finish_status)
FLOWS: tuple[Flow, ...] = (NEW_FLOW, EDIT_FLOW, CANCEL_FLOW, PUBLISH_FLOW)


# -- the command -----------------------------------------------------------------------------


async def _event_by_argument(ctx: RequestContext, text: str) -> Event:
    number = text.strip().lstrip("#")
    event_id = parse_number(number)
    event = await ctx.core.events.get_event(event_id) if event_id is not None else None
    if event is None:
        raise UsageError(ctx.t.gettext("There is no event #{id}.", id=number[:12]))
    return event


def _current_values(event: Event, language: str) -> dict[str, Any]:
    local = event.starts_at.astimezone(zone(event.timezone))
    return {
        "title": pick(event.title, language),
        "place": pick(event.place, language),
        "zone": event.timezone,
        "date": local.date().isoformat(),
        "time": local.strftime("%H:%M"),
        "description": pick(event.description, language),
        "languages": list(event.languages),
        "status": event.status.value,
    }


async def manage_event(ctx: RequestContext) -> Reply:
    """``/event new``, ``/event edit ID``, ``/event cancel ID``, ``/event publish ID``,
    ``/event ID``."""
    action, _, rest = ctx.arg_text.strip().partition(" ")
    action = action.lower()
    if action in ("", "new"):
        await require_organizer(ctx)
        return await ctx.start_flow(NEW)
    if action.lstrip("#").isdigit():
        event = await _event_by_argument(ctx, action)
        out = ReplyBuilder().bold(f"#{event.id} " + pick(event.title, ctx.language)).line()
        event_card(out, ctx.t, event, ctx.timezone)
        organizer = await ctx.may_organize() and (
            event.origin == f"{ctx.platform}:{ctx.chat.id}" or await ctx.is_bot_organizer()
        )
        answers = await rsvp_lines(ctx, event, names=organizer)
        out.line().spans.extend(answers.spans)
        if organizer:
            for failure in await calendar_failures(ctx, event):
                out.line("⚠️ " + failure)
        count = await ctx.core.rsvps.count(event.id or 0)
        out.row(*rsvp_buttons(ctx.t, event, count))
        memorial = await ctx.core.memorial(event.memorial) if event.memorial else None
        calendar = event_ics(located(event, memorial), ctx.language, now=ctx.now)
        return out.build(file=OutgoingFile(f"event-{event.id}.ics", CONTENT_TYPE, calendar))
    if action not in ("edit", "cancel", "publish") or not rest.strip():
        raise UsageError()
    event = await _event_by_argument(ctx, rest)
    await require_organizer(ctx, event)
    if action == "edit":
        carried = {"event_id": event.id, "current": _current_values(event, ctx.language)}
        return await ctx.start_flow(EDIT, carried)
    verb = CANCEL if action == "cancel" else PUBLISH
    return await ctx.start_flow(verb, {"event_id": event.id, "verb": verb})


# -- /follow: which announcements a chat hears of ---------------------------------------------

FOLLOW = "follow"
FOLLOW_KINDS = ("all", "country", "city", "memorial", "none")


async def _follow_kinds(ctx: RequestContext, answers: Answers) -> list[Choice]:
    t = ctx.t
    labels = {
        "all": t.gettext("All announcements"),
        "country": t.gettext("A country"),
        "city": t.gettext("A town"),
        "memorial": t.gettext("A memorial"),
        "none": t.gettext("No announcements"),
    }
    return [Choice(kind, labels[kind]) for kind in FOLLOW_KINDS]


async def _countries(ctx: RequestContext, answers: Answers) -> list[Choice]:
    found = sorted({m.country for m in await ctx.core.memorials.all_memorials()})
    return [Choice(code, memorials.country_name(ctx.t, code)) for code in found]


async def _parse_country(ctx: RequestContext, answers: Answers, answer: Answer) -> str:
    if answer.choice is not None:
        return answer.choice
    raise Invalid(ctx.t.gettext("Please choose one of the buttons."))


async def _parse_city(ctx: RequestContext, answers: Answers, answer: Answer) -> str:
    """A town where memorials are, named in any language: stored as events name it."""
    wanted = anyascii(answer.given).casefold().strip()
    for memorial in await ctx.core.memorials.all_memorials():
        names = {anyascii(name).casefold() for name in memorial.city.values()}
        if wanted and wanted in names:
            return pick(memorial.city, "fr") or pick(memorial.city, "en")
    raise Invalid(
        ctx.t.gettext(
            "No memorial is listed in “{text}”. Try another town.", text=answer.given[:60]
        )
    )


async def _finish_follow(ctx: RequestContext, answers: Answers) -> Reply:
    kind = str(answers["kind"])
    value = answers.get(kind)
    follow = kind if kind in ("all", "none") else f"{kind}:{value}"
    return await _save_follow(ctx, follow)


async def _save_follow(ctx: RequestContext, follow: str) -> Reply:
    await chat_settings.require_configure(ctx)
    await ctx.core.set_follow(
        ctx.platform,
        ctx.chat.id,
        follow,
        language=ctx.language,
        timezone=ctx.timezone,
        thread_id=ctx.chat.thread_id,
    )
    text = ctx.t.gettext("This chat now hears of {what}.", what=await follow_label(ctx, follow))
    return ReplyBuilder().text(text).build()


def _wants(kind: str) -> Any:
    return lambda answers: answers.get("kind") == kind


FOLLOW_FLOW = Flow(
    FOLLOW,
    "follow",
    (
        Step(
            "kind",
            AnswerKind.CHOICE,
            lambda ctx, answers: ctx.t.gettext("Which announcements should this chat hear of?"),
            N_("Announcements"),
            choices=_follow_kinds,
        ),
        Step(
            "country",
            AnswerKind.CHOICE,
            lambda ctx, answers: ctx.t.gettext("Which country?"),
            N_("Country"),
            parse=_parse_country,
            choices=_countries,
            needed=_wants("country"),
        ),
        Step(
            "city",
            AnswerKind.TEXT,
            lambda ctx, answers: ctx.t.gettext("Which town? (Liège, Rebecq, Smolensk…)"),
            N_("Town"),
            parse=_parse_city,
            needed=_wants("city"),
            max_length=100,
        ),
        dataclasses.replace(memorials.MEMORIAL_FLOW.steps[0], needed=_wants("memorial")),
    ),
    _finish_follow,
)


async def choose_follow(ctx: RequestContext) -> Reply:
    """``/follow``: ask which announcements the chat hears of; ``/follow all|none`` sets it."""
    await chat_settings.require_configure(ctx)
    text = ctx.option("what").lower()
    if text in ("all", "none"):
        return await _save_follow(ctx, text)
    if text:
        raise UsageError()
    return await ctx.start_flow(FOLLOW)


FLOWS = (*FLOWS, FOLLOW_FLOW)


# -- /calendar: a server's own calendar of events ----------------------------------------------


async def choose_calendar(ctx: RequestContext) -> Reply:
    """``/calendar on|off``: whether announced events also appear in the server's own
    calendar (Discord's scheduled events). Administrators and organizers may switch it."""
    t = ctx.t
    if not ctx.chat.space:
        return (
            ReplyBuilder()
            .text(
                t.gettext(
                    "Here there is no calendar of the community's own; /event with an "
                    "event's number gives its calendar file."
                )
            )
            .build()
        )
    if not (ctx.user.is_admin or await ctx.is_bot_organizer()):
        raise NotAllowed()
    state = ctx.option("state").lower()
    if state not in ("on", "off"):
        raise UsageError()
    await ctx.core.calendars.set_calendar(ctx.platform, ctx.chat.space, state == "on")
    if state == "on":
        text = t.gettext("Announced events will also be listed in this server's events.")
    else:
        text = t.gettext("Announced events will no longer be added to this server's events.")
    return ReplyBuilder().text(text).build(ephemeral=True)


async def calendar_failures(ctx: RequestContext, event: Event) -> list[str]:
    """For the event's organizers: the servers where it could not be listed, and why."""
    if event.id is None:
        return []
    return [
        ctx.t.gettext(
            "Not listed in the events of server {space}: {error}",
            space=link.space_id,
            error=link.error,
        )
        for link in await ctx.core.calendars.links_of(event.id)
        if link.error
    ]
