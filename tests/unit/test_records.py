"""Record validation: every field checked, every problem reported with its file, row and field."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from bot.core.domain import AnniversaryKind, EventStatus, MemorialKind, Precision
from bot.core.records import (
    Dataset,
    ImportReport,
    Origin,
    RecordError,
    check_duplicates,
    check_references,
    parse_anniversary,
    parse_event,
    parse_memorial,
    parse_person,
    parse_rows,
)


def memorial(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "slug": "gouvy-monument",
        "kind": "monument",
        "names": {"en": "Monument in Gouvy", "ru": "Памятник в Гуви"},
        "city": {"en": "Gouvy", "ru": "Гуви"},
        "country": "BE",
        "lat": 50.1856,
        "lon": 5.9425,
        "precision": "town",
        "sources": [{"seed": "000_fa9671f599f18303.txt"}],
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not ...}


def fields(errors: list[RecordError]) -> list[str]:
    return [error.field for error in errors]


def test_a_good_memorial_parses() -> None:
    record, errors = parse_memorial(
        memorial(aliases=["Gouvey", " Gouvey ", ""], year=1990, people=["alexei-gvozdarev"]),
        "m.yaml",
        1,
    )
    assert errors == []
    assert record.kind is MemorialKind.MONUMENT and record.precision is Precision.TOWN
    assert record.aliases == ("Gouvey",)
    assert [ref.slug for ref in record.people] == ["alexei-gvozdarev"]
    assert record.lat == 50.1856 and record.year == 1990


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"slug": "Gouvy Monument"}, "slug", "is not a slug"),
        ({"slug": "a" * 121}, "slug", "longer than 120"),
        ({"slug": ...}, "slug", "is required"),
        ({"kind": "statue"}, "kind", "unknown value 'statue'"),
        ({"names": {"en": "Monument"}}, "names.ru", "is required"),
        ({"names": ...}, "names", "is required"),
        ({"names": "Monument"}, "names", "must map language codes to text"),
        ({"names": {"en": "A", "ru": "Б", "es": "C"}}, "names.es", "unknown language code"),
        ({"names": {"en": "A", "ru": 5}}, "names.ru", "must be text"),
        ({"country": "XX"}, "country", "not an ISO 3166-1"),
        ({"country": "BEL"}, "country", "not an ISO 3166-1"),
        ({"lat": 91}, "lat", "outside -90..90"),
        ({"lon": -180.5}, "lon", "outside -180..180"),
        ({"lat": "north"}, "lat", "is not a number"),
        ({"lat": True}, "lat", "must be a number"),
        ({"lat": float("nan")}, "lat", "outside"),
        ({"lon": ...}, "lon", "is required"),
        ({"precision": "exact"}, "precision", "unknown value"),
        ({"year": 1944.5}, "year", "not a whole number"),
        ({"year": 3000}, "year", "outside 1000..2100"),
        ({"aliases": "Gouvey"}, "aliases", "must be a list of text"),
        ({"aliases": ["Gouvey", 7]}, "aliases", "is not text"),
        ({"people": ["Alexei Gvozdarev"]}, "people", "is not a slug"),
        ({"address": 12}, "address", "must be text, not int"),
        ({"sources": []}, "sources", "at least one source"),
        ({"sources": [{"note": "x"}]}, "sources[0]", "needs a seed, a ref or a url"),
        ({"sources": [{"ref": "R", "page": 3}]}, "sources[0].page", "unknown field"),
        ({"sources": [{"url": "ftp://example.org"}]}, "sources[0].url", "http or https"),
        ({"nmes": {"en": "typo"}}, "nmes", "unknown field"),
    ],
)
def test_each_memorial_field_is_checked(changes: dict[str, Any], field: str, message: str) -> None:
    _, errors = parse_memorial(memorial(**changes), "memorials.yaml", 4, 17)
    matching = [e for e in errors if e.field == field]
    assert matching, [str(e) for e in errors]
    assert message in matching[0].message
    assert (matching[0].file, matching[0].row, matching[0].line) == ("memorials.yaml", 4, 17)
    assert str(matching[0]).startswith(f"memorials.yaml: row 4 (line 17): {field}: ")


def test_every_problem_of_a_row_is_reported_at_once() -> None:
    _, errors = parse_memorial(
        memorial(slug="Bad", lat=100, country="ZZ", kind="x", names={"en": "A"}), "m.csv", 3
    )
    assert set(fields(errors)) == {"slug", "lat", "country", "kind", "names.ru"}


def test_person_years() -> None:
    base = {
        "slug": "vil-kapustin",
        "names": {"en": "Vil Kapustin", "ru": "Вил Капустин"},
        "sources": [{"ref": "Embassy archive"}],
    }
    person, errors = parse_person({**base, "born": "1920", "died": 1944}, "p.csv", 2)
    assert errors == [] and (person.born, person.died) == (1920, 1944)
    _, errors = parse_person({**base, "born": 1944, "died": 1920}, "p.csv", 2)
    assert fields(errors) == ["died"]
    _, errors = parse_person({**base, "burial_memorial": "Not A Slug"}, "p.csv", 2)
    assert fields(errors) == ["burial_memorial"]


@pytest.mark.parametrize(
    ("month", "day", "year", "ok"),
    [
        (5, 9, 1945, True),
        (2, 29, None, True),
        (2, 29, 1944, True),
        (2, 29, 1943, False),
        (2, 30, None, False),
        (4, 31, 1944, False),
        (13, 1, None, False),
        (0, 1, None, False),
    ],
)
def test_anniversary_dates_are_real(month: int, day: int, year: int | None, ok: bool) -> None:
    data = {
        "slug": "day",
        "month": month,
        "day": day,
        "year": year,
        "kind": "battle",
        "title": {"en": "A", "ru": "Б"},
        "sources": [{"ref": "R"}],
    }
    record, errors = parse_anniversary(data, "a.yaml", 1)
    assert (errors == []) is ok, errors
    if ok:
        assert record.kind is AnniversaryKind.BATTLE


def test_anniversary_countries_and_kind() -> None:
    data = {
        "slug": "v",
        "month": 5,
        "day": 8,
        "kind": "festival",
        "observed_in": ["be", "QQ"],
        "title": {"en": "A", "ru": "Б"},
        "sources": [{"ref": "R"}],
    }
    record, errors = parse_anniversary(data, "a.yaml", 1)
    assert sorted(fields(errors)) == ["kind", "observed_in"]
    assert "'QQ'" in next(e.message for e in errors if e.field == "observed_in")
    assert record.observed_in[0] == "BE"


def test_event_instants_and_zones() -> None:
    data = {
        "slug": "march",
        "starts_at": "2027-05-05T14:00:00+02:00",
        "timezone": "Europe/Brussels",
        "title": {"en": "March", "ru": "Шествие"},
    }
    event, errors = parse_event(data, "e.json", 1)
    assert errors == []
    assert event.starts_at == dt.datetime(2027, 5, 5, 12, 0, tzinfo=dt.UTC)
    assert event.status is EventStatus.SCHEDULED
    aware = dt.datetime(2027, 5, 5, 14, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert parse_event({**data, "starts_at": aware}, "e.yaml", 1)[1] == []
    bad = {
        **data,
        "starts_at": "2027-05-05T14:00:00",
        "timezone": "Mars/Olympus",
        "status": "postponed",
    }
    _, errors = parse_event(bad, "e.json", 2)
    assert sorted(fields(errors)) == ["starts_at", "status", "timezone"]
    _, errors = parse_event({**data, "starts_at": "next Tuesday"}, "e.json", 3)
    assert fields(errors) == ["starts_at"]


def test_parse_rows_numbers_rows_and_finds_repeated_slugs() -> None:
    dataset = Dataset()
    rows = [memorial(), "not a mapping", memorial(), memorial(slug="other", lat=99)]
    records, errors = parse_rows("memorials", rows, "m.yaml", lines=[2, 14, 15, 27], into=dataset)
    assert len(records) == 3
    assert [(e.row, e.line, e.field) for e in errors] == [
        (2, 14, "-"),
        (3, 15, "slug"),
        (4, 27, "lat"),
    ]
    assert "repeats row 1" in errors[1].message
    assert dataset.origin("memorials", 2) == Origin("m.yaml", 4, 27)
    csv_numbers, _ = parse_rows("memorials", [memorial()], "m.csv", numbers=[7])
    assert csv_numbers[0].slug == "gouvy-monument"


def test_references_resolve_in_the_file_or_the_database() -> None:
    dataset = Dataset()
    parse_rows(
        "memorials",
        [memorial(people=["alexei-gvozdarev", "vil-kapustin"])],
        "data.yaml: memorials",
        into=dataset,
    )
    parse_rows(
        "people",
        [
            {
                "slug": "alexei-gvozdarev",
                "names": {"en": "Alexei Gvozdarev", "ru": "Алексей Гвоздарев"},
                "burial_memorial": "liege-citadel-memorial-cemetery",
                "sources": [{"ref": "R"}],
            }
        ],
        "data.yaml: people",
        into=dataset,
    )
    parse_rows(
        "anniversaries",
        [
            {
                "slug": "a",
                "month": 1,
                "day": 1,
                "kind": "other",
                "memorial": "gouvy-monument",
                "title": {"en": "A", "ru": "Б"},
                "sources": [{"ref": "R"}],
            },
            {
                "slug": "b",
                "month": 1,
                "day": 2,
                "kind": "other",
                "memorial": "nowhere",
                "title": {"en": "A", "ru": "Б"},
                "sources": [{"ref": "R"}],
            },
        ],
        "data.yaml: anniversaries",
        first_row=1,
        into=dataset,
    )
    parse_rows(
        "events",
        [
            {
                "slug": "e",
                "starts_at": "2027-05-05T14:00:00+02:00",
                "timezone": "Europe/Brussels",
                "memorial": "nowhere",
                "title": {"en": "A", "ru": "Б"},
            }
        ],
        "data.yaml: events",
        into=dataset,
    )
    errors = check_references(dataset)
    assert sorted(str(e) for e in errors) == [
        "data.yaml: anniversaries: row 2: memorial: unknown memorial 'nowhere'",
        "data.yaml: events: row 1: memorial: unknown memorial 'nowhere'",
        "data.yaml: memorials: row 1: people: unknown person 'vil-kapustin'",
        "data.yaml: people: row 1: burial_memorial: unknown memorial "
        "'liege-citadel-memorial-cemetery'",
    ]
    stored = check_references(
        dataset,
        known_memorials={"liege-citadel-memorial-cemetery", "nowhere"},
        known_people={"vil-kapustin"},
    )
    assert stored == []


def test_duplicates_across_files() -> None:
    dataset = Dataset()
    parse_rows("memorials", [memorial()], "memorials.yaml", into=dataset)
    parse_rows(
        "memorials", [memorial(slug="x"), memorial()], "memorials.csv", first_row=2, into=dataset
    )
    errors = check_duplicates(dataset)
    assert [str(e) for e in errors] == [
        "memorials.csv: row 3: slug: 'gouvy-monument' is also in memorials.yaml, row 1"
    ]


def test_file_level_errors_read_well() -> None:
    assert str(RecordError("x.json", 0, "-", "is not valid JSON: oops", 3)) == (
        "x.json: line 3: is not valid JSON: oops"
    )
    assert str(RecordError("x.json", 0, "places", "unknown key")) == "x.json: places: unknown key"


def test_import_report_summary() -> None:
    report = ImportReport()
    assert report.summary() == "no records" and report.changed == 0
    report.counts["memorials"].created = 2
    report.counts["memorials"].unchanged = 21
    report.counts["events"].updated = 1
    assert report.changed == 3
    assert report.summary() == (
        "memorials: 2 created, 0 updated, 21 unchanged; events: 0 created, 1 updated, 0 unchanged"
    )
