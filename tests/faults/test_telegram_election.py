"""Two ``run`` processes on one Telegram token and one PostgreSQL database: one polls, the other
delivers only; ``kill -9`` the one that polls, and the other answers within seconds (the
advisory lock dies with the killed process's connection). Never two pollers: no 409 while
both run."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from bot.app import App
from tests.fakes.telegram_server import FakeTelegramServer
from tests.telegram.conftest import ask

ROOT = Path(__file__).resolve().parents[2]
STANDBY = "delivering only, on standby for updates"
TAKEN_OVER = "this process now receives the updates"


class Bot:
    """``python -m bot run --platform telegram``, its log lines collected as they come."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []
        assert process.stderr is not None
        self._reader = asyncio.create_task(self._read(process.stderr))

    async def _read(self, stream: asyncio.StreamReader) -> None:
        async for line in stream:
            self.lines.append(line.decode(errors="replace").rstrip())

    def said(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    async def until(self, text: str, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while not self.said(text):
            assert self.process.returncode is None, "\n".join(self.lines)
            assert time.monotonic() < deadline, f"no {text!r} in\n" + "\n".join(self.lines)
            await asyncio.sleep(0.05)

    async def end(self) -> None:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(self.process.wait(), 60)
        await self._reader


async def _start(database_url: str, tg: FakeTelegramServer, home: Path) -> Bot:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DISCORD_", "TELEGRAM_", "HTTP_"))
    }
    environment.update(
        PYTHONPATH=str(ROOT),
        DATABASE_URL=database_url,
        TELEGRAM_BOT_TOKEN=tg.token,
        TELEGRAM_API_BASE_URL=tg.base_url,
        LOG_LEVEL="INFO",
        LOG_FORMAT="text",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        "--platform",
        "telegram",
        env=environment,
        cwd=home,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    return Bot(process)


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_kill_the_polling_process_and_the_other_one_answers_within_seconds(
    app: App, database_url: str, tmp_path: Path
) -> None:
    async with FakeTelegramServer() as tg:
        alice = tg.add_user("Alice", username="alice", language_code="en")
        tg.private_chat(alice)
        first = await _start(database_url, tg, tmp_path)
        await first.until("is running (polling)")
        second = await _start(database_url, tg, tmp_path)
        try:
            await second.until(STANDBY)
            await asyncio.sleep(2)
            assert tg.poll_conflicts == 0  # never two pollers
            assert len(await asyncio.wait_for(ask(tg, alice, "/help"), 30)) == 1

            killed = time.monotonic()
            first.process.send_signal(signal.SIGKILL)
            await first.process.wait()
            await second.until(TAKEN_OVER, 30)
            replies = await asyncio.wait_for(ask(tg, alice, "/help"), 30)
            took = time.monotonic() - killed
            assert len(replies) == 1
            print(f"kill -9 to the other process's answer: {took:.1f} s")
            assert took < 20  # the lock goes with the connection; the lease is not involved
            # the killed one's last long-poll was still open: at most that one ended by 409
            assert tg.poll_conflicts <= 1
        finally:
            await second.end()
            await first.end()
