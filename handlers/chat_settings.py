"""A chat's own choices: ``/language``, ``/timezone``, ``/subscribe``, ``/unsubscribe``,
``/settings``. In groups and channels only administrators and organizers may change them."""

from __future__ import annotations

from dataclasses import replace

from bot.core.context import RequestContext
from bot.core.domain import LANGUAGES
from bot.core.i18n import LANGUAGE_NAMES, translator
from bot.core.reply import Button, Reply, ReplyBuilder
from bot.core.timeutil import find_zone, parse_hhmm
from handlers.base import NotAllowed, UsageError


async def _require_configure(ctx: RequestContext) -> None:
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
    if not ctx.args:
        out = ReplyBuilder().text(
            ctx.t.gettext(
                "Current language: {language}. Choose another:",
                language=LANGUAGE_NAMES[ctx.language],
            )
        )
        return ReplyBuilder(out.spans, list(language_buttons())).build()
    code = find_language(ctx.arg_text)
    if code is None:
        raise UsageError(
            ctx.t.gettext("“{text}” is not one of the bot's languages.", text=ctx.arg_text[:40])
        )
    await _require_configure(ctx)
    await ctx.core.set_language(ctx.platform, ctx.chat.id, code)
    t = translator(code)
    return (
        ReplyBuilder()
        .text(t.gettext("Language set to {language}.", language=LANGUAGE_NAMES[code]))
        .build()
    )


async def choose_timezone(ctx: RequestContext) -> Reply:
    """``/timezone``: show the zone; ``/timezone Europe/Moscow``: store it."""
    t = ctx.t
    if not ctx.args:
        return (
            ReplyBuilder()
            .line(t.gettext("Time zone: {zone}.", zone=ctx.timezone))
            .text(
                t.gettext(
                    "To change it, send /timezone followed by a zone name, "
                    "for example /timezone Europe/Moscow."
                )
            )
            .build()
        )
    name = find_zone(ctx.arg_text)
    if name is None:
        raise UsageError(t.gettext("“{text}” is not a known time zone.", text=ctx.arg_text[:60]))
    await _require_configure(ctx)
    await ctx.core.set_timezone(ctx.platform, ctx.chat.id, name)
    return ReplyBuilder().text(t.gettext("Time zone set to {zone}.", zone=name)).build()


async def subscribe(ctx: RequestContext) -> Reply:
    """``/subscribe [HH:MM]``: the daily "on this day" post at a local time."""
    t = ctx.t
    delivery_time = None
    if ctx.args:
        if len(ctx.args) > 1:
            raise UsageError()
        try:
            delivery_time = parse_hhmm(ctx.args[0])
        except ValueError:
            raise UsageError(
                t.gettext("“{text}” is not a time of day.", text=ctx.args[0][:20])
            ) from None
    await _require_configure(ctx)
    subscription = await ctx.core.subscribe(
        ctx.platform,
        ctx.chat.id,
        language=ctx.language,
        timezone=ctx.timezone,
        delivery_time=delivery_time,
        thread_id=ctx.chat.thread_id,
    )
    return (
        ReplyBuilder()
        .text(
            t.gettext(
                "Subscribed. The “on this day” post will arrive every day at {time} ({zone}), "
                "in {language}. Send /unsubscribe to stop it.",
                time=t.time(subscription.delivery_time),
                zone=subscription.timezone,
                language=t.language_name(subscription.language),
            )
        )
        .build()
    )


async def unsubscribe(ctx: RequestContext) -> Reply:
    """``/unsubscribe``: stop the daily post."""
    await _require_configure(ctx)
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
    out.line(t.gettext("Time zone: {zone}", zone=ctx.timezone))
    subscription = settings.subscription
    if subscription is not None and subscription.active:
        out.text(
            t.gettext("Daily post: every day at {time}", time=t.time(subscription.delivery_time))
        )
    else:
        out.text(t.gettext("Daily post: off"))
    return out.build()


async def pick_language(ctx: RequestContext) -> Reply:
    """The action behind a language button (``lang:<code>``)."""
    return await choose_language(replace(ctx, args=ctx.args[:1], arg_text=" ".join(ctx.args[:1])))
