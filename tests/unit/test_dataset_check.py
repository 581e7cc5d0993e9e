"""``commemoration-bot dataset check``: coverage of the year, languages and sources, on a
fixture dataset with one of each problem, on the curated dataset and on the database."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.cli import main
from bot.core.coverage import ALL_DAYS, check_dataset
from bot.core.domain import LANGUAGES
from db.dataset import read_curated

TEXT = {code: f"Text ({code})" for code in LANGUAGES}
GOOD_SOURCE = {"ref": "A chronology", "url": "https://example.org/chronology"}


def anniversary(month: int, day: int, **changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "slug": f"day-{month:02d}-{day:02d}",
        "month": month,
        "day": day,
        "kind": "other",
        "title": {code: f"Title ({code})" for code in LANGUAGES},
        "text": TEXT,
        "sources": [GOOD_SOURCE, {"ref": "Another page", "publisher": "A publisher"}],
    }
    record.update(changes)
    return record


def write_fixture(directory: Path) -> Path:
    """Every day but 29 February; one record without Dutch, one with only "Wikipedia" as a
    source, one on 31 April, one with a single source."""
    rows = []
    for day in ALL_DAYS:
        month, number = int(day[:2]), int(day[3:])
        if (month, number) == (2, 29):
            continue
        rows.append(anniversary(month, number))
    rows[10]["title"] = {code: text for code, text in rows[10]["title"].items() if code != "nl"}
    rows[20]["sources"] = [{"ref": "Wikipedia"}]
    rows[30]["sources"] = [GOOD_SOURCE]
    rows.append(anniversary(4, 31, slug="thirty-first-of-april"))
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "anniversaries.yaml").write_text(
        yaml.safe_dump(rows, allow_unicode=True), encoding="utf-8"
    )
    return directory


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    try:
        main(["dataset", "check", *args])
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    else:
        code = 0
    return code, capsys.readouterr().out


def test_every_problem_is_reported_and_the_check_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = write_fixture(tmp_path / "data")
    code, out = run(capsys, "--dir", str(directory))
    assert code == 1
    assert "days covered: 365 of 366" in out
    assert "uncovered days: 02-29" in out
    assert "missing language: anniversaries day-01-11: title: nl" in out
    assert "no specific source: anniversaries day-01-21" in out
    assert "date does not exist: anniversaries thirty-first-of-april: 04-31" in out
    assert "records with a single source: 2" in out
    assert "records per language (of 366): en 366, ru 366, fr 366, nl 365, de 366" in out
    assert out.rstrip().endswith("result: FAILED")


def test_the_json_shape(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    directory = write_fixture(tmp_path / "data")
    code, out = run(capsys, "--dir", str(directory), "--json")
    assert code == 1
    report = json.loads(out)
    assert set(report) >= {
        "origin",
        "ok",
        "days",
        "anniversaries_per_day",
        "records",
        "languages",
        "missing_language",
        "without_specific_source",
        "single_source",
        "impossible_dates",
        "errors",
    }
    assert report["ok"] is False
    assert report["days"] == {"total": 366, "covered": 365, "uncovered": ["02-29"]}
    assert report["anniversaries_per_day"] == {"median": 1.0, "min": 0, "max": 1}
    assert report["records"]["by_kind"]["anniversaries"] == 366
    assert report["languages"]["records_per_language"]["nl"] == 365
    assert report["missing_language"] == [
        {"kind": "anniversaries", "slug": "day-01-11", "detail": "title: nl"}
    ]
    assert report["without_specific_source"] == [{"kind": "anniversaries", "slug": "day-01-21"}]
    assert {r["slug"] for r in report["single_source"]} == {"day-01-21", "day-01-31"}
    [impossible] = report["impossible_dates"]
    assert impossible["slug"] == "thirty-first-of-april"
    assert impossible["detail"].startswith("04-31 (anniversaries.yaml, row 366")
    assert report["errors"] == []


def test_a_complete_dataset_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [anniversary(int(day[:2]), int(day[3:])) for day in ALL_DAYS]
    directory = tmp_path / "data"
    directory.mkdir()
    (directory / "anniversaries.yaml").write_text(yaml.safe_dump(rows), encoding="utf-8")
    code, out = run(capsys, "--dir", str(directory))
    assert code == 0, out
    assert out.rstrip().endswith("result: ok")


def test_an_unreadable_file_fails_the_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = tmp_path / "data"
    directory.mkdir()
    (directory / "anniversaries.yaml").write_text("- slug: [unclosed", encoding="utf-8")
    code, out = run(capsys, "--dir", str(directory), "--json")
    assert code == 1
    assert json.loads(out)["errors"]


def test_the_live_database_is_checked_with_db(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'bot.sqlite3'}")
    code, out = run(capsys, "--db", "--json")
    report = json.loads(out)
    assert report["origin"] == "database"
    curated, errors = read_curated()
    assert errors == []
    expected = check_dataset(curated, "curated")
    assert report["days"]["covered"] == len(expected.days_covered)
    assert report["records"]["by_kind"] == expected.records
    assert code == (0 if expected.ok else 1)


def test_the_curated_dataset_covers_the_year_in_five_languages_with_sources() -> None:
    """The issue's "done when": 366 of 366 days, every record in five languages with a
    specific source, no impossible date."""
    curated, errors = read_curated()
    report = check_dataset(curated, "curated", errors)
    assert report.errors == []
    assert report.days_uncovered == []
    assert report.missing_language == []
    assert report.without_specific_source == []
    assert report.impossible_dates == []
    assert dt.date(2028, 2, 29).strftime("%m-%d") in report.days_covered
