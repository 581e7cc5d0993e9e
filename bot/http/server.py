"""The bot's own HTTP server, on when ``HTTP_LISTEN`` is set, in the bot's event loop.

Routes:

- ``GET /healthz``: ``200`` and ``ok`` when the database answers (within ``HEALTH_TIMEOUT``),
  each platform is connected and the scheduler ticked in the last three minutes; ``503`` and
  ``unhealthy`` otherwise; one ``name: detail`` line per check follows (JSON with
  ``?format=json`` or ``Accept: application/json``);
- ``GET /metrics``: Prometheus metrics (``bot.metrics``), the database's read at scrape time;
- ``GET /calendar.ics``: the iCalendar feed of upcoming published events, optionally only a
  country's (``?country=BE``), a town's (``?city=Liège``) or a memorial's
  (``?memorial=<slug>``), in a language (``?lang=ru``, default ``DEFAULT_LANGUAGE``);
- ``GET /events/<id>.ics``: one event (404 when there is none, or it is a draft);

``run_bot`` enters ``serving_http(app)`` right after opening the app, so the server is up
before the adapters and the scheduler and stops after them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiohttp import web

from bot import metrics
from bot.app import App
from bot.calendars.feed import FeedFilter, calendar_event, feed_events
from bot.calendars.ics import event_ics, feed_ics
from bot.config import ConfigError, parse_host_port
from bot.core.domain import LANGUAGES
from bot.core.ports import Clock, EventRepository, MemorialRepository
from bot.health import HealthReport, LiveHealth, check_health
from db.health import LedgerSnapshot, ledger_snapshot, probe

log = logging.getLogger(__name__)

HEALTH_TIMEOUT = 5.0
"""Seconds the database has to answer ``/healthz``."""
SHUTDOWN_TIMEOUT = 5.0
"""Seconds requests in flight have to finish when the bot stops."""
CALENDAR_TYPE = "text/calendar"
CACHE_CONTROL = "public, max-age=300"
"""Calendar clients may keep a feed five minutes."""

HealthCheck = Callable[[], Awaitable[None]]
"""Returns when the database answers; raises otherwise."""
Snapshot = Callable[[], Awaitable[LedgerSnapshot]]


@dataclass(frozen=True, slots=True)
class Endpoints:
    """What the routes need: the event and memorial repositories, the clock, the default
    language, the database probe, the running bot's live health and the ledger snapshot
    that ``/metrics`` reads."""

    events: EventRepository
    memorials: MemorialRepository
    clock: Clock
    default_language: str
    health: HealthCheck
    live: LiveHealth | None = None
    snapshot: Snapshot | None = None
    health_timeout: float = HEALTH_TIMEOUT


ENDPOINTS = web.AppKey("endpoints", Endpoints)


@dataclass(frozen=True, slots=True)
class HttpServer:
    """A running server: where it listens (the port it got, when it asked for 0)."""

    host: str
    port: int

    @property
    def url(self) -> str:
        """The server's base URL (``http://127.0.0.1:8080``)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


def _endpoints(request: web.Request) -> Endpoints:
    return request.app[ENDPOINTS]


def _language(request: web.Request, endpoints: Endpoints) -> str:
    """The ``lang`` query parameter, else the default language; 400 when unknown."""
    language = request.query.get("lang", "").strip().lower() or endpoints.default_language
    if language not in LANGUAGES:
        raise web.HTTPBadRequest(text=f"lang must be one of {', '.join(LANGUAGES)}\n")
    return language


def _feed_filter(request: web.Request) -> FeedFilter:
    """The ``country``, ``city`` and ``memorial`` query parameters; 400 when malformed."""
    country = request.query.get("country", "").strip() or None
    if country is not None and not (len(country) == 2 and country.isascii() and country.isalpha()):
        raise web.HTTPBadRequest(text="country must be an ISO 3166 code such as BE\n")
    return FeedFilter(
        country=country.upper() if country else None,
        city=request.query.get("city", "").strip() or None,
        memorial=request.query.get("memorial", "").strip() or None,
    )


def _calendar_response(body: bytes, filename: str) -> web.Response:
    response = web.Response(body=body, content_type=CALENDAR_TYPE, charset="utf-8")
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.headers["Cache-Control"] = CACHE_CONTROL
    return response


async def health_report(endpoints: Endpoints) -> HealthReport:
    """The health of the bot now (and the gauges of ``/metrics`` that say the same)."""
    report = await check_health(endpoints.health, endpoints.live, wait=endpoints.health_timeout)
    metrics.set_health(report.platforms, report.last_tick_age)
    metrics.set_database(up=report.checks[0].ok)
    return report


def wants_json(request: web.Request) -> bool:
    """``?format=json``, or a client that accepts JSON rather than text."""
    if request.query.get("format") == "json":
        return True
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/plain" not in accept


