"""Pure pieces of the adapter: command localization, option text, autocomplete, options,
the notice board and the sender's error mapping. No Discord server."""

from __future__ import annotations

from typing import Any, Literal

import discord
import pytest
from discord import app_commands
from discord.app_commands import TranslationContextLocation as Where

from bot.adapters.discord import DiscordOptions, discord_options
from bot.adapters.discord.commands import (
    ANSWER,
    NAME_MSGIDS,
    SETUP,
    CommandTranslator,
    command_shapes,
    memorial_choice,
    typed_options,
    valid_name,
)
from bot.adapters.discord.notices import NoticeBoard
from bot.adapters.discord.sender import delivery_error
from bot.config import ConfigError
from bot.core.delivery import PermanentError, RetryLater, RetryScope, TransientError
from bot.core.i18n import translator
from handlers.registry import COMMANDS, COMMANDS_BY_NAME

GLOBAL = RetryScope.GLOBAL
RU_NAMES = {
    "memorial": "мемориал",
    "query": "запрос",
    "near": "рядом",
    "latitude": "широта",
    "events": "События",  # capitals are invalid in a Discord name
    "help": "справка по командам",  # so are spaces
    "today": "рядом",  # collides with /near's name
    "timezone": "language",  # collides with the English name of /language
}


def fake_lookup(language: str, message: str) -> str:
    """Russian names from ``RU_NAMES``, other names untranslated, the rest from the catalogs."""
    if language == "ru" and message in RU_NAMES:
        return RU_NAMES[message]
    if message in NAME_MSGIDS:
        return message
    return translator(language).gettext(message)


def test_every_command_and_option_name_is_a_msgid() -> None:
    names = set(NAME_MSGIDS)
    for command, options in command_shapes().items():
        assert command in names
        assert set(options) <= names
    assert set(command_shapes()) == {c.name for c in COMMANDS} | {SETUP, ANSWER}


def test_names_are_localized_only_when_valid_and_unique() -> None:
    names = CommandTranslator(lookup=fake_lookup)
    assert names.localize("ru", Where.command_name, "memorial") == "мемориал"
    assert names.localize("ru", Where.command_name, "events") is None
    assert names.localize("ru", Where.command_name, "help") is None
    assert names.localize("ru", Where.command_name, "today") is None
    assert names.localize("ru", Where.command_name, "near") is None
    assert names.localize("ru", Where.command_name, "timezone") is None
    assert names.localize("ru", Where.parameter_name, "query", "memorial") == "запрос"
    assert names.localize("ru", Where.parameter_name, "latitude", "near") == "широта"
    assert names.localize("fr", Where.command_name, "memorial") is None
    assert names.localize("en", Where.command_name, "memorial") is None


def test_the_catalogs_give_every_name_a_valid_unique_translation() -> None:
    names = CommandTranslator()
    same_in_french = {"date", "latitude", "longitude"}
    for language in ("ru", "fr", "nl", "de"):
        for command, options in command_shapes().items():
            localized = names.localize(language, Where.command_name, command)
            assert localized, (language, command)
            for option in options:
                if language == "fr" and option in same_in_french:
                    continue
                assert names.localize(language, Where.parameter_name, option, command), (
                    language,
                    command,
                    option,
                )


def test_descriptions_come_from_the_catalogs() -> None:
    names = CommandTranslator()
    summary = COMMANDS_BY_NAME["memorial"].summary
    for language in ("ru", "fr", "nl", "de"):
        expected = translator(language).gettext(summary)
        assert names.localize(language, Where.command_description, summary) == expected[:100]
    assert names.localize("en", Where.command_description, summary) is None
    long = CommandTranslator(lookup=lambda language, message: "слово " * 40)
    text = long.localize("ru", Where.parameter_description, "anything")
    assert text is not None
    assert len(text) == 100
    assert text.endswith("…")


async def test_the_translator_maps_discord_locales() -> None:
    names = CommandTranslator(lookup=fake_lookup)
    context: app_commands.TranslationContext[Literal[Where.other], Any] = (
        app_commands.TranslationContext(Where.other, None)
    )
    word = app_commands.locale_str("Find a memorial by name, place or person")
    russian = await names.translate(word, discord.Locale.russian, context)
    assert russian == translator("ru").gettext("Find a memorial by name, place or person")
    assert await names.translate(word, discord.Locale.american_english, context) is None
    assert await names.translate(word, discord.Locale.british_english, context) is None
    assert await names.translate(word, discord.Locale.japanese, context) is None


