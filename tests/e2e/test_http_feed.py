"""The bot's own HTTP server over the real app (SQLite and PostgreSQL): ``/healthz``, the
calendar feed with its filters and one event's ``.ics``, fetched on 127.0.0.1 with aiohttp
and parsed with icalendar; ``HTTP_LISTEN`` in the configuration and in ``run``."""

from __future__ import annotations

import datetime as dt
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import icalendar
import pytest

from bot.app import App
from bot.calendars.ics import event_uid
from bot.config import ConfigError, settings_from
from bot.core.domain import Event, EventStatus
from bot.http.server import HttpServer, app_endpoints, serving, serving_http
from tests.e2e.conftest import Runner

BRUSSELS = ZoneInfo("Europe/Brussels")
CALENDAR = "text/calendar"
CURATED = (
    "immortal-regiment-liege-citadel",
    "victory-day-evere-cemetery",
    "immortal-regiment-genk",
)
"""The yearly ceremonies of the curated dataset (2027, not confirmed yet)."""


def uid(slug: str) -> str:
    return f"event-{slug}@commemoration-bot"


def brussels(year: int, month: int, day: int, hour: int, minute: int) -> dt.datetime:
    """A local time in Brussels, as the aware UTC instant events store."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=BRUSSELS).astimezone(dt.UTC)


class Fixture:
    """The app with a few events of its own beside the curated ones, and its server."""

    def __init__(self, app: App, server: HttpServer, session: aiohttp.ClientSession) -> None:
        self.app = app
        self.server = server
        self.session = session
        self.ids: dict[str, int] = {}

    async def add(self, event: Event) -> Event:
        saved = await self.app.events.save_event(event)
        assert saved.id is not None
        self.ids[saved.slug] = saved.id
        return saved

    async def get(self, path: str) -> tuple[int, str, bytes]:
        async with self.session.get(self.server.url + path) as response:
            return response.status, response.headers.get("Content-Type", ""), await response.read()

    async def calendar(self, path: str) -> icalendar.Calendar:
        status, content_type, body = await self.get(path)
        assert status == 200, body
        assert content_type == "text/calendar; charset=utf-8"
        calendar = icalendar.Calendar.from_ical(body)
        assert isinstance(calendar, icalendar.Calendar)
        for name in ("PRODID", "VERSION"):
            assert name in calendar
        assert calendar["METHOD"] == "PUBLISH"
        assert calendar.get_missing_tzids() == set()
        for vevent in calendar.events:
            for name in ("UID", "DTSTAMP", "DTSTART", "SUMMARY", "STATUS"):
                assert name in vevent, (name, vevent)
        return calendar

    async def uids(self, path: str) -> list[str]:
        return [str(vevent["UID"]) for vevent in (await self.calendar(path)).events]


@pytest.fixture
async def served(app: App) -> AsyncIterator[Fixture]:
    """The app's HTTP server on 127.0.0.1 (a free port), with events of every kind."""
    async with (
        serving_http(app, "127.0.0.1:0") as server,
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session,
    ):
        assert server is not None
        fixture = Fixture(app, server, session)
        citadel = Event(
            slug="wreath-liege",
            starts_at=brussels(2026, 6, 21, 11, 0),
            timezone="Europe/Brussels",
            title={"en": "Wreath at the Citadel", "ru": "Венок у Цитадели"},
            description={"en": "Flowers at the wall."},
            memorial="liege-citadel-memorial",
            country="BE",
            city="Liège",
            sequence=1,
            announced_at=dt.datetime(2026, 5, 1, tzinfo=dt.UTC),
        )
        await fixture.add(citadel)
        await fixture.add(
            Event(
                slug="vyazma-memory-day",
                starts_at=dt.datetime(2026, 10, 7, 7, 0, tzinfo=dt.UTC),
                timezone="Europe/Moscow",
                title={"en": "Memory day at Vyazma"},
                place={"en": "Bogoroditskoye Field, Vyazma"},
                country="RU",
                city="Vyazma",
                lat=55.15,
                lon=34.35,
                sequence=1,
            )
        )
        await fixture.add(
            replace(
                citadel,
                slug="draft-rebecq",
                memorial=None,
                city="Rebecq",
                status=EventStatus.DRAFT,
                sequence=0,
            )
        )
        await fixture.add(
            replace(
                citadel,
                slug="cancelled-genk",
                city="Genk",
                memorial=None,
                status=EventStatus.CANCELLED,
                sequence=2,
            )
        )
        await fixture.add(
            replace(citadel, slug="past-liege", starts_at=brussels(2026, 5, 1, 11, 0))
        )
        yield fixture


