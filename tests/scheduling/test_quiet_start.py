"""A quiet start (issue 14, item 8): no warnings about features the bot does not use, no
APScheduler chatter at INFO every minute."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

import pytest

from bot.scheduling.ticker import MinuteTicker


async def test_apscheduler_runs_are_logged_at_debug_only(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    calls: list[int] = []
    ticker = MinuteTicker(lambda: calls.append(1))
    ticker.start()
    try:
        for _ in range(500):
            if calls:
                break
            await asyncio.sleep(0.01)
        assert calls
        await asyncio.sleep(0.05)  # "executed successfully" follows the run
    finally:
        await ticker.stop()
    chatter = [r.getMessage() for r in caplog.records if r.name.startswith("apscheduler")]
    assert chatter == []


async def test_apscheduler_runs_still_show_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    calls: list[int] = []
    ticker = MinuteTicker(lambda: calls.append(1))
    ticker.start()
    try:
        for _ in range(500):
            if calls:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
    finally:
        await ticker.stop()
    runs = [r for r in caplog.records if r.name == "apscheduler.executors.default"]
    assert runs and all(r.levelno == logging.DEBUG for r in runs)


def test_discord_voice_support_is_not_warned_about(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import discord

    from bot.adapters.discord import CommemorationBot
    from tests.discord.conftest import OPTIONS

    monkeypatch.setattr(discord.VoiceClient, "warn_nacl", True)
    caplog.set_level(logging.INFO)
    CommemorationBot(cast(Any, None), OPTIONS)
    assert not [r for r in caplog.records if "PyNaCl" in r.getMessage()]
    assert not [r for r in caplog.records if "voice" in r.getMessage()]
