"""Search at scale: 100,000 synthetic memorials and 100,000 chronicle entries.

Run ``python -m bench.search_bench`` (``--help`` for options; ``--memorials 2000 --chronicle
2000`` for a short run, which the test suite runs too). One run measures both corpora, each on
its own in-memory ``MemorialIndex`` built from its search documents, as the bot builds them:

- memorials: synthetic Belgian and Russian towns in five languages, Soviet soldiers' names
  transliterated in the English, German, French and Dutch ways (half of the people stored in
  those Latin spellings only), misspellings as aliases, plus the curated dataset (every
  synthetic slug starts with ``synthetic-``);
- the people's chronicle: relatives' names, Russian, Ukrainian and Belarusian (given name,
  patronymic or not, surname; a third of the surnames common ones shared by many entries),
  written in Cyrillic or transliterated the English, German, French, Dutch or Ukrainian way,
  40 % with a second spelling, 70 % with a unit (``generate_chronicle``).

It reports the index build time and the resident memory it adds, and per query class the
p50 / p95 / p99 latency and how often a right answer is among the first five hits. With
``--sqlite`` and ``--postgres`` it also imports the memorials through the real import path
(into a fresh SQLite file, and into a PostgreSQL database it creates and drops itself) and
measures the memorial queries through ``Core`` (the index and the database lookup of the
hits), nearest-memorial latency and the version check.

What counts as a right answer, per class (the query is drawn from one entry; "any spelling"
means Cyrillic and every scheme's transliteration, compared folded):

- exact name: an entry of that very name (memorials: that English name; chronicle: the same
  given name, patronymic when given, and surname);
- exact town, cyrillic town (memorials): a memorial in that town;
- prefix town, prefix town (cyrillic) (memorials): the first 3 to 6 letters of a town's English
  or Russian name, as an autocomplete sends them while one types; right is any memorial whose
  town, or one of whose people's surnames, begins with those letters in any spelling -- a prefix
  designates everything it begins, not only the town it was cut from;
- prefix surname, prefix surname (other spelling) (chronicle): the first 3 to 6 letters of a
  surname as the entry writes it, or as another spelling writes it; right is any entry whose
  surname begins with them in any spelling;
- person classes (cyrillic person; person (de spelling); person full (fr); chronicle: cyrillic
  person (stored latin), latin person (stored cyrillic), other transliteration): a surname
  alone, or given name and surname, in a script or scheme the entry is not stored in (the
  memorial classes draw from people stored in Latin only for the Cyrillic class); right is an
  entry of a person with that surname (and that given name, when typed) -- a common surname
  designates all who bear it;
- typo town, typo person: one typing error (a letter dropped, doubled, replaced or two
  swapped, never the first letter), or two in words of seven letters or more, in the English
  name of a town or the Latin spelling of a surname (the stored one, or a transliteration when
  the entry is stored in Cyrillic). Right is the entry it was made from, or any entry that the
  typo is as close to: one of whose names (town, or surname, in any spelling; with the same
  given name when typed) is no more edits away (optimal string alignment, folded) than the
  meant one's -- a typo that lands nearer another name, or on another name, designates it as
  well. The strict rate, the meant entry only, is printed beside it.

Ranking ties are broken by slug, so a hit rate is deterministic for a seed. It measures and
reports; it asserts nothing about wall-clock time.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import statistics
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import psycopg
from rapidfuzz.distance import OSA

from bot.app import App, open_app
from bot.config import Settings
from bot.core.domain import (
    GeoPoint,
    Memorial,
    MemorialKind,
    Person,
    PersonRef,
    Precision,
    Source,
)
from bot.core.records import Dataset
from bot.core.search import (
    MemorialIndex,
    SearchDocument,
    chronicle_documents,
    documents_from,
    fold,
)
from db.dataset import load_curated

PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
SOURCE = (Source(ref="Synthetic benchmark data (bench/search_bench.py)"),)
LANGS = ("en", "ru", "fr", "nl", "de")

# -- transliteration of Russian names in four national schemes -------------------------------

_COMMON = dict(zip("абвгдзиклмнопрстф", "abvgdziklmnoprstf", strict=True))
SCHEMES: dict[str, dict[str, str]] = {
    "en": {
        **_COMMON,
        "е": "e",
        "ё": "e",
        "ж": "zh",
        "й": "y",
        "у": "u",
        "х": "kh",
        "ц": "ts",
        "ч": "ch",
        "ш": "sh",
        "щ": "shch",
        "ъ": "",
        "ы": "y",
        "ь": "",
        "э": "e",
        "ю": "yu",
        "я": "ya",
        "і": "i",
        "ї": "yi",
        "є": "ye",
        "ў": "w",
        "ґ": "g",
    },
    "de": {
        **_COMMON,
        "в": "w",
        "з": "s",
        "е": "e",
        "ё": "jo",
        "ж": "sch",
        "й": "j",
        "у": "u",
        "х": "ch",
        "ц": "z",
        "ч": "tsch",
        "ш": "sch",
        "щ": "schtsch",
        "ъ": "",
        "ы": "y",
        "ь": "",
        "э": "e",
        "ю": "ju",
        "я": "ja",
        "і": "i",
        "ї": "ji",
        "є": "je",
        "ў": "w",
        "ґ": "g",
    },
    "fr": {
        **_COMMON,
        "е": "e",
        "ё": "io",
        "ж": "j",
        "й": "ï",
        "у": "ou",
        "х": "kh",
        "ц": "ts",
        "ч": "tch",
        "ш": "ch",
        "щ": "chtch",
        "ъ": "",
        "ы": "y",
        "ь": "",
        "э": "e",
        "ю": "iou",
        "я": "ia",
        "і": "i",
        "ї": "ï",
        "є": "ie",
        "ў": "ou",
        "ґ": "g",
    },
    "nl": {
        **_COMMON,
        "е": "e",
        "ё": "jo",
        "ж": "zj",
        "й": "j",
        "у": "oe",
        "х": "ch",
        "ц": "ts",
        "ч": "tsj",
        "ш": "sj",
        "щ": "sjtsj",
        "ъ": "",
        "ы": "y",
        "ь": "",
        "э": "e",
        "ю": "joe",
        "я": "ja",
        "і": "i",
        "ї": "ji",
        "є": "je",
        "ў": "w",
        "ґ": "g",
    },
}
# Ukraine's official romanization (2010), for Ukrainian names: г is h, и is y.
SCHEMES["uk"] = {
    **SCHEMES["en"],
    "г": "h",
    "и": "y",
    "і": "i",
    "ї": "i",
    "є": "ie",
    "ю": "iu",
    "я": "ia",
    "й": "i",
}


def transliterate(cyrillic: str, scheme: str) -> str:
    """A Russian name in one national scheme (French "-ин" is written "-ine")."""
    table = SCHEMES[scheme]
    words = []
    for word in cyrillic.split(" "):
        lower = word.lower()
        latin = "".join(table.get(char, char) for char in lower)
        if scheme == "fr" and lower.endswith("ин"):
            latin += "e"
        words.append(latin[:1].upper() + latin[1:])
    return " ".join(words)


_LATIN_TO_CYRILLIC = (
    ("eau", "о"),
    ("ille", "иль"),
    ("ou", "у"),
    ("oe", "у"),
    ("ch", "ш"),
    ("gh", "г"),
    ("ay", "е"),
    ("ee", "и"),
    ("qu", "к"),
    ("a", "а"),
    ("b", "б"),
    ("c", "к"),
    ("d", "д"),
    ("e", "е"),
    ("f", "ф"),
    ("g", "г"),
    ("h", ""),
    ("i", "и"),
    ("j", "ж"),
    ("k", "к"),
    ("l", "л"),
    ("m", "м"),
    ("n", "н"),
    ("o", "о"),
    ("p", "п"),
    ("r", "р"),
    ("s", "с"),
    ("t", "т"),
    ("u", "ю"),
    ("v", "в"),
    ("w", "в"),
    ("x", "кс"),
    ("y", "и"),
    ("z", "з"),
)


def to_cyrillic(latin: str) -> str:
    """A rough Russian exonym of a Belgian place name ("Monville" -> "Монвиль")."""
    text = latin.lower()
    out = []
    i = 0
    while i < len(text):
        for pattern, replacement in _LATIN_TO_CYRILLIC:
            if text.startswith(pattern, i):
                out.append(replacement)
                i += len(pattern)
                break
        else:
            out.append(text[i])
            i += 1
    word = "".join(out)
    return word[:1].upper() + word[1:]


# -- synthetic data -----------------------------------------------------------------------

BE_START = [
    "Ber",
    "Mon",
    "Ver",
    "Wa",
    "Ho",
    "Lim",
    "Char",
    "Gem",
    "Ro",
    "Fle",
    "Tur",
    "Bou",
    "Sa",
    "Mar",
    "Ne",
    "Ha",
    "Ou",
    "Ste",
    "Gra",
    "Bas",
    "Co",
    "Die",
    "Eke",
    "Fo",
    "Jam",
    "Ker",
    "Lo",
    "Mes",
    "Pe",
    "Quie",
    "Ri",
    "Tho",
    "Vi",
    "Wer",
    "Zo",
    "An",
    "Bel",
    "Cu",
    "Dal",
    "Ger",
]
BE_MIDDLE = ["", "e", "an", "er", "o", "i", "el", "ou"]
BE_END = [
    "ville",
    "ghem",
    "court",
    "hout",
    "dorf",
    "rode",
    "lez",
    "mont",
    "sart",
    "berg",
    "beek",
    "zele",
    "ham",
    "ingen",
    "ay",
    "y",
    "ines",
    "aux",
    "elle",
    "ter",
    "gen",
]
RU_CONSONANTS = "бвгдзклмнпрстхцчшщжф"
RU_VOWELS = "аоуиея"
RU_TOWN_END = ["ск", "ово", "ино", "ка", "ьма", "ань", "ев", "ополь", "град", "ец"]
RU_SURNAME_END = ["ов", "ев", "ин", "ский", "енко", "ых", "ук", "ёв"]
FIRST_NAMES = [
    "Алексей",
    "Иван",
    "Пётр",
    "Николай",
    "Сергей",
    "Михаил",
    "Владимир",
    "Василий",
    "Дмитрий",
    "Фёдор",
    "Григорий",
    "Андрей",
    "Юрий",
    "Вил",
    "Павел",
    "Евгений",
    "Константин",
    "Анна",
    "Мария",
    "Ольга",
    "Яков",
    "Борис",
    "Степан",
    "Тимофей",
]

TEMPLATES: dict[MemorialKind, dict[str, str]] = {
    MemorialKind.MONUMENT: {
        "en": "Monument to the Soviet soldiers in {t}",
        "ru": "Памятник советским воинам в {t}",
        "fr": "Monument aux soldats soviétiques à {t}",
        "nl": "Monument voor de Sovjetsoldaten in {t}",
        "de": "Denkmal für die sowjetischen Soldaten in {t}",
    },
    MemorialKind.MASS_GRAVE: {
        "en": "Mass grave of Soviet prisoners of war in {t}",
        "ru": "Братская могила советских военнопленных в {t}",
        "fr": "Fosse commune des prisonniers de guerre soviétiques à {t}",
        "nl": "Massagraf van Sovjet-krijgsgevangenen in {t}",
        "de": "Massengrab sowjetischer Kriegsgefangener in {t}",
    },
    MemorialKind.PLAQUE: {
        "en": "Memorial plaque to {p} in {t}",
        "ru": "Мемориальная доска {p} в {t}",
        "fr": "Plaque commémorative de {p} à {t}",
        "nl": "Gedenkplaat voor {p} in {t}",
        "de": "Gedenktafel für {p} in {t}",
    },
    MemorialKind.GRAVE: {
        "en": "Grave of {p}",
        "ru": "Могила {p}",
        "fr": "Tombe de {p}",
        "nl": "Graf van {p}",
        "de": "Grab von {p}",
    },
    MemorialKind.CEMETERY: {
        "en": "Soviet military cemetery in {t}",
        "ru": "Советское воинское кладбище в {t}",
        "fr": "Cimetière militaire soviétique à {t}",
        "nl": "Sovjet-militaire begraafplaats in {t}",
        "de": "Sowjetischer Soldatenfriedhof in {t}",
    },
    MemorialKind.MUSEUM: {
        "en": "Museum of the Resistance in {t}",
        "ru": "Музей Сопротивления в {t}",
        "fr": "Musée de la Résistance à {t}",
        "nl": "Verzetsmuseum in {t}",
        "de": "Widerstandsmuseum in {t}",
    },
    MemorialKind.MEMORIAL: {
        "en": "Memorial to the partisans of {t}",
        "ru": "Мемориал партизанам {t}",
        "fr": "Mémorial aux partisans de {t}",
        "nl": "Gedenkteken voor de partizanen van {t}",
        "de": "Gedenkstätte für die Partisanen von {t}",
    },
}
KIND_WEIGHTS = {
    MemorialKind.MONUMENT: 30,
    MemorialKind.MASS_GRAVE: 15,
    MemorialKind.PLAQUE: 15,
    MemorialKind.GRAVE: 25,
    MemorialKind.CEMETERY: 6,
    MemorialKind.MUSEUM: 3,
    MemorialKind.MEMORIAL: 6,
}


@dataclass(frozen=True, slots=True)
class Town:
    """A synthetic town: names per language, country, centre."""

    names: dict[str, str]
    country: str
    lat: float
    lon: float
    extra: tuple[str, ...] = ()


@dataclass(slots=True)
class Synthetic:
    """The generated dataset and what the queries are drawn from."""

    dataset: Dataset
    towns: list[Town]
    people: list[Person]
    town_of: dict[str, Town] = field(default_factory=dict)
    """Memorial slug -> its town."""
    people_of: dict[str, list[str]] = field(default_factory=dict)
    """Memorial slug -> slugs of its people."""
    person_parts: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Person slug -> its Russian given name and surname."""


