"""A chat's own choices: ``/language``, ``/timezone``, ``/subscribe``, ``/unsubscribe``,
``/settings``. In groups and channels only administrators and organizers may change them."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import replace

from bot.core.context import RequestContext
from bot.core.conversation import Answer, Answers, Choice, Flow, Invalid, Step, time_of_day
from bot.core.domain import LANGUAGES
from bot.core.i18n import LANGUAGE_NAMES, translator
from bot.core.places import zones_for
from bot.core.reply import AnswerKind, Button, Reply, ReplyBuilder, Span, Style
from bot.core.timeutil import find_zone, parse_hhmm, zone, zone_display
from bot.scheduling.planner import first_post
from handlers.base import N_, NotAllowed, UsageError
from handlers.events import follow_label


async def require_configure(ctx: RequestContext) -> None:
    """Refuse unless the user may change this chat's settings."""
    if not await ctx.can_configure():
        raise NotAllowed()


def find_language(text: str) -> str | None:
    """A language code from a code (``ru``, ``nl-BE``) or a name in its own language."""
    wanted = text.strip().casefold()
    for code in LANGUAGES:
        if wanted in (code, LANGUAGE_NAMES[code].casefold()) or wanted.startswith(code + "-"):
            return code
    return None


def language_buttons() -> tuple[tuple[Button, ...], ...]:
    """One button per language, labelled in that language."""
    return tuple((Button(LANGUAGE_NAMES[code], action=f"lang:{code}"),) for code in LANGUAGES)


async def choose_language(ctx: RequestContext) -> Reply:
    """``/language``: the choices as buttons; ``/language ru``: store the choice."""
    text = ctx.option("language")
    if not text:
        out = ReplyBuilder().text(
            ctx.t.gettext(
                "Current language: {language}. Choose another:",
                language=LANGUAGE_NAMES[ctx.language],
            )
        )
        return ReplyBuilder(out.spans, list(language_buttons())).build()
    code = find_language(text)
    if code is None:
        raise UsageError(
            ctx.t.gettext("“{text}” is not one of the bot's languages.", text=text[:40])
        )
    await require_configure(ctx)
    await ctx.core.set_language(ctx.platform, ctx.chat.id, code)
    t = translator(code)
    return (
        ReplyBuilder()
        .text(t.gettext("Language set to {language}.", language=LANGUAGE_NAMES[code]))
        .build()
    )


def zone_label(ctx: RequestContext, name: str, place: str = "") -> str:
    """A zone with the local time there now ("Europe/Moscow · 14:05 · Moscow, RU")."""
    local = ctx.t.time(ctx.now.astimezone(zone(name)).time())
    return " · ".join(part for part in (zone_display(name, ctx.now), local, place) if part)


async def choose_timezone(ctx: RequestContext) -> Reply:
    """``/timezone``: ask for a city or country; ``/timezone Europe/Moscow``: store it;
    ``/timezone Moscow`` (not a zone name): offer the matching zones."""
    t = ctx.t
    text = ctx.option("zone")
    if not text:
        if not await ctx.can_configure():
            return (
                ReplyBuilder()
                .line(t.gettext("Time zone: {zone}.", zone=zone_label(ctx, ctx.timezone)))
                .text(t.gettext("Only the administrators of this chat can change its settings."))
                .build()
            )
        return await ctx.start_flow(TIMEZONE)
    await require_configure(ctx)
    name = find_zone(text)
    if name is None:
        if len(text) > MAX_PLACE_CHARS:
            raise UsageError(t.gettext("“{text}” is not a known time zone.", text=text[:60]))
        return await ctx.start_flow(TIMEZONE, {"zone": text})
    return await _set_timezone(ctx, name)


async def _set_timezone(ctx: RequestContext, name: str) -> Reply:
    await require_configure(ctx)
    await ctx.core.set_timezone(ctx.platform, ctx.chat.id, name)
    t = ctx.t
    local = t.time(ctx.now.astimezone(zone(name)).time())
    return (
        ReplyBuilder()
        .line(t.gettext("Time zone set to {zone}.", zone=zone_display(name, ctx.now)))
        .text(t.gettext("The local time there is {time}.", time=local))
        .build()
    )


async def _parse_zone(ctx: RequestContext, answers: Answers, answer: Answer) -> str:
    t = ctx.t
    if answer.choice is not None:
        chosen = find_zone(answer.choice)
        if chosen is not None:
            return chosen
    text = answer.given
    if not text:
        raise Invalid(t.gettext("Please send the name of a city or a country."))
    if len(text) > MAX_PLACE_CHARS:
        raise Invalid(t.gettext("That is too long for a place name."))
    candidates = await asyncio.to_thread(zones_for, text, ctx.now)
    if len(candidates) == 1:
        return candidates[0].zone
    if not candidates:
        raise Invalid(
            t.gettext(
                "I found no time zone for “{text}”. Try a nearby city, a country, "
                "or an offset such as UTC+3.",
                text=text[:60],
            ),
            {"candidates": []},
        )
    raise Invalid(
        t.gettext("Several time zones match “{text}”.", text=text[:60]),
        {"candidates": [[c.zone, c.place] for c in candidates]},
        hint=True,
    )