def test_valid_names() -> None:
    assert valid_name("мемориал")
    assert valid_name("heure-locale")
    assert not valid_name("Heure")
    assert not valid_name("two words")
    assert not valid_name("x" * 33)


def test_options_reach_the_handler_typed() -> None:
    near = COMMANDS_BY_NAME["near"]
    assert typed_options(near, {"latitude": 50.66, "longitude": -4}) == {
        "latitude": 50.66,
        "longitude": -4.0,
    }
    memorial = COMMANDS_BY_NAME["memorial"]
    assert typed_options(memorial, {"query": "  Liège \n cemetery "}) == {"query": "Liège cemetery"}
    assert typed_options(COMMANDS_BY_NAME["today"], {"date": None}) == {}
    assert memorial_choice("m:liege-citadel-memorial") == "liege-citadel-memorial"
    assert memorial_choice("Liège") is None
    assert memorial_choice("m:Not A Slug") is None


def test_shard_options() -> None:
    assert discord_options({}).shard_count is None
    assert discord_options({"DISCORD_SHARD_COUNT": "auto"}).shard_count is None
    options = discord_options({"DISCORD_SHARD_COUNT": "4", "DISCORD_SHARD_IDS": "0, 2-3"})
    assert (options.shard_count, options.shard_ids) == (4, (0, 2, 3))
    for env, message in (
        ({"DISCORD_SHARD_COUNT": "0"}, "DISCORD_SHARD_COUNT"),
        ({"DISCORD_SHARD_COUNT": "many"}, "DISCORD_SHARD_COUNT"),
        ({"DISCORD_SHARD_IDS": "0"}, "needs DISCORD_SHARD_COUNT"),
        ({"DISCORD_SHARD_COUNT": "2", "DISCORD_SHARD_IDS": "2"}, "shards 0 to 1"),
        ({"DISCORD_SHARD_COUNT": "2", "DISCORD_SHARD_IDS": "a"}, "DISCORD_SHARD_IDS"),
    ):
        with pytest.raises(ConfigError, match=message):
            discord_options(env)


def test_the_default_options() -> None:
    options = DiscordOptions()
    assert (options.shard_count, options.shard_ids, options.identify_delay) == (None, None, 5.0)
    assert options.defer_after < 3.0  # Discord's deadline for an answer


def test_the_notice_board_tells_each_channel_once() -> None:
    board = NoticeBoard()
    board.add("11", 1)
    board.add("12", 1)
    board.add("11", 1)
    board.add("21", 2)
    board.add("99", None)  # its server was not known when it failed
    board.add("31", 1)
    board.forget("31")
    assert board.pending(1) == ["11", "12"]
    assert board.take(1, lambda channel: channel == 99) == ["11", "12", "99"]
    assert board.take(1, lambda channel: True) == []
    assert board.take(2, lambda channel: False) == ["21"]


@pytest.mark.parametrize(
    ("status", "body", "headers", "kind", "scope"),
    [
        (429, {"retry_after": 7.5, "global": False}, {}, RetryLater, RetryScope.CHAT),
        (429, {"retry_after": 2, "global": True}, {}, RetryLater, GLOBAL),
        (
            429,
            {},
            {"Retry-After": "3", "X-RateLimit-Scope": "global"},
            RetryLater,
            RetryScope.GLOBAL,
        ),
        (403, {"code": 50001, "message": "Missing Access"}, {}, PermanentError, None),
        (403, {"code": 50013, "message": "Missing Permissions"}, {}, PermanentError, None),
        (404, {"code": 10003, "message": "Unknown Channel"}, {}, PermanentError, None),
        (500, "Internal Server Error", {}, TransientError, None),
        (502, {"message": "Bad Gateway"}, {}, TransientError, None),
        (400, {"code": 50035, "message": "Invalid Form Body"}, {}, TransientError, None),
        (401, {"code": 0, "message": "401: Unauthorized"}, {}, TransientError, None),
    ],
)
def test_delivery_errors(
    status: int, body: object, headers: dict[str, str], kind: type, scope: RetryScope | None
) -> None:
    error = delivery_error(status, body, headers)
    assert type(error) is kind
    if isinstance(error, RetryLater):
        assert error.scope is scope
        expected = body.get("retry_after") if isinstance(body, dict) and body else 3
        assert error.retry_after == float(expected or 3)
    else:
        assert str(status) in error.reason