async def test_healthz_says_ok_when_the_database_answers(served: Fixture) -> None:
    status, _, body = await served.get("/healthz")
    assert status == 200
    assert body.splitlines()[:1] == [b"ok"], "the first line says it all; a line per check follows"
    assert body.splitlines()[1].startswith(b"database: ok")


async def test_the_feed_holds_upcoming_published_events_and_never_drafts(served: Fixture) -> None:
    calendar = await served.calendar("/calendar.ics")
    uids = [str(vevent["UID"]) for vevent in calendar.events]
    assert uids == [  # soonest first, then by slug
        uid("cancelled-genk"),
        uid("wreath-liege"),
        uid("vyazma-memory-day"),
        *map(uid, CURATED),
    ]
    by_uid = {str(vevent["UID"]): vevent for vevent in calendar.events}
    assert by_uid[uid("cancelled-genk")]["STATUS"] == "CANCELLED"
    assert by_uid[uid("cancelled-genk")].sequence == 2
    wreath = by_uid[uid("wreath-liege")]
    assert wreath["STATUS"] == "CONFIRMED"
    assert wreath["DTSTART"].params["TZID"] == "Europe/Brussels"
    assert wreath.start == dt.datetime(2026, 6, 21, 11, 0, tzinfo=BRUSSELS)
    assert wreath.end - wreath.start == dt.timedelta(hours=2)
    # The memorial stands in for the place the event does not store.
    assert str(wreath["LOCATION"]).startswith("Citadel of Liège Memorial")
    assert "GEO" in wreath
    vyazma = by_uid[uid("vyazma-memory-day")]
    assert vyazma["DTSTART"].params["TZID"] == "Europe/Moscow"
    assert sorted(timezone.tz_name for timezone in calendar.timezones) == [
        "Europe/Brussels",
        "Europe/Moscow",
    ]
    for slug in CURATED:  # yearly, not confirmed: their date only
        vevent = by_uid[uid(slug)]
        assert vevent["STATUS"] == "TENTATIVE"
        assert vevent.start == dt.date(2027, 5, vevent.start.day)
        assert not isinstance(vevent.start, dt.datetime)


async def test_the_feed_filters_by_country_town_and_memorial(served: Fixture) -> None:
    belgium = await served.uids("/calendar.ics?country=BE")
    assert uid("vyazma-memory-day") not in belgium
    assert {uid("wreath-liege"), uid("cancelled-genk"), *map(uid, CURATED)} == set(belgium)
    assert await served.uids("/calendar.ics?country=ru") == [uid("vyazma-memory-day")]
    assert await served.uids("/calendar.ics?country=NL") == []
    liege = [uid("wreath-liege"), uid("immortal-regiment-liege-citadel")]
    for town in ("Liège", "liege", "Luik", "Льеж"):
        assert await served.uids(f"/calendar.ics?city={town}") == liege, town
    assert await served.uids("/calendar.ics?city=Genk") == [
        uid("cancelled-genk"),
        uid("immortal-regiment-genk"),
    ]
    assert await served.uids("/calendar.ics?memorial=liege-citadel-memorial") == liege
    assert await served.uids("/calendar.ics?memorial=liege-citadel-memorial&country=RU") == []
    assert await served.uids("/calendar.ics?memorial=no-such-memorial") == []


async def test_the_feed_speaks_the_language_asked_for(served: Fixture) -> None:
    calendar = await served.calendar("/calendar.ics?lang=ru&city=Liège")
    summaries = [str(vevent["SUMMARY"]) for vevent in calendar.events]
    assert summaries == ["Венок у Цитадели", "«Бессмертный полк» в Цитадели Льежа"]
    assert str(calendar.events[0]["LOCATION"]).startswith("Мемориал в Цитадели Льежа")
    assert str(calendar["X-WR-CALNAME"]) != "Upcoming events"


@pytest.mark.parametrize("query", ["lang=xx", "country=Belgium", "country=B1"])
async def test_bad_parameters_are_refused(served: Fixture, query: str) -> None:
    status, _, _ = await served.get(f"/calendar.ics?{query}")
    assert status == 400


