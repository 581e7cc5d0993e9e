"""Memorial search and nearest memorials, in memory: every matching rule with the seeds' own
examples, in both directions of script."""

from __future__ import annotations

import datetime as dt
import math
import random

import pytest

from bot.core.domain import GeoPoint
from bot.core.geo import distance_km
from bot.core.records import Dataset, check_references
from bot.core.search import (
    MIN_SCORE,
    MemorialIndex,
    SearchDocument,
    chronicle_documents,
    chronicle_search_text,
    documents_from,
    fold,
    is_search_text,
    memorial_search_text,
    parse_search_text,
    query_words,
    search_text,
    skeleton,
)
from bot.core.transfer import read_text
from tests.fakes.memory import fake_core

SEED_YAML = """
memorials:
  - slug: rebecq-national-memorial
    kind: monument
    names:
      en: National Memorial to the Soviet Armed Partisans in Belgium
      ru: Национальный мемориал советским вооружённым партизанам в Бельгии
      fr: Mémorial national aux Partisans armés soviétiques en Belgique
      nl: Nationaal Gedenkteken voor de Sovjet Gewapende Partizanen in België
      de: Nationale Gedenkstätte für die sowjetischen Bewaffneten Partisanen in Belgien
    address: Cimetière communal, Rebecq
    city: {en: Rebecq, ru: Ребек, fr: Rebecq, nl: Rebecq, de: Rebecq}
    country: BE
    lat: 50.665
    lon: 4.1322
    precision: town
    year: 2019
    sources: [{seed: 002_e1a59ee7d95aae50.txt}]
  - slug: gouvy-monument
    kind: monument
    names:
      en: Memorial to the Belgian Resistance and the Soviet partisans in Gouvy
      ru: Памятник бельгийскому Сопротивлению и советским партизанам в Гуви
      fr: Mémorial de la Résistance belge et des partisans soviétiques à Gouvy
      nl: Gedenkteken voor het Belgisch verzet en de Sovjetpartizanen in Gouvy
      de: Denkmal für den belgischen Widerstand und die sowjetischen Partisanen in Gouvy
    city: {en: Gouvy, ru: Гуви, fr: Gouvy, nl: Gouvy, de: Gouvy}
    country: BE
    lat: 50.1856
    lon: 5.9425
    precision: town
    sources: [{seed: 000_fa9671f599f18303.txt}]
  - slug: manhay-monument
    kind: monument
    names:
      en: Monument to the Soviet partisans in Manhay
      ru: Памятник советским партизанам в Мане
      fr: Monument aux partisans soviétiques à Manhay
      nl: Monument voor de Sovjetpartizanen in Manhay
      de: Denkmal für die sowjetischen Partisanen in Manhay
    aliases: [Mane]
    city: {en: Manhay, ru: Мане, fr: Manhay, nl: Manhay, de: Manhay}
    country: BE
    lat: 50.2914
    lon: 5.6592
    precision: town
    people: [alexei-gvozdarev, vil-kapustin]
    sources: [{seed: 000_fa9671f599f18303.txt}]
  - slug: liege-citadel-memorial
    kind: memorial
    names:
      en: Memorial of the Citadel of Liège
      ru: Мемориал Цитадели Льежа
      fr: Mémorial de la Citadelle de Liège
      nl: Gedenkteken van de Citadel van Luik
      de: Gedenkstätte der Zitadelle Lüttich
    city: {en: Liège, ru: Льеж, fr: Liège, nl: Luik, de: Lüttich}
    country: BE
    lat: 50.6426
    lon: 5.5748
    precision: site
    sources: [{seed: 003_f7dd72df6cf2def8.txt}]
  - slug: smolensk-scorched-flower-monument
    kind: monument
    names:
      en: Monument to the child prisoners of concentration camps “Scorched Flower”
      ru: Памятник детям — узникам концлагерей «Опалённый цветок»
    city: {en: Smolensk, ru: Смоленск}
    country: RU
    lat: 54.7826
    lon: 32.0453
    precision: town
    sources: [{seed: 004_339b51a6a4b5236e.txt}]
  - slug: vyazma-dulag-184-memorial
    kind: mass_grave
    names:
      en: Memorial at the site of Dulag-184
      ru: Мемориал на месте Дулага-184
      de: Gedenkstätte am Ort des Dulag 184
    city: {en: Vyazma, ru: Вязьма, de: Wjasma}
    country: RU
    lat: 55.2117
    lon: 34.2946
    precision: town
    sources: [{seed: 004_339b51a6a4b5236e.txt}]
people:
  - slug: alexei-gvozdarev
    names:
      en: Alexei Gvozdarev
      ru: Алексей Гвоздарев
      fr: Alexeï Gvozdarev
      nl: Aleksej Gvozdarev
      de: Alexei Gwosdarew
    sources: [{seed: 000_fa9671f599f18303.txt}]
  - slug: vil-kapustin
    names: {en: Vil Kapustin, ru: Вил Капустин, fr: Vil Kapoustine, nl: Vil Kapoestin}
    sources: [{seed: 000_fa9671f599f18303.txt}]
anniversaries:
  - slug: rebecq-memorial-unveiling-2019
    month: 10
    day: 12
    year: 2019
    kind: unveiling
    memorial: rebecq-national-memorial
    observed_in: [BE]
    title: {en: Unveiling of the National Memorial at Rebecq, ru: Открытие мемориала в Ребеке}
    sources: [{seed: 002_e1a59ee7d95aae50.txt}]
  - slug: victory-day
    month: 5
    day: 9
    year: 1945
    kind: commemoration_day
    title: {en: Victory Day, ru: День Победы}
    sources: [{ref: "Wikipedia (en): Victory Day (9 May)", url: "https://en.wikipedia.org/wiki/Victory_Day_(9_May)"}]
events:
  - slug: immortal-regiment-liege-2027
    starts_at: "2027-05-05T14:00:00+02:00"
    timezone: Europe/Brussels
    memorial: liege-citadel-memorial
    title: {en: Immortal Regiment in Liège, ru: Бессмертный полк в Льеже}
    sources: [{seed: 003_f7dd72df6cf2def8.txt}]
"""


