"""``commemoration-bot run`` as operators start it: one process serving Telegram and Discord at
once, against the fake platform servers on 127.0.0.1, stopped by SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.discord_server import FakeDiscordServer
from tests.fakes.telegram_server import FakeTelegramServer

pytestmark = pytest.mark.slow


def _text(callback: Any) -> str:
    parts = [callback.content or ""]
    for embed in callback.embeds:
        parts += [str(embed.get("title") or ""), str(embed.get("description") or "")]
        parts += [f"{f.get('name')} {f.get('value')}" for f in embed.get("fields") or []]
    return "\n".join(parts)


async def _until(predicate: Any, what: str, limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def test_run_serves_telegram_and_discord_then_stops_on_sigterm(tmp_path: Path) -> None:
    async with FakeTelegramServer() as tg, FakeDiscordServer() as dc:
        alice = tg.add_user("Alice", language_code="fr")
        chat = tg.private_chat(alice)
        owner = dc.add_user("owner", locale="de")
        guild = dc.add_guild("Gedenken", preferred_locale="de", owner=owner, channels=["general"])
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("TELEGRAM_", "DISCORD_", "DEFAULT_", "DATABASE_"))
        }
        env.update(
            DATABASE_URL=f"sqlite:///{tmp_path / 'bot.sqlite3'}",
            TELEGRAM_BOT_TOKEN=tg.token,
            TELEGRAM_API_BASE_URL=tg.base_url,
            DISCORD_BOT_TOKEN=dc.token,
            DISCORD_API_BASE_URL=dc.api_base,
            DISCORD_GATEWAY_URL=dc.gateway_url,
            DISCORD_SHARD_COUNT="1",
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            # Telegram: a French user asks for Liège by its Dutch name.
            tg.send_user_message(alice, chat, "/memorial Luik")
            sent = await tg.wait_for_messages(1, chat_id=chat.id, timeout=60)
            assert "Liège" in (sent[0].text or "")
            assert tg.commands(language_code="ru"), "command menus were not published"
            # Discord: once the commands are synced, a German server asks for 9 May.
            await dc.wait_until_connected(1, timeout=60)
            await _until(lambda: _has_command(dc, "today"), "the slash commands to sync")
            handle = await dc.slash_command(
                guild, guild.channel("general"), owner, "today", {"date": "05-09"}, locale="de"
            )
            response = await handle.response(timeout=30)
            assert "9. Mai" in _text(response)
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
            stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
        log = stderr.decode()
        assert process.returncode == 0, log[-3000:]
        assert "Traceback" not in log
        assert tg.token not in log + stdout.decode()
        assert dc.token not in log + stdout.decode()


def _has_command(dc: FakeDiscordServer, name: str) -> bool:
    try:
        return bool(dc.command(name))
    except (KeyError, LookupError):
        return False
