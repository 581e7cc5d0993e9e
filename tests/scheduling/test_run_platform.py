"""``run --platform telegram``: the adapter, then the scheduler, in one loop; an event due at
start-up reaches the chat through the adapter's sender; SIGTERM stops everything cleanly."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import sys
from pathlib import Path

import pytest

from bot.app import open_app
from bot.config import Settings
from bot.core.domain import Event
from tests.fakes.telegram_server import FakeTelegramServer
from tests.scheduling.support import add_event, add_subscriptions

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
async def test_run_telegram_delivers_through_the_adapter_and_stops_on_sigterm(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    async with FakeTelegramServer() as server:
        chat = server.private_chat(server.add_user("Anna"))
        app = await open_app(Settings(database_url=url), seed=False)
        try:
            await add_subscriptions(
                app, [{"platform": "telegram", "chat_id": str(chat.id), "topics": ["events"]}]
            )
            now = dt.datetime.now(dt.UTC)
            event = Event(
                slug="wreath-laying",
                starts_at=now + dt.timedelta(days=3),
                timezone="Europe/Brussels",
                title={"en": "Wreath laying <at the memorial>"},
            )
            await add_event(app, event, now - dt.timedelta(minutes=1))
        finally:
            await app.close()
        environment = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("TELEGRAM_", "DISCORD_", "DEFAULT_", "DATABASE_", "DELIVERY_"))
        }
        environment.update(
            PYTHONPATH=str(ROOT),
            DATABASE_URL=url,
            TELEGRAM_BOT_TOKEN=server.token,
            TELEGRAM_API_BASE_URL=server.base_url,
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            "--platform",
            "telegram",
            cwd=tmp_path,
            env=environment,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            sent = await server.wait_for_messages(1, chat_id=chat.id, timeout=60)
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
        assert process.returncode == 0, stderr.decode()
        assert "New event: Wreath laying <at the memorial>" in (sent[0].text or "")
        assert "Traceback" not in stderr.decode()
