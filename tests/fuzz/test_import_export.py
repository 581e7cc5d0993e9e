"""Every import format under hostile input, and exports a spreadsheet would not execute.

Reading any text in CSV, JSON or YAML (malformed, huge, deeply nested, with any characters)
returns records and errors and never raises; any bytes in a file are read or refused with one
error (a wrong encoding), never a traceback. A CSV export holds no cell that a spreadsheet
would run as a formula, and still reads back to the same records."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bot.core.records import Dataset, RecordError
from bot.core.transfer import FORMATS, TransferError, dump, read_path, read_text
from tests.fuzz.strategies import NASTY, any_text, hostile_text
from tests.unit.test_search import seed_dataset

FORMULA = re.compile(r"^[=+\-@\t\r]")
NUMBER = re.compile(r"^-?\d+(\.\d+)?([eE][+-]?\d+)?$")


def read(text: str, fmt: str, name: str) -> tuple[Dataset, list[RecordError]]:
    dataset = Dataset()
    return dataset, read_text(text, fmt, name, into=dataset)


def same(a: Dataset, b: Dataset) -> bool:
    return all(
        a.records(kind) == b.records(kind)
        for kind in ("memorials", "people", "anniversaries", "events")
    )


def executable_cells(text: str) -> list[str]:
    """Cells a spreadsheet would evaluate: a formula's first character, not a plain number."""
    return [
        cell
        for row in csv.reader(io.StringIO(text, newline=""))
        for cell in row
        if FORMULA.match(cell) and not NUMBER.match(cell)
    ]


def hostile_dataset(name: str, city: str, text: str) -> Dataset:
    """The seed dataset with hostile text in names, cities, descriptions and anniversaries."""
    dataset = seed_dataset()
    dataset.memorials[0] = replace(
        dataset.memorials[0],
        names={**dataset.memorials[0].names, "en": name or "x"},
        city={**dataset.memorials[0].city, "fr": city or "y"},
    )
    dataset.anniversaries[0] = replace(
        dataset.anniversaries[0],
        title={**dataset.anniversaries[0].title, "en": text or "z"},
        text={**dataset.anniversaries[0].text, "nl": name or "w"},
    )
    return dataset


@given(name=hostile_text, city=hostile_text, text=hostile_text)
@example(name='=HYPERLINK("https://evil.example","x")', city="+1+1", text="@SUM(1)")
@example(name="'=1", city="'s-Hertogenbosch", text="-2+3")
@example(name="\t=1", city="''=x", text="-12.5")
def test_a_csv_export_runs_no_formula_and_reads_back_the_same(
    name: str, city: str, text: str
) -> None:
    original = hostile_dataset(name.strip(), city.strip(), text.strip())
    exported = dump(original, "csv")
    assert executable_cells(exported) == []
    again, errors = read(exported, "csv", "export.csv")
    if errors:  # the hostile text itself may be refused (e.g. a NUL): never half-read
        assert all(error.message for error in errors)
        return
    assert same(original, again)


@pytest.mark.parametrize("fmt", FORMATS)
@given(text=any_text)
@example(text="[" * 100_000)
@example(text="{" * 10_000)
@example(text="- " * 5000 + "x")
@example(text="a: &a [*a, *a]\nb: &b [*a, *a, *a]\nc: [*b, *b, *b, *b]")
@example(text="!!python/object/apply:os.system ['echo pwned']")
@example(text="type,slug\nmemorial," + "x" * 200_000)
@example(text='"unterminated')
@example(text="\x00\x00")
def test_reading_any_text_returns_errors_and_never_raises(fmt: str, text: str) -> None:
    _, errors = read(text, fmt, f"data.{fmt}")
    for error in errors:
        assert error.message.strip()
        assert "Traceback" not in error.message
        assert len(error.message) < 2000


@given(payload=st.binary(max_size=400), fmt=st.sampled_from(FORMATS))
@example(payload="memorials:\n- slug: é".encode("latin-1"), fmt="yaml")
@example(payload="slug\né".encode("utf-16"), fmt="csv")
def test_any_bytes_in_a_file_are_read_or_refused_in_one_line(
    payload: bytes, fmt: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("bytes") / f"memorials.{fmt}"
    path.write_bytes(payload)
    try:
        _, errors = read_path(path)
    except TransferError as refused:
        assert "\n" not in str(refused)
        return
    for problem in errors:
        assert "\n" not in problem.message or fmt == "yaml"


def test_the_nasty_list_is_not_empty() -> None:
    assert len(NASTY) > 40
    assert Path(__file__).name.startswith("test_")