def seed_dataset() -> Dataset:
    """A small dataset in the seeds' words, read through the import code."""
    dataset = Dataset()
    errors = read_text(SEED_YAML, "yaml", "seeds.yaml", into=dataset)
    errors += check_references(dataset)
    assert not errors, [str(e) for e in errors]
    return dataset


@pytest.fixture(scope="module")
def index() -> MemorialIndex:
    dataset = seed_dataset()
    return MemorialIndex(documents_from(dataset.memorials, dataset.people))


def first(index: MemorialIndex, query: str) -> str | None:
    hits = index.search(query, 5)
    return hits[0].slug if hits else None


# -- folding ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Liège", "liege"),
        ("LIÈGE", "liege"),
        ("Lüttich", "luttich"),
        ("Льеж", "lezh"),
        ("Вязьма", "vyazma"),
        ("Гвоздарёв", "gvozdarev"),
        ("Montignies-sur-Sambre", "montignies sur sambre"),
        ("  «Опалённый цветок»  ", "opalennyy tsvetok"),
        ("Dulag-184", "dulag 184"),
    ],
)
def test_fold_removes_script_case_diacritics_and_punctuation(text: str, folded: str) -> None:
    assert fold(text) == folded


@pytest.mark.parametrize(
    "spellings",
    [
        ("Gvozdarev", "Gvozdarew", "Gwosdarew", "Гвоздарев", "Гвоздарёв"),
        ("Vyazma", "Вязьма", "Wjasma", "Viazma"),
        ("Rebecq", "Ребек", "Rebek", "Rebeq"),
        ("Gouvy", "Гуви", "Gouvi"),
        ("Kapoustin", "Kapustin", "Капустин"),
        ("Tschechow", "Chekhov", "Tchekhov", "Tsjechov", "Чехов"),
        ("Schukow", "Zhukov", "Zjukov", "Жуков"),
        ("Alexey", "Alexei", "Aleksej", "Алексей"),
    ],
)
def test_skeleton_is_the_same_in_every_transliteration_scheme(spellings: tuple[str, ...]) -> None:
    keys = {" ".join(skeleton(word) for word in fold(s).split()) for s in spellings}
    assert len(keys) == 1, keys


