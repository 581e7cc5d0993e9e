"""``commemoration-bot tick [--at ISO-8601]`` end to end, through a subprocess."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from db.dataset import load_curated

ROOT = Path(__file__).resolve().parents[2]


def _run(
    tmp_path: Path, *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TELEGRAM_", "DISCORD_", "DEFAULT_", "DATABASE_", "DELIVERY_"))
    }
    environment["PYTHONPATH"] = str(ROOT)
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environment,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
def test_tick_at_delivers_once_and_summarizes(tmp_path: Path) -> None:
    subscribed = _run(tmp_path, "run", "--platform", "console", stdin="/subscribe 09:00\n")
    assert subscribed.returncode == 0, subscribed.stderr
    # The running bot may have planned the new subscription at today's real date already.
    with sqlite3.connect(tmp_path / "data" / "commemoration.sqlite3") as connection:
        connection.execute("UPDATE subscriptions SET next_run_at = NULL")
    first = _run(tmp_path, "tick", "--at", "2026-05-09T07:00:00Z")
    assert first.returncode == 0, first.stderr
    assert "On this day, May 9" in first.stdout
    # The daily post, and the announcements of the curated yearly ceremonies (events.yaml):
    # the running bot queued those at its real date once /subscribe was read, and sent some
    # before it stopped or left them to the tick, as its timing went; each went out once.
    summary = re.search(
        r"tick at 2026-05-09T07:00:00\+00:00: queued 1, sent (\d+), failed 0, skipped 0",
        first.stdout,
    )
    assert summary is not None, first.stdout
    with sqlite3.connect(tmp_path / "data" / "commemoration.sqlite3") as connection:
        statuses = dict(
            connection.execute(
                "SELECT item_key, status FROM deliveries WHERE occurrence_date >= '2026-05-09'"
            ).fetchall()
        )
    # Whether the running bot planned the announcements before its input ended depends on
    # the machine's load (it stops at end of input): whatever was queued went out, once.
    announcements = {f"event:{n}:announce" for n in range(1, len(load_curated().events) + 1)}
    assert statuses["today"] == "sent"
    assert set(statuses) <= {"today"} | announcements
    assert set(statuses.values()) == {"sent"}
    assert 1 <= int(summary.group(1)) <= 1 + len(load_curated().events)
    assert "[" not in first.stderr  # no progress bar when stderr is not a terminal
    again = _run(tmp_path, "tick", "--at", "2026-05-09T07:00:30+00:00")
    assert "queued 0, sent 0, failed 0, skipped 0" in again.stdout
    late = _run(
        tmp_path, "tick", "--at", "2026-05-10T14:00:00Z", env={"DELIVERY_LATENESS_WINDOW": "2h"}
    )
    assert late.returncode == 0, late.stderr
    assert "queued 0, sent 0, failed 0, skipped 1" in late.stdout
    assert "On this day" not in late.stdout


@pytest.mark.slow
def test_tick_rejects_a_bad_instant_and_a_bad_window(tmp_path: Path) -> None:
    naive = _run(tmp_path, "tick", "--at", "2026-05-09T07:00")
    assert naive.returncode == 1
    assert "no UTC offset" in naive.stderr and "Traceback" not in naive.stderr
    garbage = _run(tmp_path, "tick", "--at", "tomorrow")
    assert garbage.returncode == 1 and "ISO-8601" in garbage.stderr
    window = _run(tmp_path, "tick", env={"DELIVERY_LATENESS_WINDOW": "soon"})
    assert window.returncode == 1 and "DELIVERY_LATENESS_WINDOW" in window.stderr
