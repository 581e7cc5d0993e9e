"""The catalogs themselves: complete, consistent with the code, compilable, well typeset.

Each failure names the language, the file and the msgid, and says what to do; most start with
``python scripts/update_catalogs.py`` (extract, merge, compile) and then filling msgstrs.
"""

from __future__ import annotations

import gettext
import re
import shutil
from pathlib import Path

import pytest
from babel.messages.plurals import get_plural

from bot.core.domain import LANGUAGES
from bot.core.i18n import LOCALES_DIR, check_catalogs, mo_path, placeholders, po_path
from tests.i18n.support import (
    TEMPLATE,
    TRANSLATED,
    catalog_of,
    compile_catalogs,
    entries,
    extract_template,
    msgid,
    msgids,
    msgstrs,
    read_catalog,
)

UPDATE = "run python scripts/update_catalogs.py"
COMMAND = re.compile(r"(?<![\w/])/[a-z_]+")
"""A bot command in a message (``/help``); not the ``/Moscow`` of ``Europe/Moscow``."""
WORD = re.compile(r"[^\W\d_]{3,}")

SAME_AS_ENGLISH: dict[str, set[str]] = {
    "fr": {
        "{count} minute",
        "{count} minutes",
        "Monument",
        "/near <latitude> <longitude>",
        "date",
        "latitude",
        "longitude",
    },
    "nl": {"Monument", "Museum", "{count} byte", "{count} bytes"},
    "de": {"Museum"},
}
"""Entries whose translation is rightly the English text itself (the word is the same)."""


def _words(text: str) -> list[str]:
    """The words of a message outside its placeholders and command names."""
    bare = COMMAND.sub(" ", re.sub(r"\{[^{}]*\}", " ", text))
    return WORD.findall(bare)


def _problems_text(language: str, problems: list[str]) -> str:
    return f"{po_path(language)}:\n  " + "\n  ".join(problems)


def test_every_language_has_a_catalog() -> None:
    present = {path.parent.parent.name for path in LOCALES_DIR.glob("*/LC_MESSAGES/messages.po")}
    assert present == set(LANGUAGES), f"catalogs {sorted(present)}, languages {LANGUAGES}; {UPDATE}"


def test_every_catalog_compiles(tmp_path: Path) -> None:
    locales = tmp_path / "locales"
    for language in LANGUAGES:
        target = po_path(language, locales)
        target.parent.mkdir(parents=True)
        shutil.copy(po_path(language), target)
    written = compile_catalogs(locales)
    assert sorted(written) == sorted(mo_path(language, locales) for language in LANGUAGES)
    check_catalogs(locales_dir=locales)
    for language in LANGUAGES:
        with mo_path(language, locales).open("rb") as handle:
            catalog = gettext.GNUTranslations(handle)
        assert catalog.info()["language"] == language


