"""Operations: ``/metrics`` scraped and parsed with the Prometheus client's own parser, and
``/healthz`` turning unhealthy when the database stops (SQLite: the file disappears or another
process locks it; PostgreSQL: a database of its own whose connections are cut), when a
platform disconnects, or when the scheduler stops ticking."""

from __future__ import annotations

import datetime as dt
import io
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import aiohttp
import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot import metrics
from bot.app import App, open_app
from bot.config import Settings
from bot.core.context import ChatRef, Incoming, UserRef
from bot.core.domain import ChatKind
from bot.health import LiveHealth
from bot.http.server import HttpServer, app_endpoints, serving
from bot.runner import run_tick
from tests.conftest import NOW, PG_ADMIN_URL, fresh_postgres_database

CONSOLE = ChatRef("console", ChatKind.PRIVATE)
OPERATOR = UserRef("console")
FAST = 1.0
"""Seconds a health check waits for the database in these tests."""

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> tuple[Samples, dict[str, str]]:
    """Every sample by name and labels, and each family's type, through the client's parser."""
    samples: Samples = {}
    types: dict[str, str] = {}
    for family in text_string_to_metric_families(text):
        types[family.name] = family.type
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples, types


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def get(server: HttpServer, path: str, **headers: str) -> tuple[int, str, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(server.url + path, headers=headers) as response,
    ):
        return response.status, response.headers.get("Content-Type", ""), await response.text()


@pytest.fixture
async def served(app: App) -> AsyncIterator[HttpServer]:
    endpoints = replace(app_endpoints(app), health_timeout=FAST)
    async with serving(endpoints, "127.0.0.1", 0) as server:
        yield server


async def test_metrics_parse_and_count_deliveries_commands_and_the_queue(
    app: App, served: HttpServer
) -> None:
    status, content_type, before_text = await get(served, "/metrics")
    assert status == 200
    assert content_type.startswith("text/plain")
    before, types = parse(before_text)
    assert types["commemoration_deliveries"] == "counter"
    assert types["commemoration_command_duration_seconds"] == "histogram"
    for gauge in (
        "commemoration_queue_depth",
        "commemoration_ledger_rows",
        "commemoration_conversations",
        "commemoration_send_rate",
        "commemoration_database_up",
    ):
        assert types[gauge] == "gauge", gauge
    assert value(before, "commemoration_database_up") == 1

    reply = await app.dispatcher.handle(
        Incoming("console", CONSOLE, OPERATOR, text="/subscribe 09:00")
    )
    assert reply is not None
    await app.dispatcher.handle(Incoming("console", CONSOLE, OPERATOR, text="/timezone"))
    await run_tick(app, NOW + dt.timedelta(days=1), env={}, stdout=io.StringIO())

    _, _, after_text = await get(served, "/metrics")
    after, _ = parse(after_text)
    sent = {"platform": "console", "status": "sent"}
    assert value(after, "commemoration_deliveries_total", **sent) == (
        value(before, "commemoration_deliveries_total", **sent) + 1
    )
    assert value(after, "commemoration_ledger_rows", status="sent") >= 1
    assert value(after, "commemoration_queue_depth", platform="console") == 0
    assert value(after, "commemoration_send_rate", platform="console") > 0
    assert value(after, "commemoration_conversations") == (
        value(before, "commemoration_conversations") + 1
    ), "/timezone asks which zone"
    count = "commemoration_command_duration_seconds_count"
    for command in ("subscribe", "timezone"):
        labels = {"platform": "console", "command": command}
        assert value(after, count, **labels) == value(before, count, **labels) + 1
    assert "chat_id" not in after_text and 'console",command="/' not in after_text


async def test_metrics_count_429s(app: App, served: HttpServer) -> None:
    from bot import metrics

    _, _, text = await get(served, "/metrics")
    before, _ = parse(text)
    metrics.rate_limited("telegram", "chat")
    _, _, text = await get(served, "/metrics")
    after, _ = parse(text)
    name = "commemoration_rate_limited_total"
    assert value(after, name, platform="telegram", scope="chat") == (
        value(before, name, platform="telegram", scope="chat") + 1
    )


async def test_healthz_lists_its_checks_as_text_and_json(app: App, served: HttpServer) -> None:
    status, _, text = await get(served, "/healthz")
    assert status == 200
    lines = text.splitlines()
    assert lines[0] == "ok"
    assert lines[1].startswith("database: ok")
    status, content_type, body = await get(served, "/healthz?format=json")
    assert (status, content_type.split(";")[0]) == (200, "application/json")
    assert '"status": "ok"' in body