def test_query_words_carry_russian_stems() -> None:
    assert query_words("Неизвестный солдат, Liège!") == [
        ("neisvestni", "neisvestn"),
        ("soldat", ""),
        ("liege", ""),
    ]
    assert query_words("Мемориал d'Ardenne Liège Liège") == [
        ("memorial", "memoria"),
        ("dardene", ""),
        ("liege", ""),
    ]


def test_russian_inflections_match() -> None:
    documents = [
        SearchDocument(
            "museum", 0, 0, search_text({"ru": "Музей Неизвестного солдата"}, [], {}, None)
        ),
        SearchDocument("square", 0, 0, search_text({"ru": "Сквер Памяти Героев"}, [], {}, None)),
    ]
    index = MemorialIndex(documents)
    assert [h.slug for h in index.search("Неизвестный солдат", 5)] == ["museum"]
    assert [h.slug for h in index.search("память героям", 5)] == ["square"]
    # The stored inflection itself still scores best.
    same = index.search("Неизвестного солдата", 1)[0].score
    assert same > index.search("Неизвестный солдат", 1)[0].score >= 85


def test_search_text_lists_fields_once_in_order() -> None:
    text = search_text(
        {"en": "Memorial in Liège", "fr": "Mémorial à Liège"},
        ["Liège", "Luik"],
        {"en": "Liège", "ru": "Льеж"},
        "Parc de la Citadelle, 4000 Liège",
        [({"en": "Alexei Gvozdarev", "ru": "Алексей Гвоздарев"}, ["Gvozdarew"])],
    )
    assert list(parse_search_text(text)) == [
        ("n", "memorial in liege"),
        ("n", "memorial a liege"),
        ("n", "liege"),
        ("n", "luik"),
        ("p", "alexei gvozdarev"),
        ("p", "aleksey gvozdarev"),
        ("p", "gvozdarew"),
        ("c", "lezh"),
        ("a", "parc de la citadelle 4000 liege"),
    ]
    assert is_search_text(text)
    assert not is_search_text("memorial in liege luik")
    assert not is_search_text("")


def test_memorial_search_text_takes_people_aliases() -> None:
    dataset = seed_dataset()
    manhay = next(m for m in dataset.memorials if m.slug == "manhay-monument")
    text = memorial_search_text(manhay, dataset.people)
    assert "p alexei gwosdarew" in text.splitlines()
    assert "p vil kapoestin" in text.splitlines()


# -- matching rules, with the seeds' examples ---------------------------------------------------