def _cyrillic_word(rng: random.Random, syllables: int) -> str:
    return "".join(rng.choice(RU_CONSONANTS) + rng.choice(RU_VOWELS) for _ in range(syllables))


def _towns(rng: random.Random, count: int) -> list[Town]:
    towns: list[Town] = []
    seen: set[str] = set()
    while len(towns) < count:
        if rng.random() < 0.6:
            name = rng.choice(BE_START) + rng.choice(BE_MIDDLE) + rng.choice(BE_END)
            if name in seen:
                continue
            seen.add(name)
            names = {"en": name, "fr": name, "nl": name, "de": name, "ru": to_cyrillic(name)}
            towns.append(Town(names, "BE", rng.uniform(49.5, 51.4), rng.uniform(2.6, 6.3)))
        else:
            root = _cyrillic_word(rng, rng.choice((1, 2, 2, 3)))
            cyrillic = (root + rng.choice(RU_TOWN_END)).capitalize()
            if cyrillic in seen:
                continue
            seen.add(cyrillic)
            names = {code: transliterate(cyrillic, code) for code in ("en", "fr", "nl", "de")}
            names["ru"] = cyrillic
            towns.append(
                Town(
                    names,
                    "RU",
                    rng.uniform(53.0, 57.5),
                    rng.uniform(30.0, 40.0),
                    (transliterate(cyrillic, "de"),),
                )
            )
    return towns