async def test_healthz_is_unhealthy_when_a_platform_drops_or_the_tick_stops(app: App) -> None:
    connected = {"telegram": True}
    live = LiveHealth(platforms={"telegram": lambda: connected["telegram"]}, tick_expected=True)
    live.ticked()
    endpoints = replace(app_endpoints(app), live=live, health_timeout=FAST)
    async with serving(endpoints, "127.0.0.1", 0) as server:
        status, _, text = await get(server, "/healthz")
        assert status == 200, text
        assert "telegram: connected" in text
        assert "last tick: 0 s ago" in text
        connected["telegram"] = False
        status, _, text = await get(server, "/healthz")
        assert status == 503
        assert text.splitlines()[0] == "unhealthy"
        assert "telegram: disconnected" in text
        _, _, metrics_text = await get(server, "/metrics")
        samples, _ = parse(metrics_text)
        assert value(samples, "commemoration_platform_connected", platform="telegram") == 0
        connected["telegram"] = True
        assert live.last_tick is not None
        live.last_tick -= 600  # ten minutes without a tick: the scheduler is stuck
        status, _, text = await get(server, "/healthz")
        assert status == 503
        assert "last tick: 600 s ago" in text


@pytest.fixture
async def sqlite_app(tmp_path: Path) -> AsyncIterator[App]:
    application = await open_app(
        Settings(database_url=f"sqlite:///{tmp_path / 'bot.sqlite3'}"), seed=False
    )
    try:
        yield application
    finally:
        await application.close()


async def test_healthz_is_503_when_the_sqlite_file_disappears(
    sqlite_app: App, tmp_path: Path
) -> None:
    endpoints = replace(app_endpoints(sqlite_app), health_timeout=FAST)
    async with serving(endpoints, "127.0.0.1", 0) as server:
        assert (await get(server, "/healthz"))[0] == 200
        moved = tmp_path / "elsewhere.sqlite3"
        (tmp_path / "bot.sqlite3").rename(moved)
        status, _, text = await get(server, "/healthz")
        assert status == 503
        assert "database: unreachable" in text
        _, _, metrics_text = await get(server, "/metrics")
        assert value(parse(metrics_text)[0], "commemoration_database_up") == 0
        moved.rename(tmp_path / "bot.sqlite3")
        assert (await get(server, "/healthz"))[0] == 200


async def test_healthz_is_503_while_another_process_locks_the_sqlite_file(
    sqlite_app: App, tmp_path: Path
) -> None:
    endpoints = replace(app_endpoints(sqlite_app), health_timeout=FAST)
    async with serving(endpoints, "127.0.0.1", 0) as server:
        assert (await get(server, "/healthz"))[0] == 200
        other = sqlite3.connect(tmp_path / "bot.sqlite3", isolation_level=None)
        try:
            other.execute("BEGIN EXCLUSIVE")
            status, _, text = await get(server, "/healthz")
            assert status == 503
            assert "database: unreachable (no answer in time)" in text
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert (await get(server, "/healthz"))[0] == 200


@pytest.mark.postgres
async def test_healthz_is_503_while_postgresql_refuses_the_database() -> None:
    with fresh_postgres_database("cbhealth") as url:
        name = url.rsplit("/", 1)[1]
        application = await open_app(Settings(database_url=url), seed=False)
        try:
            endpoints = replace(app_endpoints(application), health_timeout=FAST * 3)
            async with serving(endpoints, "127.0.0.1", 0) as server:
                assert (await get(server, "/healthz"))[0] == 200
                with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
                    admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
                    admin.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                        (name,),
                    )
                try:
                    status, _, text = await get(server, "/healthz")
                    assert status == 503, text
                    assert "database: unreachable" in text
                    assert url.split("@")[0] not in text
                finally:
                    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
                        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
                assert (await get(server, "/healthz"))[0] == 200
        finally:
            await application.close()


def test_the_send_times_behind_the_send_rate_keep_only_its_window(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The send rate is computed at scrape time from the last minute's send times; they were
    # pruned only then, so a bot nobody scrapes kept up to 100,000 of them per platform
    # (3 MB, growing through the soak's whole run).
    now = [1000.0]
    monkeypatch.setattr("bot.metrics.time.monotonic", lambda: now[0])
    try:
        for _ in range(500):
            metrics.delivery_outcome("soak-test", "sent")
            now[0] += 1.0
        assert len(metrics._sent["soak-test"]) <= metrics.SEND_RATE_WINDOW + 1
        metrics._update_send_rate(now[0])
        assert metrics.SEND_RATE.labels(platform="soak-test")._value.get() == pytest.approx(1.0)
    finally:
        metrics._sent.pop("soak-test", None)
