"""The operator CLI speaks properly (issue 14, item 7): plurals through gettext, a date that
does not exist named as such, help for every flag, no meaningless score in ``near --json``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from bot.cli import build_parser, english, main
from bot.runner import describe_left_queued


def _actions(parser: argparse.ArgumentParser, path: str = "") -> list[tuple[str, argparse.Action]]:
    found: list[tuple[str, argparse.Action]] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.extend(_actions(sub, f"{path} {name}".strip()))
        elif not isinstance(action, argparse._HelpAction | argparse._VersionAction):
            found.append((path, action))
    return found


def test_every_flag_and_argument_has_help() -> None:
    missing = [
        f"{path}: {action.option_strings or action.dest}"
        for path, action in _actions(build_parser())
        if not action.help or action.help == argparse.SUPPRESS
    ]
    assert missing == []


def test_counts_use_the_plural_rules_of_the_catalogs() -> None:
    t = english()
    assert t.ngettext("{count} error", "{count} errors", 1) == "1 error"
    assert t.ngettext("{count} error", "{count} errors", 2) == "2 errors"
    assert t.ngettext("{count} error", "{count} errors", 1200) == "1,200 errors"
    assert describe_left_queued("telegram", 1).startswith("1 delivery for telegram left queued")
    assert describe_left_queued("telegram", 3).startswith("3 deliveries for telegram left")


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("DATABASE_URL", "DEFAULT_LANGUAGE", "DEFAULT_TIMEZONE"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_an_import_with_one_error_says_one_error_in_one_row(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = workdir / "data.csv"
    bad.write_text("slug,names.en\nx,y\n", encoding="utf-8")  # no type column
    with pytest.raises(SystemExit):
        main(["import", str(bad)])
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert "error(s)" not in err and "row(s)" not in err
    assert ": 1 error in 1 row;" in last, last


def test_export_counts_read_as_english(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["export", str(workdir / "all.json")])
    out = capsys.readouterr().out
    assert "memorials" in out and "1 events" not in out and "1 people" not in out


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ("02-30", "30 February is not a date"),
        ("2025-02-29", "29 February 2025 is not a date"),
        ("04-31", "31 April is not a date"),
        ("13-13", "there is no month 13"),
    ],
)
def test_a_date_that_does_not_exist_is_named(
    workdir: Path, capsys: pytest.CaptureFixture[str], given: str, said: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["today", "--date", given])
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert said in err and err.count("\n") == 1


def test_near_json_scores_proximity_not_a_meaningless_zero(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["near", "50.66", "4.13", "--limit", "10", "--json"])
    results = json.loads(capsys.readouterr().out)["results"]
    assert results and all("distance_km" in r and "precision" in r for r in results)
    scores = [r["score"] for r in results]
    assert all(0 < score <= 100 for score in scores)
    assert scores == sorted(scores, reverse=True)  # nearer is higher
    assert results[0]["near"] is True
    main(["memorial", "Rebecq", "--json"])
    assert json.loads(capsys.readouterr().out)["results"][0]["score"] >= 90


@pytest.mark.parametrize(
    ("lat", "said"),
    [("abc", "'abc' is not a number (latitude)"), ("100", "latitude 100 is outside -90 to 90")],
)
def test_near_never_prints_python_exception_text(
    workdir: Path, capsys: pytest.CaptureFixture[str], lat: str, said: str
) -> None:
    # issue 14, item 5: "could not convert string to float: 'abc'" was printed as is
    with pytest.raises(SystemExit) as exited:
        main(["near", lat, "4"])
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert said in err and "could not convert" not in err and err.count("\n") == 1


def test_near_marks_town_centres_and_far_results(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["near", "50.66", "4.13", "--limit", "20"])
    out = capsys.readouterr().out
    assert "(town centre" in out and "far away" in out
