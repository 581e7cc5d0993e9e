"""The commands the bot understands, in one place.

Adapters read this table to register commands (Telegram's command menus, Discord's slash
commands with their options) and the dispatcher to route requests. Summaries and usage texts
are English msgids, translated where they are shown.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from bot.core.context import RequestContext
from bot.core.i18n import Translator
from bot.core.reply import Reply, ReplyBuilder
from handlers import chat_settings, event_forms, events, memorials, organizers, regiment, today
from handlers.base import N_, Handler
from handlers.memorials import InlineItem, InlinePage, inline_memorials
from handlers.suggestions import SUGGESTERS, Suggestion


class ParamKind(enum.StrEnum):
    """The type of a command parameter (Discord needs it for slash-command options)."""

    TEXT = "text"
    NUMBER = "number"


@dataclass(frozen=True, slots=True)
class Param:
    """A command parameter, for usage hints and slash-command options."""

    name: str
    description: str
    kind: ParamKind = ParamKind.TEXT
    required: bool = False
    autocomplete: str | None = None
    """What to complete: ``memorial``, ``language`` or ``timezone``."""


@dataclass(frozen=True, slots=True)
class Command:
    """A user command: its name, handler, help texts and parameters."""

    name: str
    handler: Handler
    summary: str
    usage: str
    params: tuple[Param, ...] = ()
    configures_chat: bool = False


async def show_start(ctx: RequestContext) -> Reply:
    """``/start``: a welcome; ``/start memorial_<slug>`` (a deep link) opens that memorial."""
    if ctx.args and ctx.args[0].startswith("memorial_"):
        slug = ctx.args[0].removeprefix("memorial_")
        return await memorials.open_memorial(replace(ctx, args=(slug,), arg_text=slug))
    if ctx.args and (ctx.args[0].startswith("rg_") or ctx.args[0] == "regiment"):
        return await regiment.open_deep_link(ctx, ctx.args[0])
    t = ctx.t
    out = ReplyBuilder()
    out.bold(t.gettext("Welcome! This bot keeps the memory of the Second World War.")).line()
    out.line(
        t.gettext(
            "It tells what happened on this day, finds memorials by name or by place, "
            "and announces ceremonies and Immortal Regiment marches."
        )
    ).line()
    out.text(help_text(ctx))
    return out.build()


def help_text(ctx: RequestContext) -> str:
    """One line per command: usage and summary, translated."""
    t = ctx.t
    lines = [f"{t.gettext(command.usage)} — {t.gettext(command.summary)}" for command in COMMANDS]
    return "\n".join(lines)


async def show_help(ctx: RequestContext) -> Reply:
    """``/help``: every command with its usage."""
    out = ReplyBuilder().bold(ctx.t.gettext("Commands")).line()
    return out.text(help_text(ctx)).build()


async def cancel(ctx: RequestContext) -> Reply:
    """``/cancel``: end the conversation in progress, saving nothing."""
    return await ctx.cancel_flow()


COMMANDS: tuple[Command, ...] = (
    Command("start", show_start, N_("Start and see what the bot does"), N_("/start")),
    Command("help", show_help, N_("List the commands"), N_("/help")),
    Command(
        "today",
        today.show_today,
        N_("What happened on this day, or on another date"),
        N_("/today [MM-DD or YYYY-MM-DD]"),
        (Param("date", N_("A date such as 05-09 or 1945-05-09")),),
    ),
    Command(
        "memorial",
        memorials.show_memorial,
        N_("Find a memorial by name, place or person"),
        N_("/memorial [name, place or person]"),
        (Param("query", N_("A name, a place or a person"), autocomplete="memorial"),),
    ),
    Command(
        "near",
        memorials.show_nearest,
        N_("Memorials nearest to a place"),
        N_("/near [latitude longitude]"),
        (
            # text, not Discord's number type: its client refuses a decimal comma (50,63)
            Param("latitude", N_("Latitude, from -90 to 90")),
            Param("longitude", N_("Longitude, from -180 to 180")),
        ),
    ),
    Command("events", events.show_events, N_("Upcoming ceremonies and marches"), N_("/events")),
    Command(
        "event",
        event_forms.manage_event,
        N_("Show an event, or announce, edit, cancel or publish one (organizers)"),
        N_("/event [ID | new | edit ID | cancel ID | publish ID]"),
        (Param("action", N_("new, edit 12, cancel 12, publish 12, or an event's number")),),
    ),
    Command(
        "language",
        chat_settings.choose_language,
        N_("Choose the language of this chat"),
        N_("/language [code]"),
        (Param("language", N_("en, ru, fr, nl or de"), autocomplete="language"),),
        configures_chat=True,
    ),
    Command(
        "timezone",
        chat_settings.choose_timezone,
        N_("Show or set the time zone of this chat"),
        N_("/timezone [city, country or Area/City]"),
        (
            Param(
                "zone",
                N_("A city, a country or a time zone such as Europe/Brussels"),
                autocomplete="timezone",
            ),
        ),
        configures_chat=True,
    ),
    Command(
        "subscribe",
        chat_settings.subscribe,
        N_("Receive the daily “on this day” post"),
        N_("/subscribe [HH:MM]"),
        (Param("time", N_("Local time of the daily post, such as 09:00")),),
        configures_chat=True,
    ),
    Command(
        "unsubscribe",
        chat_settings.unsubscribe,
        N_("Stop the daily post"),
        N_("/unsubscribe"),
        configures_chat=True,
    ),
    Command(
        "settings", chat_settings.show_settings, N_("Show this chat's settings"), N_("/settings")
    ),
    Command(
        "setup",
        chat_settings.setup_chat,
        N_("Set up the daily post and the announcements: language, time zone and time"),
        N_("/setup [language] [zone] [HH:MM]"),
        (
            Param("language", N_("en, ru, fr, nl or de"), autocomplete="language"),
            Param(
                "zone",
                N_("A city, a country or a time zone such as Europe/Brussels"),
                autocomplete="timezone",
            ),
            Param("time", N_("Local time of the daily post, such as 09:00")),
        ),
        configures_chat=True,
    ),
    Command(
        "follow",
        event_forms.choose_follow,
        N_("Which announcements this chat hears of"),
        N_("/follow [all | none]"),
        (Param("what", N_("all or none; without it, a country, a town or a memorial")),),
        configures_chat=True,
    ),
    Command(
        "calendar",
        event_forms.choose_calendar,
        N_("Also list announced events in this server's own events"),
        N_("/calendar [on | off]"),
        (Param("state", N_("on or off")),),
    ),
    Command(
        "regiment",
        regiment.manage_regiment,
        N_("The Immortal Regiment: bring a relative's portrait and story, find someone"),
        N_("/regiment [new | mine | search NAME | queue | march | ID]"),
        (
            Param(
                "action",
                N_(
                    "new, mine, edit ID, withdraw ID, delete, search NAME, queue, march, "
                    "takedown ID"
                ),
            ),
        ),
    ),
    Command("cancel", cancel, N_("Stop filling in a form"), N_("/cancel")),
    Command(
        "organizer",
        organizers.manage_organizers,
        N_("Who may announce events for every community (organizers only)"),
        N_("/organizer [list | add platform:id name | remove platform:id]"),
        (
            Param("action", N_("list, add or remove")),
            Param("who", N_("A user as telegram:123456 or discord:123…, and a name")),
        ),
    ),
)

COMMANDS_BY_NAME: dict[str, Command] = {command.name: command for command in COMMANDS}


def command_menu(t: Translator) -> list[tuple[str, str]]:
    """Every command with its summary in ``t``'s language, for the platforms' command menus."""
    return [(command.name, t.gettext(command.summary)) for command in COMMANDS]


async def show_day(ctx: RequestContext) -> Reply:
    """The action behind the previous/next day buttons (``today:<YYYY-MM-DD>``): the day
    replaces the one shown."""
    day = ctx.args[0] if ctx.args else ""
    reply = await today.show_today(replace(ctx, options={"date": day} if day else {}))
    return replace(reply, replaces=True)


async def show_events_page(ctx: RequestContext) -> Reply:
    """The action behind the events' ◀ ▶ (``ev:<offset>``): the page replaces the one shown."""
    return replace(await events.show_events(ctx), replaces=True)


ACTIONS: dict[str, Handler] = {
    "m": memorials.open_memorial,
    "ms": memorials.show_results_page,
    "ev": show_events_page,
    "lang": chat_settings.pick_language,
    "today": show_day,
    "rsvp": events.answer_rsvp,
    "rg": regiment.answer_button,
    "subtime": chat_settings.ask_subscription_time,
}
"""Button action ids are ``<prefix>:<argument>``; the prefix chooses the handler."""


__all__ = [
    "ACTIONS",
    "COMMANDS",
    "COMMANDS_BY_NAME",
    "N_",
    "SUGGESTERS",
    "Command",
    "InlineItem",
    "InlinePage",
    "Param",
    "ParamKind",
    "Suggestion",
    "command_menu",
    "help_text",
    "inline_memorials",
]
