"""Suggestions as a parameter is typed (Discord's autocomplete), written once in handlers."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from bot.core.context import ChatRef, Incoming, UserRef
from bot.core.domain import ChatKind
from handlers.dispatch import Dispatcher
from handlers.suggestions import rank_zones
from tests.fakes.memory import fake_core
from tests.fakes.sample import sample_dataset

NOW = dt.datetime(2026, 5, 9, 7, 0, tzinfo=dt.UTC)


def _incoming(locale: str) -> Incoming:
    return Incoming("discord", ChatRef("1", ChatKind.CHANNEL), UserRef("2", client_language=locale))


async def test_language_suggestions() -> None:
    dispatcher = Dispatcher(fake_core(sample_dataset(), now=NOW))

    async def values(locale: str, typed: str) -> list[str]:
        found = await dispatcher.suggest(_incoming(locale), "language", typed)
        return [s.value for s in found]

    assert await values("ru", "") == ["en", "ru", "fr", "nl", "de"]
    assert await values("ru", "нем") == ["de"]
    assert await values("ru", "FR") == ["fr"]
    [german] = await dispatcher.suggest(_incoming("fr"), "language", "deu")
    assert german.label == "Deutsch — allemand (de)"


def test_zone_ranking() -> None:
    assert rank_zones("europe/mosc")[0].value == "Europe/Moscow"
    assert rank_zones("new york")[0].value == "America/New_York"
    assert rank_zones("new york")[0].label == "America/New York"
    assert len(rank_zones("a")) == 25
    assert rank_zones("zzzz") == []
    first = ("Europe/Moscow", "Not/AZone", "Europe/Moscow", "Europe/Brussels")
    assert [s.value for s in rank_zones(" ", first)] == ["Europe/Moscow", "Europe/Brussels"]
    assert all(not s.value.startswith(("Etc/", "posix", "right/")) for s in rank_zones("e"))


async def test_zone_suggestions_start_with_the_chats_zone_and_the_users_locale() -> None:
    dispatcher = Dispatcher(fake_core(sample_dataset(), now=NOW))
    found = await dispatcher.suggest(_incoming("ru"), "timezone", "")
    values = [s.value for s in found]
    assert values[:2] == ["Europe/Moscow", "Europe/Kaliningrad"]  # the user's locale first
    assert "Europe/Brussels" in values  # the default


async def test_memorial_suggestions_open_exactly_that_memorial() -> None:
    dispatcher = Dispatcher(fake_core(sample_dataset(), now=NOW))
    found = await dispatcher.suggest(_incoming("en"), "memorial", "Rebecq")
    assert found and found[0].value == "m:rebecq-memorial"
    assert await dispatcher.suggest(_incoming("en"), "memorial", "") == []
    assert await dispatcher.suggest(_incoming("en"), "unknown kind", "x") == []


async def test_inline_pages() -> None:
    dispatcher = Dispatcher(fake_core(sample_dataset(), now=NOW))
    private = replace(_incoming("en"), platform="telegram")
    page = await dispatcher.inline(private, "Rebecq", 0)
    assert page.items and page.items[0].start == "memorial_rebecq-memorial"
    assert page.next_offset is None
    assert (await dispatcher.inline(private, "  ", 0)).items == ()
