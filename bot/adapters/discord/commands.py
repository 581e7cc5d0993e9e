"""Slash commands built from ``handlers.registry.COMMANDS``, their localization and autocomplete.

Every user command of the registry becomes a slash command with one option per ``Param``
(``TEXT`` → string, ``NUMBER`` → number; ``required`` as declared; ``autocomplete`` for
memorials, languages and time zones). A command's callback only turns its options back into
the text a user would type (``/near 50.66 4.13``): the adapter hands that to the dispatcher,
like every other platform. ``/setup`` is the one Discord-only command (per-server
configuration, guild channels only).

Names and descriptions are localized by ``CommandTranslator`` from the gettext catalogs:
descriptions are the registry's summaries and parameter descriptions (the texts of
``command_menu``); names are msgids of their own (``NAME_MSGIDS``), used only when the
translation is a valid Discord name and unique among its neighbours. Discord locales map to
the bot's languages through ``base_language`` (``en-US``/``en-GB`` → en: the default texts).
"""

from __future__ import annotations

import inspect
import re
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from functools import cache
from typing import Any

import discord
from discord import app_commands
from discord.app_commands import TranslationContextLocation, locale_str

from bot.adapters.discord.render import units
from bot.core.domain import LANGUAGES
from bot.core.i18n import Translator, base_language, translator
from handlers.registry import (
    COMMANDS,
    COMMANDS_BY_NAME,
    N_,
    Command,
    Param,
    ParamKind,
    Suggestion,
)

SETUP = "setup"
SETUP_SUMMARY = COMMANDS_BY_NAME[SETUP].summary
ANSWER = "answer"
ANSWER_SUMMARY = N_("Answer the bot's question, with text or a file")
ANSWER_TEXT = N_("Your answer, as text")
ANSWER_FILE = N_("A photo or file, when the question asks for one")
CHANNEL_DESCRIPTION = N_(
    "The channel for the daily post and the announcements (default: this channel)"
)
DESCRIPTION_LIMIT = 100
CHOICES_LIMIT = 25
CHOICE_LIMIT = 100
MEMORIAL_CHOICE = re.compile(r"m:([a-z0-9]+(?:-[a-z0-9]+)*)")
"""The value of a memorial picked in the autocomplete: it opens exactly that memorial."""

