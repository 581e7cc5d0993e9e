"""``/organizer``: who may announce events for every community, kept beside ORGANIZER_IDS."""

from __future__ import annotations

import datetime as dt

from bot.core.context import ChatRef, Incoming, UserRef
from bot.core.domain import ChatKind
from bot.core.services import Core, CoreSettings
from handlers.dispatch import Dispatcher
from tests.fakes.memory import fake_core
from tests.fakes.sample import sample_dataset

NOW = dt.datetime(2026, 5, 9, 7, 0, tzinfo=dt.UTC)
PRIVATE = ChatRef("7", ChatKind.PRIVATE)
GROUP = ChatRef("-200", ChatKind.GROUP)
CONFIGURED = UserRef("7", "Olga")
STRANGER = UserRef("8", "Pavel")


def _core() -> Core:
    return fake_core(
        sample_dataset(), now=NOW, settings=CoreSettings(organizer_ids=frozenset({"telegram:7"}))
    )


async def _say(dispatcher: Dispatcher, user: UserRef, text: str, chat: ChatRef = PRIVATE) -> str:
    reply = await dispatcher.handle(Incoming("telegram", chat, user, text=text))
    assert reply is not None
    return reply.plain_text()


async def test_only_an_organizer_changes_organizers() -> None:
    core = _core()
    dispatcher = Dispatcher(core)
    refused = await _say(dispatcher, STRANGER, "/organizer add telegram:8 Pavel")
    assert refused == "Only the bot's organizers can change who organizes."
    assert not await core.is_bot_organizer("telegram", "8")
    added = await _say(dispatcher, CONFIGURED, "/organizer add telegram:8 Pavel")
    assert added == "telegram:8 (Pavel) is now an organizer."
    assert await core.is_bot_organizer("telegram", "8")
    # Pavel, now stored as an organizer, may configure a group he does not administer.
    assert "Subscribed." in await _say(dispatcher, STRANGER, "/subscribe 08:00", GROUP)
    listing = await _say(dispatcher, STRANGER, "/organizer list")
    assert "telegram:7 — set by the configuration" in listing
    assert "telegram:8 (Pavel) — added by telegram:7" in listing
    again = await _say(dispatcher, CONFIGURED, "/organizer add 8")
    assert again == "telegram:8 was already an organizer."
    kept = await _say(dispatcher, STRANGER, "/organizer remove telegram:7")
    assert "by the bot's configuration (ORGANIZER_IDS)" in kept
    assert await _say(dispatcher, CONFIGURED, "/organizer remove telegram:8") == (
        "telegram:8 is no longer an organizer."
    )
    assert not await core.is_bot_organizer("telegram", "8")


async def test_bad_users_and_actions_get_a_usage_hint() -> None:
    dispatcher = Dispatcher(_core())
    bad = await _say(dispatcher, CONFIGURED, "/organizer add mastodon:1")
    assert bad.startswith("“mastodon:1” is not a user")
    assert "Usage: /organizer" in await _say(dispatcher, CONFIGURED, "/organizer promote 8")


async def test_the_console_operator_is_an_organizer() -> None:
    dispatcher = Dispatcher(_core())
    reply = await dispatcher.handle(
        Incoming(
            "console", ChatRef("console", ChatKind.PRIVATE), UserRef("console"), text="/organizer"
        )
    )
    assert reply is not None and reply.plain_text().startswith("Organizers")
