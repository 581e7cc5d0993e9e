"""Done when: every reply of every handler, in all five languages, has no English left in it.

Each scenario below is a short conversation with the bot through the ``Dispatcher`` on an
in-memory core holding a dataset translated into all five languages. Every command of
``handlers.registry.COMMANDS`` and every action of ``ACTIONS`` has a scenario (a new command
without one fails ``test_every_command_and_action_has_a_scenario``), as do usage errors, an
unknown command, a refusal and the apology.

In ru, fr, nl and de output, two checks look for English interface text:

* no text of an English msgid (the template's, so new strings are covered the day they are
  extracted) appears, apart from words that are the same in that language (``Monument``);
* no line is identical to a line of the English reply of the same scenario, once command
  names, zone names, numbers, language names and untranslatable data are taken out.

Then the plural and date cases are asserted in each language.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from bot.adapters.discord.commands import NAME_MSGIDS
from bot.core.context import ChatRef, Incoming, UserRef
from bot.core.domain import LANGUAGES, ChatSettings, GeoPoint
from bot.core.i18n import LANGUAGE_NAMES
from bot.core.records import Dataset
from bot.core.services import Core
from handlers.dispatch import MAX_MESSAGE_CHARS, Dispatcher, parse_command
from handlers.registry import ACTIONS, COMMANDS
from tests.fakes.memory import fake_core
from tests.i18n.support import (
    GROUP,
    PLATFORM,
    PRIVATE,
    TRANSLATED,
    dataset,
    english_msgids,
    new_core,
    rendered,
)

COMMAND = re.compile(r"(?<![\w/])/[a-z_]+(?:@\w+)?")
ZONE = re.compile(r"\b[A-Z][A-Za-z_]+/[A-Za-z_/+-]+")
URL = re.compile(r"\bhttps?://\S+")
WORD = re.compile(r"[^\W\d_]{3,}")

SAME_WORDS: dict[str, set[str]] = {
    "fr": {"Monument", "Inscription", "Source", "Sources", "date", "latitude", "longitude"},
    "nl": {"Monument", "Museum", "chat", "chats"},
    "de": {"Museum"},
}
"""English msgid texts that are also the word in that language; anything else is a leak."""


@dataclass(frozen=True, slots=True)
class Step:
    """One request: a message, a pressed button or a shared location; ``{lang}`` is filled."""

    text: str | None = None
    action: str | None = None
    location: GeoPoint | None = None


@dataclass(frozen=True, slots=True)
class Scenario:
    """A short conversation; every reply of it is checked."""

    name: str
    steps: tuple[Step, ...]
    chat: ChatRef = PRIVATE
    admin: bool = False
    data: Callable[[], Dataset] = dataset
    failing: bool = False
    stored_timezone: str | None = None
    notes: tuple[str, ...] = field(default=())


def say(*texts: str) -> tuple[Step, ...]:
    """Steps that send messages."""
    return tuple(Step(text=text) for text in texts)


def press(action: str) -> tuple[Step, ...]:
    """A step that presses a button."""
    return (Step(action=action),)


def _empty() -> Dataset:
    return Dataset()


LONG_QUERY = "Treptow " * 30
SCENARIOS: tuple[Scenario, ...] = (
    Scenario("start", say("/start")),
    Scenario("start deep link", say("/start memorial_treptow-memorial")),
    Scenario("help", say("/help")),
    Scenario("today", say("/today")),
    Scenario("today with a date", say("/today 05-09")),
    Scenario("today in 1945", say("/today 1945-05-09")),
    Scenario("today, nothing recorded", say("/today 12-24")),
    Scenario("today, bad date", say("/today 13-45")),
    Scenario("today, too many arguments", say("/today 05-09 06-22")),
    Scenario("memorial", say("/memorial Treptow")),
    Scenario("memorial, many results", say("/memorial Berlin")),
    Scenario("memorial in a town", say("/memorial Liège")),
    Scenario("memorial, no match", say("/memorial Zzyzx")),
    Scenario("memorial, no query", say("/memorial")),
    Scenario("memorial, long query", say(f"/memorial {LONG_QUERY}")),
    Scenario("message too long", say("/memorial " + "x" * (MAX_MESSAGE_CHARS + 1))),
    Scenario("near", say("/near 52.52 13.40")),
    Scenario("near, shared location", (Step(location=GeoPoint(50.64, 5.57)),)),
    Scenario("near, out of range", say("/near 100 200")),
    Scenario("near, longitude out of range", say("/near 50 200")),
    Scenario("near, not a position", say("/near abc")),
    Scenario("near, far away", (Step(location=GeoPoint(-33.9, 18.4)),)),
    Scenario("near, some far away", say("/near 50,64 5,57")),
    Scenario("today, a year not spoken of", say("/today 9999-05-09")),
    Scenario("timezone, an Etc offset", say("/timezone Etc/GMT+3")),
    Scenario("near, no arguments", say("/near")),
    Scenario("near, nothing listed", say("/near 52.52 13.40"), data=_empty),
    Scenario("events", say("/events")),
    Scenario("events in another zone", say("/events"), stored_timezone="Europe/Moscow"),
    Scenario("events, none", say("/events"), data=_empty),
    Scenario("language menu", say("/language")),
    Scenario("language set", say("/language {lang}")),
    Scenario("language, unknown", say("/language klingon")),
    Scenario("timezone", say("/timezone")),
    Scenario("timezone set", say("/timezone Europe/Moscow")),
    Scenario("timezone, unknown", say("/timezone Mars/Olympus_Mons")),
    Scenario("subscribe", say("/subscribe")),
    Scenario("subscribe at a time", say("/subscribe 08:30")),
    Scenario("subscribe, bad time", say("/subscribe 25:99")),
    Scenario("subscribe, too many arguments", say("/subscribe 08:30 09:30")),
    Scenario("unsubscribe", say("/subscribe", "/unsubscribe")),
    Scenario("unsubscribe, not subscribed", say("/unsubscribe")),
    Scenario("settings", say("/settings")),
    Scenario("settings, subscribed", say("/subscribe 08:30", "/settings")),
    Scenario("settings in a group", say("/settings"), chat=GROUP, admin=True),
    Scenario("timezone, several zones", say("/timezone", "Moscow")),
    Scenario("timezone, no zone found", say("/timezone", "Xyzzyland")),
    Scenario("timezone by city", say("/timezone Lüttich")),
    Scenario("subscribe, already", say("/subscribe 08:30", "/subscribe")),
    Scenario("subscribe, time moved", say("/subscribe 08:30", "/subscribe 21:15")),
    Scenario("action: another time", (*say("/subscribe"), *press("subtime:"))),
    Scenario("subscribe, another time", (*say("/subscribe"), *press("subtime:"), *say("7"))),
    Scenario("subscribe, bad answer", (*press("subtime:"), *say("25:99"))),
    Scenario("subscribe, a chosen time", (*press("subtime:"), *say("2"))),
    Scenario("setup", say("/setup")),
    Scenario("setup, zone", say("/setup", "1")),
    Scenario("setup, time", say("/setup", "1", "Lüttich")),
    Scenario("setup, confirm", say("/setup", "1", "Lüttich", "08:30")),
    Scenario("setup, saved", say("/setup", "1", "Lüttich", "08:30", "1")),
    Scenario("setup at once", say("/setup {lang} Europe/Brussels 08:30")),
    Scenario("setup, bad zone", say("/setup {lang} Mars/Olympus_Mons")),
    Scenario("memorial, asked", say("/memorial", "Trepto")),
    Scenario("memorial, did you mean", say("/memorial", "Zzyzx")),
    Scenario("near, asked", say("/near", "Nowhere-upon-Nothing")),
    Scenario("near, a town", say("/near", "Berlin")),
    Scenario("a command in the middle of a form", say("/timezone", "/help")),
    Scenario("cancel", say("/memorial", "/cancel")),
    Scenario("cancel, nothing to cancel", say("/cancel")),
    Scenario("free text: a memorial", say("Treptow")),
    Scenario("organizer, refused", say("/organizer")),
    Scenario("event, refused", say("/event new")),
    Scenario("event, unknown", say("/event 999")),
    Scenario("follow all", say("/follow all")),
    Scenario("follow, asked", say("/follow")),
    Scenario("follow a country", say("/follow", "2")),
    Scenario("follow none", say("/follow none")),
    Scenario("action: answer an event", press("rsvp:999:yes")),
    Scenario("calendar, not here", say("/calendar on")),
    Scenario("regiment", say("/regiment")),
    Scenario("regiment in a group", say("/regiment new"), chat=GROUP),
    Scenario(
        "regiment, a form",
        say("/regiment new", "Иван Гвоздарев", "Ivan Gvozdarev", "1815", "1914-1944", "-"),
    ),
    Scenario("regiment, mine", say("/regiment mine")),
    Scenario("regiment, search", say("/regiment search Гвоздарев")),
    Scenario("regiment, search without a name", say("/regiment search")),
    Scenario("regiment, queue refused", say("/regiment queue")),
    Scenario("regiment, march refused", say("/regiment march")),
    Scenario("regiment, unknown entry", say("/regiment Zq9")),
    Scenario("regiment, delete", say("/regiment delete")),
    Scenario("action: open a chronicle entry", press("rg:v:Zq9")),
    Scenario("free text: a date", say("12.10")),
    Scenario("free text: coordinates", say("52,52 13,40")),
    Scenario("action: open a memorial", press("m:treptow-memorial")),
    Scenario("action: open a memorial in a town", press("m:liege-plaque")),
    Scenario("action: a memorial no longer listed", press("m:gone")),
    Scenario("action: results page", press("ms:0:Berlin")),
    Scenario("action: next results page", press("ms:5:Berlin")),
    Scenario("action: past the last result", press("ms:45:Berlin")),
    Scenario("action: stale results page", press("ms:junk")),
    Scenario("action: next events page", press("ev:5")),
    Scenario("action: pick a language", press("lang:{lang}")),
    Scenario("action: another day", press("today:2026-05-08")),
    Scenario("unknown command", say("/frobnicate")),
    Scenario("plain text", say("hello")),
    Scenario("not allowed", say("/timezone Europe/Moscow"), chat=GROUP),
    Scenario("apology", say("/events"), failing=True),
)


def _fail(*_: object) -> None:
    raise RuntimeError("the database is gone")


async def _conversation(scenario: Scenario, language: str) -> str:
    core: Core = fake_core(scenario.data(), now=new_core().clock.now())
    if scenario.failing:
        setattr(core, "upcoming_events", _fail)  # noqa: B010
    if scenario.stored_timezone:
        await core.chats.save_settings(
            ChatSettings(PLATFORM, scenario.chat.id, timezone=scenario.stored_timezone)
        )
    dispatcher = Dispatcher(core, bot_username="MemoryBot")
    user = UserRef("100", "Anna", client_language=language, is_admin=scenario.admin)
    replies = []
    for step in scenario.steps:
        incoming = Incoming(
            PLATFORM,
            scenario.chat,
            user,
            text=step.text.format(lang=language) if step.text else None,
            action=step.action.format(lang=language) if step.action else None,
            location=step.location,
        )
        reply = await dispatcher.handle(incoming)
        assert reply is not None, f"{scenario.name}: no reply to {step}"
        replies.append(rendered(reply))
    return "\n\n".join(replies)


@pytest.fixture(scope="module")
def outputs() -> dict[tuple[str, str], str]:
    """Every scenario rendered in every language, keyed by (scenario, language)."""

    async def render_all() -> dict[tuple[str, str], str]:
        return {
            (scenario.name, language): await _conversation(scenario, language)
            for scenario in SCENARIOS
            for language in LANGUAGES
        }

    return asyncio.run(render_all())


def _normalize(text: str) -> str:
    return re.sub(r"\s+", " ", COMMAND.sub(" ", text))


def _english_fragments() -> list[str]:
    fragments: set[str] = set()
    literal = set(NAME_MSGIDS)  # command names, typed as they are in usage lines
    for text in english_msgids():
        if text in literal:
            continue
        for chunk in re.split(r"\{[^{}]*\}|[<>\[\]()“”\"]", text):
            fragment = _normalize(chunk).strip(" .,:;!?—–-·▶◀")
            if WORD.search(fragment):
                fragments.add(fragment)
    return sorted(fragments)


ENGLISH_FRAGMENTS = _english_fragments()


def _data_strings(language: str) -> list[str]:
    """The dataset's text in ``language`` (names, titles, places…) and its untranslated data.

    Data aside, nothing in a reply may be English; the longest strings come first so that
    they are taken out whole.
    """
    data = dataset()
    strings = set(LANGUAGE_NAMES.values())
    localized = [
        text
        for memorial in data.memorials
        for text in (memorial.names, memorial.city, memorial.description, memorial.inscription)
    ]
    localized += [person.names for person in data.people]
    localized += [text for item in data.anniversaries for text in (item.title, item.text)]
    localized += [
        text for event in data.events for text in (event.title, event.place, event.description)
    ]
    strings.update(text.get(language, "") for text in localized)
    for memorial in data.memorials:
        strings.add(memorial.address or "")
        strings.update(source.label() for source in memorial.sources)
    return sorted(filter(None, strings), key=len, reverse=True)


def _without_data(text: str, language: str) -> str:
    for data in _data_strings(language):
        text = text.replace(data, " ")
    return text


def _leftover_letters(line: str, language: str) -> str:
    line = _without_data(line, language)
    line = URL.sub(" ", ZONE.sub(" ", COMMAND.sub(" ", line)))
    return " ".join(WORD.findall(line))


def test_every_command_and_action_has_a_scenario() -> None:
    commands = set()
    actions = set()
    for scenario in SCENARIOS:
        for step in scenario.steps:
            parsed = parse_command(step.text) if step.text else None
            if parsed is not None:
                commands.add(parsed.name)
            if step.action:
                actions.add(step.action.partition(":")[0])
    missing_commands = {command.name for command in COMMANDS} - commands
    missing_actions = set(ACTIONS) - actions
    assert not missing_commands and not missing_actions, (
        f"add a scenario to SCENARIOS for the commands {sorted(missing_commands)} "
        f"and the actions {sorted(missing_actions)}"
    )


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda scenario: scenario.name)
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_reply_is_whole(
    outputs: dict[tuple[str, str], str], scenario: Scenario, language: str
) -> None:
    text = outputs[(scenario.name, language)]
    assert text.strip(), f"{language}, {scenario.name}: an empty reply"
    assert not re.search(r"[{}]|\bNone\b", text), f"{language}, {scenario.name}: {text!r}"


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda scenario: scenario.name)
@pytest.mark.parametrize("language", TRANSLATED)
def test_no_english_msgid_text_in_other_languages(
    outputs: dict[tuple[str, str], str], scenario: Scenario, language: str
) -> None:
    text = _normalize(_without_data(outputs[(scenario.name, language)], language))
    allowed = SAME_WORDS.get(language, set())
    leaks = [
        fragment
        for fragment in ENGLISH_FRAGMENTS
        if fragment not in allowed
        and re.search(rf"(?<![^\W\d_]){re.escape(fragment)}(?![^\W\d_])", text)
    ]
    assert not leaks, (
        f"{language}, {scenario.name}: English interface text {leaks} in:\n"
        f"{outputs[(scenario.name, language)]}"
    )


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda scenario: scenario.name)
@pytest.mark.parametrize("language", TRANSLATED)
def test_no_line_is_left_as_in_english(
    outputs: dict[tuple[str, str], str], scenario: Scenario, language: str
) -> None:
    english = set(outputs[(scenario.name, "en")].splitlines())
    same = [
        line
        for line in outputs[(scenario.name, language)].splitlines()
        if line in english and _leftover_letters(line, language)
    ]
    assert not same, f"{language}, {scenario.name}: lines as in the English reply: {same}"


YEARS_AGO: dict[str, list[str]] = {
    "en": [
        "1945 (81 years ago)",
        "2001 (25 years ago)",
        "2004 (22 years ago)",
        "2005 (21 years ago)",
        "2015 (11 years ago)",
        "2021 (5 years ago)",
        "2022 (4 years ago)",
        "2024 (2 years ago)",
        "2025 (1 year ago)",
        "2026 (this year)",
    ],
    "ru": [
        "1945 (81 год назад)",
        "2001 (25 лет назад)",
        "2004 (22 года назад)",
        "2005 (21 год назад)",
        "2015 (11 лет назад)",
        "2021 (5 лет назад)",
        "2022 (4 года назад)",
        "2024 (2 года назад)",
        "2025 (1 год назад)",
        "2026 (в этом году)",
    ],
    "fr": [
        "1945 (il y a 81\u00a0ans)",
        "2001 (il y a 25\u00a0ans)",
        "2004 (il y a 22\u00a0ans)",
        "2005 (il y a 21\u00a0ans)",
        "2015 (il y a 11\u00a0ans)",
        "2021 (il y a 5\u00a0ans)",
        "2022 (il y a 4\u00a0ans)",
        "2024 (il y a 2\u00a0ans)",
        "2025 (il y a 1\u00a0an)",
        "2026 (cette année)",
    ],
    "nl": [
        "1945 (81 jaar geleden)",
        "2001 (25 jaar geleden)",
        "2004 (22 jaar geleden)",
        "2005 (21 jaar geleden)",
        "2015 (11 jaar geleden)",
        "2021 (5 jaar geleden)",
        "2022 (4 jaar geleden)",
        "2024 (2 jaar geleden)",
        "2025 (1 jaar geleden)",
        "2026 (dit jaar)",
    ],
    "de": [
        "1945 (vor 81 Jahren)",
        "2001 (vor 25 Jahren)",
        "2004 (vor 22 Jahren)",
        "2005 (vor 21 Jahren)",
        "2015 (vor 11 Jahren)",
        "2021 (vor 5 Jahren)",
        "2022 (vor 4 Jahren)",
        "2024 (vor 2 Jahren)",
        "2025 (vor 1 Jahr)",
        "2026 (dieses Jahr)",
    ],
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_years_ago_take_the_plural_form_of_the_language(
    outputs: dict[tuple[str, str], str], language: str
) -> None:
    text = outputs[("today with a date", language)]
    missing = [expected for expected in YEARS_AGO[language] if expected not in text]
    assert not missing, f"{language}: {missing} not in:\n{text}"


DAYS: dict[str, tuple[str, str, str, str]] = {
    "en": ("On this day, May 9", "May 9", "◀ May 8", "May 10 ▶"),
    "ru": ("В этот день, 9 мая", "9 мая", "◀ 8 мая", "10 мая ▶"),
    "fr": ("Ce 9 mai dans l’histoire", "9 mai", "◀ 8 mai", "10 mai ▶"),
    "nl": ("Op 9 mei in de geschiedenis", "9 mei", "◀ 8 mei", "10 mei ▶"),
    "de": ("Der 9. Mai in der Geschichte", "9. Mai", "◀ 8. Mai", "10. Mai ▶"),
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_dates_are_written_the_languages_way(
    outputs: dict[tuple[str, str], str], language: str
) -> None:
    heading, day, previous, following = DAYS[language]
    text = outputs[("today with a date", language)]
    assert text.startswith(heading) and day in heading
    assert previous in text and following in text
    assert outputs[("today", language)].startswith(heading)


@pytest.mark.parametrize(
    ("zone", "expected"),
    [("Europe/Moscow", "9 мая"), ("Europe/Brussels", "9 мая"), ("America/New_York", "8 мая")],
)
async def test_today_is_the_date_in_the_chats_zone(zone: str, expected: str) -> None:
    core = fake_core(dataset(), now=dt.datetime(2026, 5, 8, 22, 30, tzinfo=dt.UTC))
    await core.chats.save_settings(ChatSettings(PLATFORM, PRIVATE.id, timezone=zone))
    incoming = Incoming(PLATFORM, PRIVATE, UserRef("1", client_language="ru"), text="/today")
    reply = await Dispatcher(core).handle(incoming)
    assert reply is not None
    assert reply.plain_text().startswith(f"В этот день, {expected}")


def test_event_times_are_shown_in_the_chats_zone(outputs: dict[tuple[str, str], str]) -> None:
    brussels = outputs[("events", "de")].splitlines()
    moscow = outputs[("events in another zone", "de")].splitlines()
    assert "Mai" in brussels[3] or "05.2026" in brussels[3]
    assert "10:00" in brussels[3] and "(Europe/Berlin)" in brussels[3]  # the place's own zone
    assert "Europe/Brussels" not in brussels[4]  # Brussels reads the same as Berlin
    assert moscow[3] == brussels[3]
    assert "11:00" in moscow[4] and "Europe/Moscow" in moscow[4]  # and in the chat's zone


JOINED = {
    "en": "Commemorates: Nikolai Masalov and Ivan Odarchenko",
    "ru": "Увековечена память: Николай Масалов и Иван Одарченко",
    "fr": "En mémoire de\u00a0: Nikolaï Massalov et Ivan Odartchenko",
    "nl": "Ter nagedachtenis aan: Nikolaj Masalov en Ivan Odartsjenko",
    "de": "Zum Gedenken an: Nikolai Massalow und Iwan Odartschenko",
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_names_are_listed_the_languages_way(
    outputs: dict[tuple[str, str], str], language: str
) -> None:
    assert JOINED[language] in outputs[("action: open a memorial", language)]


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_reply_is_in_the_chats_language(
    outputs: dict[tuple[str, str], str], language: str
) -> None:
    help_heading = {
        "en": "Commands",
        "ru": "Команды",
        "fr": "Commandes",
        "nl": "Opdrachten",
        "de": "Befehle",
    }
    assert outputs[("help", language)].startswith(help_heading[language])