NAME_MSGIDS: tuple[str, ...] = (
    # TRANSLATORS: the name of the Discord slash command /start: lowercase, no spaces, at
    # most 32 letters, digits, - or _. Keep the English name if unsure.
    N_("start"),
    # TRANSLATORS: the name of the Discord slash command /help (lowercase, no spaces).
    N_("help"),
    # TRANSLATORS: the name of the Discord slash command /today (lowercase, no spaces).
    N_("today"),
    # TRANSLATORS: the name of the Discord slash command /memorial (lowercase, no spaces).
    N_("memorial"),
    # TRANSLATORS: the name of the Discord slash command /near (lowercase, no spaces).
    N_("near"),
    # TRANSLATORS: the name of the Discord slash command /events (lowercase, no spaces).
    N_("events"),
    # TRANSLATORS: the name of the Discord slash command /language and of its option
    # (lowercase, no spaces).
    N_("language"),
    # TRANSLATORS: the name of the Discord slash command /timezone (lowercase, no spaces).
    N_("timezone"),
    # TRANSLATORS: the name of the Discord slash command /subscribe (lowercase, no spaces).
    N_("subscribe"),
    # TRANSLATORS: the name of the Discord slash command /unsubscribe (lowercase, no spaces).
    N_("unsubscribe"),
    # TRANSLATORS: the name of the Discord slash command /settings (lowercase, no spaces).
    N_("settings"),
    # TRANSLATORS: the name of the Discord slash command /setup (lowercase, no spaces).
    N_("setup"),
    # TRANSLATORS: the name of the Discord slash command /cancel, which stops filling in a
    # form (lowercase, no spaces).
    N_("cancel"),
    # TRANSLATORS: the name of a Discord command option: a date (lowercase, no spaces).
    N_("date"),
    # TRANSLATORS: the name of a Discord command option: a search text (lowercase, no spaces).
    N_("query"),
    # TRANSLATORS: the name of a Discord command option (lowercase, no spaces).
    N_("latitude"),
    # TRANSLATORS: the name of a Discord command option (lowercase, no spaces).
    N_("longitude"),
    # TRANSLATORS: the name of a Discord command option: a time zone (lowercase, no spaces).
    N_("zone"),
    # TRANSLATORS: the name of a Discord command option: a time of day (lowercase, no spaces).
    N_("time"),
    # TRANSLATORS: the name of a Discord command option: a channel (lowercase, no spaces).
    N_("channel"),
    # TRANSLATORS: the name of the Discord slash command /event (lowercase, no spaces).
    N_("event"),
    # TRANSLATORS: the name of the Discord slash command /follow (lowercase, no spaces).
    N_("follow"),
    # TRANSLATORS: the name of a Discord command option: what to follow (lowercase, no
    # spaces).
    N_("what"),
    # TRANSLATORS: the name of the Discord slash command /calendar (lowercase, no spaces).
    N_("calendar"),
    # TRANSLATORS: the name of a Discord command option: on or off (lowercase, no spaces).
    N_("state"),
    # TRANSLATORS: the name of the Discord slash command /organizer (lowercase, no spaces).
    N_("organizer"),
    # TRANSLATORS: the name of the Discord slash command /regiment, the Immortal Regiment
    # (lowercase, no spaces; words joined by -).
    N_("regiment"),
    # TRANSLATORS: the name of a Discord command option: what to do (lowercase, no spaces).
    N_("action"),
    # TRANSLATORS: the name of a Discord command option: a person (lowercase, no spaces).
    N_("who"),
    # TRANSLATORS: the name of the Discord slash command /answer, which answers the bot's
    # question with text or a file (lowercase, no spaces).
    N_("answer"),
    # TRANSLATORS: the name of a Discord command option: some text (lowercase, no spaces).
    N_("text"),
    # TRANSLATORS: the name of a Discord command option: an attached file (lowercase, no
    # spaces).
    N_("file"),
)
"""Command and option names as msgids, so that translators can localize them."""

Lookup = Callable[[str, str], str]
"""``(language, msgid) -> translation`` (the msgid itself when untranslated)."""
CommandRunner = Callable[[discord.Interaction[Any], str, dict[str, Any]], Awaitable[None]]
SetupRunner = Callable[
    [
        discord.Interaction[Any],
        app_commands.AppCommandChannel | None,
        str | None,
        str | None,
        str | None,
    ],
    Awaitable[None],
]
AnswerRunner = Callable[
    [discord.Interaction[Any], str | None, discord.Attachment | None], Awaitable[None]
]
Completer = Callable[
    [discord.Interaction[Any], str], Coroutine[Any, Any, list[app_commands.Choice[str]]]
]
SlashCommand = app_commands.Command[Any, ..., None]

_NAME = re.compile(r"[-_'\w]{1,32}")


def catalog_lookup(language: str, message: str) -> str:
    """The gettext translation of ``message`` in ``language``."""
    return _translator(language).gettext(message)


@cache
def _translator(language: str) -> Translator:
    return translator(language)


def valid_name(text: str) -> bool:
    """Whether ``text`` is a valid Discord command or option name."""
    return bool(_NAME.fullmatch(text)) and text == text.lower()


def setup_params() -> tuple[Param, ...]:
    """The options of ``/setup`` (descriptions shared with the registry's commands)."""

    def described(command: str, name: str) -> Param:
        param = next(p for p in COMMANDS_BY_NAME[command].params if p.name == name)
        return Param(name, param.description, autocomplete=param.autocomplete)

    return (
        Param("channel", CHANNEL_DESCRIPTION),
        described("language", "language"),
        described("timezone", "zone"),
        described("subscribe", "time"),
    )


def command_shapes() -> dict[str, tuple[str, ...]]:
    """Every slash command's name with its option names (for name localization)."""
    shapes = {command.name: tuple(p.name for p in command.params) for command in COMMANDS}
    shapes[SETUP] = tuple(p.name for p in setup_params())  # with its channel option
    shapes[ANSWER] = ("text", "file")
    return shapes


