"""Import and export files: JSON, YAML and CSV layouts, errors with file, row and field, and
round trips that change nothing."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from bot.core.records import Dataset, RecordError
from bot.core.transfer import (
    FORMATS,
    TransferError,
    dump,
    dump_kind,
    join_list,
    kind_of,
    read_path,
    read_text,
    split_list,
    write_directory,
)
from tests.unit.test_search import SEED_YAML, seed_dataset


def read(text: str, fmt: str, name: str) -> tuple[Dataset, list[RecordError]]:
    dataset = Dataset()
    errors = read_text(text, fmt, name, into=dataset)
    return dataset, errors


def same(a: Dataset, b: Dataset) -> bool:
    return all(
        a.records(kind) == b.records(kind)
        for kind in ("memorials", "people", "anniversaries", "events")
    )


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_dump_reads_back_to_the_same_records_and_the_same_text(fmt: str) -> None:
    original = seed_dataset()
    text = dump(original, fmt)
    again, errors = read(text, fmt, f"export.{fmt}")
    assert errors == []
    assert same(original, again)
    assert dump(again, fmt) == text


@pytest.mark.parametrize("fmt", FORMATS)
def test_one_file_per_kind_in_a_directory(fmt: str, tmp_path: Path) -> None:
    original = seed_dataset()
    written = write_directory(original, fmt, tmp_path / "out")
    assert [p.name for p in written] == [
        f"memorials.{fmt}",
        f"people.{fmt}",
        f"anniversaries.{fmt}",
        f"events.{fmt}",
    ]
    again, errors = read_path(tmp_path / "out")
    assert errors == []
    assert same(original, again)


def test_the_curated_layout_is_read_as_is() -> None:
    rows = yaml.safe_load(SEED_YAML)["memorials"]
    dataset, errors = read(yaml.safe_dump(rows, allow_unicode=True), "yaml", "memorials.yaml")
    assert errors == [] and len(dataset.memorials) == len(rows)
    dataset, errors = read(json.dumps(rows), "json", "2026-memorials.json")
    assert errors == [] and len(dataset.memorials) == len(rows)


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("memorials.csv", "memorials"),
        ("people.yaml", "people"),
        ("2026-events.yml", "events"),
        ("export.anniversaries.json", "anniversaries"),
        ("my_people.csv", "people"),
        ("data.csv", None),
        ("memorialsx.csv", None),
    ],
)
def test_kind_of_a_file_name(name: str, kind: str | None) -> None:
    assert kind_of(Path(name)) == kind


def test_csv_layout() -> None:
    text = dump(seed_dataset(), "csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    header = text.splitlines()[0].split(",")
    assert header[:3] == ["type", "slug", "kind"]
    assert {
        "names.en",
        "names.ru",
        "names.fr",
        "names.nl",
        "names.de",
        "city.ru",
        "sources.1.seed",
        "sources.1.ref",
        "sources.1.url",
        "people",
        "starts_at",
    } <= set(header)
    manhay = next(row for row in rows if row["slug"] == "manhay-monument")
    assert manhay["type"] == "memorial"
    assert manhay["people"] == "alexei-gvozdarev|vil-kapustin"
    assert manhay["names.ru"] == "Памятник советским партизанам в Мане"
    assert manhay["lat"] == "50.2914"
    assert manhay["month"] == "" and manhay["starts_at"] == ""
    event = next(row for row in rows if row["type"] == "event")
    assert event["starts_at"] == "2027-05-05T14:00:00+02:00"
    per_kind = dump_kind(seed_dataset(), "people", "csv")
    assert per_kind.splitlines()[0].startswith("slug,names.en,")


def test_csv_lists_escape_the_separator() -> None:
    items = ["Gvozdarev", "A|B", "back\\slash", "Гвоздарев"]
    assert split_list(join_list(items)) == items
    assert split_list(" a | b ||") == ["a", "b"]
    assert split_list("") == []


def test_csv_from_a_spreadsheet(tmp_path: Path) -> None:
    text = (
        "\ufeffslug;kind;names.en;names.ru;city.en;city.ru;country;lat;lon;precision;aliases;"
        "sources.1.ref;sources.2.url\n"
        "genk-soviet-memorial;monument;Soviet memorial;Советский памятник;Genk;Генк;be;50,96;"
        "5.5;site;Genck|Генк;Embassy;https://example.org/genk\n"
    ).replace("50,96", "50.96")
    path = tmp_path / "memorials.csv"
    path.write_text(text, encoding="utf-8")
    dataset, errors = read_path(path)
    assert errors == []
    [genk] = dataset.memorials
    assert genk.country == "BE" and genk.lat == 50.96
    assert genk.aliases == ("Genck", "Генк")
    assert [s.label() for s in genk.sources] == ["Embassy", "https://example.org/genk"]


def test_csv_errors_name_the_spreadsheet_row_and_column() -> None:
    text = (
        "type,slug,kind,names.en,names.ru,names.xx,city.en,city.ru,country,lat,lon,precision,"
        "sources.1.ref,colour,names\n"
        "memorial,ok,monument,A,Б,,X,Х,BE,50,4,site,R,,\n"
        "memorial,bad slug,monument,A,,,X,Х,BE,95,4,site,R,,\n"
        "\n"
        "statue,x,,,,,,,,,,,,,\n"
        "person,p,,A,Б,,,,,,,,R,,\n"
        "memorial,ok,monument,A,Б,,X,Х,BE,50,4,site,R,,\n"
    )
    dataset, errors = read(text, "csv", "upload.csv")
    found = {(e.row, e.field) for e in errors}
    assert {(1, "names.xx"), (1, "colour"), (1, "names")} <= found
    assert {(3, "slug"), (3, "names.ru"), (3, "lat"), (5, "type"), (7, "slug")} <= found
    assert not any(e.row in (2, 6) for e in errors)
    assert "repeats row 2" in next(e.message for e in errors if (e.row, e.field) == (7, "slug"))
    assert [p.slug for p in dataset.people] == ["p"]


def test_csv_without_type_needs_a_telling_name() -> None:
    _, errors = read("slug,names.en\nx,y\n", "csv", "upload.csv")
    assert [(e.row, e.field) for e in errors] == [(1, "type")]


def test_csv_multiline_cells_keep_their_row() -> None:
    dataset = seed_dataset()
    unveiling = dataset.anniversaries[0]
    dataset.anniversaries[0] = replace(
        unveiling, title={**unveiling.title, "en": "Unveiling of the\nNational Memorial"}
    )
    text = dump(dataset, "csv")
    again, errors = read(text, "csv", "x.csv")
    assert errors == [] and again.anniversaries[0].title["en"].endswith("the\nNational Memorial")
    # header, 6 memorials, 2 people, then the anniversaries: victory-day is row 11, line 12
    _, errors = read(text.replace("victory-day", "Victory Day!"), "csv", "x.csv")
    assert [(e.row, e.line, e.field) for e in errors] == [(11, 12, "slug")]
    assert str(errors[0]).startswith("x.csv: row 11 (line 12): slug: ")


def test_yaml_errors_carry_lines() -> None:
    text = SEED_YAML.replace("lat: 50.2914", "lat: 150.2914")
    _, errors = read(text, "yaml", "seeds.yaml")
    [error] = errors
    assert (error.file, error.row, error.field) == ("seeds.yaml: memorials", 3, "lat")
    assert error.line is not None
    assert text.splitlines()[error.line - 1].strip() == "- slug: manhay-monument"
    _, errors = read("memorials: [\n  {slug: x,\n", "yaml", "broken.yaml")
    assert len(errors) == 1 and errors[0].row == 0 and "not valid YAML" in errors[0].message


def test_document_errors() -> None:
    _, errors = read('{"memorials": {}, "places": [], "events": null}', "json", "x.json")
    assert [(e.field, e.message) for e in errors] == [
        ("memorials", "must be a list of records"),
        ("places", "unknown key (known: memorials, people, anniversaries, events)"),
    ]
    _, errors = read("[1, 2]", "json", "x.json")
    assert "bare list" in errors[0].message
    _, errors = read('"text"', "json", "x.json")
    assert "must hold an object" in errors[0].message
    _, errors = read('{"memorials": [1,]}', "json", "x.json")
    assert errors[0].line == 1 and "not valid JSON" in errors[0].message
    dataset, errors = read("", "yaml", "empty.yaml")
    assert errors == [] and len(dataset) == 0


def test_paths(tmp_path: Path) -> None:
    with pytest.raises(TransferError, match="no such file"):
        read_path(tmp_path / "missing.json")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(TransferError, match=r"no \.json"):
        read_path(tmp_path)
    with pytest.raises(TransferError, match="unknown format"):
        read_path(tmp_path / "notes.txt")
    (tmp_path / "latin1.csv").write_bytes("slug\nLi\xe8ge\n".encode("latin-1"))
    _, errors = read_path(tmp_path / "latin1.csv")
    assert "not UTF-8" in errors[0].message


def test_export_leaves_out_empty_fields_and_keeps_schema_order() -> None:
    data = json.loads(dump(seed_dataset(), "json"))
    assert list(data) == ["memorials", "people", "anniversaries", "events"]
    rebecq = data["memorials"][0]
    assert list(rebecq)[:4] == ["slug", "kind", "names", "address"]
    assert "aliases" not in rebecq and "inscription" not in rebecq
    assert list(rebecq["names"]) == ["en", "ru", "fr", "nl", "de"]
    assert data["events"][0]["starts_at"] == "2027-05-05T14:00:00+02:00"
    assert data["people"][1] == {
        "slug": "vil-kapustin",
        "names": {
            "en": "Vil Kapustin",
            "ru": "Вил Капустин",
            "fr": "Vil Kapoustine",
            "nl": "Vil Kapoestin",
        },
        "sources": [{"seed": "000_fa9671f599f18303.txt"}],
    }
