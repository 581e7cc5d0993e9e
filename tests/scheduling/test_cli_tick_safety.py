"""``tick --at`` must not damage the real schedule (issue 14, item 1): a future instant is
refused unless ``--force``; ``--dry-run`` shows what would happen and changes nothing; a bad
``--at`` gets a hint whose example works."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.runner import parse_instant
from tests.scheduling.test_cli_tick import _run


def _ledger(tmp_path: Path) -> tuple[list[tuple[str | None]], int]:
    with sqlite3.connect(tmp_path / "data" / "commemoration.sqlite3") as connection:
        runs = connection.execute("SELECT next_run_at FROM subscriptions ORDER BY id").fetchall()
        rows = connection.execute("SELECT count(*) FROM deliveries").fetchone()[0]
    return runs, rows


def _nine_in_brussels(days: int) -> dt.datetime:
    """09:00 in Brussels (the subscription's time) ``days`` from now, in UTC: a tick there
    finds the daily post due at that very instant."""
    day = dt.datetime.now(ZoneInfo("Europe/Brussels")).date() + dt.timedelta(days=days)
    local = dt.datetime.combine(day, dt.time(9, 0), ZoneInfo("Europe/Brussels"))
    return local.astimezone(dt.UTC)


def _subscribed(tmp_path: Path) -> None:
    subscribed = _run(tmp_path, "run", "--platform", "console", stdin="/subscribe 09:00\n")
    assert subscribed.returncode == 0, subscribed.stderr


@pytest.mark.slow
def test_a_future_instant_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    _subscribed(tmp_path)
    before = _ledger(tmp_path)
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=200)).replace(microsecond=0)
    refused = _run(tmp_path, "tick", "--at", future.isoformat())
    assert refused.returncode == 1
    line = refused.stderr.strip()
    assert line.count("\n") == 0, refused.stderr
    assert "future" in line and "--force" in line and "--dry-run" in line
    assert refused.stdout == ""
    assert _ledger(tmp_path) == before


@pytest.mark.slow
def test_dry_run_shows_what_and_to_whom_and_changes_nothing(tmp_path: Path) -> None:
    _subscribed(tmp_path)
    before = _ledger(tmp_path)
    future = _nine_in_brussels(days=3)
    dry = _run(tmp_path, "tick", "--at", future.isoformat(), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    out = dry.stdout
    assert "dry run" in out and "nothing was changed" in out
    assert "console chat console" in out  # to whom
    day = future.date().isoformat()
    assert f"daily post of {day}" in out  # what
    assert "would send" in out
    assert "On this day" not in out  # nothing sent
    assert _ledger(tmp_path) == before


@pytest.mark.slow
def test_force_does_what_it_says(tmp_path: Path) -> None:
    _subscribed(tmp_path)
    future = _nine_in_brussels(days=3)
    forced = _run(tmp_path, "tick", "--at", future.isoformat(), "--force")
    assert forced.returncode == 0, forced.stderr
    assert "On this day" in forced.stdout
    runs, rows = _ledger(tmp_path)
    assert rows >= 1 and runs[0][0] is not None


@pytest.mark.parametrize(
    "text", ["2026-05-09+02:00", "2026-05-09Z", "2026-05-09", "2026-05-09T07:00", "07:00Z"]
)
def test_a_bad_instant_gets_a_hint_whose_examples_parse(text: str) -> None:
    with pytest.raises(ValueError) as raised:
        parse_instant(text)
    message = str(raised.value)
    assert "\n" not in message
    examples = [word.strip("(),;") for word in message.split() if word[:4].isdigit()]
    examples = [e for e in examples if "T" in e]
    assert examples, message
    for example in examples:
        assert parse_instant(example).tzinfo is not None, example


def test_the_offset_of_a_date_alone_is_not_taken_for_a_time() -> None:
    with pytest.raises(ValueError, match="time of day"):
        parse_instant("2026-05-09+02:00")  # Python 3.11 reads this as 02:00 without offset
    assert parse_instant("2026-05-09T09:00+02:00") == dt.datetime(2026, 5, 9, 7, tzinfo=dt.UTC)