@pytest.mark.parametrize(
    ("query", "slug"),
    [
        # names in every language, and cities in every language
        ("Liège", "liege-citadel-memorial"),
        ("Liege", "liege-citadel-memorial"),
        ("LIEGE", "liege-citadel-memorial"),
        ("Luik", "liege-citadel-memorial"),
        ("Lüttich", "liege-citadel-memorial"),
        ("Luettich", "liege-citadel-memorial"),
        ("Льеж", "liege-citadel-memorial"),
        ("Citadelle de Liège", "liege-citadel-memorial"),
        ("Цитадель Льежа", "liege-citadel-memorial"),
        ("Rebecq", "rebecq-national-memorial"),
        ("Ребек", "rebecq-national-memorial"),
        ("Smolensk", "smolensk-scorched-flower-monument"),
        ("Смоленск", "smolensk-scorched-flower-monument"),
        ("Scorched Flower", "smolensk-scorched-flower-monument"),
        ("Опалённый цветок", "smolensk-scorched-flower-monument"),
        ("Opalennyi tsvetok", "smolensk-scorched-flower-monument"),
        ("Vyazma", "vyazma-dulag-184-memorial"),
        ("Вязьма", "vyazma-dulag-184-memorial"),
        ("Wjasma", "vyazma-dulag-184-memorial"),
        ("Dulag-184", "vyazma-dulag-184-memorial"),
        ("Gouvy", "gouvy-monument"),
        ("Гуви", "gouvy-monument"),
        ("Manhay", "manhay-monument"),
        ("Мане", "manhay-monument"),
        ("Mane", "manhay-monument"),
        # the people commemorated, in every transliteration
        ("Gvozdarev", "manhay-monument"),
        ("Gvozdarew", "manhay-monument"),
        ("Gwosdarew", "manhay-monument"),
        ("Гвоздарев", "manhay-monument"),
        ("Алексей Гвоздарёв", "manhay-monument"),
        ("Kapustin", "manhay-monument"),
        ("Kapoustine", "manhay-monument"),
        ("Капустин", "manhay-monument"),
        # addresses
        ("Cimetière communal", "rebecq-national-memorial"),
        # typos of a letter or two, the seeds' own misspellings among them
        ("Gouvey", "gouvy-monument"),
        ("Manet", "manhay-monument"),
        ("Rebeq", "rebecq-national-memorial"),
        ("Rebecque", "rebecq-national-memorial"),
        ("Smolesnk", "smolensk-scorched-flower-monument"),
        ("Gvozdraev", "manhay-monument"),
        ("Vjazma", "vyazma-dulag-184-memorial"),
        # Russian inflections, either way
        ("в Смоленске", "smolensk-scorched-flower-monument"),
        ("Льежа", "liege-citadel-memorial"),
        ("Вязьме", "vyazma-dulag-184-memorial"),
        ("Гвоздареву", "manhay-monument"),
        ("Капустина", "manhay-monument"),
        ("Опалённые цветки", "smolensk-scorched-flower-monument"),
        ("памятник бельгийского сопротивления", "gouvy-monument"),
        # prefixes, and several words spread over fields
        ("Smol", "smolensk-scorched-flower-monument"),
        ("Gvozd", "manhay-monument"),
        ("Gvozdarev Manhay", "manhay-monument"),
        ("Soviet partisans Gouvy", "gouvy-monument"),
    ],
)
def test_query_finds_memorial_first(index: MemorialIndex, query: str, slug: str) -> None:
    assert first(index, query) == slug, index.search(query, 5)


def test_scores_are_0_to_100_best_first(index: MemorialIndex) -> None:
    hits = index.search("Soviet partisans", 10)
    assert len(hits) >= 3
    scores = [hit.score for hit in hits]
    assert scores == sorted(scores, reverse=True)
    assert all(MIN_SCORE <= score <= 100 for score in scores)


def test_exact_beats_typo_beats_prefix(index: MemorialIndex) -> None:
    exact = index.search("Mane", 1)[0].score
    typo = index.search("Manet", 1)[0].score
    prefix = index.search("Man", 1)[0].score
    assert exact == 100.0
    assert MIN_SCORE <= prefix < typo < exact
    assert MIN_SCORE <= index.search("Gouvey", 1)[0].score < index.search("Gouvy", 1)[0].score
    # Another script or spelling of the same name is no worse than the name itself.
    assert index.search("Vyazma", 1)[0].score == index.search("Вязьма", 1)[0].score
    assert index.search("Gvozdarev", 1)[0].score == index.search("Gwosdarew", 1)[0].score


def test_city_match_ranks_below_name_match() -> None:
    documents = [
        SearchDocument(
            "a-city-only", 0, 0, search_text({"en": "Memorial"}, [], {"en": "Namur"}, None)
        ),
        SearchDocument("b-named", 0, 0, search_text({"en": "Namur"}, [], {"en": "Namen"}, None)),
    ]
    hits = MemorialIndex(documents).search("Namur", 5)
    assert [h.slug for h in hits] == ["b-named", "a-city-only"]
    assert hits[0].score > hits[1].score