def _people(rng: random.Random, count: int) -> list[tuple[Person, str, str]]:
    """People with their Russian given name and surname; half of them are stored in the Latin
    spellings only (as a Belgian memorial would name them), the others in Cyrillic too."""
    people: list[tuple[Person, str, str]] = []
    seen: set[str] = set()
    while len(people) < count:
        surname = _cyrillic_word(rng, rng.choice((1, 2, 2, 3))) + rng.choice(RU_SURNAME_END)
        surname = surname.capitalize()
        first = rng.choice(FIRST_NAMES)
        full = f"{first} {surname}"
        if full in seen:
            continue
        seen.add(full)
        cyrillic = rng.random() < 0.5
        names = {code: transliterate(full, code) for code in ("en", "fr", "nl", "de")}
        spellings = {transliterate(surname, code) for code in ("en", "fr", "nl", "de")}
        aliases: tuple[str, ...] = (
            *sorted(spellings),
            f"{names['en'][0]}. {transliterate(surname, 'en')}",
        )
        if cyrillic:
            names["ru"] = full
            aliases = (*aliases, surname)
        person = Person(
            slug=f"synthetic-person-{len(people) + 1:06d}",
            names=names,
            aliases=aliases,
            sources=SOURCE,
            born=rng.choice((None, rng.randint(1900, 1926))),
        )
        people.append((person, first, surname))
    return people


def _misspell(rng: random.Random, word: str, edits: int = 1) -> str:
    """``edits`` typing errors (a letter dropped, doubled, replaced, or two letters swapped),
    never on the first letter; words shorter than five letters are left alone."""
    if len(word) < 5:
        return word
    for _ in range(edits):
        i = rng.randrange(1, len(word) - 1)
        action = rng.choice(("drop", "double", "replace", "swap"))
        if action == "drop":
            word = word[:i] + word[i + 1 :]
        elif action == "double":
            word = word[:i] + word[i] + word[i:]
        elif action == "swap" and word[i] != word[i + 1]:
            word = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
        else:
            letter = rng.choice("aeioulnrst".replace(word[i].lower(), ""))
            word = word[:i] + letter + word[i + 1 :]
    return word