def _unique(defaults: Sequence[str], localized: dict[str, str]) -> dict[str, str]:
    """Drop localized names that would make two names equal (a collision fails the sync)."""
    localized = dict(localized)
    while True:
        effective = {name: localized.get(name, name) for name in defaults}
        counts = Counter(effective.values())
        clashing = [name for name in localized if counts[effective[name]] > 1]
        if not clashing:
            return localized
        for name in clashing:
            del localized[name]


class CommandTranslator(app_commands.Translator):
    """Localizes slash commands from the gettext catalogs for Discord's ru, fr, nl and de
    locales; English (``en-US``, ``en-GB``) is the default text itself."""

    def __init__(
        self,
        shapes: Mapping[str, Sequence[str]] | None = None,
        lookup: Lookup = catalog_lookup,
    ) -> None:
        self.shapes = dict(shapes if shapes is not None else command_shapes())
        self.lookup = lookup
        self._names: dict[str, tuple[dict[str, str], dict[str, dict[str, str]]]] = {}

    def _localized(self, language: str, names: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for name in names:
            text = self.lookup(language, name).strip()
            if text != name and valid_name(text):
                found[name] = text
        return _unique(names, found)

    def names(self, language: str) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
        """The localized command names and, per command, option names of a language."""
        if language not in self._names:
            commands = self._localized(language, list(self.shapes))
            options = {
                command: self._localized(language, params)
                for command, params in self.shapes.items()
            }
            self._names[language] = (commands, options)
        return self._names[language]

    def localize(
        self,
        language: str,
        location: TranslationContextLocation,
        message: str,
        command: str | None = None,
    ) -> str | None:
        """The localization of one string of a command, or None to keep the default."""
        if language == "en" or language not in LANGUAGES:
            return None
        if location is TranslationContextLocation.command_name:
            return self.names(language)[0].get(message)
        if location is TranslationContextLocation.parameter_name:
            return self.names(language)[1].get(command or "", {}).get(message)
        text = self.lookup(language, message).strip()
        if not text or text == message:
            return None
        return clip_plain(text, DESCRIPTION_LIMIT)

    async def translate(
        self,
        string: locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        """discord.py's hook: called for every name and description at sync time."""
        language = base_language(locale.value)
        if language is None:
            return None
        command: str | None = None
        if context.location is TranslationContextLocation.parameter_name:
            owner = getattr(context.data, "command", None)
            command = getattr(owner, "name", None)
        return self.localize(language, context.location, string.message, command)


def clip_plain(text: str, limit: int) -> str:
    """Plain text cut with an ellipsis to at most ``limit`` characters."""
    if units(text) <= limit:
        return text
    while units(text + "…") > limit:
        text = text[:-1]
    return text.rstrip() + "…"


# -- option values -------------------------------------------------------------------------


def typed_options(command: Command, values: Mapping[str, Any]) -> dict[str, str | float]:
    """A slash command's option values as the handler's typed options (absent and blank
    ones left out; text with its runs of white space folded)."""
    options: dict[str, str | float] = {}
    for param in command.params:
        value = values.get(param.name)
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, int | float):
            options[param.name] = float(value)
            continue
        text = " ".join(str(value).split())
        if text:
            options[param.name] = text
    return options


def memorial_choice(value: str) -> str | None:
    """The slug in a memorial picked from the autocomplete (``m:<slug>``), or None."""
    match = MEMORIAL_CHOICE.fullmatch(value.strip())
    return match[1] if match else None


# -- building the commands ----------------------------------------------------------------


def _signature(params: Sequence[Param]) -> inspect.Signature:
    parameters = [
        inspect.Parameter(
            "interaction",
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            annotation=discord.Interaction,
        )
    ]
    for param in params:
        kind: type[Any] = float if param.kind is ParamKind.NUMBER else str
        parameters.append(
            inspect.Parameter(
                param.name,
                inspect.Parameter.KEYWORD_ONLY,
                annotation=kind if param.required else kind | None,
                default=inspect.Parameter.empty if param.required else None,
            )
        )
    return inspect.Signature(parameters)


def registry_command(
    command: Command, run: CommandRunner, completers: Mapping[str, Completer]
) -> SlashCommand:
    """The slash command of a registry command: options from its ``Param``s."""

    async def callback(interaction: discord.Interaction[Any], **values: Any) -> None:
        await run(interaction, command.name, values)

    callback.__name__ = callback.__qualname__ = f"{command.name}_command"
    callback.__dict__["__signature__"] = _signature(command.params)
    descriptions = {p.name: locale_str(p.description) for p in command.params}
    if descriptions:
        callback = app_commands.describe(**descriptions)(callback)
    slash: SlashCommand = app_commands.Command(
        name=locale_str(command.name),
        description=locale_str(command.summary),
        callback=callback,
    )
    for param in command.params:
        completer = completers.get(param.autocomplete or "")
        if completer is not None:
            slash.autocomplete(param.name)(completer)
    return slash


class TextChannelOption(app_commands.Transformer):
    """A channel option offering text and announcement channels, passed on as Discord
    resolved it (no cache needed)."""

    @property
    def type(self) -> discord.AppCommandOptionType:
        """A channel option."""
        return discord.AppCommandOptionType.channel

    @property
    def channel_types(self) -> list[discord.ChannelType]:
        """The kinds of channel the daily post can go to."""
        return [discord.ChannelType.text, discord.ChannelType.news]

    async def transform(self, interaction: discord.Interaction[Any], value: Any, /) -> Any:
        """The resolved channel, unchanged."""
        return value


def setup_command(run: SetupRunner, completers: Mapping[str, Completer]) -> SlashCommand:
    """``/setup [channel] [language] [zone] [time]``: a server's daily post, in guilds only."""

    async def setup(
        interaction: discord.Interaction[Any],
        channel: app_commands.Transform[app_commands.AppCommandChannel, TextChannelOption]
        | None = None,
        language: str | None = None,
        zone: str | None = None,
        time: str | None = None,
    ) -> None:
        await run(interaction, channel, language, zone, time)

    params = setup_params()
    callback = app_commands.describe(**{p.name: locale_str(p.description) for p in params})(setup)
    slash: SlashCommand = app_commands.Command(
        name=locale_str(SETUP),
        description=locale_str(SETUP_SUMMARY),
        callback=callback,
        allowed_contexts=app_commands.AppCommandContext(
            guild=True, dm_channel=False, private_channel=False
        ),
    )
    for param in params:
        completer = completers.get(param.autocomplete or "")
        if completer is not None:
            slash.autocomplete(param.name)(completer)
    return slash


def answer_command(run: AnswerRunner) -> SlashCommand:
    """``/answer [text] [file]``: answers the open question of a conversation, the way to
    send a photo or a file (an attachment option)."""

    async def answer(
        interaction: discord.Interaction[Any],
        text: str | None = None,
        file: discord.Attachment | None = None,
    ) -> None:
        await run(interaction, text, file)

    callback = app_commands.describe(text=locale_str(ANSWER_TEXT), file=locale_str(ANSWER_FILE))(
        answer
    )
    return app_commands.Command(
        name=locale_str(ANSWER), description=locale_str(ANSWER_SUMMARY), callback=callback
    )


def build_commands(
    run: CommandRunner,
    setup: SetupRunner,
    completers: Mapping[str, Completer],
    answer: AnswerRunner | None = None,
) -> list[SlashCommand]:
    """Every slash command: the registry's, ``/setup`` and ``/answer``."""
    built = [
        registry_command(command, run, completers) for command in COMMANDS if command.name != SETUP
    ]
    built.append(setup_command(setup, completers))
    if answer is not None:
        built.append(answer_command(answer))
    return built


# -- autocomplete -------------------------------------------------------------------------


def choices(suggestions: Sequence[Suggestion]) -> list[app_commands.Choice[str]]:
    """The handlers' suggestions as Discord choices (names and values within 100 characters;
    a value too long to keep is replaced by its label)."""
    found: list[app_commands.Choice[str]] = []
    for suggestion in suggestions[:CHOICES_LIMIT]:
        value = suggestion.value if len(suggestion.value) <= CHOICE_LIMIT else suggestion.label
        found.append(
            app_commands.Choice(
                name=clip_plain(suggestion.label, CHOICE_LIMIT), value=value[:CHOICE_LIMIT]
            )
        )
    return found
