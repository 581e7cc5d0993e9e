"""The issue's "done when": every day of the year, in every language, through ``/today`` and
the daily-post renderer: never empty, never an internal file name, never an English text in
another language's post; the median day has at least two anniversaries."""

from __future__ import annotations

import datetime as dt
import statistics
import time
from collections import defaultdict

import pytest

from bot.core.context import ChatRef, Incoming, UserRef
from bot.core.domain import LANGUAGES, Anniversary, ChatKind, pick
from bot.core.reply import Reply
from bot.core.services import Core
from bot.core.sources import SEED_FILE
from bot.scheduling.planner import DAILY_ITEM
from bot.scheduling.render import Renderer
from db.dataset import load_curated
from handlers.dispatch import Dispatcher
from tests.fakes.memory import fake_core

NOW = dt.datetime(2026, 12, 5, 9, 0, tzinfo=dt.UTC)
YEAR = 2028
"""A leap year, so that 29 February is walked too."""
DAYS = [dt.date(YEAR, 1, 1) + dt.timedelta(days=n) for n in range(366)]
POST_LIMIT = 4096
"""Telegram's limit for one message (Discord's embed description is 4096 too)."""


@pytest.fixture(scope="module")
def core() -> Core:
    return fake_core(load_curated(), now=NOW)


@pytest.fixture(scope="module")
def by_day() -> dict[tuple[int, int], list[Anniversary]]:
    days: dict[tuple[int, int], list[Anniversary]] = defaultdict(list)
    for item in load_curated().anniversaries:
        days[(item.month, item.day)].append(item)
    return days


def problems(reply: Reply, language: str, items: list[Anniversary], where: str) -> list[str]:
    """What is wrong with one day's reply in one language."""
    text = reply.plain_text()
    found = []
    if not items:
        found.append(f"{where}: no anniversary")
    if SEED_FILE.search(text) or any(SEED_FILE.search(s.url or "") for s in reply.spans):
        found.append(f"{where}: an internal file name")
    if len(text) > POST_LIMIT:
        found.append(f"{where}: {len(text)} characters")
    for item in items:
        title = pick(item.title, language)
        if title not in text:
            found.append(f"{where}: {item.slug} missing")
        if language == "en":
            continue
        for name, field in (("title", item.title), ("text", item.text)):
            own, english = field.get(language, ""), field.get("en", "")
            if not own:
                found.append(f"{where}: {item.slug} has no {name} in {language}")
            elif own == english and (name == "text" or len(english.split()) > 3):
                found.append(f"{where}: {item.slug} {name} is the English one")
        english_text = item.text.get("en", "")
        if english_text and english_text != item.text.get(language) and english_text in text:
            found.append(f"{where}: {item.slug} shows the English text")
    return found


async def test_every_day_in_every_language_through_today(
    core: Core, by_day: dict[tuple[int, int], list[Anniversary]]
) -> None:
    dispatcher = Dispatcher(core, bot_username="MemoryBot")
    found: list[str] = []
    for language in LANGUAGES:
        chat = ChatRef(f"walk-{language}", ChatKind.PRIVATE)
        await core.set_language("telegram", chat.id, language)
        for day in DAYS:
            incoming = Incoming("telegram", chat, UserRef("1", "u"), text=f"/today {day}")
            reply = await dispatcher.handle(incoming)
            assert reply is not None
            assert [b.action for row in reply.buttons for b in row] == [
                f"today:{day - dt.timedelta(days=1)}",
                f"today:{day + dt.timedelta(days=1)}",
            ]
            items = by_day.get((day.month, day.day), [])
            found.extend(problems(reply, language, items, f"/today {day:%m-%d} {language}"))
    assert found == [], "\n".join(found[:50])


async def test_every_day_in_every_language_through_the_daily_post(
    core: Core, by_day: dict[tuple[int, int], list[Anniversary]]
) -> None:
    async def no_event(_id: int) -> None:
        return None

    renderer = Renderer(core.on_this_day, no_event, monotonic=time.monotonic)
    found: list[str] = []
    for language in LANGUAGES:
        for day in DAYS:
            rendered = await renderer.render(DAILY_ITEM, day, language)
            assert rendered.reply is not None and rendered.skip_reason is None
            items = by_day.get((day.month, day.day), [])
            found.extend(problems(rendered.reply, language, items, f"post {day:%m-%d} {language}"))
    assert found == [], "\n".join(found[:50])


def test_the_median_day_has_at_least_two_anniversaries(
    by_day: dict[tuple[int, int], list[Anniversary]],
) -> None:
    counts = [len(by_day.get((day.month, day.day), [])) for day in DAYS]
    assert statistics.median(counts) >= 2, statistics.median(counts)
