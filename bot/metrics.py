"""Prometheus metrics of the bot, through the official client library (``prometheus_client``).

One registry for the process (``REGISTRY``), served by the bot's HTTP server at ``/metrics``
(``bot.http.server``). Events are counted where they happen, each with one call:

- ``delivery_outcome(platform, status)``: every delivery attempt's outcome (the drainer);
- ``rate_limited(platform, scope)``: every 429 a platform answered (the drainer);
- ``command_timer(platform, command)``: how long the bot took to answer a request (the
  dispatcher).

What lives in the database (queue depth, ledger rows by status, open conversations) and the
running bot's health (``bot.health``) are read at scrape time by ``refresh_from``.

Labels take a small, fixed set of values (platforms, statuses, command names from the
registry): no chat id, user id or free text ever becomes a label.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

REGISTRY = CollectorRegistry()
"""The bot's own registry (not the client's global one): only what the bot declares here, plus
the client's standard process, platform and garbage-collector collectors."""
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)

PREFIX = "commemoration"
SEND_RATE_WINDOW = 60.0
"""Seconds over which ``commemoration_send_rate`` averages the messages sent."""

DELIVERIES = Counter(
    f"{PREFIX}_deliveries",
    "Delivery attempts by outcome: sent, failed, skipped, or queued again to retry later.",
    ["platform", "status"],
    registry=REGISTRY,
)
RATE_LIMITED = Counter(
    f"{PREFIX}_rate_limited",
    "HTTP 429 answers of a platform to a delivery, by the scope it paused (chat or global).",
    ["platform", "scope"],
    registry=REGISTRY,
)
COMMAND_SECONDS = Histogram(
    f"{PREFIX}_command_duration_seconds",
    "Time from a request's arrival to the bot's reply, by platform and command.",
    ["platform", "command"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
SEND_RATE = Gauge(
    f"{PREFIX}_send_rate",
    f"Messages sent per second over the last {SEND_RATE_WINDOW:g} seconds, by platform.",
    ["platform"],
    registry=REGISTRY,
)
QUEUE_DEPTH = Gauge(
    f"{PREFIX}_queue_depth",
    "Deliveries not finished yet (queued or being sent), by platform.",
    ["platform"],
    registry=REGISTRY,
)
LEDGER_ROWS = Gauge(
    f"{PREFIX}_ledger_rows",
    "Rows of the delivery ledger by status (queued, sending, sent, failed, skipped).",
    ["status"],
    registry=REGISTRY,
)
CONVERSATIONS = Gauge(
    f"{PREFIX}_conversations",
    "Conversations (forms being filled) in progress.",
    registry=REGISTRY,
)
DATABASE_UP = Gauge(
    f"{PREFIX}_database_up",
    "1 when the database answered the last scrape, 0 otherwise.",
    registry=REGISTRY,
)
PLATFORM_CONNECTED = Gauge(
    f"{PREFIX}_platform_connected",
    "1 when the platform's connection is up, 0 otherwise.",
    ["platform"],
    registry=REGISTRY,
)
LAST_TICK_AGE = Gauge(
    f"{PREFIX}_last_tick_age_seconds",
    "Seconds since the scheduler's last minute tick (NaN before the first).",
    registry=REGISTRY,
)

LEDGER_STATUSES = ("queued", "sending", "sent", "failed", "skipped")

_sent: dict[str, deque[float]] = {}
_queued_platforms: set[str] = set()


def delivery_outcome(platform: str, status: str) -> None:
    """Count one delivery outcome (``status``: sent, failed, skipped or queued)."""
    DELIVERIES.labels(platform=platform, status=status).inc()
    if status == "sent":
        times = _sent.setdefault(platform, deque(maxlen=100_000))
        now = time.monotonic()
        times.append(now)
        # only the window counts: kept as it goes, not only at a scrape (a bot nobody scrapes
        # kept the last 100,000)
        while now - times[0] > SEND_RATE_WINDOW:
            times.popleft()


def rate_limited(platform: str, scope: str) -> None:
    """Count one 429 of ``platform`` that paused ``scope`` (``chat`` or ``global``)."""
    RATE_LIMITED.labels(platform=platform, scope=scope).inc()


@contextmanager
def command_timer(platform: str, command: str) -> Iterator[None]:
    """Observe how long the block takes in ``commemoration_command_duration_seconds``."""
    start = time.perf_counter()
    try:
        yield
    finally:
        COMMAND_SECONDS.labels(platform=platform, command=command).observe(
            time.perf_counter() - start
        )


def _update_send_rate(now: float) -> None:
    for platform, times in _sent.items():
        while times and now - times[0] > SEND_RATE_WINDOW:
            times.popleft()
        SEND_RATE.labels(platform=platform).set(len(times) / SEND_RATE_WINDOW)


def set_database(
    *,
    up: bool,
    queue_depth: Mapping[str, int] | None = None,
    ledger: Mapping[str, int] | None = None,
    conversations: int | None = None,
) -> None:
    """Set the gauges read from the database at scrape time (None: left as they were)."""
    DATABASE_UP.set(1 if up else 0)
    if queue_depth is not None:
        _queued_platforms.update(queue_depth)
        for platform in _queued_platforms:  # a platform whose queue emptied reads 0
            QUEUE_DEPTH.labels(platform=platform).set(queue_depth.get(platform, 0))
    if ledger is not None:
        for status in (*LEDGER_STATUSES, *ledger):
            LEDGER_ROWS.labels(status=status).set(ledger.get(status, 0))
    if conversations is not None:
        CONVERSATIONS.set(conversations)


def set_health(platforms: Mapping[str, bool], last_tick_age: float | None) -> None:
    """Set the gauges of the running bot's health: each platform's connection, the tick."""
    for platform, connected in platforms.items():
        PLATFORM_CONNECTED.labels(platform=platform).set(1 if connected else 0)
    LAST_TICK_AGE.set(float("nan") if last_tick_age is None else last_tick_age)


def exposition() -> tuple[bytes, str]:
    """The metrics in Prometheus's text format, and its content type."""
    _update_send_rate(time.monotonic())
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