def test_the_template_is_up_to_date_with_the_code() -> None:
    in_code = {message.id for message in entries(extract_template())}
    in_template = {message.id for message in entries(read_catalog(TEMPLATE))}
    new = sorted(map(str, in_code - in_template))
    gone = sorted(map(str, in_template - in_code))
    assert not new and not gone, (
        f"{TEMPLATE} is behind the code; {UPDATE}, then translate the new strings.\n"
        f"  in the code, not in the template: {new}\n"
        f"  in the template, no longer in the code: {gone}"
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_catalog_has_exactly_the_templates_entries(language: str) -> None:
    template = {message.id for message in entries(read_catalog(TEMPLATE))}
    catalog = {message.id for message in entries(catalog_of(language))}
    missing = sorted(map(str, template - catalog))
    extra = sorted(map(str, catalog - template))
    assert not missing and not extra, _problems_text(
        language,
        [f"{UPDATE}", f"missing entries: {missing}", f"entries not in the template: {extra}"],
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_entry_is_untranslated_or_fuzzy(language: str) -> None:
    problems = []
    for message in entries(catalog_of(language)):
        if message.fuzzy:
            problems.append(
                f"fuzzy (check the translation, then remove the flag): {msgid(message)!r}"
            )
        elif language in TRANSLATED and not all(msgstrs(message)):
            empty = [index for index, text in enumerate(msgstrs(message)) if not text]
            forms = f" (msgstr{empty})" if message.pluralizable else ""
            problems.append(f"untranslated{forms}: {msgid(message)!r}")
    assert not problems, _problems_text(language, problems)


@pytest.mark.parametrize("language", LANGUAGES)
def test_placeholders_of_every_translation_equal_the_msgids(language: str) -> None:
    problems = []
    for message in entries(catalog_of(language)):
        expected = placeholders(msgids(message)[0])
        for form, text in enumerate(msgstrs(message)):
            if text and placeholders(text) != expected:
                problems.append(
                    f"msgstr[{form}] of {msgid(message)!r} has {sorted(placeholders(text))}, "
                    f"expected {sorted(expected)}"
                )
    assert not problems, _problems_text(language, problems)


def test_msgids_use_named_placeholders_only() -> None:
    def unnamed(field: str) -> bool:
        root = re.split(r"[!:.\[]", field[1:-1], maxsplit=1)[0]
        return not root or root.isdigit()

    bad = [
        text
        for message in entries(read_catalog(TEMPLATE))
        for text in msgids(message)
        if any(unnamed(field) for field in placeholders(text))
    ]
    assert not bad, f"give these placeholders names, e.g. {{count}}: {bad}"


def test_plural_msgids_have_a_count() -> None:
    bad = [
        msgid(message)
        for message in entries(read_catalog(TEMPLATE))
        if message.pluralizable and "{count}" not in placeholders(msgid(message))
    ]
    assert not bad, f"plural messages show their number as {{count}}: {bad}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_plural_forms_header_is_babels_rule(language: str) -> None:
    rule = get_plural(language)
    catalog = catalog_of(language)
    assert catalog.plural_forms == rule.plural_forms, _problems_text(
        language, [f"Plural-Forms is {catalog.plural_forms!r}, expected {rule.plural_forms!r}"]
    )
    wrong = [
        f"{msgid(message)!r} has {len(msgstrs(message))} forms, expected {rule.num_plurals}"
        for message in entries(catalog)
        if message.pluralizable and len(msgstrs(message)) != rule.num_plurals
    ]
    assert not wrong, _problems_text(language, wrong)


@pytest.mark.parametrize("language", TRANSLATED)
def test_no_translation_is_a_copy_of_the_english(language: str) -> None:
    copied = []
    for message in entries(catalog_of(language)):
        sources = msgids(message)
        for form, text in enumerate(msgstrs(message)):
            source = sources[min(form, len(sources) - 1)]
            allowed = SAME_AS_ENGLISH.get(language, set())
            if text == source and _words(source) and source not in allowed:
                copied.append(f"msgstr is the English msgid: {source!r}")
    assert not copied, _problems_text(language, copied)


@pytest.mark.parametrize("language", TRANSLATED)
def test_translations_keep_the_commands_and_the_frame(language: str) -> None:
    problems = []
    for message in entries(catalog_of(language)):
        source = msgids(message)[0]
        for text in filter(None, msgstrs(message)):
            if sorted(COMMAND.findall(text)) != sorted(COMMAND.findall(source)):
                problems.append(
                    f"{source!r}: commands {COMMAND.findall(text)}, "
                    f"expected {COMMAND.findall(source)} (command names stay English)"
                )
            if source[-1:] in ".:!?" and text[-1:] != source[-1:]:
                problems.append(f"{source!r}: ends with {text[-1:]!r}, expected {source[-1:]!r}")
            for edge in (source[:1], source[-1:]):
                if edge.isspace() and edge not in (text[:1], text[-1:]):
                    problems.append(f"{source!r}: keep its leading and trailing white space")
    assert not problems, _problems_text(language, problems)


NBSP = "\u00a0\u202f"
TYPOGRAPHY: dict[str, list[tuple[str, str]]] = {
    "ru": [
        (r'["“”]', "Russian quotes are « »"),
        (r"'", "no typewriter apostrophe"),
    ],
    "fr": [
        (r'["“”]', "French quotes are « »"),
        (r"'", "the French apostrophe is ’"),
        (rf"«(?![{NBSP}])", "« is followed by a non-breaking space"),
        (rf"(?<![{NBSP}])»", "» is preceded by a non-breaking space"),
        (rf"(?<![{NBSP}])[;!?]", "; ! ? are preceded by a narrow non-breaking space"),
        (rf"(?<![{NBSP}]):(?=\s|$)", ": is preceded by a non-breaking space"),
    ],
    "de": [
        (r'["”«»]', "German quotes are „ “"),
        (r"'", "no typewriter apostrophe"),
    ],
    "nl": [
        (r'["„«»]', "Dutch quotes are ‘ ’ or “ ”"),
        (r"'", "the Dutch apostrophe is ’"),
    ],
}
"""Patterns that must not occur in a language's msgstrs, and the rule they break."""


@pytest.mark.parametrize("language", TRANSLATED)
def test_typography(language: str) -> None:
    problems = []
    for message in entries(catalog_of(language)):
        for text in filter(None, msgstrs(message)):
            problems += [
                f"{text!r}: {rule}"
                for pattern, rule in TYPOGRAPHY[language]
                if re.search(pattern, text)
            ]
            if language == "de" and text.count("„") != text.count("“"):
                problems.append(f"{text!r}: every „ closes with “")
    assert not problems, _problems_text(language, problems)
