"""The bot's health: the database reachable, each platform connected, the last tick's age.

``LiveHealth`` is the running bot's side (``run`` fills it: the adapters' connection checks,
the scheduler's minute tick); ``check_health`` turns it and a database probe into a
``HealthReport`` that ``/healthz`` serves and ``commemoration-bot status`` prints.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

TICK_MAX_AGE = 180.0
"""Seconds without a minute tick after which the scheduler counts as stuck (three ticks)."""
DATABASE_TIMEOUT = 5.0
"""Seconds the database has to answer a health check."""

DatabaseProbe = Callable[[], Awaitable[None]]
"""Returns when the database answers (and, for SQLite, can be written); raises otherwise."""


@dataclass(slots=True)
class LiveHealth:
    """What only the running bot knows: whether each platform is connected, and when the
    scheduler last ticked (monotonic seconds, and the wall-clock instant for people)."""

    platforms: dict[str, Callable[[], bool]] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)
    last_tick: float | None = None
    last_tick_at: dt.datetime | None = None
    tick_expected: bool = False
    """True once the scheduler runs (``tick`` and one-shot commands have none)."""

    def expect_ticks(self) -> None:
        """The scheduler starts now: the first tick is due within ``TICK_MAX_AGE``."""
        self.tick_expected = True
        self.started = time.monotonic()

    def ticked(self) -> None:
        """The scheduler's minute tick fired."""
        self.last_tick = time.monotonic()
        self.last_tick_at = dt.datetime.now(dt.UTC)

    def tick_age(self, now: float | None = None) -> float | None:
        """Seconds since the last tick; None before the first."""
        if self.last_tick is None:
            return None
        return (time.monotonic() if now is None else now) - self.last_tick

    def connections(self) -> dict[str, bool]:
        """Each platform's connection, as its adapter reports it now."""
        result: dict[str, bool] = {}
        for platform, connected in self.platforms.items():
            try:
                result[platform] = bool(connected())
            except Exception:  # a check that fails says "not connected"
                result[platform] = False
        return result


@dataclass(frozen=True, slots=True)
class Check:
    """One line of the report: what was checked, whether it is fine, and in a few words."""

    name: str
    ok: bool
    detail: str


@dataclass(frozen=True, slots=True)
class HealthReport:
    """Every check; healthy when all are."""

    checks: tuple[Check, ...]
    last_tick_age: float | None = None
    platforms: dict[str, bool] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether every check passed."""
        return all(check.ok for check in self.checks)

    def lines(self) -> list[str]:
        """``ok`` or ``unhealthy``, then one ``name: detail`` line per check."""
        return ["ok" if self.ok else "unhealthy"] + [
            f"{check.name}: {check.detail}" for check in self.checks
        ]

    def as_json(self) -> dict[str, Any]:
        """``{"status": "ok"|"unhealthy", "checks": {name: {"ok", "detail"}}, …}``."""
        return {
            "status": "ok" if self.ok else "unhealthy",
            "checks": {c.name: {"ok": c.ok, "detail": c.detail} for c in self.checks},
            "platforms": self.platforms,
            "last_tick_age_seconds": None
            if self.last_tick_age is None
            else round(self.last_tick_age, 1),
        }


def describe_error(error: BaseException) -> str:
    """A short description of why the database did not answer: the exception's class and
    the first line of its message, at most 200 characters (no URL: it may hold a password)."""
    if isinstance(error, TimeoutError):
        return "no answer in time"
    first = (str(error).strip().splitlines() or [""])[0]
    text = f"{type(error).__name__}: {first}" if first else type(error).__name__
    return text[:200]


async def database_check(probe: DatabaseProbe, wait: float = DATABASE_TIMEOUT) -> Check:
    """Whether ``probe`` returns within ``wait`` seconds."""
    start = time.perf_counter()
    try:
        await asyncio.wait_for(probe(), wait)
    except Exception as error:  # any failure of the probe means unreachable
        return Check("database", False, f"unreachable ({describe_error(error)})")
    return Check("database", True, f"ok ({(time.perf_counter() - start) * 1000:.0f} ms)")


async def check_health(
    probe: DatabaseProbe,
    live: LiveHealth | None = None,
    *,
    wait: float = DATABASE_TIMEOUT,
    tick_max_age: float = TICK_MAX_AGE,
) -> HealthReport:
    """The database, then (in the running bot) each platform and the scheduler's tick."""
    checks = [await database_check(probe, wait)]
    if live is None:
        return HealthReport(tuple(checks))
    connections = live.connections()
    for platform, connected in sorted(connections.items()):
        checks.append(Check(platform, connected, "connected" if connected else "disconnected"))
    age = live.tick_age()
    if live.tick_expected:
        if age is None:
            waited = time.monotonic() - live.started
            checks.append(
                Check("last tick", waited <= tick_max_age, f"none yet ({waited:.0f} s since start)")
            )
        else:
            checks.append(Check("last tick", age <= tick_max_age, f"{age:.0f} s ago"))
    return HealthReport(tuple(checks), age, connections)
