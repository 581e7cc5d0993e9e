"""Memorial search at scale: 100,000 synthetic memorials on SQLite and on PostgreSQL.

Run ``python -m bench.search_bench`` (``--help`` for options). It generates memorials in five
languages (synthetic Belgian and Russian towns, Soviet soldiers' names transliterated in the
English, German, French and Dutch ways, misspellings as aliases; every slug starts with
``synthetic-``), adds the curated dataset, imports everything through the real import path
into a fresh SQLite file and into a PostgreSQL database it creates and drops itself, then
measures, through ``Core`` (the index and the database lookup of the hits):

- the import time, the index build time and the memory it takes (resident set growth);
- search latency per query kind (exact name, town, typos, Cyrillic, person names in other
  transliterations, prefixes, the seeds' own examples): p50, p95, p99, and how often a right
  answer is in the first five (a sanity check, not a quality study);
- nearest-memorial latency for random points in Belgium and western Russia;
- the cost of the version check that lets a running bot see another process's import (it runs
  in the background, off the query path).

It measures and reports; it asserts nothing about wall-clock time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from bot.app import App, open_app
from bot.config import Settings
from bot.core.domain import (
    GeoPoint,
    Memorial,
    MemorialKind,
    Person,
    PersonRef,
    Precision,
    ScoredMemorial,
    Source,
)
from bot.core.records import Dataset
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
    },
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


def _people(rng: random.Random, count: int) -> list[Person]:
    people: list[Person] = []
    seen: set[str] = set()
    while len(people) < count:
        surname = _cyrillic_word(rng, rng.choice((1, 2, 2, 3))) + rng.choice(RU_SURNAME_END)
        surname = surname.capitalize()
        first = rng.choice(FIRST_NAMES)
        full = f"{first} {surname}"
        if full in seen:
            continue
        seen.add(full)
        names = {code: transliterate(full, code) for code in ("en", "fr", "nl", "de")}
        names["ru"] = full
        spellings = {transliterate(surname, code) for code in ("en", "fr", "nl", "de")}
        aliases = (*sorted(spellings), surname, f"{names['en'][0]}. {transliterate(surname, 'en')}")
        people.append(
            Person(
                slug=f"synthetic-person-{len(people) + 1:06d}",
                names=names,
                aliases=aliases,
                sources=SOURCE,
                born=rng.choice((None, rng.randint(1900, 1926))),
            )
        )
    return people


def _misspell(rng: random.Random, word: str) -> str:
    """One letter dropped, doubled or replaced, away from the first letter."""
    if len(word) < 5:
        return word
    i = rng.randrange(1, len(word) - 1)
    action = rng.choice(("drop", "double", "replace"))
    if action == "drop":
        return word[:i] + word[i + 1 :]
    if action == "double":
        return word[:i] + word[i] + word[i:]
    letter = rng.choice("aeioulnrst".replace(word[i].lower(), ""))
    return word[:i] + letter + word[i + 1 :]


def generate(count: int, seed: int = 1944) -> Synthetic:
    """``count`` synthetic memorials (and the people they commemorate), deterministic."""
    rng = random.Random(seed)
    towns = _towns(rng, max(50, count // 20))
    people = _people(rng, max(20, count // 5))
    kinds = list(KIND_WEIGHTS)
    weights = list(KIND_WEIGHTS.values())
    synthetic = Synthetic(Dataset(people=list(people)), towns, people)
    for number in range(1, count + 1):
        town = rng.choice(towns)
        kind = rng.choices(kinds, weights)[0]
        needs_person = kind in (MemorialKind.GRAVE, MemorialKind.PLAQUE)
        commemorated: list[Person] = []
        if needs_person or rng.random() < 0.15:
            commemorated = rng.sample(people, 1 if needs_person else rng.randint(1, 3))
        names = {}
        for code in LANGS:
            person = commemorated[0].names[code] if commemorated else ""
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


# -- queries --------------------------------------------------------------------------------

Relevant = Callable[[ScoredMemorial], bool]


@dataclass(frozen=True, slots=True)
class Query:
    """A query, its kind, and what counts as a right answer."""

    kind: str
    text: str
    relevant: Relevant


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


def queries(synthetic: Synthetic, per_kind: int, seed: int = 9) -> list[Query]:
    """A fixed set of queries of each kind, drawn from the generated data."""
    rng = random.Random(seed)
    memorials = synthetic.dataset.memorials
    with_people = [m for m in memorials if m.people]
    people = {p.slug: p for p in synthetic.dataset.people}
    result: list[Query] = []

    def in_town(town: Town) -> Relevant:
        return lambda hit: synthetic.town_of.get(hit.memorial.slug) is town

    def for_person(slug: str) -> Relevant:
        return lambda hit: slug in synthetic.people_of.get(hit.memorial.slug, ())

    def named(name: str) -> Relevant:
        return lambda hit: hit.memorial.names.get("en") == name

    for memorial in rng.sample(memorials, per_kind):
        result.append(Query("exact name", memorial.names["en"], named(memorial.names["en"])))
    towns = rng.sample(synthetic.towns, per_kind * 4)
    for town in towns[:per_kind]:
        result.append(Query("exact town", town.names["en"], in_town(town)))
    for town in towns[per_kind : 2 * per_kind]:
        result.append(Query("typo town", _misspell(rng, town.names["en"]), in_town(town)))
    for town in towns[2 * per_kind : 3 * per_kind]:
        result.append(Query("cyrillic town", town.names["ru"], in_town(town)))
    for town in towns[3 * per_kind :]:
        result.append(Query("prefix town", town.names["en"][:5], in_town(town)))
    sample = rng.sample(with_people, per_kind * 4)
    for i, memorial in enumerate(sample):
        person = people[memorial.people[0].slug]
        surname_ru = person.names["ru"].split(" ", 1)[1]
        if i < per_kind:
            text, kind = person.names["ru"].split(" ", 1)[1], "cyrillic person"
        elif i < 2 * per_kind:
            text, kind = transliterate(surname_ru, "de"), "person (de spelling)"
        elif i < 3 * per_kind:
            text, kind = person.names["fr"], "person full (fr)"
        else:
            text, kind = _misspell(rng, transliterate(surname_ru, "en")), "typo person"
        result.append(Query(kind, text, for_person(person.slug)))

    def starts(prefix: str) -> Relevant:
        return lambda hit: hit.memorial.slug.startswith(prefix)

    for text, prefix in SEED_QUERIES.items():
        result.append(Query("seed examples", text, starts(prefix)))
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


async def measure(
    name: str,
    url: str,
    dataset: Dataset,
    *,
    query_set: list[Query],
    points: list[GeoPoint],
    rounds: int,
) -> None:
    """Import, build the index, run the queries and print the figures for one database."""
    print(f"\n== {name} ==", flush=True)
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
        by_kind: dict[str, list[float]] = {}
        found: dict[str, list[bool]] = {}
        everything: list[float] = []
        for round_number in range(rounds):
            for query in query_set:
                started = time.perf_counter()
                hits = await app.core.search_memorials(query.text, 5)
                elapsed = (time.perf_counter() - started) * 1000
                by_kind.setdefault(query.kind, []).append(elapsed)
                everything.append(elapsed)
                if round_number == 0:
                    found.setdefault(query.kind, []).append(any(map(query.relevant, hits)))
        print(f"{'search':22} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'top-5 hit':>10}")
        for kind, samples in by_kind.items():
            p50, p95, p99 = percentiles(samples)
            rate = 100 * sum(found[kind]) / len(found[kind])
            print(f"  {kind:20} {len(samples):5} {p50:8.2f} {p95:8.2f} {p99:8.2f} {rate:9.0f}%")
        p50, p95, p99 = percentiles(everything)
        print(f"  {'all queries':20} {len(everything):5} {p50:8.2f} {p95:8.2f} {p99:8.2f}")
        near = []
        for point in points:
            started = time.perf_counter()
            await app.core.nearest_memorials(point, 5)
            near.append((time.perf_counter() - started) * 1000)
        p50, p95, p99 = percentiles(near)
        print(f"  {'nearest (5)':20} {len(near):5} {p50:8.2f} {p95:8.2f} {p99:8.2f}")
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
    """Generate, then measure on each database."""
    started = time.perf_counter()
    synthetic = generate(args.count, args.seed)
    curated = load_curated()
    dataset = Dataset(
        memorials=[*synthetic.dataset.memorials, *curated.memorials],
        people=[*synthetic.dataset.people, *curated.people],
        anniversaries=list(curated.anniversaries),
        events=list(curated.events),
    )
    query_set = queries(synthetic, args.per_kind)
    rng = random.Random(45)
    points = [
        GeoPoint(rng.uniform(49.5, 51.5), rng.uniform(2.5, 6.4))
        if i % 2
        else GeoPoint(rng.uniform(53.0, 57.5), rng.uniform(30.0, 40.0))
        for i in range(args.points)
    ]
    print(
        f"generated {len(synthetic.dataset.memorials):,} synthetic memorials and "
        f"{len(synthetic.dataset.people):,} people (+ the curated dataset: "
        f"{len(curated.memorials)} memorials) in {time.perf_counter() - started:.1f} s; "
        f"{len(query_set)} queries x {args.rounds} rounds, {len(points)} nearest points; "
        f"{os.cpu_count()} CPUs"
    )
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory(prefix="cb-bench-") as directory:
            url = f"sqlite:///{directory}/bench.sqlite3"
            await measure(
                "SQLite", url, dataset, query_set=query_set, points=points, rounds=args.rounds
            )
    if not args.skip_postgres:
        url = _create_pg_database()
        try:
            await measure(
                "PostgreSQL", url, dataset, query_set=query_set, points=points, rounds=args.rounds
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
    parser.add_argument("--count", type=int, default=100_000, help="synthetic memorials")
    parser.add_argument("--per-kind", type=int, default=40, help="queries of each kind")
    parser.add_argument("--rounds", type=int, default=3, help="times each query is run")
    parser.add_argument("--points", type=int, default=300, help="nearest-memorial queries")
    parser.add_argument("--seed", type=int, default=1944)
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-postgres", action="store_true")
    asyncio.run(main_async(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
