"""Tokens and secrets never leave the process: a full run (Telegram and Discord on the fake
servers, DEBUG logs in JSON, the HTTP server's /healthz and /metrics scraped), then the
one-shot commands (tick, status, export in every format); every byte they write, to the
terminal, to files and over HTTP, is searched for the secrets."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.test_run_platforms import _has_command, _until
from tests.fakes.discord_server import FakeDiscordServer
from tests.fakes.telegram_server import FakeTelegramServer

pytestmark = pytest.mark.slow
WEBHOOK_SECRET = "webhook_secret_that_must_never_be_seen_0123456789"
LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _get(url: str) -> bytes:
    try:
        with LOCAL.open(url, timeout=10) as response:
            body: bytes = response.read()
            return body
    except urllib.error.HTTPError as error:
        return bytes(error.read())


async def test_no_output_of_a_full_run_holds_a_secret(tmp_path: Path) -> None:
    port = _free_port()
    async with FakeTelegramServer() as tg, FakeDiscordServer() as dc:
        alice = tg.add_user("Alice", language_code="en")
        chat = tg.private_chat(alice)
        owner = dc.add_user("owner", locale="en-US")
        guild = dc.add_guild("Memory", owner=owner, channels=["general"])
        secrets = (tg.token, dc.token, WEBHOOK_SECRET)
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("TELEGRAM_", "DISCORD_", "DEFAULT_", "DATABASE_", "LOG_"))
        }
        env.update(
            DATABASE_URL=f"sqlite:///{tmp_path / 'bot.sqlite3'}",
            TELEGRAM_BOT_TOKEN=tg.token,
            TELEGRAM_API_BASE_URL=tg.base_url,
            TELEGRAM_WEBHOOK_SECRET=WEBHOOK_SECRET,
            DISCORD_BOT_TOKEN=dc.token,
            DISCORD_API_BASE_URL=dc.api_base,
            DISCORD_GATEWAY_URL=dc.gateway_url,
            DISCORD_SHARD_COUNT="1",
            LOG_LEVEL="DEBUG",
            LOG_FORMAT="json",
            HTTP_LISTEN=f"127.0.0.1:{port}",
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
        served: list[bytes] = []
        try:
            tg.send_user_message(alice, chat, "/subscribe 09:00")
            tg.send_user_message(alice, chat, "/memorial Luik")
            await tg.wait_for_messages(2, chat_id=chat.id, timeout=60)
            await dc.wait_until_connected(1, timeout=60)
            await _until(lambda: _has_command(dc, "today"), "the slash commands to sync")
            handle = await dc.slash_command(
                guild, guild.channel("general"), owner, "today", {"date": "05-09"}
            )
            await handle.response(timeout=30)
            base = f"http://127.0.0.1:{port}"
            for path in ("/healthz", "/healthz?format=json", "/metrics", "/calendar.ics"):
                served.append(await asyncio.to_thread(_get, base + path))
            status = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-m", "bot", "status", "--json"],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                check=False,
            )
            served += [status.stdout, status.stderr]
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
            stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
        assert process.returncode == 0, stderr.decode()[-3000:]
        outputs = [stdout, stderr, *served]
        outputs += await asyncio.to_thread(_one_shot_outputs, tmp_path, env)
        assert b'"level": "DEBUG"' in stderr, "the run logged at DEBUG"
        assert any(b"commemoration_deliveries" in body for body in served)
        for secret in secrets:
            for number, output in enumerate(outputs):
                assert secret.encode() not in output, (secret[:6], number)


def _one_shot_outputs(folder: Path, env: dict[str, str]) -> list[bytes]:
    """What the one-shot commands print, and every file in the working folder after them."""
    outputs: list[bytes] = []
    for args in (
        ["tick", "--at", "2026-05-09T07:00Z"],
        ["tick", "--dry-run"],
        ["export", "--format", "json", "out.json"],
        ["export", "--format", "csv", "out.csv"],
        ["export", "--format", "yaml", "out.yaml"],
        ["events", "--json"],
        ["run", "--platform", "nosuch"],
    ):
        result = subprocess.run(
            [sys.executable, "-m", "bot", *args],
            cwd=folder,
            env=env,
            capture_output=True,
            check=False,
            timeout=120,
        )
        outputs += [result.stdout, result.stderr]
    outputs += [p.read_bytes() for p in folder.rglob("*") if p.is_file()]
    return outputs