@pytest.mark.parametrize(
    ("query", "stored"),
    [
        # Latin query, Cyrillic-only data
        ("Smolensk", "Смоленск"),
        ("Vyazma", "Вязьма"),
        ("Kapustin", "Капустин"),
        ("Gvozdarew", "Гвоздарев"),
        # Cyrillic query, Latin-only data
        ("Смоленск", "Smolensk"),
        ("Гвоздарев", "Gwosdarew"),
        ("Капустин", "Kapoustine"),
        ("Ребек", "Rebecq"),
        ("Вязьма", "Wjasma"),
    ],
)
def test_both_directions_of_script(query: str, stored: str) -> None:
    documents = [
        SearchDocument("target", 0, 0, search_text({"xx": stored}, [], {}, None)),
        SearchDocument("other", 0, 0, search_text({"xx": "Bruxelles"}, [], {}, None)),
    ]
    hits = MemorialIndex(documents).search(query, 5)
    assert [h.slug for h in hits] == ["target"]


def test_nothing_matches_gibberish(index: MemorialIndex) -> None:
    assert index.search("Zzyzx", 5) == []
    assert index.search("", 5) == []
    assert index.search("!!!", 5) == []
    assert index.search("Liège", 0) == []


def test_limit_and_ties_by_slug() -> None:
    documents = [
        SearchDocument(f"memorial-{n}", 0, 0, search_text({"en": "Namur"}, [], {}, None))
        for n in (3, 1, 2)
    ]
    hits = MemorialIndex(documents).search("namur", 2)
    assert [h.slug for h in hits] == ["memorial-1", "memorial-2"]


def test_empty_index() -> None:
    index = MemorialIndex([])
    assert len(index) == 0
    assert index.search("Liège", 5) == []
    assert index.nearest(GeoPoint(50.0, 4.0), 5) == []


# -- nearest --------------------------------------------------------------------------------


def test_nearest_orders_by_great_circle_distance(index: MemorialIndex) -> None:
    hits = index.nearest(GeoPoint(50.66, 4.13), 3)
    assert [h.slug for h in hits] == [
        "rebecq-national-memorial",
        "liege-citadel-memorial",
        "manhay-monument",
    ]
    assert hits[0].distance_km is not None and hits[0].distance_km < 1.0
    distances = [h.distance_km for h in hits]
    assert distances == sorted(distances)  # type: ignore[type-var]
    far = index.nearest(GeoPoint(54.78, 32.05), 1)[0]
    assert far.slug == "smolensk-scorched-flower-monument"


def _brute_force(points: list[tuple[str, float, float]], at: GeoPoint, limit: int) -> list[str]:
    ranked = sorted((distance_km(at, GeoPoint(lat, lon)), slug) for slug, lat, lon in points)
    return [slug for _, slug in ranked[:limit]]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_nearest_agrees_with_brute_force_everywhere(seed: int) -> None:
    rng = random.Random(seed)
    points = []
    for n in range(3000):
        if n % 3:  # dense clusters, as memorials are
            lat, lon = rng.gauss(50.5, 1.0), rng.gauss(4.5, 1.5)
        else:
            lat, lon = math.degrees(math.asin(rng.uniform(-1, 1))), rng.uniform(-180, 180)
        points.append((f"p-{n:05d}", max(-90.0, min(90.0, lat)), lon))
    index = MemorialIndex(SearchDocument(s, lat, lon, "") for s, lat, lon in points)
    probes = [
        GeoPoint(50.6, 4.1),
        GeoPoint(89.9, 10.0),
        GeoPoint(-89.5, -170.0),
        GeoPoint(0.0, 179.9),
        GeoPoint(10.0, -179.95),
        GeoPoint(-40.0, 120.0),
    ]
    probes += [GeoPoint(rng.uniform(-90, 90), rng.uniform(-180, 180)) for _ in range(30)]
    for probe in probes:
        for limit in (1, 5, 25):
            got = [h.slug for h in index.nearest(probe, limit)]
            assert got == _brute_force(points, probe, limit), (probe, limit)


# -- through the core -------------------------------------------------------------------------


