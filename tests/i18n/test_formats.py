"""Plurals, dates, times, numbers and lists through the catalogs and Babel, per language."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from bot.core.i18n import base_language, placeholders, translator

YEARS_AGO = ("{count} year ago", "{count} years ago")
NNBSP, NBSP = "\u202f", "\u00a0"

PLURALS: dict[str, dict[int, str]] = {
    "en": {0: "0 years ago", 1: "1 year ago", 2: "2 years ago", 21: "21 years ago"},
    "ru": {
        0: "0 лет назад",
        1: "1 год назад",
        2: "2 года назад",
        4: "4 года назад",
        5: "5 лет назад",
        11: "11 лет назад",
        12: "12 лет назад",
        14: "14 лет назад",
        21: "21 год назад",
        22: "22 года назад",
        25: "25 лет назад",
        101: "101 год назад",
        111: "111 лет назад",
        1000: f"1{NBSP}000 лет назад",
    },
    "fr": {
        0: f"il y a 0{NBSP}an",
        1: f"il y a 1{NBSP}an",
        2: f"il y a 2{NBSP}ans",
        21: f"il y a 21{NBSP}ans",
    },
    "nl": {0: "0 jaar geleden", 1: "1 jaar geleden", 2: "2 jaar geleden"},
    "de": {0: "vor 0 Jahren", 1: "vor 1 Jahr", 2: "vor 2 Jahren", 21: "vor 21 Jahren"},
}


@pytest.mark.parametrize(
    ("language", "n", "expected"),
    [(language, n, text) for language, cases in PLURALS.items() for n, text in cases.items()],
)
def test_counts_take_the_languages_plural_form(language: str, n: int, expected: str) -> None:
    assert translator(language).ngettext(*YEARS_AGO, n) == expected


def test_french_counts_zero_and_one_as_singular_english_and_german_do_not() -> None:
    fr, en, de = translator("fr"), translator("en"), translator("de")
    assert fr.ngettext(*YEARS_AGO, 0).endswith(f"{NBSP}an")
    assert en.ngettext(*YEARS_AGO, 0).endswith("years ago")
    assert de.ngettext(*YEARS_AGO, 0).endswith("Jahren")


def test_count_defaults_to_the_localized_number_and_can_be_overridden() -> None:
    assert translator("de").ngettext(*YEARS_AGO, 1500) == "vor 1.500 Jahren"
    assert translator("de").ngettext(*YEARS_AGO, 2, count="zwei") == "vor zwei Jahren"


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "May 9"), ("ru", "9 мая"), ("fr", "9 mai"), ("nl", "9 mei"), ("de", "9. Mai")],
)
def test_day_and_month(language: str, expected: str) -> None:
    assert translator(language).day_month(dt.date(1945, 5, 9)) == expected


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "May 9, 1945"),
        ("ru", f"9 мая 1945{NNBSP}г."),
        ("fr", "9 mai 1945"),
        ("nl", "9 mei 1945"),
        ("de", "9. Mai 1945"),
    ],
)
def test_full_date(language: str, expected: str) -> None:
    assert translator(language).full_date(dt.date(1945, 5, 9)) == expected


@pytest.mark.parametrize(
    ("zone", "day", "hour"),
    [
        ("Europe/Moscow", "9", "01:30"),
        ("Europe/Brussels", "9", "00:30"),
        ("America/New_York", "8", "18:30"),
    ],
)
def test_an_instant_is_shown_in_the_viewers_zone(zone: str, day: str, hour: str) -> None:
    moment = dt.datetime(2026, 5, 8, 22, 30, tzinfo=dt.UTC)
    text = translator("ru").date_time(moment, ZoneInfo(zone))
    assert f"{day} мая 2026" in text and hour in text


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", f"9:00{NNBSP}AM"), ("ru", "09:00"), ("fr", "09:00"), ("nl", "09:00"), ("de", "09:00")],
)
def test_time_of_day(language: str, expected: str) -> None:
    assert translator(language).time(dt.time(9, 0)) == expected


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "1,234.5"),
        ("ru", f"1{NBSP}234,5"),
        ("fr", f"1{NNBSP}234,5"),
        ("nl", "1.234,5"),
        ("de", "1.234,5"),
    ],
)
def test_numbers(language: str, expected: str) -> None:
    assert translator(language).number(1234.5, 1) == expected


@pytest.mark.parametrize(
    ("language", "two", "three"),
    [
        ("en", "A and B", "A, B, and C"),
        ("ru", "A и B", "A, B и C"),
        ("fr", "A et B", "A, B et C"),
        ("nl", "A en B", "A, B en C"),
        ("de", "A und B", "A, B und C"),
    ],
)
def test_lists_are_joined_the_languages_way(language: str, two: str, three: str) -> None:
    t = translator(language)
    assert (t.join([]), t.join(["A"]), t.join(["A", "B"]), t.join(["A", "B", "C"])) == (
        "",
        "A",
        two,
        three,
    )


def test_english_text_is_the_msgid_itself() -> None:
    t = translator("en")
    assert t.gettext("Language: {language}", language="English") == "Language: English"


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("nl-BE", "nl"),
        ("pt-BR", None),
        ("en-US", "en"),
        ("en-GB", "en"),
        ("de_AT", "de"),
        ("RU", "ru"),
        ("fr", "fr"),
        ("es-ES", None),
        ("zh-TW", None),
        ("", None),
        (None, None),
        ("english", None),
    ],
)
def test_a_client_language_is_reduced_to_its_base(code: str | None, expected: str | None) -> None:
    assert base_language(code) == expected


def test_placeholders_read_named_fields_with_their_spec() -> None:
    assert placeholders("{a} {b!r:>3} {{literal}}") == frozenset({"{a}", "{b!r:>3}"})
    with pytest.raises(ValueError):
        placeholders("a lone { brace")