async def _zone_choices(ctx: RequestContext, answers: Answers) -> list[Choice]:
    return [
        Choice(name, zone_label(ctx, name, place)) for name, place in answers.get("candidates", [])
    ]


def _zone_prompt(ctx: RequestContext, answers: Answers) -> str:
    t = ctx.t
    if answers.get("candidates"):
        return t.gettext("Which time zone? Choose one of these, or send another city or country.")
    return t.gettext(
        "Which time zone? Send a city or a country in any language (Moscow, Москва, "
        "Lüttich, Belgium) or an offset such as UTC+3. Now: {zone}.",
        zone=zone_label(ctx, ctx.timezone),
    )


async def _finish_timezone(ctx: RequestContext, answers: Answers) -> Reply:
    return await _set_timezone(ctx, str(answers["zone"]))


TIMEZONE = "timezone"
MAX_PLACE_CHARS = 100
TIMEZONE_FLOW = Flow(
    TIMEZONE,
    "timezone",
    (
        Step(
            "zone",
            AnswerKind.ZONE,
            _zone_prompt,
            N_("City, country or time zone"),
            parse=_parse_zone,
            choices=_zone_choices,
            placeholder=N_("Moscow, Lüttich, Belgium, UTC+3…"),
            max_length=MAX_PLACE_CHARS,
        ),
    ),
    _finish_timezone,
)


async def subscribe(ctx: RequestContext) -> Reply:
    """``/subscribe``: the daily post at the chat's current time, or ``DEFAULT_DELIVERY_TIME``
    for a new subscription (another time is one button away); ``/subscribe HH:MM``: at that
    time."""
    t = ctx.t
    text = ctx.option("time")
    if not text:
        return await _subscribe_at(ctx, None)
    if len(ctx.args) > 1:
        raise UsageError()
    try:
        delivery_time = parse_hhmm(text)
    except ValueError:
        raise UsageError(t.gettext("“{text}” is not a time of day.", text=text[:20])) from None
    return await _subscribe_at(ctx, delivery_time)


CHANGE_TIME_ACTION = "subtime:"
"""The action of the button that asks for another time of the daily post."""


async def ask_subscription_time(ctx: RequestContext) -> Reply:
    """The action behind "Another time…" under a subscription: asks for the time."""
    await require_configure(ctx)
    return await ctx.start_flow(SUBSCRIBE)


async def _subscribe_at(ctx: RequestContext, delivery_time: dt.time | None) -> Reply:
    """Subscribe, and say what changed: a new subscription, a time moved, or nothing; with
    the time, the zone and the date of the first post."""
    t = ctx.t
    await require_configure(ctx)
    before = await ctx.core.chats.get_subscription(ctx.platform, ctx.chat.id, ctx.chat.thread_id)
    subscription = await ctx.core.subscribe(
        ctx.platform,
        ctx.chat.id,
        language=ctx.language,
        timezone=ctx.timezone,
        delivery_time=delivery_time,
        thread_id=ctx.chat.thread_id,
    )
    zone_name = zone_display(subscription.timezone, ctx.now)
    first = t.full_date(first_post(ctx.now, subscription.delivery_time, subscription.timezone))
    time = t.time(subscription.delivery_time)
    was_on = before is not None and before.active and "today" in before.topics
    if was_on and before is not None and before.delivery_time != subscription.delivery_time:
        text = t.gettext(
            "The daily “on this day” post moved from {old} to {new} ({zone}). The first one "
            "at the new time: {date}.",
            old=t.time(before.delivery_time),
            new=time,
            zone=zone_name,
            date=first,
        )
    elif was_on:
        text = t.gettext(
            "This chat is already subscribed: the “on this day” post arrives every day at "
            "{time} ({zone}), in {language}. The next one: {date}.",
            time=time,
            zone=zone_name,
            language=t.language_name(subscription.language),
            date=first,
        )
    else:
        text = t.gettext(
            "Subscribed. The “on this day” post will arrive every day at {time} ({zone}), in "
            "{language}, from {date}. Send /unsubscribe to stop it.",
            time=time,
            zone=zone_name,
            language=t.language_name(subscription.language),
            date=first,
        )
    out = ReplyBuilder().text(text)
    other = Button(t.gettext("Another time…"), action=CHANGE_TIME_ACTION)
    return ReplyBuilder(out.spans, [(other,)]).build()


COMMON_TIMES = ("07:00", "08:00", "09:00", "12:00", "18:00", "20:00")
OTHER_TIME = "other"