async def test_core_search_and_nearest_over_fake_repositories() -> None:
    core = fake_core(seed_dataset(), now=dt.datetime(2026, 5, 9, tzinfo=dt.UTC))
    hits = await core.search_memorials("Gwosdarew", 3)
    assert [h.memorial.slug for h in hits] == ["manhay-monument"]
    assert hits[0].memorial.names["ru"].startswith("Памятник")
    assert 60 <= hits[0].score <= 100
    near = await core.nearest_memorials(GeoPoint(50.64, 5.57), 2)
    assert [h.memorial.slug for h in near] == ["liege-citadel-memorial", "manhay-monument"]
    assert near[0].distance_km is not None and near[0].distance_km < 1
    assert near[1].distance_km is not None and 35 < near[1].distance_km < 45
    assert await core.search_memorials("Zzyzx") == []
    index = await core.index()
    assert await core.index() is index
    core.invalidate_index()
    assert await core.index() is not index


# -- the people's chronicle -------------------------------------------------------------------


def test_chronicle_search_text_names_and_unit() -> None:
    text = chronicle_search_text("Алексей Гвоздарев", "Alexei Gwosdarew", "6-я гвардейская армия")
    assert list(parse_search_text(text)) == [
        ("n", "aleksey gvozdarev"),
        ("n", "alexei gwosdarew"),
        ("a", "6 ya gvardeyskaya armiya"),
    ]
    assert is_search_text(text)
    assert chronicle_search_text("Vil Kapustin") == "n vil kapustin"
    # The same spelling twice is one term.
    assert chronicle_search_text("Vil Kapustin", "VIL KAPUSTIN", "") == "n vil kapustin"


def test_chronicle_documents_have_no_position() -> None:
    documents = chronicle_documents(
        [
            ("c-1", "Алексей Гвоздарев", None, None),
            ("c-2", "Vil Kapoustine", "Вил Капустин", "partisans of Manhay"),
        ]
    )
    assert documents[0] == SearchDocument("c-1", 0.0, 0.0, "n aleksey gvozdarev")
    assert documents[1].slug == "c-2"
    assert (documents[1].lat, documents[1].lon) == (0.0, 0.0)
    assert "a partisans of manhay" in documents[1].search_text.splitlines()


@pytest.fixture(scope="module")
def chronicle() -> MemorialIndex:
    return MemorialIndex(
        chronicle_documents(
            [
                ("gvozdarev", "Гвоздарев Алексей Иванович", "Alexei Gvozdarev", None),
                ("kapustin", "Vil Kapoustine", None, "Partisans of the Ardennes"),
                ("ivanov", "Иван Петрович Иванов", None, "145-й стрелковый полк"),
                ("ivanova", "Ivanova Anna", None, None),
                ("shevchenko", "Taras Shevchenko", "Тарас Шевченко", None),
                ("ardennes", "Piotr Ardennov", None, None),
            ]
        )
    )


@pytest.mark.parametrize(
    ("query", "key"),
    [
        # "Гвоздарев, Gvozdarev and Gwosdarew meet"
        ("Гвоздарев", "gvozdarev"),
        ("Gvozdarev", "gvozdarev"),
        ("Gwosdarew", "gvozdarev"),
        ("Алексей Гвоздарев", "gvozdarev"),
        ("Kapustin", "kapustin"),
        ("Капустин", "kapustin"),
        ("Вил Капустин", "kapustin"),
        ("Iwanow", "ivanov"),
        ("Ivan Ivanov", "ivanov"),
        ("Иванова", "ivanova"),
        ("Schewtschenko", "shevchenko"),
        ("Shevch", "shevchenko"),
        ("Шевч", "shevchenko"),
        ("Gvoz", "gvozdarev"),
    ],
)
def test_chronicle_finds_people_in_any_script(
    chronicle: MemorialIndex, query: str, key: str
) -> None:
    assert first(chronicle, query) == key, chronicle.search(query, 5)


def test_chronicle_unit_weighs_less_than_a_name(chronicle: MemorialIndex) -> None:
    hits = chronicle.search("Ardennes", 5)
    assert [h.slug for h in hits][:1] == ["ardennes"] or hits[0].slug == "kapustin"
    unit = next(h for h in hits if h.slug == "kapustin")
    assert unit.score < 100
    assert first(chronicle, "стрелковый полк") == "ivanov"


