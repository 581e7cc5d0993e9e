"""``commemoration-bot status [--json]``: the bot's health from the command line.

What the database says, read without changing anything (never migrated, an SQLite file that
does not exist is not created): reachable, at the latest schema, queue depth, the ledger by
status, open conversations, the last queued and sent instants. What only the running bot
knows (each platform's connection, the last tick's age) it asks the bot itself, at its
``/healthz`` on ``HTTP_LISTEN``. Exit status 0 when everything checked is healthy, 1 otherwise.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from bot.app import database_urls
from bot.config import Settings, parse_host_port
from bot.health import DATABASE_TIMEOUT, describe_error
from db.engine import (
    DatabaseUnavailable,
    create_engine_for,
    reading_only,
    schema_state,
    sessionmaker_for,
    sqlite_writable,
)
from db.health import LedgerSnapshot, ledger_snapshot, probe

BOT_TIMEOUT = 5.0
"""Seconds the running bot has to answer ``/healthz``."""
_LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))
"""Asks the bot directly, never through a proxy of the environment."""


@dataclass(slots=True)
class StatusReport:
    """Everything ``status`` prints."""

    database_ok: bool = False
    database: str = ""
    """A few words on the database: "ok (schema 0010_regiment, the latest)", or why not."""
    database_url: str = ""
    schema: str | None = None
    latest_schema: str = ""
    ledger: LedgerSnapshot | None = None
    bot_url: str | None = None
    bot: dict[str, Any] | None = None
    """The running bot's ``/healthz`` as JSON; None when not asked or not reachable."""
    bot_error: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether everything checked is healthy."""
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        """The report as JSON (``status --json``)."""
        ledger = self.ledger or LedgerSnapshot()
        by_platform: dict[str, dict[str, int]] = {}
        for (platform, status), count in sorted(ledger.by_platform_status.items()):
            by_platform.setdefault(platform, {})[status] = count
        bot = self.bot or {}
        return {
            "status": "ok" if self.ok else "unhealthy",
            "problems": self.problems,
            "database": {
                "ok": self.database_ok,
                "detail": self.database,
                "url": self.database_url,
                "schema": self.schema,
                "latest_schema": self.latest_schema,
            },
            "bot": {
                "url": self.bot_url,
                "reachable": self.bot is not None,
                "error": self.bot_error,
                "health": self.bot,
            },
            "platforms": bot.get("platforms", {}),
            "last_tick_age_seconds": bot.get("last_tick_age_seconds"),
            "queue_depth": ledger.queue_depth,
            "deliveries": ledger.by_status,
            "deliveries_by_platform": by_platform,
            "conversations": ledger.conversations,
            "last_queued_at": _iso(ledger.last_queued_at),
            "last_sent_at": _iso(ledger.last_sent_at),
        }

    def lines(self) -> list[str]:
        """The report for a person, one fact a line."""
        out = [f"status: {'ok' if self.ok else 'unhealthy'}"]
        out.append(f"database: {self.database} [{self.database_url}]")
        if self.bot is not None:
            checks = self.bot.get("checks", {})
            parts = [f"{name}: {check.get('detail')}" for name, check in checks.items()]
            out.append(f"bot at {self.bot_url}: {self.bot.get('status')} ({'; '.join(parts)})")
        elif self.bot_url is not None:
            out.append(f"bot at {self.bot_url}: not reachable ({self.bot_error})")
        else:
            out.append("bot: not asked (set HTTP_LISTEN to see its platforms and last tick)")
        if self.ledger is not None:
            ledger = self.ledger
            depth = ", ".join(f"{p} {n}" for p, n in sorted(ledger.queue_depth.items()))
            total = sum(ledger.queue_depth.values())
            out.append(f"queue: {total}" + (f" ({depth})" if depth else ""))
            counts = ", ".join(f"{n} {s}" for s, n in sorted(ledger.by_status.items()))
            out.append(f"deliveries: {counts or 'none yet'}")
            out.append(f"conversations in progress: {ledger.conversations}")
            out.append(
                f"last queued: {_iso(ledger.last_queued_at) or 'never'}; "
                f"last sent: {_iso(ledger.last_sent_at) or 'never'}"
            )
        out.extend(f"problem: {problem}" for problem in self.problems)
        return out


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value is not None else None


def bot_health_url(listen: str) -> str:
    """Where the running bot answers ``/healthz``: ``HTTP_LISTEN``, with a wildcard address
    (``0.0.0.0``, ``::``) asked on the loopback."""
    host, port = parse_host_port(listen)
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/healthz?format=json"


def ask_bot(url: str) -> dict[str, Any]:
    """The running bot's health as JSON (a 503 carries it too); OSError when unreachable."""
    try:
        with _LOCAL.open(url, timeout=BOT_TIMEOUT) as response:
            body = response.read()
    except urllib.error.HTTPError as error:
        body = error.read()
    data = json.loads(body)
    if not isinstance(data, dict):
        raise ValueError("the answer is not a JSON object")
    return data


async def gather_status(settings: Settings) -> StatusReport:
    """Check the database and ask the running bot; nothing is written."""
    report = StatusReport()
    urls = database_urls(settings)
    report.database_url = urls.safe()
    try:
        state = await asyncio.to_thread(schema_state, urls)
    except DatabaseUnavailable as error:
        report.database = f"unreachable ({error})"
        report.problems.append("the database is unreachable")
        state = None
    if state is not None:
        report.schema, report.latest_schema = state.current, state.head
        if state.current is None:
            report.database = "not created yet (the first run creates it)"
            report.problems.append("the database has no schema yet")
        else:
            await _read_database(report, urls)
            if report.database_ok and not state.is_current:
                report.database = f"behind: schema {state.current}, this version's is {state.head}"
                report.problems.append("the schema is behind: run commemoration-bot db upgrade")
            elif report.database_ok:
                report.database = f"ok (schema {state.current}, the latest)"
    if settings.http_listen:
        report.bot_url = bot_health_url(settings.http_listen)
        try:
            report.bot = await asyncio.to_thread(ask_bot, report.bot_url)
        except (OSError, ValueError) as error:
            report.bot_error = describe_error(error)
            report.problems.append("the running bot does not answer on HTTP_LISTEN")
        else:
            if report.bot.get("status") != "ok":
                report.problems.extend(
                    f"the running bot: {name}: {check.get('detail')}"
                    for name, check in report.bot.get("checks", {}).items()
                    if not check.get("ok")
                )
    return report


async def _read_database(report: StatusReport, urls: Any) -> None:
    reading = urls if sqlite_writable(urls) else reading_only(urls)
    engine = create_engine_for(reading)
    try:
        sessions = sessionmaker_for(engine)
        try:
            await asyncio.wait_for(probe(sessions, reading), DATABASE_TIMEOUT)
            report.ledger = await asyncio.wait_for(ledger_snapshot(sessions), DATABASE_TIMEOUT)
        except Exception as error:  # any failure means the bot could not use it either
            report.database = f"unreachable ({describe_error(error)})"
            report.problems.append("the database does not answer")
            return
        report.database_ok = True
    finally:
        await engine.dispose()
