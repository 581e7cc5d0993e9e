"""Content in the reader's language, else English, else any: never an empty field or a raw id."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from bot.core.domain import (
    LANGUAGES,
    Anniversary,
    AnniversaryKind,
    Event,
    Memorial,
    MemorialKind,
    Person,
    PersonRef,
    Precision,
    pick,
)
from bot.core.records import Dataset
from bot.core.reply import Reply
from handlers.dispatch import Dispatcher
from tests.i18n.support import SOURCE, ask, new_core, rendered

ONLY_RUSSIAN_NAME = "Безымянная братская могила"
ONLY_ENGLISH_NAME = "Memorial to the liberators"
ONLY_GERMAN_INSCRIPTION = "Niemand ist vergessen"
ONLY_DUTCH_CITY = "Groesbeek"
ONLY_RUSSIAN_PERSON = "Пётр Сидоров"
ENGLISH_TITLE = "Liberation of the village"
ENGLISH_EVENT = "Wreaths at the liberators' memorial"

PARTIAL = Dataset(
    memorials=[
        Memorial(
            slug="only-russian-name-memorial",
            kind=MemorialKind.MASS_GRAVE,
            names={"ru": ONLY_RUSSIAN_NAME, "en": ""},
            city={},
            country="BY",
            lat=53.9,
            lon=27.56,
            precision=Precision.TOWN,
            sources=SOURCE,
            description={"fr": "", "en": ""},
            people=(PersonRef("only-russian-person", {}),),
        ),
        Memorial(
            slug="only-english-name-memorial",
            kind=MemorialKind.MONUMENT,
            names={"en": ONLY_ENGLISH_NAME},
            city={"nl": ONLY_DUTCH_CITY},
            country="NL",
            lat=51.77,
            lon=5.93,
            precision=Precision.SITE,
            sources=(),
            inscription={"de": ONLY_GERMAN_INSCRIPTION},
        ),
    ],
    people=[
        Person(
            slug="only-russian-person",
            names={"ru": ONLY_RUSSIAN_PERSON},
            sources=SOURCE,
        )
    ],
    anniversaries=[
        Anniversary(
            slug="only-english-anniversary",
            month=5,
            day=9,
            year=1944,
            kind=AnniversaryKind.LIBERATION,
            title={"en": ENGLISH_TITLE},
            text={"en": "", "ru": ""},
            sources=SOURCE,
        )
    ],
    events=[
        Event(
            slug="only-english-event",
            starts_at=dt.datetime(2026, 5, 9, 9, 0, tzinfo=dt.UTC),
            timezone="Europe/Brussels",
            title={"en": ENGLISH_EVENT},
            place={},
            description={"de": ""},
        )
    ],
)
SLUGS = [
    "only-russian-name-memorial",
    "only-english-name-memorial",
    "only-russian-person",
    "only-english-anniversary",
    "only-english-event",
]
EMPTY_FIELD = re.compile(r"[:：]\s*$|\(\s*\)|·\s*·|^\s*·|·\s*$|\bNone\b|[{}]")


def test_pick_prefers_the_language_then_english_then_any() -> None:
    assert pick({"fr": "F", "en": "E", "de": "D"}, "fr") == "F"
    assert pick({"fr": "", "en": "E", "de": "D"}, "fr") == "E"
    assert pick({"de": "D"}, "fr") == "D"
    assert pick({"de": "", "ru": "R"}, "fr") == "R"
    assert pick({"de": ""}, "fr") == ""
    assert pick({}, "fr") == ""
    assert pick(None, "fr") == ""


def _assert_complete(reply: Reply, language: str) -> str:
    text = rendered(reply)
    for span in reply.spans:
        assert span.text, f"{language}: an empty span in {text!r}"
    for row in reply.buttons:
        for button in row:
            assert button.label.strip(), f"{language}: a button without a label in {text!r}"
    for slug in SLUGS:
        assert slug not in text, f"{language}: the raw id {slug!r} is shown: {text!r}"
    for line in text.splitlines():
        assert not EMPTY_FIELD.search(line), f"{language}: an empty field in {line!r}"
    return text


@pytest.mark.parametrize("language", LANGUAGES)
async def test_a_memorial_without_translations_falls_back(language: str) -> None:
    dispatcher = Dispatcher(new_core(PARTIAL))
    first = _assert_complete(
        await ask(dispatcher, language, action="m:only-russian-name-memorial"), language
    )
    assert ONLY_RUSSIAN_NAME in first and ONLY_RUSSIAN_PERSON in first
    second = _assert_complete(
        await ask(dispatcher, language, action="m:only-english-name-memorial"), language
    )
    assert ONLY_ENGLISH_NAME in second
    assert ONLY_GERMAN_INSCRIPTION in second
    assert ONLY_DUTCH_CITY in second


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    ("request_text", "expected"),
    [
        ("/today 05-09", ENGLISH_TITLE),
        ("/events", ENGLISH_EVENT),
        ("/near 52.0 6.0", ONLY_ENGLISH_NAME),
        ("/memorial Groesbeek", ONLY_ENGLISH_NAME),
        ("/start memorial_only-russian-name-memorial", ONLY_RUSSIAN_NAME),
    ],
)
async def test_every_listing_falls_back_without_gaps(
    language: str, request_text: str, expected: str
) -> None:
    reply = await ask(Dispatcher(new_core(PARTIAL)), language, request_text)
    assert expected in _assert_complete(reply, language)
    names = [button.label for row in reply.buttons for button in row]
    assert all(names), names