# -- at scale: what the chronicle and Discord's autocomplete need -----------------------------


def _names(*names: str) -> MemorialIndex:
    return MemorialIndex(
        SearchDocument(f"d{n}-{fold(name).replace(' ', '-')}", 0, 0, chronicle_search_text(name))
        for n, name in enumerate(names)
    )


def _first_name(index: MemorialIndex, query: str) -> str:
    hits = index.search(query, 5)
    assert hits, query
    return hits[0].slug.split("-", 1)[1]


@pytest.mark.parametrize(
    "spellings",
    [
        ("Fjodor", "Fiodor", "Fedor", "Фёдор"),
        ("Pjotr", "Piotr", "Petr", "Пётр"),
        ("Semjon", "Semion", "Semen", "Семён"),
    ],
)
def test_yo_is_e_in_every_scheme(spellings: tuple[str, ...]) -> None:
    assert len({skeleton(fold(s)) for s in spellings}) == 1


@pytest.mark.parametrize(
    ("query", "stored"),
    [
        ("Chevtchenko", "Шевченко"),  # French ch is ш
        ("Jefouine", "Жефуин"),  # French j is ж
        ("Zhefuin", "Jefouine"),
        ("Selenski", "Зеленский"),  # German s is з ...
        ("Zaretski", "Царецкий"),  # ... and z is ц
        ("Kapoestin", "Kapustin"),  # Dutch oe is у
        ("Hryhorii", "Григорий"),  # Ukrainian h is г
        ("Honcharenko", "Гончаренко"),
    ],
)
def test_other_nations_readings(query: str, stored: str) -> None:
    index = _names(stored, "Иван Петров", "Pavel Sidorov")
    assert _first_name(index, query) == fold(stored).replace(" ", "-")


def test_what_was_typed_outranks_a_transliteration_twin() -> None:
    # ш and щ have the same skeleton; the letters typed decide.
    index = _names("Шоев", "Shchoev")
    assert _first_name(index, "Щоев") == "shchoev"
    assert _first_name(index, "Шоев") == "shoev"


@pytest.mark.parametrize(
    ("query", "want"),
    [
        ("Смол", "smolensk"),  # a Cyrillic prefix of a town stored in Latin ...
        ("Smol", "smolensk"),
        ("Вязь", "vyazma"),  # ... and of one stored in Cyrillic
        ("Raf", "rafalov"),  # not "Raaw", whose skeleton is "rav" as a finished "Raf" would be
        ("Пигом", "pigomovo"),  # a town being typed, not an inflection of "Пигиев"
        ("Щус", "shchusovo"),  # three letters typed, not the six of "shchus"
        ("Shc", "shchukin"),  # a prefix ending inside a letter group ("shk" as a skeleton)
    ],
)
def test_prefixes_as_discord_autocomplete_sends_them(query: str, want: str) -> None:
    index = _names(
        "Smolensk",
        "Вязьма",
        "Rafalov",
        "Raaw",
        "Pigomovo",
        "Пигиев",
        "Shchusovo",
        "Schuez",
        "Shchukin",
        "Schukow",
    )
    assert _first_name(index, query) == want


def test_common_words_complete_a_prefix_last() -> None:
    documents = [
        SearchDocument(f"m{n:03d}", 0, 0, search_text({"en": f"Monument in Town{n}"}, [], {}, None))
        for n in range(80)
    ]
    documents.append(
        SearchDocument(
            "monville", 0, 0, search_text({"en": "Memorial"}, [], {"en": "Monville"}, None)
        )
    )
    hits = MemorialIndex(documents).search("Mon", 5)
    assert hits[0].slug == "monville"


@pytest.mark.parametrize(
    ("query", "want"),
    [
        ("Gvozdraev", "gvozdarev"),
        ("Gvozdrajev", "gvozdarev"),  # two edits and a German j
        ("Schevtschneko", "shevchenko"),  # two edits in another nation's spelling
        ("Kapustni", "kapustin"),
    ],
)
def test_misspelled_surnames(query: str, want: str) -> None:
    index = _names("Khiuk", "Kiuk", "Gvozdarev", "Gvozdikov", "Shevchenko", "Kapustin", "Kaputin")
    assert _first_name(index, query) == want