async def healthz(request: web.Request) -> web.Response:
    """``200`` when every check passes, ``503`` otherwise; text lines or JSON."""
    report = await health_report(_endpoints(request))
    status = 200 if report.ok else 503
    if not report.ok:
        log.warning("health check failed: %s", "; ".join(report.lines()[1:]))
    if wants_json(request):
        return web.json_response(report.as_json(), status=status)
    return web.Response(status=status, text="\n".join(report.lines()) + "\n")


async def metrics_page(request: web.Request) -> web.Response:
    """The Prometheus metrics; what the database holds is read now, within the timeout."""
    endpoints = _endpoints(request)
    report = await health_report(endpoints)
    if endpoints.snapshot is not None and report.checks[0].ok:
        try:
            snapshot = await asyncio.wait_for(endpoints.snapshot(), endpoints.health_timeout)
        except Exception as error:  # the database is down: say so, keep the rest
            log.warning("metrics: the database did not answer (%s)", type(error).__name__)
            metrics.set_database(up=False)
        else:
            metrics.set_database(
                up=True,
                queue_depth=snapshot.queue_depth,
                ledger=snapshot.by_status,
                conversations=snapshot.conversations,
            )
    body, content_type = metrics.exposition()
    response = web.Response(body=body)
    response.headers["Content-Type"] = content_type
    return response


async def calendar_feed(request: web.Request) -> web.Response:
    """The feed of upcoming published events, filtered by the query parameters."""
    endpoints = _endpoints(request)
    language = _language(request, endpoints)
    feed_filter = _feed_filter(request)
    now = endpoints.clock.now()
    events = await feed_events(endpoints.events, endpoints.memorials, now, feed_filter)
    return _calendar_response(feed_ics(events, language, now=now), "calendar.ics")


async def event_file(request: web.Request) -> web.Response:
    """One published event as a calendar file; 404 for an unknown id or a draft."""
    endpoints = _endpoints(request)
    language = _language(request, endpoints)
    now = endpoints.clock.now()
    event_id = int(request.match_info["event_id"])
    event = await calendar_event(endpoints.events, endpoints.memorials, event_id, now)
    if event is None:
        raise web.HTTPNotFound(text=f"no event {event_id}\n")
    return _calendar_response(event_ics(event, language, now=now), f"event-{event.slug}.ics")


def web_application(
    endpoints: Endpoints, routes: Iterable[web.AbstractRouteDef] = ()
) -> web.Application:
    """The aiohttp application: health, metrics, the calendar feed, one event's file, and
    any ``routes`` another part of the bot brings."""
    application = web.Application()
    application[ENDPOINTS] = endpoints
    application.add_routes(
        [
            web.get("/healthz", healthz),
            web.get("/metrics", metrics_page),
            web.get("/calendar.ics", calendar_feed),
            web.get(r"/events/{event_id:\d{1,18}}.ics", event_file),
        ]
    )
    application.add_routes(list(routes))
    return application


def app_endpoints(app: App) -> Endpoints:
    """The endpoints of the wired app: its repositories and clock, the database probe
    (``db.health.probe``), its live health and its ledger."""

    async def database_answers() -> None:
        await probe(app.sessions, app.urls)

    async def snapshot() -> LedgerSnapshot:
        return await ledger_snapshot(app.sessions)

    return Endpoints(
        events=app.events,
        memorials=app.core.memorials,
        clock=app.core.clock,
        default_language=app.settings.default_language,
        health=database_answers,
        live=app.live,
        snapshot=snapshot,
    )


@asynccontextmanager
async def serving(
    endpoints: Endpoints,
    host: str,
    port: int,
    routes: Iterable[web.AbstractRouteDef] = (),
) -> AsyncIterator[HttpServer]:
    """Serve ``web_application(endpoints, routes)`` on ``host:port`` (0: any free port)
    until the block ends; raise ConfigError when the address cannot be listened on."""
    runner = web.AppRunner(web_application(endpoints, routes), shutdown_timeout=SHUTDOWN_TIMEOUT)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as error:
            raise ConfigError(
                f"HTTP_LISTEN: cannot listen on {host}:{port}: {error.strerror or error}"
            ) from None
        server = HttpServer(host, int(runner.addresses[0][1]))
        log.info("HTTP server listening on %s", server.url)
        try:
            yield server
        finally:
            log.info("stopping the HTTP server")
    finally:
        await runner.cleanup()


@asynccontextmanager
async def serving_http(
    app: App, listen: str | None = None, routes: Iterable[web.AbstractRouteDef] = ()
) -> AsyncIterator[HttpServer | None]:
    """The HTTP server of ``app`` on ``listen`` (default: ``HTTP_LISTEN``) while the block
    runs; nothing (None) when neither is set. ``routes`` are added to the built-in ones."""
    address = listen if listen is not None else app.settings.http_listen
    if not address:
        yield None
        return
    try:
        host, port = parse_host_port(address)
    except ValueError as error:
        raise ConfigError(f"HTTP_LISTEN: {error}") from None
    async with serving(app_endpoints(app), host, port, routes) as server:
        yield server
