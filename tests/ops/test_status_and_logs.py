"""``commemoration-bot status [--json]`` (the same health as ``/healthz``, from the command
line, changing nothing) and ``LOG_FORMAT=json``."""

from __future__ import annotations

import datetime as dt
import io
import json
from dataclasses import replace
from pathlib import Path

import pytest

from bot.app import App
from bot.config import ConfigError, Settings, settings_from
from bot.core.context import ChatRef, Incoming, UserRef
from bot.core.domain import ChatKind
from bot.health import LiveHealth
from bot.http.server import app_endpoints, serving
from bot.runner import run_tick
from bot.status import gather_status
from tests.conftest import NOW
from tests.e2e.conftest import Runner

CONSOLE = ChatRef("console", ChatKind.PRIVATE)
OPERATOR = UserRef("console")


@pytest.mark.slow
def test_status_of_a_fresh_install_says_so_and_creates_nothing(
    run_cli: Runner, tmp_path: Path
) -> None:
    result = run_cli("status")
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == "status: unhealthy"
    assert "not created yet" in result.stdout
    assert not (tmp_path / "data").exists(), "status must not create the database"


@pytest.mark.slow
def test_status_json_after_a_tick(run_cli: Runner, tmp_path: Path) -> None:
    assert run_cli("tick", "--at", "2026-05-09T07:00Z").returncode == 0
    result = run_cli("status", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["status"] == "ok"
    assert data["database"]["ok"] is True
    assert data["database"]["schema"] == data["database"]["latest_schema"]
    for key in ("queue_depth", "deliveries", "deliveries_by_platform", "last_tick_age_seconds"):
        assert key in data
    assert data["bot"]["reachable"] is False
    text = run_cli("status")
    assert text.returncode == 0
    assert text.stdout.splitlines()[0] == "status: ok"
    assert "set HTTP_LISTEN" in text.stdout


async def test_status_asks_the_running_bot_for_its_platforms_and_tick(app: App) -> None:
    await app.dispatcher.handle(Incoming("console", CONSOLE, OPERATOR, text="/subscribe 09:00"))
    await run_tick(app, NOW + dt.timedelta(days=1), env={}, stdout=io.StringIO())
    connected = {"discord": True}
    live = LiveHealth(platforms={"discord": lambda: connected["discord"]}, tick_expected=True)
    live.ticked()
    endpoints = replace(app_endpoints(app), live=live)
    async with serving(endpoints, "127.0.0.1", 0) as server:
        settings = replace(app.settings, http_listen=f"0.0.0.0:{server.port}")
        report = await gather_status(settings)
        assert report.ok, report.lines()
        data = report.as_json()
        assert data["platforms"] == {"discord": True}
        assert data["last_tick_age_seconds"] is not None
        assert data["deliveries_by_platform"]["console"]["sent"] == 1
        assert any(line.startswith("bot at http://127.0.0.1:") for line in report.lines())
        connected["discord"] = False
        report = await gather_status(settings)
        assert not report.ok
        assert "the running bot: discord: disconnected" in report.problems


async def test_status_is_unhealthy_when_the_database_is_unreachable() -> None:
    settings = Settings(database_url="postgresql+psycopg://nobody@127.0.0.1:1/none")
    report = await gather_status(settings)
    assert not report.ok
    assert report.database.startswith("unreachable")
    assert report.lines()[0] == "status: unhealthy"


def test_log_format_is_text_or_json() -> None:
    assert settings_from({}).log_format == "text"
    assert settings_from({"LOG_FORMAT": "JSON"}).log_format == "json"
    with pytest.raises(ConfigError, match="LOG_FORMAT='xml' must be text or json"):
        settings_from({"LOG_FORMAT": "xml"})


@pytest.mark.slow
def test_json_logs_are_one_object_a_line_without_the_token(run_cli: Runner) -> None:
    token = "123456:SECRET-token-never-to-be-seen"
    result = run_cli(
        "run",
        "--platform",
        "telegram",
        env={
            "LOG_FORMAT": "json",
            "TELEGRAM_BOT_TOKEN": token,
            "TELEGRAM_API_BASE_URL": "http://127.0.0.1:1/bot",
        },
    )
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.startswith("{")]
    assert lines, result.stderr
    for line in lines:
        entry = json.loads(line)
        assert {"time", "level", "logger", "message"} <= entry.keys()
    assert token not in result.stderr + result.stdout