def test_a_typo_in_the_stored_spelling() -> None:
    # One edit from "Khiuk" as written, two between the skeletons ("kriuk", "hiuk").
    index = _names("Khiuk", "Kiuk", "Kapustin")
    assert {h.slug.split("-", 1)[1] for h in index.search("Kriuk", 5)} == {"khiuk", "kiuk"}


def test_two_errors_in_a_long_name_make_a_shorter_word() -> None:
    # "Trasoa" (six letters) is "Tarasova" with two letters dropped: two errors are allowed
    # because the name has seven letters or more, though the typo has fewer.
    index = _names("Tarasova", "Kapustin")
    assert _first_name(index, "Trasoa") == "tarasova"


def test_a_swap_is_one_error_and_the_spelling_typed_comes_first() -> None:
    # "Kapsutin" is one error (a swap) from "Kapustin" as written; "Capsuin" is a letter away
    # only through the skeletons ("kapsuin"), two errors as written.
    index = _names("Capsuin", "Kapustin")
    assert _first_name(index, "Kapsutin") == "kapustin"


@pytest.mark.parametrize(
    ("query", "want"),
    [
        ("Chazeeeev", "chazebeev"),  # "eee" collapses to the skeleton of Chaseiov
        ("Zzohouk", "zozhouk"),  # "zz" to the skeleton of Sochouk
        ("Wuuiow", "wutiow"),  # "uu" to the skeleton of Vuev
    ],
)
def test_a_letter_no_spelling_doubles_doubled_is_a_typo(query: str, want: str) -> None:
    index = _names("Chazebeev", "Chaseiov", "Zozhouk", "Sochouk", "Wutiow", "Vuev")
    assert _first_name(index, query) == want


def test_two_errors_in_a_long_name_in_a_spelling_not_stored() -> None:
    # "Dosejtsjaskij" is the Dutch "Doesjtsjaskij" with two errors; only the English
    # "Dushchaskiy" is stored, and the skeletons are three edits apart.
    index = _names("Dushchaskiy", "Deshchaskiy", "Kapustin")
    assert _first_name(index, "Dosejtsjaskij") == "dushchaskiy"


def test_a_typo_that_is_another_word_still_finds_the_meant_one() -> None:
    # "Gouvey" is a word of the index; Gouvy, one edit away, is still found.
    index = _names("Gouvey", "Gouvy")
    assert {h.slug.split("-", 1)[1] for h in index.search("Gouvey", 5)} == {"gouvey", "gouvy"}


def test_common_given_name_and_common_surname_find_the_person() -> None:
    names = [f"Pavel Zzz{n}" for n in range(4500)]
    names += [f"Ivan Timofeev {n}" for n in range(4500)]
    names.append("Павел Тимофеев")
    index = _names(*names)
    assert index.search("Pavel Timofeev", 1)[0].slug.endswith("pavel-timofeev")
    assert index.search("Pavel Timofeew", 1)[0].slug.endswith("pavel-timofeev")


def test_a_rare_name_among_common_words_picks_the_candidates() -> None:
    documents = [
        SearchDocument(
            f"g{n:04d}", 0, 0, search_text({"en": f"Grave of Yuriy Bya{n}"}, [], {}, None)
        )
        for n in range(5000)
    ]
    documents.append(
        SearchDocument("byaev", 0, 0, search_text({"en": "Grave of Yuriy Byaev"}, [], {}, None))
    )
    assert MemorialIndex(documents).search("Grave of Yuriy Byaev", 1)[0].slug == "byaev"


def test_readings_meet_skeletons_not_each_other() -> None:
    # "Pchaov" read as French is Пшаов, "Pjaov" read as French Пжаов: the same skeleton, but
    # neither is how the other is written; "Pichaov", one letter away as written, comes first.
    index = _names("Pjaov", "Pichaov")
    assert _first_name(index, "Pchaov") == "pichaov"