async def _time_choices(ctx: RequestContext, answers: Answers) -> list[Choice]:
    choices = [Choice(value, ctx.t.time(parse_hhmm(value))) for value in COMMON_TIMES]
    if not answers.get("typing"):
        choices.append(Choice(OTHER_TIME, ctx.t.gettext("Another time…")))
    return choices


async def _parse_time(ctx: RequestContext, answers: Answers, answer: Answer) -> str:
    t = ctx.t
    if answer.choice == OTHER_TIME:
        raise Invalid(
            t.gettext("Send the time as HH:MM, for example 07:30."), {"typing": True}, hint=True
        )
    return time_of_day(t, answer.given).strftime("%H:%M")


def _time_prompt(ctx: RequestContext, answers: Answers) -> str:
    return ctx.t.gettext(
        "At what time should the daily “on this day” post arrive ({zone})? "
        "Choose one, or send a time such as 07:30.",
        zone=zone_display(str(answers.get("zone") or ctx.timezone), ctx.now),
    )


async def _finish_subscribe(ctx: RequestContext, answers: Answers) -> Reply:
    return await _subscribe_at(ctx, parse_hhmm(str(answers["time"])))


SUBSCRIBE = "subscribe"
SUBSCRIBE_FLOW = Flow(
    SUBSCRIBE,
    "subscribe",
    (
        Step(
            "time",
            AnswerKind.TIME,
            _time_prompt,
            N_("Time of the daily post (HH:MM)"),
            parse=_parse_time,
            choices=_time_choices,
            placeholder=N_("07:30"),
            max_length=5,
        ),
    ),
    _finish_subscribe,
)


async def unsubscribe(ctx: RequestContext) -> Reply:
    """``/unsubscribe``: stop the daily post."""
    await require_configure(ctx)
    stopped = await ctx.core.unsubscribe(ctx.platform, ctx.chat.id, ctx.chat.thread_id)
    if stopped:
        text = ctx.t.gettext("Unsubscribed. Send /subscribe to start again.")
    else:
        text = ctx.t.gettext("This chat is not subscribed. Send /subscribe to start.")
    return ReplyBuilder().text(text).build()


async def show_settings(ctx: RequestContext) -> Reply:
    """``/settings``: language, zone and subscription of this chat."""
    t = ctx.t
    settings = await ctx.core.effective_settings(ctx.platform, ctx.chat.id, ctx.chat.thread_id)
    out = ReplyBuilder().bold(t.gettext("Settings of this chat")).line()
    out.line(t.gettext("Language: {language}", language=LANGUAGE_NAMES[ctx.language]))
    out.line(t.gettext("Time zone: {zone}", zone=zone_display(ctx.timezone, ctx.now)))
    subscription = settings.subscription
    if subscription is not None and subscription.active and "today" in subscription.topics:
        out.line(
            t.gettext("Daily post: every day at {time}", time=t.time(subscription.delivery_time))
        )
    else:
        out.line(t.gettext("Daily post: off"))
    follow = "none"
    if subscription is not None and subscription.active and "events" in subscription.topics:
        follow = subscription.follow
    out.text(t.gettext("Announcements: {what}", what=await follow_label(ctx, follow)))
    return out.build()


async def pick_language(ctx: RequestContext) -> Reply:
    """The action behind a language button (``lang:<code>``): replaces the choices."""
    code = ctx.args[0] if ctx.args else ""
    reply = await choose_language(replace(ctx, options={"language": code}))
    return replace(reply, replaces=True)


# -- /setup: language, zone and time of the daily post, at once ------------------------------

SETUP = "setup"
CANNOT_POST = N_("I cannot post in {channel}.")
GRANT = N_(
    "Give me the View Channel, Send Messages and Embed Links permissions there and run /setup "
    "again."
)


async def setup_chat(ctx: RequestContext) -> Reply:
    """``/setup [language] [zone] [time]`` (Discord: and ``channel``): the daily post and the
    announcements of a chat in a language, a zone and at a time, in one step. With any
    option given, the others keep the chat's current values (or the defaults); with none, a
    conversation asks for each and confirms."""
    t = ctx.t
    await require_configure(ctx)
    target = ctx.option("channel") or ctx.chat.id
    if ctx.can_post is not None and not ctx.can_post(target):
        out = ReplyBuilder().fill(t.gettext(CANNOT_POST), "channel", _chat_span(ctx, target))
        return out.text(" " + t.gettext(GRANT)).build(ephemeral=True)
    given = {name: ctx.option(name) for name in ("language", "zone", "time")}
    if not any(given.values()) and not ctx.option("channel"):
        return await ctx.start_flow(SETUP, {"target": target})
    stored = await ctx.core.chats.get_settings(ctx.platform, target)
    code = ctx.core.resolve_language(
        stored.language if stored else None, ctx.chat.locale or ctx.user.client_language
    )
    if given["language"]:
        found = find_language(given["language"])
        if found is None:
            raise UsageError(
                t.gettext(
                    "“{text}” is not one of the bot's languages.", text=given["language"][:40]
                )
            )
        code = found
    zone_name = (stored.timezone if stored else None) or ctx.core.settings.default_timezone
    if given["zone"]:
        found_zone = find_zone(given["zone"])
        if found_zone is None:
            raise UsageError(
                t.gettext("“{text}” is not a known time zone.", text=given["zone"][:60])
            )
        zone_name = found_zone
    delivery: dt.time | None = None
    if given["time"]:
        try:
            delivery = parse_hhmm(given["time"])
        except ValueError:
            raise UsageError(
                t.gettext("“{text}” is not a time of day.", text=given["time"][:20])
            ) from None
    return await _apply_setup(ctx, target, code, zone_name, delivery)