async def test_one_event_as_a_file_and_404_for_drafts_and_unknown_ids(served: Fixture) -> None:
    event_id = served.ids["wreath-liege"]
    calendar = await served.calendar(f"/events/{event_id}.ics?lang=ru")
    [vevent] = calendar.events
    assert vevent["UID"] == uid("wreath-liege")
    assert vevent["SUMMARY"] == "Венок у Цитадели"
    assert [timezone.tz_name for timezone in calendar.timezones] == ["Europe/Brussels"]
    cancelled = await served.calendar(f"/events/{served.ids['cancelled-genk']}.ics")
    assert cancelled.events[0]["STATUS"] == "CANCELLED"
    for path in (
        f"/events/{served.ids['draft-rebecq']}.ics",
        "/events/999999.ics",
        "/events/abc.ics",
        "/events/99999999999999999999999.ics",
    ):
        status, _, _ = await served.get(path)
        assert status == 404, path


async def test_a_change_keeps_the_uid_and_bumps_the_sequence(served: Fixture) -> None:
    event_id = served.ids["wreath-liege"]
    before = (await served.calendar(f"/events/{event_id}.ics")).events[0]
    stored = await served.app.events.get_event(event_id)
    assert stored is not None
    await served.app.events.save_event(
        replace(
            stored, starts_at=brussels(2026, 6, 22, 15, 0), status=EventStatus.MOVED, sequence=2
        )
    )
    after = (await served.calendar(f"/events/{event_id}.ics")).events[0]
    assert before["UID"] == after["UID"] == event_uid(stored)
    assert (before.sequence, after.sequence) == (1, 2)
    assert after.start == dt.datetime(2026, 6, 22, 15, 0, tzinfo=BRUSSELS)
    feed = await served.calendar("/calendar.ics?city=Liège")
    assert [vevent.sequence for vevent in feed.events][:1] == [2]


async def test_healthz_is_503_when_the_database_does_not_answer(app: App) -> None:
    async def unreachable() -> None:
        raise OSError("connection refused")

    endpoints = replace(app_endpoints(app), health=unreachable)
    async with (
        serving(endpoints, "127.0.0.1", 0) as server,
        aiohttp.ClientSession() as session,
        session.get(server.url + "/healthz") as response,
    ):
        assert response.status == 503


async def test_a_port_in_use_is_a_config_error(app: App) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match="HTTP_LISTEN"):
            async with serving_http(app, f"127.0.0.1:{port}"):
                pass


async def test_no_http_listen_means_no_server(app: App) -> None:
    assert app.settings.http_listen is None
    async with serving_http(app) as server:
        assert server is None


@pytest.mark.parametrize("value", ["8080", "localhost", "127.0.0.1:", ":8080", "host:http", "h:0"])
def test_a_bad_http_listen_is_one_line_naming_the_variable(value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from({"HTTP_LISTEN": value})
    message = str(caught.value)
    assert message.startswith("HTTP_LISTEN")
    assert "\n" not in message
    assert settings_from({"HTTP_LISTEN": "127.0.0.1:8080"}).http_listen == "127.0.0.1:8080"
    assert settings_from({"HTTP_LISTEN": ""}).http_listen is None


@pytest.mark.slow
def test_the_cli_refuses_a_bad_http_listen(run_cli: Runner) -> None:
    result = run_cli("run", env={"HTTP_LISTEN": "everywhere"})
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "HTTP_LISTEN" in result.stderr


LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))
"""An opener that never goes through a proxy of the environment."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.mark.slow
def test_run_serves_healthz_and_the_feed_while_the_bot_runs(tmp_path: Path) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        "PATH": "/usr/bin:/bin",
        "PTB_TIMEDELTA": "true",
        "HTTP_LISTEN": f"127.0.0.1:{port}",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.sqlite3'}",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with LOCAL.open(base + "/healthz", timeout=5) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert process.poll() is None, process.communicate()
                assert time.monotonic() < deadline, "the HTTP server did not come up"
                time.sleep(0.2)
        with LOCAL.open(base + "/calendar.ics?country=BE", timeout=5) as response:
            assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
            calendar = icalendar.Calendar.from_ical(response.read())
        assert {str(vevent["UID"]) for vevent in calendar.events} == set(map(uid, CURATED))
        _, stderr = process.communicate(input=b"", timeout=60)  # end of input: the bot stops
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr.decode()
    with socket.socket() as again:  # nothing listens there any more
        again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        again.bind(("127.0.0.1", port))
        again.listen()
