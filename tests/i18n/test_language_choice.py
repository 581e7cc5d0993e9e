"""Which language a reply is in: the chat's choice, else the user's client, else the default."""

from __future__ import annotations

import pytest

from bot.core.context import ChatRef, UserRef
from bot.core.domain import LANGUAGES, ChatKind, ChatSettings
from bot.core.i18n import LANGUAGE_NAMES, translator
from bot.core.services import Core
from handlers.dispatch import Dispatcher
from handlers.registry import COMMANDS, command_menu
from tests.i18n.support import GROUP, PLATFORM, PRIVATE, ask, new_core

HEADINGS = {
    "en": "Commands",
    "ru": "Команды",
    "fr": "Commandes",
    "nl": "Opdrachten",
    "de": "Befehle",
}
"""The first line of ``/help`` in each language."""


def _language_of(text: str) -> str:
    found = [language for language, heading in HEADINGS.items() if text.startswith(heading)]
    assert len(found) == 1, text
    return found[0]


async def _help_language(core: Core, client: str | None, chat: ChatRef = PRIVATE) -> str:
    reply = await ask(Dispatcher(core), client, "/help", chat=chat)
    return _language_of(reply.plain_text())


@pytest.mark.parametrize(
    ("client", "expected"),
    [
        ("ru", "ru"),
        ("nl-BE", "nl"),
        ("fr-CA", "fr"),
        ("de-CH", "de"),
        ("en-US", "en"),
        ("pt-BR", "en"),
        ("es-ES", "en"),
        ("uk", "en"),
        (None, "en"),
        ("", "en"),
    ],
)
async def test_without_a_stored_choice_the_client_language_counts(
    client: str | None, expected: str
) -> None:
    assert await _help_language(new_core(), client) == expected


@pytest.mark.parametrize(("client", "expected"), [("pt-BR", "de"), (None, "de"), ("nl", "nl")])
async def test_default_language_when_the_client_speaks_none_of_ours(
    client: str | None, expected: str
) -> None:
    assert await _help_language(new_core(default_language="de"), client) == expected


@pytest.mark.parametrize("stored", LANGUAGES)
async def test_the_chats_stored_choice_comes_first(stored: str) -> None:
    core = new_core(default_language="fr")
    await core.chats.save_settings(ChatSettings(PLATFORM, PRIVATE.id, language=stored))
    for client in ("ru", "nl-BE", "pt-BR", None):
        assert await _help_language(core, client) == stored


async def test_a_stored_zone_without_a_language_leaves_the_choice_to_the_client() -> None:
    core = new_core()
    await core.chats.save_settings(ChatSettings(PLATFORM, PRIVATE.id, timezone="Europe/Moscow"))
    assert await _help_language(core, "ru") == "ru"


async def test_the_group_choice_applies_to_every_member() -> None:
    core = new_core()
    dispatcher = Dispatcher(core)
    admin = UserRef("1", "Admin", client_language="de", is_admin=True)
    reply = await ask(dispatcher, None, "/language nl", chat=GROUP, user_ref=admin)
    assert reply.plain_text() == "Taal ingesteld op Nederlands."
    for client in ("ru", "fr", "en-GB", None):
        assert await _help_language(core, client, chat=GROUP) == "nl"
    other_chat = ChatRef("-300", ChatKind.GROUP)
    assert await _help_language(core, "ru", chat=other_chat) == "ru"


async def test_language_without_argument_offers_every_language_in_its_own_name() -> None:
    reply = await ask(Dispatcher(new_core()), "ru", "/language")
    assert reply.plain_text() == "Текущий язык: Русский. Выберите другой:"
    buttons = [button for row in reply.buttons for button in row]
    assert [(b.label, b.action) for b in buttons] == [
        ("English", "lang:en"),
        ("Русский", "lang:ru"),
        ("Français", "lang:fr"),
        ("Nederlands", "lang:nl"),
        ("Deutsch", "lang:de"),
    ]
    assert [b.label for b in buttons] == [LANGUAGE_NAMES[code] for code in LANGUAGES]


@pytest.mark.parametrize(
    ("argument", "expected"),
    [("ru", "ru"), ("nl-BE", "nl"), ("Deutsch", "de"), ("français", "fr"), ("EN", "en")],
)
async def test_the_choice_persists_and_the_confirmation_is_in_the_new_language(
    argument: str, expected: str
) -> None:
    core = new_core()
    dispatcher = Dispatcher(core)
    other = next(language for language in LANGUAGES if language != expected)
    reply = await ask(dispatcher, other, f"/language {argument}")
    assert LANGUAGE_NAMES[expected] in reply.plain_text()
    assert await core.stored_language(PLATFORM, PRIVATE.id) == expected
    assert await _help_language(core, other) == expected


async def test_pressing_a_language_button_persists_the_choice() -> None:
    core = new_core()
    reply = await ask(Dispatcher(core), "en", action="lang:fr")
    assert reply.plain_text() == "Langue choisie\u00a0: Français."
    assert await _help_language(core, "en") == "fr"


DISCORD_DESCRIPTION_MAX = 100
"""Discord's limit for command and option descriptions; Telegram allows 3 to 256 characters."""


@pytest.mark.parametrize("language", LANGUAGES)
def test_command_menus_are_translated_and_fit_the_platforms(language: str) -> None:
    t, english = translator(language), translator("en")
    menu = command_menu(t)
    assert [name for name, _ in menu] == [command.name for command in COMMANDS]
    texts = [summary for _, summary in menu]
    texts += [t.gettext(param.description) for command in COMMANDS for param in command.params]
    too_long = [text for text in texts if not 3 <= len(text) <= DISCORD_DESCRIPTION_MAX]
    assert not too_long, f"{language}: descriptions over {DISCORD_DESCRIPTION_MAX} characters"
    if language != "en":
        same = [
            summary
            for (_, summary), (_, source) in zip(menu, command_menu(english), strict=True)
            if summary == source
        ]
        assert not same, f"{language}: untranslated command summaries {same}"