def _chat_span(ctx: RequestContext, target: str) -> Span:
    title = ctx.chat.title if target == ctx.chat.id and ctx.chat.title else ""
    return Span(title or ctx.t.gettext("this chat"), Style.CHAT, target)


async def _apply_setup(
    ctx: RequestContext, target: str, code: str, zone_name: str, delivery: dt.time | None
) -> Reply:
    """Store the chat's language and zone and subscribe it, in one unit of work."""
    await require_configure(ctx)
    thread = ctx.chat.thread_id if target == ctx.chat.id else ""
    async with ctx.core.unit_of_work():
        await ctx.core.set_language(ctx.platform, target, code)
        await ctx.core.set_timezone(ctx.platform, target, zone_name)
        subscription = await ctx.core.subscribe(
            ctx.platform,
            target,
            language=code,
            timezone=zone_name,
            delivery_time=delivery,
            thread_id=thread,
        )
    t = ctx.t
    first = first_post(ctx.now, subscription.delivery_time, zone_name)
    template = t.gettext(
        "{channel} will receive the “on this day” post and the announcements of "
        "events every day at {time} ({zone}), in {language}, from {date}.",
        channel="{channel}",
        time=t.time(subscription.delivery_time),
        zone=zone_display(zone_name, ctx.now),
        language=LANGUAGE_NAMES[code],
        date=t.full_date(first),
    )
    span = _chat_span(ctx, target)
    if template.startswith("{channel}"):  # a sentence starts with the chat's name
        span = replace(span, text=span.text[:1].upper() + span.text[1:])
    return ReplyBuilder().fill(template, "channel", span).build(ephemeral=True)


async def _language_choices(ctx: RequestContext, answers: Answers) -> list[Choice]:
    return [Choice(code, LANGUAGE_NAMES[code]) for code in LANGUAGES]


async def _parse_language(ctx: RequestContext, answers: Answers, answer: Answer) -> str:
    code = find_language(answer.given)
    if code is None:
        raise Invalid(
            ctx.t.gettext("“{text}” is not one of the bot's languages.", text=answer.given[:40])
        )
    return code


async def _setup_card(ctx: RequestContext, answers: Answers) -> Reply:
    t = ctx.t
    out = ReplyBuilder().bold(t.gettext("Settings of this chat")).line()
    out.line(t.gettext("Language: {language}", language=LANGUAGE_NAMES[str(answers["language"])]))
    out.line(t.gettext("Time zone: {zone}", zone=zone_label(ctx, str(answers["zone"]))))
    time = t.time(parse_hhmm(str(answers["time"])))
    out.text(t.gettext("Daily post: every day at {time}", time=time))
    return out.build()


async def _confirm_choices(ctx: RequestContext, answers: Answers) -> list[Choice]:
    return [Choice("yes", "✔ " + ctx.t.gettext("Save"))]


async def _finish_setup(ctx: RequestContext, answers: Answers) -> Reply:
    return await _apply_setup(
        ctx,
        str(answers.get("target") or ctx.chat.id),
        str(answers["language"]),
        str(answers["zone"]),
        parse_hhmm(str(answers["time"])),
    )


SETUP_FLOW = Flow(
    SETUP,
    "setup",
    (
        Step(
            "language",
            AnswerKind.CHOICE,
            lambda ctx, answers: ctx.t.gettext("In which language should the posts be?"),
            N_("Language"),
            parse=_parse_language,
            choices=_language_choices,
        ),
        replace(TIMEZONE_FLOW.steps[0]),
        replace(SUBSCRIBE_FLOW.steps[0]),
        Step(
            "confirm",
            AnswerKind.CONFIRM,
            lambda ctx, answers: ctx.t.gettext("Save these settings?"),
            N_("Confirm"),
            choices=_confirm_choices,
            card=_setup_card,
        ),
    ),
    _finish_setup,
)
