"""SIGTERM in the middle of a broadcast: the sends in flight finish, no row is left claimed
(``sending``) after the process exits, and the next start sends the rest, each chat once."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from pathlib import Path

from bot.app import App
from db.deliveries import SqlDeliveryLedger
from tests.scheduling.support import add_subscriptions

ROOT = Path(__file__).resolve().parents[2]
SUBSCRIBERS = 40


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


async def _spawn(database_url: str, log: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.faults.sigterm_worker",
        database_url,
        str(log),
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )


async def _wait_for_lines(log: Path, prefix: str, count: int) -> None:
    for _ in range(3000):
        if sum(line.startswith(prefix) for line in _lines(log)) >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"fewer than {count} {prefix!r} lines: {_lines(log)}")


async def test_sigterm_mid_send_finishes_in_flight_sends_and_leaves_nothing_claimed(
    empty_app: App, database_url: str, tmp_path: Path
) -> None:
    await add_subscriptions(empty_app, [{} for _ in range(SUBSCRIBERS)])
    ledger = SqlDeliveryLedger(empty_app.sessions)
    log = tmp_path / "received.log"
    process = await _spawn(database_url, log)
    await _wait_for_lines(log, "start ", 1)
    process.send_signal(signal.SIGTERM)
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0
    assert b"stopped" in out
    lines = _lines(log)
    started = Counter(line.split()[1] for line in lines if line.startswith("start "))
    done = Counter(line.split()[1] for line in lines if line.startswith("done "))
    assert started == done, "a send in flight at SIGTERM did not finish"
    counts = await ledger.status_counts()
    assert "sending" not in counts, counts
    assert counts.get("sent", 0) == len(done) < SUBSCRIBERS

    # the next start sends the rest, each chat exactly once
    process = await _spawn(database_url, log)
    await _wait_for_lines(log, "done ", SUBSCRIBERS)
    process.send_signal(signal.SIGTERM)
    await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0
    done = Counter(line.split()[1] for line in _lines(log) if line.startswith("done "))
    assert len(done) == SUBSCRIBERS and set(done.values()) == {1}
    assert await ledger.status_counts() == {"sent": SUBSCRIBERS}