def generate(count: int, seed: int = 1944) -> Synthetic:
    """``count`` synthetic memorials (and the people they commemorate), deterministic."""
    rng = random.Random(seed)
    towns = _towns(rng, max(50, count // 20))
    drawn = _people(rng, max(20, count // 5))
    people = [person for person, _, _ in drawn]
    kinds = list(KIND_WEIGHTS)
    weights = list(KIND_WEIGHTS.values())
    synthetic = Synthetic(Dataset(people=list(people)), towns, people)
    synthetic.person_parts = {person.slug: (first, last) for person, first, last in drawn}
    for number in range(1, count + 1):
        town = rng.choice(towns)
        kind = rng.choices(kinds, weights)[0]
        needs_person = kind in (MemorialKind.GRAVE, MemorialKind.PLAQUE)
        commemorated: list[Person] = []
        if needs_person or rng.random() < 0.15:
            commemorated = rng.sample(people, 1 if needs_person else rng.randint(1, 3))
        names = {}
        for code in LANGS:
            names_of = commemorated[0].names if commemorated else {}
            person = names_of.get(code, names_of.get("en", ""))
            names[code] = TEMPLATES[kind][code].format(t=town.names[code], p=person)
        aliases: list[str] = []
        if rng.random() < 0.5:
            aliases.append(f"{town.names['en']} memorial")
        if rng.random() < 0.3:
            aliases.append(_misspell(rng, town.names["en"]))
        aliases.extend(town.extra)
        address = None
        if rng.random() < 0.5:
            if town.country == "BE":
                address = (
                    f"{rng.randint(1, 200)} rue de la {rng.choice(('Gare', 'Paix', 'Croix'))}"
                    f", {rng.randint(1000, 9999)} {town.names['fr']}"
                )
            else:
                address = f"ул. {rng.choice(('Ленина', 'Мира', 'Победы'))}, {rng.randint(1, 99)}"
        slug = f"synthetic-memorial-{number:06d}"
        memorial = Memorial(
            slug=slug,
            kind=kind,
            names=names,
            aliases=tuple(dict.fromkeys(aliases)),
            city=dict(town.names),
            address=address,
            country=town.country,
            lat=round(town.lat + rng.uniform(-0.03, 0.03), 5),
            lon=round(town.lon + rng.uniform(-0.03, 0.03), 5),
            precision=rng.choice((Precision.SITE, Precision.TOWN)),
            description={"en": f"A synthetic {kind.value.replace('_', ' ')} for benchmarks."},
            year=rng.choice((None, rng.randint(1945, 2024))),
            people=tuple(PersonRef(p.slug, p.names) for p in commemorated),
            sources=SOURCE,
        )
        synthetic.dataset.memorials.append(memorial)
        synthetic.town_of[slug] = town
        synthetic.people_of[slug] = [p.slug for p in commemorated]
    used = {slug for slugs in synthetic.people_of.values() for slug in slugs}
    synthetic.dataset.people = [p for p in people if p.slug in used]
    return synthetic


# -- the people's chronicle ------------------------------------------------------------------

RU_GIVEN = {
    # given name: (patronymic of a son, of a daughter) -- or None for a woman's name
    "Иван": ("Иванович", "Ивановна"),
    "Пётр": ("Петрович", "Петровна"),
    "Николай": ("Николаевич", "Николаевна"),
    "Сергей": ("Сергеевич", "Сергеевна"),
    "Михаил": ("Михайлович", "Михайловна"),
    "Владимир": ("Владимирович", "Владимировна"),
    "Василий": ("Васильевич", "Васильевна"),
    "Дмитрий": ("Дмитриевич", "Дмитриевна"),
    "Фёдор": ("Фёдорович", "Фёдоровна"),
    "Григорий": ("Григорьевич", "Григорьевна"),
    "Андрей": ("Андреевич", "Андреевна"),
    "Алексей": ("Алексеевич", "Алексеевна"),
    "Павел": ("Павлович", "Павловна"),
    "Яков": ("Яковлевич", "Яковлевна"),
    "Степан": ("Степанович", "Степановна"),
    "Семён": ("Семёнович", "Семёновна"),
    "Илья": ("Ильич", "Ильинична"),
    "Тимофей": ("Тимофеевич", "Тимофеевна"),
    "Константин": ("Константинович", "Константиновна"),
    "Борис": ("Борисович", "Борисовна"),
    "Анна": None,
    "Мария": None,
    "Евдокия": None,
    "Прасковья": None,
    "Татьяна": None,
    "Ольга": None,
}
UK_GIVEN = {
    "Микола": ("Миколайович", "Миколаївна"),
    "Олександр": ("Олександрович", "Олександрівна"),
    "Тарас": ("Тарасович", "Тарасівна"),
    "Остап": ("Остапович", "Остапівна"),
    "Богдан": ("Богданович", "Богданівна"),
    "Василь": ("Васильович", "Василівна"),
    "Петро": ("Петрович", "Петрівна"),
    "Іван": ("Іванович", "Іванівна"),
    "Григорій": ("Григорович", "Григорівна"),
    "Ганна": None,
    "Оксана": None,
    "Олена": None,
}
BE_GIVEN = {
    "Янка": ("Янкавіч", "Янкаўна"),
    "Алесь": ("Алесевіч", "Алесеўна"),
    "Рыгор": ("Рыгоравіч", "Рыгораўна"),
    "Васіль": ("Васілевіч", "Васілеўна"),
    "Мікола": ("Міколавіч", "Міколаўна"),
    "Міхась": ("Міхасевіч", "Міхасеўна"),
    "Ганна": None,
    "Алеся": None,
}


def _names(text: str) -> tuple[str, ...]:
    return tuple(text.split())


RU_SURNAMES = _names(
    "Иванов Смирнов Кузнецов Попов Васильев Петров Соколов Михайлов Новиков Фёдоров Морозов "
    "Волков Алексеев Лебедев Семёнов Егоров Павлов Козлов Степанов Николаев Орлов Андреев "
    "Макаров Никитин Захаров Зайцев Соловьёв Борисов Яковлев Григорьев Романов Воробьёв "
    "Сергеев Кузьмин Фролов Александров Дмитриев Королёв Гусев Киселёв Ильин Максимов Поляков "
    "Сорокин Виноградов Ковалёв Белов Медведев Антонов Тарасов Жуков Баранов Филиппов Комаров "
    "Давыдов Беляев Герасимов Богданов Осипов Сидоров Матвеев Титов Марков Миронов Крылов "
    "Куликов Карпов Власов Мельников Денисов Гаврилов Тихонов Казаков Афанасьев Данилов "
    "Тимофеев Фомин Чернов Абрамов Мартынов Ефимов Щербаков Назаров Калинин Исаев Чернышёв "
    "Быков Маслов Родионов Коновалов Лазарев Воронин Климов Пономарёв Голубев Кудрявцев "
    "Прохоров Наумов Журавлёв Овчинников Соболев Колесников Гончаров Грачёв Котов Громов "
    "Малышев Румянцев Горбунов Скворцов Белоусов Цветков Хохлов Гвоздарев Капустин Щукин"
)
UK_SURNAMES = _names(
    "Шевченко Коваленко Бондаренко Ткаченко Кравченко Олійник Шевчук Коваль Поліщук Бойко "
    "Ткачук Мельник Лисенко Савченко Руденко Марченко Петренко Клименко Павленко Кравчук "
    "Кузьменко Гончаренко Мороз Левченко Харченко Карпенко Сидоренко Костенко Гаврилюк "
    "Панченко Пономаренко Литвиненко Іваненко Яковенко Кушнір Білик Ковальчук Остапенко"
)
BE_SURNAMES = _names(
    "Мельнік Навіцкі Ковалёў Жукаў Новік Казлоўскі Макарэвіч Лукашэвіч Пашкевіч Янкоўскі "
    "Бурак Міцкевіч Грыневіч Станкевіч Шаўчэнка Дзмітрыеў"
)
SYNTHETIC_SURNAME_END = {
    "ru": ["ов", "ев", "ин", "ский", "ых", "цев", "ёв", "ников"],
    "uk": ["енко", "ук", "юк", "чук", "ко", "ський"],
    "be": ["іч", "евіч", "ёнак", "ка", "скі", "аў"],
}
UNITS = (
    "{n}-й стрелковый полк",
    "{n}-я стрелковая дивизия",
    "{n}th Rifle Division",
    "{n}. Schützendivision",
    "{n}e division de fusiliers",
    "партизанский отряд «{w}»",
    "{n}-й гвардейский танковый полк",
    "{n}-й отдельный батальон связи",
    "Partisan brigade {w}",
)
UNIT_WORDS = ("Победа", "Родина", "Смерть фашизму", "Чапаев", "Буревестник", "Мститель")
LATIN_SCHEMES = ("en", "de", "fr", "nl")


def _female_surname(surname: str, language: str) -> str:
    """The surname of a woman of the family ("Иванов" -> "Иванова")."""
    if surname.endswith(("ов", "ев", "ёв", "ин", "ын")):
        return surname + "а"
    if surname.endswith("ский"):
        return surname[:-2] + "ая"
    if surname.endswith("ський"):
        return surname[:-2] + "а"
    if surname.endswith("скі"):
        return surname[:-1] + "ая"
    if surname.endswith("аў") or surname.endswith("оў") or surname.endswith("ёў"):
        return surname[:-1] + "ва"
    if surname.endswith("ых"):
        return surname
    return surname  # -енко, -ук, -іч, ... are the same for women


@dataclass(frozen=True, slots=True)
class ChronicleEntry:
    """One synthetic entry of the people's chronicle and who it names.

    ``given``, ``patronymic`` and ``surname`` are the Cyrillic parts (``patronymic`` may be
    empty); ``spellings`` maps each part to every way it is written (Cyrillic and each scheme).
    """

    key: str
    full_name: str
    other_spelling: str | None
    unit: str | None
    given: str
    patronymic: str
    surname: str
    language: str
    scheme: str
    """How ``full_name`` is written: "cyrillic" or a scheme of ``SCHEMES``."""
    other_scheme: str | None

    def row(self) -> tuple[str, str, str | None, str | None]:
        """The entry as ``chronicle_documents`` takes it."""
        return self.key, self.full_name, self.other_spelling, self.unit


def schemes_of(language: str) -> tuple[str, ...]:
    """The Latin schemes a name of this language is written in."""
    return (*LATIN_SCHEMES, "uk") if language == "uk" else LATIN_SCHEMES


def spell(cyrillic: str, scheme: str) -> str:
    """A Cyrillic name as written in ``scheme`` ("cyrillic" leaves it)."""
    return cyrillic if scheme == "cyrillic" else transliterate(cyrillic, scheme)


def spellings(cyrillic: str, language: str) -> tuple[str, ...]:
    """Every spelling of a Cyrillic name: itself and each scheme of its language."""
    return (cyrillic, *(transliterate(cyrillic, code) for code in schemes_of(language)))


def generate_chronicle(count: int, seed: int = 1945) -> list[ChronicleEntry]:
    """``count`` synthetic chronicle entries, deterministic.

    Russian (60 %), Ukrainian (28 %) and Belarusian (12 %) names: a third of the surnames from
    lists of common ones (so many entries share them), the rest made up; men and women, with a
    patronymic or not, given name first or surname first. 45 % are written in Cyrillic, the
    others transliterated in the English, German, French, Dutch (or, for Ukrainian names, the
    Ukrainian official) way; 40 % carry a second spelling (Latin for a Cyrillic name; Cyrillic
    or another scheme for a Latin one); 70 % a unit.
    """
    rng = random.Random(seed)
    languages = {
        "ru": (RU_GIVEN, RU_SURNAMES),
        "uk": (UK_GIVEN, UK_SURNAMES),
        "be": (BE_GIVEN, BE_SURNAMES),
    }
    entries: list[ChronicleEntry] = []
    for number in range(1, count + 1):
        language = rng.choices(("ru", "uk", "be"), (60, 28, 12))[0]
        given_names, common = languages[language]
        if rng.random() < 0.33:
            surname = rng.choice(common)
        else:
            root = _cyrillic_word(rng, rng.choice((1, 2, 2, 3)))
            surname = (root + rng.choice(SYNTHETIC_SURNAME_END[language])).capitalize()
        given = rng.choice(list(given_names))
        female = given_names[given] is None
        if female:
            surname = _female_surname(surname, language)
        patronymic = ""
        if rng.random() < 0.7:
            father = rng.choice([g for g, forms in given_names.items() if forms])
            forms = given_names[father]
            assert forms is not None
            patronymic = forms[1] if female else forms[0]
        order = rng.random()
        if order < 0.5:
            parts = [given, patronymic, surname]
        elif order < 0.8:
            parts = [surname, given, patronymic]
        else:
            parts, patronymic = [given, surname], ""
        cyrillic = " ".join(part for part in parts if part)
        scheme = "cyrillic" if rng.random() < 0.45 else rng.choice(schemes_of(language))
        other_scheme: str | None = None
        if rng.random() < 0.4:
            if scheme == "cyrillic":
                other_scheme = rng.choice(schemes_of(language))
            elif rng.random() < 0.5:
                other_scheme = "cyrillic"
            else:
                other_scheme = rng.choice([s for s in schemes_of(language) if s != scheme])
        unit = None
        if rng.random() < 0.7:
            unit = rng.choice(UNITS).format(n=rng.randint(1, 400), w=rng.choice(UNIT_WORDS))
        entries.append(
            ChronicleEntry(
                key=f"chronicle-{number:06d}",
                full_name=spell(cyrillic, scheme),
                other_spelling=spell(cyrillic, other_scheme) if other_scheme else None,
                unit=unit,
                given=given,
                patronymic=patronymic,
                surname=surname,
                language=language,
                scheme=scheme,
                other_scheme=other_scheme,
            )
        )
    return entries


# -- queries --------------------------------------------------------------------------------

Relevant = Callable[[str], bool]
"""Whether a hit (a memorial slug or a chronicle key) is a right answer."""


@dataclass(frozen=True, slots=True)
class Query:
    """A query, its class, and what counts as a right answer."""

    kind: str
    text: str
    relevant: Relevant
    strict: Relevant | None = None
    """For a typo: only the entry the typo was made from (``relevant`` also takes the entries
    the typo is as close to)."""


SEED_QUERIES: dict[str, str] = {
    "Liège": "liege-",
    "Luik": "liege-",
    "Lüttich": "liege-",
    "Льеж": "liege-",
    "Liege": "liege-",
    "Gouvy": "gouvy-monument",
    "Gouvey": "gouvy-monument",
    "Manhay": "manhay-",
    "Mane": "manhay-",
    "Manet": "manhay-",
    "Gvozdarev": "manhay-monument",
    "Gvozdarew": "manhay-monument",
    "Gwosdarew": "manhay-monument",
    "Гвоздарев": "manhay-monument",
    "Kapustin": "manhay-monument",
    "Капустин": "manhay-monument",
    "Smolensk": "smolensk-",
    "Смоленск": "smolensk-",
    "Vyazma": "vyazma-",
    "Вязьма": "vyazma-",
    "Wjasma": "vyazma-",
    "Rebecq": "rebecq-",
    "Ребек": "rebecq-",
    "Rebeq": "rebecq-",
}


def _prefix(rng: random.Random, word: str) -> str:
    """What an autocomplete sends while a word is typed: its first 3 to 6 letters."""
    return word[: rng.randint(3, min(6, max(3, len(word) - 1)))]


def _begins(prefix: str, names: Iterable[str]) -> bool:
    """Whether one of ``names``, folded, begins with ``prefix`` folded."""
    start = fold(prefix)
    return any(fold(name).startswith(start) for name in names)


def _distance(typed: str, names: Iterable[str]) -> int:
    """The fewest edits (optimal string alignment) from a typed word to one of ``names``,
    both folded."""
    word = fold(typed)
    return min((int(OSA.distance(word, fold(name))) for name in names), default=1_000)


def _as_close(
    typo: str,
    meant: Iterable[str],
    strict: Relevant,
    names_of: Callable[[str], Iterable[str]],
) -> Relevant:
    """A typo's right answers: the entry it was made from, and every entry it is as close to
    (one of whose names, in some spelling, is no more edits away than the meant one's)."""
    limit = _distance(typo, meant)
    return lambda key: strict(key) or _distance(typo, names_of(key)) <= limit


def _typo_edits(rng: random.Random, word: str) -> int:
    """One edit, or (half the time) two in a word of seven letters or more."""
    return 2 if len(word) >= 7 and rng.random() < 0.5 else 1


def memorial_queries(synthetic: Synthetic, per_kind: int, seed: int = 9) -> list[Query]:
    """A fixed set of queries of each class, drawn from the generated memorials."""
    rng = random.Random(seed)
    memorials = synthetic.dataset.memorials
    parts = synthetic.person_parts
    people = {p.slug: p for p in synthetic.dataset.people}
    result: list[Query] = []
    name_of = {m.slug: m.names["en"] for m in memorials}

    def in_town(town: Town) -> Relevant:
        name = town.names["en"]
        return lambda slug: (t := synthetic.town_of.get(slug)) is not None and t.names["en"] == name

    def town_begins(prefix: str) -> Relevant:
        def relevant(slug: str) -> bool:
            town = synthetic.town_of.get(slug)
            if town is None:
                return False
            if _begins(prefix, (*town.names.values(), *town.extra)):
                return True
            return any(
                _begins(prefix, spellings(parts[p][1], "ru"))
                for p in synthetic.people_of.get(slug, ())
            )

        return relevant

    def for_person(surname: str, given: str | None = None) -> Relevant:
        def relevant(slug: str) -> bool:
            return any(
                parts[p][1] == surname and given in (None, parts[p][0])
                for p in synthetic.people_of.get(slug, ())
            )

        return relevant

    def named(name: str) -> Relevant:
        return lambda slug: name_of.get(slug) == name

    def town_names(town: Town) -> tuple[str, ...]:
        return (*town.names.values(), *town.extra)

    def names_of(slug: str) -> list[str]:
        """The names a typo may be of: the memorial's town and its people's surnames."""
        town = synthetic.town_of.get(slug)
        names = list(town_names(town)) if town else []
        for person in synthetic.people_of.get(slug, ()):
            names.extend(spellings(parts[person][1], "ru"))
        return names

    for memorial in rng.sample(memorials, per_kind):
        result.append(Query("exact name", memorial.names["en"], named(memorial.names["en"])))
    towns = rng.sample(synthetic.towns, min(len(synthetic.towns), per_kind * 5))
    groups = [towns[i::5] for i in range(5)]
    for town in groups[0]:
        result.append(Query("exact town", town.names["en"], in_town(town)))
    for town in groups[1]:
        typo = _misspell(rng, town.names["en"], 1)
        strict = in_town(town)
        close = _as_close(typo, town_names(town), strict, names_of)
        result.append(Query("typo town", typo, close, strict))
    for town in groups[2]:
        result.append(Query("cyrillic town", town.names["ru"], in_town(town)))
    for town in groups[3]:
        prefix = _prefix(rng, town.names["en"])
        result.append(Query("prefix town", prefix, town_begins(prefix)))
    for town in groups[4]:
        prefix = _prefix(rng, town.names["ru"])
        result.append(Query("prefix town (cyrillic)", prefix, town_begins(prefix)))
    with_people = [m for m in memorials if m.people]
    latin_only = [m for m in with_people if "ru" not in people[m.people[0].slug].names]
    for memorial in rng.sample(latin_only, per_kind):
        given, surname = parts[memorial.people[0].slug]
        if rng.random() < 0.5:
            result.append(Query("cyrillic person", surname, for_person(surname)))
        else:
            text = f"{given} {surname}"
            result.append(Query("cyrillic person", text, for_person(surname, given)))
    for i, memorial in enumerate(rng.sample(with_people, per_kind * 3)):
        person = people[memorial.people[0].slug]
        given, surname = parts[person.slug]
        if i < per_kind:
            text, kind = transliterate(surname, "de"), "person (de spelling)"
            relevant = for_person(surname)
        elif i < 2 * per_kind:
            text, kind = person.names["fr"], "person full (fr)"
            relevant = for_person(surname, given)
        else:
            latin = transliterate(surname, "en")
            text = _misspell(rng, latin, _typo_edits(rng, latin))
            strict = for_person(surname)
            close = _as_close(text, spellings(surname, "ru"), strict, names_of)
            result.append(Query("typo person", text, close, strict))
            continue
        result.append(Query(kind, text, relevant))

    def starts(prefix: str) -> Relevant:
        return lambda slug: slug.startswith(prefix)

    for text, prefix in SEED_QUERIES.items():
        result.append(Query("seed examples", text, starts(prefix)))
    return result


def chronicle_queries(
    entries: Sequence[ChronicleEntry], per_kind: int, seed: int = 10
) -> list[Query]:
    """A fixed set of queries of each class, drawn from the generated chronicle."""
    rng = random.Random(seed)
    by_key = {entry.key: entry for entry in entries}
    result: list[Query] = []

    def person(entry: ChronicleEntry, *, given: bool = False, patronymic: bool = False) -> Relevant:
        def relevant(key: str) -> bool:
            other = by_key.get(key)
            return (
                other is not None
                and other.surname == entry.surname
                and (not given or other.given == entry.given)
                and (not patronymic or other.patronymic == entry.patronymic)
            )

        return relevant

    def surname_begins(prefix: str) -> Relevant:
        def relevant(key: str) -> bool:
            other = by_key.get(key)
            return other is not None and _begins(prefix, spellings(other.surname, other.language))

        return relevant

    def given_and(given: str, close: Relevant) -> Relevant:
        return lambda key: (o := by_key.get(key)) is not None and o.given == given and close(key)

    def surnames_of(key: str) -> tuple[str, ...]:
        other = by_key.get(key)
        return spellings(other.surname, other.language) if other else ()

    def name_query(entry: ChronicleEntry, scheme: str) -> tuple[str, Relevant]:
        """The surname alone, or given name and surname, in ``scheme``."""
        if rng.random() < 0.5:
            return spell(entry.surname, scheme), person(entry)
        return spell(f"{entry.given} {entry.surname}", scheme), person(entry, given=True)

    sample = rng.sample(list(entries), min(len(entries), per_kind * 4))
    for entry in sample[:per_kind]:
        relevant = person(entry, given=True, patronymic=bool(entry.patronymic))
        result.append(Query("exact name", entry.full_name, relevant))
    for entry in sample[per_kind : 2 * per_kind]:
        prefix = _prefix(rng, spell(entry.surname, entry.scheme))
        result.append(Query("prefix surname", prefix, surname_begins(prefix)))
    for entry in sample[2 * per_kind : 3 * per_kind]:
        scheme = rng.choice(
            [s for s in ("cyrillic", *schemes_of(entry.language)) if s != entry.scheme]
        )
        prefix = _prefix(rng, spell(entry.surname, scheme))
        result.append(Query("prefix surname (other spelling)", prefix, surname_begins(prefix)))
    for entry in sample[3 * per_kind :]:
        scheme = entry.scheme if entry.scheme != "cyrillic" else rng.choice(LATIN_SCHEMES)
        latin = spell(entry.surname, scheme)
        typo = _misspell(rng, latin, _typo_edits(rng, latin))
        meant = spellings(entry.surname, entry.language)
        if rng.random() < 0.5:
            strict = person(entry)
            close = _as_close(typo, meant, strict, surnames_of)
            result.append(Query("typo person", typo, close, strict))
        else:
            text = f"{spell(entry.given, scheme)} {typo}"
            strict = person(entry, given=True)
            close = _as_close(typo, meant, strict, surnames_of)
            same_given = given_and(entry.given, close)
            result.append(Query("typo person", text, same_given, strict))
    latin_only = [e for e in entries if "cyrillic" not in (e.scheme, e.other_scheme)]
    for entry in rng.sample(latin_only, min(len(latin_only), per_kind)):
        text, relevant = name_query(entry, "cyrillic")
        result.append(Query("cyrillic person (stored latin)", text, relevant))
    cyrillic_only = [e for e in entries if e.scheme == "cyrillic" and e.other_scheme is None]
    for entry in rng.sample(cyrillic_only, min(len(cyrillic_only), per_kind)):
        text, relevant = name_query(entry, rng.choice(schemes_of(entry.language)))
        result.append(Query("latin person (stored cyrillic)", text, relevant))
    for entry in rng.sample(latin_only, min(len(latin_only), per_kind)):
        stored = {entry.scheme, entry.other_scheme}
        others = [s for s in schemes_of(entry.language) if s not in stored]
        text, relevant = name_query(entry, rng.choice(others))
        result.append(Query("other transliteration", text, relevant))
    return result


# -- measuring ------------------------------------------------------------------------------


def percentiles(samples: Sequence[float]) -> tuple[float, float, float]:
    """p50, p95 and p99 of samples, in the samples' unit."""
    if len(samples) < 2:
        value = samples[0] if samples else 0.0
        return value, value, value
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return cuts[49], cuts[94], cuts[98]


def rss_mib() -> float:
    """The process's resident set size in MiB (Linux)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return float("nan")
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


@dataclass(frozen=True, slots=True)
class ClassResult:
    """The figures of one query class: how many queries, latency percentiles, top-5 hit rate."""

    kind: str
    queries: int
    p50: float
    p95: float
    p99: float
    hit_rate: float
    """The share of queries (0-1) with a right answer among the first five hits."""
    misses: tuple[str, ...] = ()
    strict_rate: float | None = None
    """For typos: the share with the very entry the typo was made from among the five."""
    cpu_p95: float | None = None
    """p95 of the CPU time the search thread spent (ms): latency less the waits for a CPU
    that other processes hold."""


@dataclass(slots=True)
class CorpusResult:
    """One corpus measured on the in-memory index."""

    name: str
    documents: int
    vocabulary: int
    build_s: float
    memory_mib: float
    classes: list[ClassResult]
    overall: tuple[float, float, float]


def _summarize(
    timings: dict[str, list[float]],
    found: dict[str, list[bool]],
    misses: dict[str, list[str]],
    strict: dict[str, list[bool]],
) -> tuple[list[ClassResult], tuple[float, float, float]]:
    classes = []
    for kind, samples in timings.items():
        p50, p95, p99 = percentiles(samples)
        hits = found[kind]
        exact = strict.get(kind)
        classes.append(
            ClassResult(
                kind,
                len(hits),
                p50,
                p95,
                p99,
                sum(hits) / len(hits),
                tuple(misses.get(kind, ())),
                sum(exact) / len(exact) if exact else None,
            )
        )
    return classes, percentiles([t for samples in timings.values() for t in samples])


def _judge(
    query: Query,
    slugs: list[str],
    found: dict[str, list[bool]],
    misses: dict[str, list[str]],
    strict: dict[str, list[bool]],
) -> None:
    hit = any(query.relevant(slug) for slug in slugs)
    found.setdefault(query.kind, []).append(hit)
    if not hit:
        misses.setdefault(query.kind, []).append(query.text)
    if query.strict is not None:
        meant = query.strict
        strict.setdefault(query.kind, []).append(any(meant(slug) for slug in slugs))


def run_queries(
    index: MemorialIndex, query_set: Sequence[Query], rounds: int
) -> tuple[list[ClassResult], tuple[float, float, float]]:
    """Each query ``rounds`` times on the index: per-class latency and top-5 hit rates."""
    for query in query_set[:: max(1, len(query_set) // 20)]:  # warm-up, not measured
        index.search(query.text, 5)
    timings: dict[str, list[float]] = {}
    found: dict[str, list[bool]] = {}
    misses: dict[str, list[str]] = {}
    strict: dict[str, list[bool]] = {}
    cpu: dict[str, list[float]] = {}
    for round_number in range(max(1, rounds)):
        for query in query_set:
            started, cpu_started = time.perf_counter(), time.thread_time()
            hits = index.search(query.text, 5)
            elapsed = (time.perf_counter() - started) * 1000
            cpu.setdefault(query.kind, []).append((time.thread_time() - cpu_started) * 1000)
            timings.setdefault(query.kind, []).append(elapsed)
            if round_number == 0:
                _judge(query, [h.slug for h in hits], found, misses, strict)
    classes, overall = _summarize(timings, found, misses, strict)
    for i, c in enumerate(classes):
        classes[i] = replace(c, cpu_p95=percentiles(cpu[c.kind])[1])
    return classes, overall


def build_index(documents: list[SearchDocument]) -> tuple[MemorialIndex, float, float]:
    """The index of ``documents``, the seconds it took, and the memory it holds in MiB (what
    Python allocated for it, traced in a second build: resident memory growth is blurred by
    memory freed earlier)."""
    gc.collect()
    tracemalloc.start()
    traced = MemorialIndex(documents)
    memory = tracemalloc.get_traced_memory()[0] / 2**20
    tracemalloc.stop()
    del traced
    gc.collect()
    started = time.perf_counter()
    index = MemorialIndex(documents)
    return index, time.perf_counter() - started, memory


@dataclass(slots=True)
class Corpora:
    """Both synthetic corpora and their queries."""

    synthetic: Synthetic
    dataset: Dataset
    """The synthetic memorials with the curated dataset."""
    chronicle: list[ChronicleEntry]
    memorial_queries: list[Query]
    chronicle_queries: list[Query]


def make_corpora(memorials: int, chronicle: int, per_kind: int, seed: int = 1944) -> Corpora:
    """The synthetic memorials (with the curated dataset), the chronicle and their queries."""
    synthetic = generate(memorials, seed)
    curated = load_curated()
    dataset = Dataset(
        memorials=[*synthetic.dataset.memorials, *curated.memorials],
        people=[*synthetic.dataset.people, *curated.people],
        anniversaries=list(curated.anniversaries),
        events=list(curated.events),
    )
    entries = generate_chronicle(chronicle, seed + 1)
    return Corpora(
        synthetic,
        dataset,
        entries,
        memorial_queries(synthetic, per_kind),
        chronicle_queries(entries, per_kind),
    )


def measure_indexes(corpora: Corpora, rounds: int) -> list[CorpusResult]:
    """Both corpora on in-memory indexes, each built from its search documents."""
    results = []
    for name, documents, query_set in (
        (
            "memorials",
            documents_from(corpora.dataset.memorials, corpora.dataset.people),
            corpora.memorial_queries,
        ),
        (
            "chronicle",
            chronicle_documents(entry.row() for entry in corpora.chronicle),
            corpora.chronicle_queries,
        ),
    ):
        index, build, memory = build_index(documents)
        del documents
        classes, overall = run_queries(index, query_set, rounds)
        results.append(
            CorpusResult(name, len(index), index.vocabulary_size, build, memory, classes, overall)
        )
    return results


HEADER = (
    f"{'class':34} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'cpu p95':>8} "
    f"{'top-5 hit':>10}"
)


def _row(c: ClassResult) -> str:
    strict = "" if c.strict_rate is None else f"  (the very entry: {100 * c.strict_rate:.1f}%)"
    cpu = "" if c.cpu_p95 is None else f"{c.cpu_p95:.2f}"
    return (
        f"  {c.kind:32} {c.queries:5} {c.p50:8.2f} {c.p95:8.2f} {c.p99:8.2f} {cpu:>8} "
        f"{100 * c.hit_rate:9.1f}%{strict}"
    )


def print_corpus(result: CorpusResult, *, show_misses: int = 0) -> None:
    """One corpus's figures as a table."""
    print(
        f"\n== {result.name}: in-memory index ==\n"
        f"index build       {result.build_s * 1000:8.0f} ms  ({result.documents:,} documents, "
        f"{result.vocabulary:,} distinct words, {result.memory_mib:.0f} MiB allocated)"
    )
    print(HEADER)
    for c in result.classes:
        print(_row(c))
        for text in c.misses[:show_misses]:
            print(f"      missed: {text}")
    p50, p95, p99 = result.overall
    print(f"  {'all queries':32} {'':5} {p50:8.2f} {p95:8.2f} {p99:8.2f}")


async def measure_database(
    name: str,
    url: str,
    dataset: Dataset,
    *,
    query_set: list[Query],
    points: list[GeoPoint],
    rounds: int,
) -> None:
    """Memorials through the core on one database: import, index build, queries, nearest."""
    print(f"\n== memorials: {name}, through the core ==", flush=True)
    app: App = await open_app(Settings(database_url=url), seed=False)
    try:
        started = time.perf_counter()
        report = await app.store.import_dataset(dataset)
        print(f"import            {time.perf_counter() - started:8.1f} s   ({report.summary()})")
        before = rss_mib()
        started = time.perf_counter()
        index = await app.core.index()
        build = time.perf_counter() - started
        print(
            f"index build       {build * 1000:8.0f} ms  ({len(index):,} memorials, "
            f"{index.vocabulary_size:,} distinct words, resident memory +{rss_mib() - before:.0f}"
            " MiB)"
        )
        source = app.core.memorials
        checks = []
        for _ in range(20):
            started = time.perf_counter()
            await source.search_version()  # type: ignore[attr-defined]
            checks.append((time.perf_counter() - started) * 1000)
        print(
            f"version check     p50 {statistics.median(checks):6.2f} ms "
            "(in the background, at most every 10 s)"
        )
        for query in query_set[:: max(1, len(query_set) // 20)]:  # warm-up, not measured
            await app.core.search_memorials(query.text, 5)
        timings: dict[str, list[float]] = {}
        found: dict[str, list[bool]] = {}
        strict: dict[str, list[bool]] = {}
        for round_number in range(rounds):
            for query in query_set:
                started = time.perf_counter()
                hits = await app.core.search_memorials(query.text, 5)
                elapsed = (time.perf_counter() - started) * 1000
                timings.setdefault(query.kind, []).append(elapsed)
                if round_number == 0:
                    _judge(query, [h.memorial.slug for h in hits], found, {}, strict)
        classes, overall = _summarize(timings, found, {}, strict)
        print(HEADER)
        for c in classes:
            print(_row(c))
        p50, p95, p99 = overall
        print(f"  {'all queries':32} {'':5} {p50:8.2f} {p95:8.2f} {p99:8.2f}")
        near = []
        for point in points:
            started = time.perf_counter()
            await app.core.nearest_memorials(point, 5)
            near.append((time.perf_counter() - started) * 1000)
        p50, p95, p99 = percentiles(near)
        print(f"  {'nearest (5)':32} {len(near):5} {p50:8.2f} {p95:8.2f} {p99:8.2f}")
    finally:
        await app.close()


def _create_pg_database() -> str:
    name = f"cb_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    return f"{base}/{name}"


def _drop_pg_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def main_async(args: argparse.Namespace) -> None:
    """Generate, measure both corpora in memory, then the memorials on each database."""
    started = time.perf_counter()
    corpora = make_corpora(args.memorials, args.chronicle, args.per_kind, args.seed)
    print(
        f"generated {len(corpora.synthetic.dataset.memorials):,} synthetic memorials, "
        f"{len(corpora.synthetic.dataset.people):,} people (+ the curated dataset) and "
        f"{len(corpora.chronicle):,} chronicle entries in {time.perf_counter() - started:.1f} s; "
        f"{len(corpora.memorial_queries)} + {len(corpora.chronicle_queries)} queries x "
        f"{args.rounds} rounds; {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f}",
        flush=True,
    )
    for result in measure_indexes(corpora, args.rounds):
        print_corpus(result, show_misses=args.show_misses)
    print(f"\nload average now {os.getloadavg()[0]:.1f}", flush=True)
    rng = random.Random(45)
    points = [
        GeoPoint(rng.uniform(49.5, 51.5), rng.uniform(2.5, 6.4))
        if i % 2
        else GeoPoint(rng.uniform(53.0, 57.5), rng.uniform(30.0, 40.0))
        for i in range(args.points)
    ]
    if args.sqlite:
        with tempfile.TemporaryDirectory(prefix="cb-bench-") as directory:
            url = f"sqlite:///{directory}/bench.sqlite3"
            await measure_database(
                "SQLite",
                url,
                corpora.dataset,
                query_set=corpora.memorial_queries,
                points=points,
                rounds=args.rounds,
            )
    if args.postgres:
        url = _create_pg_database()
        try:
            await measure_database(
                "PostgreSQL",
                url,
                corpora.dataset,
                query_set=corpora.memorial_queries,
                points=points,
                rounds=args.rounds,
            )
        finally:
            _drop_pg_database(url)


def main(argv: Sequence[str] | None = None) -> None:
    """The benchmark's command line."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.search_bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--memorials", type=int, default=100_000, help="synthetic memorials")
    parser.add_argument("--chronicle", type=int, default=100_000, help="chronicle entries")
    parser.add_argument("--per-kind", type=int, default=200, help="queries of each class")
    parser.add_argument("--rounds", type=int, default=3, help="times each query is run")
    parser.add_argument("--points", type=int, default=300, help="nearest-memorial queries")
    parser.add_argument("--seed", type=int, default=1944)
    parser.add_argument(
        "--sqlite", action="store_true", help="also import the memorials into SQLite and search"
    )
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="also import the memorials into PostgreSQL and search through the core",
    )
    parser.add_argument(
        "--show-misses", type=int, default=0, help="print up to this many missed queries a class"
    )
    asyncio.run(main_async(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
