"""Soak: a simulated week of daily posts and event announcements for thousands of chats, with
commands arriving meanwhile, on the fake platform servers, in compressed time.

    python bench/soak.py                       # 10,000 chats, 50 zones, 7 days, SQLite
    python bench/soak.py --db postgres         # the same on the local PostgreSQL
    python bench/soak.py --chats 500 --days 2  # a shorter run

The bot is the real one in one event loop: the app on a fresh database (the curated dataset
loaded), the Telegram adapter long-polling ``tests/fakes/telegram_server.py`` and the Discord
adapter on the gateway of ``tests/fakes/discord_server.py``, and the delivery service as the
running bot has it (``DeliveryService.start``: one long-running drainer per platform, the
adapters' senders). The fakes run in a process of their own (``Fakes``), as the platforms do
in production, with the users sending commands and the counting of what arrives: the bot's
loop, its lag and its memory are the bot's alone. The bot's process drives them through a
pipe: they forget what they recorded after each tick and report at the end.

Only the clock is simulated: ``SoakClock`` is the app's clock and the service's, and instead
of APScheduler's minute job the soak moves it to each minute at which something falls due
(every minute with ``--every-minute``) and runs that minute's planning pass
(``DeliveryService.plan_pass``, which also queues the next minute's daily posts ahead), then
waits until the queue is empty but for those; what else the running
bot's tick does, giving the heap's free pages back (``bot.memory``), runs each real minute.
Sending, pacing, retries and the commands run in real time.

The load: ``--chats`` subscriptions (80 % Telegram private chats, 20 % Discord channels in
servers of 20) over ``--zones`` time zones, at three local times of day, in five languages;
2 in 10 follow no events, 1 in 10 all of them, the others their country's (one of those
seven takes no events topic). ``--events-per-day`` events (default one) are published during
the week, each in a zone's country (an announcement, then reminders a day and two hours
before the start).
Commands arrive at ``--rate`` a second from 1,000 users through the fakes (three of four on
Telegram, one on Discord as slash commands): /today, /today <date>, /memorial <name>, /near
<lat> <lon>, /events and /subscribe, each answered through the real handlers; the chats that
subscribe get posts too (counted, outside the schedule check). The ledger's claim lease is 30
days (see ``run_soak``): claims are guarded by the heartbeat, in real time.

Ceilings: Telegram posts are paid broadcasts (``TELEGRAM_PAID_BROADCAST=1``,
``TELEGRAM_RATE_LIMIT=980`` against the fake's paid ceiling of 1000/s; replies to commands
stay under the free 30/s); Discord's global ceiling on the fake is raised to 1000/s (large
bots get a raised limit from Discord) with ``DISCORD_RATE_LIMIT=450``; the per-chat and
per-channel limits are Telegram's and Discord's own.

Measured: command latency (from the user's message or interaction reaching the fake to the
bot's first answer reaching it, timed in the fakes' process), event-loop lag (a task sleeping
10 ms again and again records how late it wakes), the bot's process's resident memory
(``/proc/self/statm``, each second; the soak's own samples there, lags and memory, stay under
a few MB), and the ledger: every row sent, none left queued or claimed, no text received
twice in a chat and none missing, and each seeded chat's rows (its daily posts, its events'
items) exactly as its schedule says, computed apart with ``zoneinfo``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from array import array
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, contextmanager, suppress
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("PTB_TIMEDELTA", "true")

import psycopg  # noqa: E402
from sqlalchemy import and_, func, insert, select  # noqa: E402

from bot.adapters.discord import DiscordAdapter, DiscordOptions  # noqa: E402
from bot.adapters.telegram import TelegramAdapter  # noqa: E402
from bot.app import App, open_app  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.memory import release_free_memory  # noqa: E402
from bot.runner import feature_items, pace_replies_with_deliveries  # noqa: E402
from bot.scheduling.service import DeliveryService  # noqa: E402
from bot.scheduling.settings import DeliverySettings  # noqa: E402
from db import models  # noqa: E402
from db.deliveries import SqlDeliveryLedger  # noqa: E402
from tests.fakes.discord_server import FakeDiscordServer, RateLimits  # noqa: E402
from tests.fakes.discord_server import SentMessage as DiscordMessage  # noqa: E402
from tests.fakes.telegram_server import FakeTelegramServer, FloodLimits  # noqa: E402
from tests.fakes.telegram_server import SentMessage as TelegramMessage  # noqa: E402

log = logging.getLogger("soak")

START = dt.datetime(2026, 6, 1, 0, 0, tzinfo=dt.UTC)
"""Monday 1 June 2026, 00:00 UTC: no zone of ``ZONES`` changes its offset that week."""

ZONES: tuple[tuple[str, str], ...] = (
    ("Europe/Brussels", "BE"),
    ("Europe/Moscow", "RU"),
    ("Europe/Paris", "FR"),
    ("Europe/Berlin", "DE"),
    ("Europe/Amsterdam", "NL"),
    ("Europe/London", "GB"),
    ("Europe/Kyiv", "UA"),
    ("Europe/Minsk", "BY"),
    ("Asia/Yekaterinburg", "RU"),
    ("Asia/Novosibirsk", "RU"),
    ("Asia/Vladivostok", "RU"),
    ("America/New_York", "US"),
    ("America/Los_Angeles", "US"),
    ("Asia/Kolkata", "IN"),
    ("Asia/Kathmandu", "NP"),
    ("Asia/Tehran", "IR"),
    ("America/St_Johns", "CA"),
    ("Australia/Sydney", "AU"),
    ("Pacific/Auckland", "NZ"),
    ("Asia/Tokyo", "JP"),
    ("Europe/Madrid", "ES"),
    ("Europe/Rome", "IT"),
    ("Europe/Warsaw", "PL"),
    ("Europe/Helsinki", "FI"),
    ("Europe/Athens", "GR"),
    ("Europe/Lisbon", "PT"),
    ("Europe/Dublin", "IE"),
    ("Europe/Prague", "CZ"),
    ("Europe/Vienna", "AT"),
    ("Europe/Stockholm", "SE"),
    ("Europe/Oslo", "NO"),
    ("Europe/Bucharest", "RO"),
    ("Europe/Sofia", "BG"),
    ("Europe/Riga", "LV"),
    ("Europe/Vilnius", "LT"),
    ("Europe/Tallinn", "EE"),
    ("Europe/Belgrade", "RS"),
    ("Europe/Istanbul", "TR"),
    ("Asia/Almaty", "KZ"),
    ("Asia/Tashkent", "UZ"),
    ("Asia/Tbilisi", "GE"),
    ("Asia/Yerevan", "AM"),
    ("Asia/Baku", "AZ"),
    ("Asia/Shanghai", "CN"),
    ("Asia/Singapore", "SG"),
    ("Asia/Dubai", "AE"),
    ("Asia/Jerusalem", "IL"),
    ("America/Chicago", "US"),
    ("America/Sao_Paulo", "BR"),
    ("America/Toronto", "CA"),
)
TIMES = (dt.time(9, 0), dt.time(7, 30), dt.time(18, 45))
LANGUAGES = ("en", "ru", "fr", "nl", "de")
REMINDERS = (24 * 60, 2 * 60)
DISCORD_CHANNELS_PER_SERVER = 20
DRAINED_POLL = 0.1
"""Seconds between two looks at the ledger while a tick's rows are being sent: the soak's own
query in the bot's loop (the running bot has none), 2 % of that loop at 20 a second."""
LEASE = dt.timedelta(days=30)
"""``DELIVERY_CLAIM_LEASE`` of the soak (see ``run_soak``)."""


@dataclass(frozen=True)
class SoakConfig:
    """The size of a soak run."""

    chats: int = 10_000
    zones: int = 50
    days: float = 7.0
    rate: float = 20.0
    """Commands a second."""
    discord_share: float = 0.2
    events_per_day: int = 1
    command_users: int = 1000
    every_minute: bool = False
    telegram_rate: float = 980.0
    discord_rate: float = 450.0
    discord_ceiling: int = 1000
    seed: int = 1


@dataclass
class Quantiles:
    """p50, p95, p99 and the maximum of a sample, in milliseconds."""

    count: int = 0
    p50: float = 0.0
    p95: float = 0.0
    p99: float = 0.0
    max: float = 0.0

    @classmethod
    def of(cls, seconds: list[float]) -> Quantiles:
        if not seconds:
            return cls()
        ordered = sorted(seconds)

        def at(q: float) -> float:
            return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]

        return cls(len(ordered), at(0.50), at(0.95), at(0.99), 1000 * ordered[-1])


@dataclass
class SoakResult:
    """What a soak run measured."""

    config: SoakConfig
    database: str
    elapsed: float = 0.0
    ticks: int = 0
    simulated_days: float = 0.0
    commands_sent: int = 0
    commands_answered: int = 0
    commands_unanswered: int = 0
    latency: Quantiles = field(default_factory=Quantiles)
    latency_by_command: dict[str, Quantiles] = field(default_factory=dict)
    lag: Quantiles = field(default_factory=Quantiles)
    rss_mb: list[tuple[float, float]] = field(default_factory=list)
    """(seconds since the start, resident MB), each second."""
    delivered: Counter[tuple[str, str]] = field(default_factory=Counter)
    """Sends received by the fakes, by platform and kind (daily, announce, remind, other)."""
    ledger: dict[str, int] = field(default_factory=dict)
    """Ledger rows by status."""
    expected_rows: int = 0
    missing: int = 0
    """Rows the schedule called for that the ledger lacks, plus ledger rows never received."""
    unexpected: int = 0
    """Ledger rows of the seeded chats the schedule did not call for."""
    duplicates: int = 0
    """Sends received beyond the ledger's rows for a chat (a post received twice)."""
    left_pending: int = 0
    queued_ahead: int = 0
    """Daily posts of the minute after the end, queued ahead by the last tick (not counted)."""
    rate_limited: dict[str, int] = field(default_factory=dict)
    telegram_429s: dict[str, int] = field(default_factory=dict)
    """Telegram's 429s by method and whether the send was a paid broadcast (a post)."""
    server_errors: int = 0
    errors_logged: list[str] = field(default_factory=list)
    load: str = ""

    @property
    def memory(self) -> tuple[float, float, float]:
        """Resident MB at the start, halfway and at the end."""
        if not self.rss_mb:
            return 0.0, 0.0, 0.0
        return self.rss_mb[0][1], self._at(self.elapsed / 2), self.rss_mb[-1][1]

    def _at(self, t: float) -> float:
        return min(self.rss_mb, key=lambda sample: abs(sample[0] - t))[1]

    @property
    def second_half_growth(self) -> tuple[float, float]:
        """Over the second half of the run: the least-squares slope of resident memory (MB a
        minute) and the end over the middle as a ratio."""
        half = [s for s in self.rss_mb if s[0] >= self.elapsed / 2]
        if len(half) < 2:
            return 0.0, 1.0
        xs = [s[0] / 60 for s in half]
        ys = [s[1] for s in half]
        slope = statistics.linear_regression(xs, ys).slope if len(set(xs)) > 1 else 0.0
        return slope, half[-1][1] / max(half[0][1], 1e-9)


class SoakClock:
    """Simulated wall time: an instant the soak sets, plus the real time since it was set.

    The app's clock (handlers, the planner, lateness) and the delivery service's time source
    (leases and retry instants) at once; monotonic time and sleeping are real, so pacing and
    retries behave as in production."""

    def __init__(self, start: dt.datetime) -> None:
        self._at = start
        self._origin = time.monotonic()

    def now(self) -> dt.datetime:
        """The simulated instant."""
        return self._at + dt.timedelta(seconds=time.monotonic() - self._origin)

    def monotonic(self) -> float:
        """Real monotonic seconds."""
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        """A real sleep."""
        await asyncio.sleep(max(0.0, seconds))

    def advance_to(self, at: dt.datetime) -> None:
        """Move to ``at`` (never back: a pass that took longer keeps its later instant)."""
        self._at = max(at, self.now())
        self._origin = time.monotonic()


# -- the world --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chat:
    """A seeded subscription's chat."""

    platform: str
    chat_id: str
    zone: str
    country: str
    at: dt.time
    language: str
    topics: tuple[str, ...]
    follow: str


@dataclass(frozen=True)
class PlannedEvent:
    """An event published during the week."""

    slug: str
    announced_at: dt.datetime
    starts_at: dt.datetime
    timezone: str
    country: str

    def items(self) -> list[tuple[str, dt.datetime]]:
        """(kind, due) of its announcement and reminders."""
        found = [("announce", self.announced_at)]
        for minutes in REMINDERS:
            due = self.starts_at - dt.timedelta(minutes=minutes)
            if due >= self.announced_at:
                found.append(("remind", due))
        return found


def chats_of(config: SoakConfig, telegram: list[int], discord: list[int]) -> list[Chat]:
    """The seeded chats: zones, times, languages and follows spread evenly."""
    rng = random.Random(config.seed)
    ids = [("telegram", str(c)) for c in telegram] + [("discord", str(c)) for c in discord]
    rng.shuffle(ids)
    chats = []
    zones = ZONES[: config.zones]
    for n, (platform, chat_id) in enumerate(ids):
        zone, country = zones[n % len(zones)]
        kind = n % 10
        follow = "all" if kind == 0 else "none" if kind in (1, 2) else f"country:{country}"
        chats.append(
            Chat(
                platform=platform,
                chat_id=chat_id,
                zone=zone,
                country=country,
                at=TIMES[(n // len(zones)) % len(TIMES)],
                language=LANGUAGES[n % len(LANGUAGES)],
                topics=("today",) if kind == 3 else ("today", "events"),
                follow=follow,
            )
        )
    return chats


def events_of(config: SoakConfig) -> list[PlannedEvent]:
    """Events published through the week, each in a zone's country, starting 1 to 3 days on."""
    rng = random.Random(config.seed + 1)
    count = max(1, round(config.events_per_day * config.days))
    span = dt.timedelta(days=config.days)
    zones = ZONES[: config.zones]
    events = []
    for n in range(count):
        announced = START + span * (n + 0.5) / count
        announced = announced.replace(second=0, microsecond=0) + dt.timedelta(minutes=7)
        starts = announced + dt.timedelta(hours=rng.choice((26, 30, 50, 72)))
        zone, country = zones[(n * 7) % len(zones)]
        events.append(PlannedEvent(f"soak-{n}", announced, starts, zone, country))
    return events


def daily_dues(chat: Chat, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """The instants of ``chat``'s daily posts that the week's ticks send: due after the first
    tick's recompute grace (five minutes before ``start``), up to ``end``."""
    tz = ZoneInfo(chat.zone)
    first = (start - dt.timedelta(days=1)).astimezone(tz).date()
    found = []
    for offset in range((end - start).days + 3):
        day = first + dt.timedelta(days=offset)
        due = dt.datetime.combine(day, chat.at, tzinfo=tz).astimezone(dt.UTC)
        if start - dt.timedelta(minutes=5) < due <= end:
            found.append(due)
    return found


def hears(chat: Chat, event: PlannedEvent) -> bool:
    """Whether ``chat`` gets ``event``'s items."""
    return "events" in chat.topics and chat.follow in ("all", f"country:{event.country}")


# -- measuring --------------------------------------------------------------------------------


def rss_mb() -> float:
    """This process's resident memory in MB (``/proc/self/statm``)."""
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
    except OSError:
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


async def sample_lag(lags: list[float], stop: asyncio.Event) -> None:
    """Sleep 10 ms again and again and record how late each wake-up is."""
    while not stop.is_set():
        before = time.perf_counter()
        await asyncio.sleep(0.01)
        lags.append(max(0.0, time.perf_counter() - before - 0.01))


async def sample_memory(result: SoakResult, began: float, stop: asyncio.Event) -> None:
    """Resident memory each second."""
    while not stop.is_set():
        result.rss_mb.append((time.monotonic() - began, rss_mb()))
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)


async def release_free_memory_each_minute(stop: asyncio.Event) -> None:
    """What the running bot's minute tick does besides planning (``running_scheduler``): give
    the heap's free pages back to the system (``bot.memory``), each real minute."""
    while not stop.is_set():
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 60.0)
        release_free_memory()


class ErrorLog(logging.Handler):
    """Keeps the first lines of errors logged during the run."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if len(self.lines) < 50:
            self.lines.append(f"{record.name}: {record.getMessage()[:300]}")


# -- commands ---------------------------------------------------------------------------------

TELEGRAM_COMMANDS = (
    "/today",
    "/today 05-09",
    "/memorial Liège",
    "/memorial Genk",
    "/near 50.63 5.57",
    "/events",
    "/subscribe",
)
DISCORD_COMMANDS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("today", {}),
    ("today", {"date": "05-09"}),
    ("memorial", {"query": "Liège"}),
    ("near", {"latitude": "50.63", "longitude": "5.57"}),
    ("events", {}),
    ("subscribe", {}),
)


class Commands:
    """Users sending commands at a steady rate; each latency is the time from the message (or
    interaction) to the bot's first answer."""

    def __init__(
        self,
        tg: FakeTelegramServer,
        dc: FakeDiscordServer,
        rate: float,
        users: int,
        discord_every: int = 4,
    ) -> None:
        self.tg = tg
        self.dc = dc
        self.rate = rate
        self.discord_every = discord_every
        self.tg_users = [tg.add_user(f"Asker {n}", language_code="en") for n in range(users)]
        self.tg_chats = {tg.private_chat(user).id: user for user in self.tg_users}
        owner = dc.add_user("soak_owner")
        self.dc_owner = owner
        self.dc_guild = dc.add_guild(
            "Commands", owner=owner, channels=[f"ask-{n}" for n in range(10)]
        )
        self.dc_channels = [channel.id for channel in self.dc_guild.text_channels]
        self.waiting: dict[int, tuple[float, str, asyncio.Future[float]]] = {}
        self.latencies: list[tuple[str, float]] = []
        self.sent = 0
        self.unanswered: list[str] = []
        self.tasks: set[asyncio.Task[None]] = set()
        tg.observers.append(self._telegram_sent)

    def _telegram_sent(self, message: TelegramMessage) -> None:
        if message.params.get("allow_paid_broadcast"):
            return  # a scheduled post, not an answer
        waiting = self.waiting.pop(message.chat_id, None)
        if waiting is not None and not waiting[2].done():
            waiting[2].set_result(time.perf_counter())

    async def run(self, stop: asyncio.Event) -> None:
        """Send commands at ``rate`` a second until ``stop``."""
        began = time.perf_counter()
        n = 0
        while not stop.is_set():
            n += 1
            delay = began + n / self.rate - time.perf_counter()
            if delay > 0:
                try:
                    await asyncio.wait_for(stop.wait(), delay)
                    break
                except TimeoutError:
                    pass
            coroutine = self._discord(n) if n % self.discord_every == 0 else self._telegram(n)
            task = asyncio.create_task(coroutine)
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        if self.tasks:
            await asyncio.wait(self.tasks, timeout=30)

    async def _telegram(self, n: int) -> None:
        user = self.tg_users[n % len(self.tg_users)]
        chat_id = self.tg.private_chat(user).id
        if chat_id in self.waiting:
            return  # its previous command is still unanswered (counted when it times out)
        text = TELEGRAM_COMMANDS[n % len(TELEGRAM_COMMANDS)]
        name = text.split()[0]
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        started = time.perf_counter()
        self.waiting[chat_id] = (started, name, future)
        self.sent += 1
        self.tg.send_user_message(user, chat_id, text)
        try:
            answered = await asyncio.wait_for(future, 30)
        except TimeoutError:
            self.waiting.pop(chat_id, None)
            self.unanswered.append(f"telegram {text}")
            return
        self.latencies.append((f"telegram {name}", answered - started))

    async def _discord(self, n: int) -> None:
        name, options = DISCORD_COMMANDS[n % len(DISCORD_COMMANDS)]
        channel = self.dc_guild.text_channels[n % len(self.dc_guild.text_channels)]
        self.sent += 1
        started = time.perf_counter()
        try:
            handle = await self.dc.slash_command(
                self.dc_guild, channel, self.dc_owner, name, options
            )
            await handle.response(timeout=30)
        except Exception as error:
            self.unanswered.append(f"discord /{name}: {error!r}"[:200])
            return
        self.latencies.append((f"discord /{name}", time.perf_counter() - started))


# -- the fakes' process -----------------------------------------------------------------------


@dataclass(frozen=True)
class World:
    """What the fakes' process tells the bot's: where the fakes listen and the seeded chats."""

    telegram_token: str
    telegram_base_url: str
    discord_token: str
    discord_api_base: str
    discord_gateway_url: str
    telegram_chats: list[int]
    discord_channels: list[int]


@dataclass
class FakesReport:
    """What the fakes' process measured and counted, sent to the bot's at the end."""

    commands_sent: int = 0
    latencies: list[tuple[str, float]] = field(default_factory=list)
    unanswered: list[str] = field(default_factory=list)
    received: dict[tuple[str, str], array[int]] = field(default_factory=dict)
    """The hash of each post's text received, by platform and chat."""
    telegram_429s: dict[str, int] = field(default_factory=dict)
    rate_limited: dict[str, int] = field(default_factory=dict)
    server_errors: int = 0
    errors_logged: list[str] = field(default_factory=list)


def run_fakes(config: SoakConfig, channel: Connection) -> None:
    """The fakes' process: both fake servers, the users sending commands and the counting of
    what arrives, in an event loop of their own, driven by the bot's process through
    ``channel`` (see ``Fakes``)."""
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        asyncio.run(_serve_fakes(config, channel))
    except BaseException as error:
        with suppress(OSError):
            channel.send(("error", f"the fakes' process failed: {error!r}"))
        raise


async def _serve_fakes(config: SoakConfig, channel: Connection) -> None:
    errors = ErrorLog()
    logging.getLogger().addHandler(errors)
    loop = asyncio.get_running_loop()
    inbox: asyncio.Queue[str] = asyncio.Queue()

    def read() -> None:
        try:
            inbox.put_nowait(channel.recv())
        except EOFError:  # the bot's process is gone: stop
            loop.remove_reader(channel.fileno())
            inbox.put_nowait("exit")

    loop.add_reader(channel.fileno(), read)
    telegram_count = round(config.chats * (1 - config.discord_share))
    discord_count = config.chats - telegram_count
    flood = FloodLimits(enabled=True, global_per_second=30, paid_per_second=1000)
    limits = RateLimits.discord(global_per_second=config.discord_ceiling)
    try:
        async with (
            FakeTelegramServer(flood_control=flood, calls_kept=1000) as tg,
            FakeDiscordServer(rate_limits=limits, request_log_size=1000) as dc,
        ):
            tg_chats = [
                tg.private_chat(tg.add_user(f"Reader {n}")).id for n in range(telegram_count)
            ]
            dc_channels: list[int] = []
            for server in range((discord_count + DISCORD_CHANNELS_PER_SERVER - 1) // 20):
                size = min(DISCORD_CHANNELS_PER_SERVER, discord_count - len(dc_channels))
                guild = dc.add_guild(f"Server {server}", channels=[f"c{n}" for n in range(size)])
                dc_channels += [channel.id for channel in guild.text_channels]
            commands = Commands(tg, dc, config.rate, config.command_users)
            received: dict[tuple[str, str], array[int]] = {}

            def note(platform: str, chat_id: int, text: str) -> None:
                key = (platform, str(chat_id))
                texts = received.get(key)
                if texts is None:
                    texts = received[key] = array("q")
                texts.append(hash(text))

            def on_telegram(message: TelegramMessage) -> None:
                if message.params.get("allow_paid_broadcast"):
                    note("telegram", message.chat_id, f"{message.kind} {message.text}")

            def on_discord(message: DiscordMessage) -> None:
                if message.source == "channel":
                    embeds = " ".join(
                        f"{e.get('title')} {e.get('description')}" for e in message.embeds
                    )
                    note("discord", message.channel_id, f"{message.content} {embeds}")

            tg.observers.append(on_telegram)
            dc.observers.append(on_discord)
            channel.send(
                (
                    "world",
                    World(
                        tg.token,
                        tg.base_url,
                        dc.token,
                        dc.api_base,
                        dc.gateway_url,
                        tg_chats,
                        dc_channels,
                    ),
                )
            )
            stop = asyncio.Event()
            running: asyncio.Task[None] | None = None
            while True:
                order = await inbox.get()
                if order == "connected":
                    await dc.wait_until_connected(1, timeout=60)
                elif order == "commands":
                    running = asyncio.create_task(commands.run(stop))
                elif order == "forget":
                    # between two ticks, nothing in flight: what the next ticks do not need
                    idle = [chat for chat in commands.tg_chats if chat not in commands.waiting]
                    tg.forget([*tg_chats, *idle])
                    dc.forget(dc_channels)
                    dc.forget(commands.dc_channels, older_than=60.0)
                elif order == "report":
                    stop.set()
                    if running is not None:
                        await running
                    channel.send(("report", _report(commands, tg, dc, received, errors.lines)))
                    continue
                elif order == "exit":  # the bot has stopped
                    break
                channel.send(("done", order))
            tg.internal_errors.clear()  # reported; the server would raise them on exit
    finally:
        with suppress(OSError, ValueError):
            loop.remove_reader(channel.fileno())
        logging.getLogger().removeHandler(errors)


def _report(
    commands: Commands,
    tg: FakeTelegramServer,
    dc: FakeDiscordServer,
    received: dict[tuple[str, str], array[int]],
    errors: list[str],
) -> FakesReport:
    server_errors = sum(count for status, count in tg.stats.errors.items() if status >= 500)
    server_errors += sum(count for status, count in dc.stats.by_status.items() if status >= 500)
    return FakesReport(
        commands_sent=commands.sent,
        latencies=commands.latencies,
        unanswered=commands.unanswered,
        received=received,
        telegram_429s=dict(tg.stats.flood_by_method),
        rate_limited={"telegram": tg.stats.flood_rejections, "discord": dc.stats.rate_limited},
        server_errors=server_errors + len(tg.internal_errors),
        errors_logged=list(errors),
    )


class Fakes:
    """The fakes' process seen from the bot's: ``world`` once started, then ``order`` what the
    fakes do (wait for the bot's gateway connection, start the commands, forget between
    ticks) and ``stop`` for their report.

    The platforms are not in the bot's process in production; here they would take a share of
    its event loop (parsing and answering a thousand requests a second) and of its memory."""

    def __init__(self, config: SoakConfig) -> None:
        context = multiprocessing.get_context("spawn")
        self._channel, theirs = context.Pipe()
        self._process = context.Process(
            target=run_fakes, args=(config, theirs), name="soak-fakes", daemon=True
        )
        self.world: World | None = None

    async def __aenter__(self) -> World:
        self._process.start()
        world = await self._expect("world", timeout=120)
        assert isinstance(world, World)
        self.world = world
        return world

    async def __aexit__(self, *_: object) -> None:
        with suppress(OSError):
            self._channel.send("exit")
        await asyncio.to_thread(self._process.join, 30)
        if self._process.is_alive():
            self._process.terminate()
            await asyncio.to_thread(self._process.join, 10)
        self._channel.close()

    async def order(self, what: str, timeout: float = 120) -> None:  # noqa: ASYNC109
        """Have the fakes do ``what`` and wait until they did."""
        self._channel.send(what)
        await self._expect("done", timeout)

    async def report(self) -> FakesReport:
        """Stop the commands (those awaiting an answer are waited for) and report; the fake
        servers keep answering until the bot has stopped (``__aexit__``)."""
        self._channel.send("report")
        report = await self._expect("report", timeout=120)
        assert isinstance(report, FakesReport)
        return report

    async def _expect(self, kind: str, timeout: float) -> object:  # noqa: ASYNC109
        loop = asyncio.get_running_loop()
        readable: asyncio.Future[None] = loop.create_future()
        fd = self._channel.fileno()

        def ready() -> None:
            if not readable.done():
                readable.set_result(None)

        loop.add_reader(fd, ready)
        try:
            await asyncio.wait_for(readable, timeout)
        except TimeoutError:
            raise RuntimeError(
                f"the fakes' process did not answer {kind!r} in {timeout} s"
            ) from None
        finally:
            loop.remove_reader(fd)
        try:
            got, value = self._channel.recv()
        except EOFError:
            raise RuntimeError("the fakes' process ended") from None
        if got == "error":
            raise RuntimeError(str(value))
        if got != kind:
            raise RuntimeError(f"the fakes' process answered {got!r}, expected {kind!r}")
        return value


# -- the run ----------------------------------------------------------------------------------


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """A new PostgreSQL database (its ``postgresql+psycopg`` URL), dropped on exit."""
    name = f"soak_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def tick_instants(
    chats: list[Chat], events: list[PlannedEvent], start: dt.datetime, end: dt.datetime
) -> list[dt.datetime]:
    """The minutes at which something falls due, from ``start`` to ``end``."""
    found = {start}
    for zone, at in {(c.zone, c.at) for c in chats}:
        probe = Chat("", "", zone, "", at, "", (), "")
        found.update(daily_dues(probe, start, end))
    for event in events:
        found.update(due for _, due in event.items() if start < due <= end)
    return sorted(t for t in found if start <= t <= end)


async def seed(app: App, chats: list[Chat], events: list[PlannedEvent]) -> dict[str, Chat]:
    """Insert the subscriptions and the events; the chats by subscription id."""
    created = START - dt.timedelta(days=30)
    rows = [
        {
            "platform": c.platform,
            "chat_id": c.chat_id,
            "thread_id": "",
            "language": c.language,
            "timezone": c.zone,
            "delivery_time": c.at,
            "topics": list(c.topics),
            "follow": c.follow,
            "active": True,
            "next_run_at": None,
            "created_at": created,
            "updated_at": created,
        }
        for c in chats
    ]
    async with app.sessions.begin() as session:
        for chunk in range(0, len(rows), 2000):
            await session.execute(insert(models.Subscription), rows[chunk : chunk + 2000])
        for event in events:
            session.add(
                models.Event(
                    slug=event.slug,
                    starts_at=event.starts_at,
                    timezone=event.timezone,
                    place={"en": f"Memorial square ({event.country})"},
                    organizer="Soak",
                    status="scheduled",
                    title={"en": f"Wreath laying {event.slug}", "ru": f"Возложение {event.slug}"},
                    description={"en": "Flowers at the memorial."},
                    sources=[],
                    country=event.country,
                    reminders=list(REMINDERS),
                    announced_at=event.announced_at,
                    updated_at=event.announced_at,
                )
            )
    by_key = {(c.platform, c.chat_id): c for c in chats}
    async with app.sessions() as session:
        result = await session.execute(
            select(
                models.Subscription.id, models.Subscription.platform, models.Subscription.chat_id
            )
        )
        return {str(sid): by_key[(p, cid)] for sid, p, cid in result if (p, cid) in by_key}


async def wait_drained(
    ledger: SqlDeliveryLedger, lease: dt.timedelta, poll: float, clock: SoakClock
) -> None:
    """Until no row is queued or being sent, but those queued ahead for a later minute."""
    while True:
        pending = await ledger.pending(None, lease, clock.now())
        if pending.total == 0:
            return
        await asyncio.sleep(poll)


async def run_soak(
    config: SoakConfig,
    database_url: str,
    *,
    progress: Callable[[str], None] | None = None,
    on_app: Callable[[App], Awaitable[None]] | None = None,
) -> SoakResult:
    """One soak run on ``database_url`` (migrated and seeded here unless already)."""
    say = progress or (lambda _: None)
    result = SoakResult(config, "postgres" if "postgresql" in database_url else "sqlite")
    errors = ErrorLog()
    logging.getLogger().addHandler(errors)
    clock = SoakClock(START - dt.timedelta(hours=1))
    end = START + dt.timedelta(days=config.days)
    fakes = Fakes(config)
    try:
        async with fakes as world, AsyncExitStack() as stack:
            tg_chats, dc_channels = world.telegram_chats, world.discord_channels
            settings = replace(
                Settings(database_url=database_url),
                telegram_token=world.telegram_token,
                telegram_api_base_url=world.telegram_base_url,
                telegram_rate_limit=config.telegram_rate,
                telegram_paid_broadcast=True,
                discord_token=world.discord_token,
                discord_api_base_url=world.discord_api_base,
                discord_gateway_url=world.discord_gateway_url,
                discord_rate_limit=config.discord_rate,
            )
            say("opening the app")
            app = await open_app(settings, clock=clock)
            stack.push_async_callback(app.close)
            if on_app is not None:
                await on_app(app)
            chats = chats_of(config, tg_chats, dc_channels)
            events = events_of(config)
            by_subscription = await seed(app, chats, events)
            telegram = TelegramAdapter(app.dispatcher, settings, poll_timeout=5)
            await telegram.start()
            stack.push_async_callback(telegram.stop)
            discord = DiscordAdapter(
                app.dispatcher,
                settings,
                options=DiscordOptions(guild_ready_timeout=0.05, identify_delay=0.0),
            )
            await discord.start()
            stack.push_async_callback(discord.stop)
            await fakes.order("connected")
            ledger = SqlDeliveryLedger(app.sessions)
            delivery = DeliverySettings(
                telegram_rate_limit=config.telegram_rate,
                discord_rate_limit=config.discord_rate,
                # Leases are stamped in simulated time, which jumps from one due minute to the
                # next: a claim that started before a jump (waiting for SQLite's lock) stamps
                # the instant before it, and the next claim would find its lease long expired
                # and send the rows again. The heartbeat (real time) guards claims here.
                claim_lease=LEASE,
            )
            service = DeliveryService(
                ledger=ledger,
                senders={"telegram": telegram.sender, "discord": discord.sender},
                anniversaries=app.core.on_this_day,
                rsvp_count=app.core.rsvps.count,
                items=feature_items(app),
                settings=delivery,
                clock=clock,
                time=clock,
            )
            pace_replies_with_deliveries({"telegram": telegram}, service, settings)
            await service.start()
            stack.push_async_callback(service.stop)
            instants = (
                [START + dt.timedelta(minutes=m) for m in range(int(config.days * 1440) + 1)]
                if config.every_minute
                else tick_instants(chats, events, START, end)
            )
            say(f"{len(chats):,} chats, {len(events)} events, {len(instants):,} ticks")
            stop = asyncio.Event()
            lags: list[float] = []
            began = time.monotonic()
            background = [
                asyncio.create_task(sample_lag(lags, stop)),
                asyncio.create_task(sample_memory(result, began, stop)),
                asyncio.create_task(release_free_memory_each_minute(stop)),
            ]
            await fakes.order("commands")
            last_report = began
            try:
                for n, instant in enumerate(instants):
                    clock.advance_to(instant)
                    await service.plan_pass()
                    await wait_drained(ledger, delivery.claim_lease, DRAINED_POLL, clock)
                    await fakes.order("forget")
                    if time.monotonic() - last_report > 15:
                        last_report = time.monotonic()
                        say(
                            f"  {instant:%a %d %H:%M} UTC, tick {n + 1:,}/{len(instants):,}, "
                            f"RSS {rss_mb():.0f} MB"
                        )
            finally:
                stop.set()
                await asyncio.gather(*background, return_exceptions=True)
            result.elapsed = time.monotonic() - began
            # before the fakes' report: its records (what each chat received, the latencies)
            # are the soak's accounting, not the bot's memory
            result.rss_mb.append((result.elapsed, rss_mb()))
            fakes_report = await fakes.report()
            result.ticks = len(instants)
            result.simulated_days = config.days
            result.load = load_average()
            received = fakes_report.received
            await account(result, app, by_subscription, events, received, end)
            latencies = fakes_report.latencies
            result.commands_sent = fakes_report.commands_sent
            result.commands_answered = len(latencies)
            result.commands_unanswered = len(fakes_report.unanswered)
            result.errors_logged += fakes_report.unanswered[:10]
            result.errors_logged += fakes_report.errors_logged
            result.latency = Quantiles.of([s for _, s in latencies])
            names = sorted({name for name, _ in latencies})
            result.latency_by_command = {
                name: Quantiles.of([s for n, s in latencies if n == name]) for name in names
            }
            result.lag = Quantiles.of(lags)
            result.telegram_429s = fakes_report.telegram_429s
            result.rate_limited = fakes_report.rate_limited
            result.server_errors = fakes_report.server_errors
    finally:
        logging.getLogger().removeHandler(errors)
    result.errors_logged += errors.lines
    return result


async def account(  # noqa: PLR0917
    result: SoakResult,
    app: App,
    by_subscription: dict[str, Chat],
    events: list[PlannedEvent],
    received: dict[tuple[str, str], array[int]],
    end: dt.datetime,
) -> None:
    """Every ledger row against the schedule and against what the fakes received."""
    D, S, E = models.Delivery, models.Subscription, models.Event  # noqa: N806
    # the last tick queued the daily posts of the minute after the end ahead of time
    # (``DELIVERY_PLAN_AHEAD``): outside the week, counted apart
    ahead = and_(D.status == "queued", D.due_at > end)
    async with app.sessions() as session:
        result.queued_ahead = int(await session.scalar(select(func.count()).where(ahead)) or 0)
        statuses = await session.execute(
            select(D.status, func.count()).where(~ahead).group_by(D.status)
        )
        result.ledger = {str(status): int(count) for status, count in statuses}
        rows = (
            await session.execute(
                select(D.subscription_id, D.item_key, D.status, S.platform, S.chat_id)
                .join(S, S.id == D.subscription_id)
                .where(~ahead)
            )
        ).all()
        slugs = dict((await session.execute(select(E.id, E.slug))).all())
    result.left_pending = sum(
        count for status, count in result.ledger.items() if status in ("queued", "sending")
    )
    by_slug = {event.slug: event for event in events}
    ledger_sent: Counter[tuple[str, str]] = Counter()
    actual: Counter[tuple[str, str]] = Counter()
    """Rows of the seeded chats, by subscription and item ("today" or "<slug>:<kind>")."""
    for row_subscription, item_key, status, platform, chat_id in rows:
        if status == "sent":
            ledger_sent[str(platform), str(chat_id)] += 1
        kind = "daily" if item_key == "today" else "other"
        slug = ""
        if item_key.startswith("event:"):
            _, number, what = item_key.split(":", 2)
            slug = str(slugs.get(int(number), ""))
            kind = "announce" if what.startswith("announce") else "remind"
            if slug not in by_slug:
                kind = "other"
        if status == "sent":
            result.delivered[platform, kind] += 1
        if str(row_subscription) in by_subscription and kind != "other":
            item = "today" if item_key == "today" else f"{slug}:{kind}"
            actual[str(row_subscription), item] += 1
    expected: Counter[tuple[str, str]] = Counter()
    for subscription_id, chat in by_subscription.items():
        expected[subscription_id, "today"] = len(daily_dues(chat, START, end))
        for event in events:
            if hears(chat, event):
                for kind, due in event.items():
                    if START < due <= end:
                        expected[subscription_id, f"{event.slug}:{kind}"] += 1
    result.expected_rows = sum(expected.values())
    result.missing = sum((expected - actual).values())
    result.unexpected = sum((actual - expected).values())
    # A post of several messages (a long text in chunks, a venue) is several messages with
    # different texts; the same text twice in a chat is a duplicate.
    for chat_key in set(received) | set(ledger_sent):
        texts = received.get(chat_key, array("q"))
        distinct = len(set(texts))
        result.duplicates += len(texts) - distinct
        result.missing += max(0, ledger_sent[chat_key] - distinct)


def load_average() -> str:
    """The 1, 5 and 15 minute load averages."""
    try:
        with open("/proc/loadavg") as loadavg:
            return " ".join(loadavg.read().split()[:3])
    except OSError:
        return "?"


def report(result: SoakResult) -> str:
    """The result table."""
    c = result.config
    start, mid, end = result.memory
    slope, ratio = result.second_half_growth
    lat, lag = result.latency, result.lag
    ok = "ok"

    def goal(passed: bool) -> str:
        return ok if passed else "MISSED"

    delivered = result.delivered
    lines = [
        f"soak on {result.database}: {c.chats:,} chats, {c.zones} zones, "
        f"{result.simulated_days:g} simulated days in {result.elapsed / 60:.1f} min "
        f"({result.ticks:,} ticks), commands at {c.rate:g}/s; load average at the end "
        f"{result.load}",
        "",
        "| measure | figure | goal |",
        "|---|---|---|",
        f"| commands answered | {result.commands_answered:,} of {result.commands_sent:,} "
        f"({result.commands_unanswered} unanswered) | all |",
        f"| command latency p50 / p95 / p99 / max | {lat.p50:.0f} / {lat.p95:.0f} / "
        f"{lat.p99:.0f} / {lat.max:.0f} ms | p95 ≤ 300 ms: {goal(lat.p95 <= 300)} |",
        f"| event-loop lag p50 / p95 / p99 / max | {lag.p50:.1f} / {lag.p95:.1f} / "
        f"{lag.p99:.1f} / {lag.max:.0f} ms | p99 ≤ 50 ms: {goal(lag.p99 <= 50)} |",
        f"| resident memory start / middle / end | {start:.0f} / {mid:.0f} / {end:.0f} MB | "
        "flat over the second half |",
        f"| second half: slope, end / middle | {slope:+.2f} MB/min, x{ratio:.3f} | "
        f"≈ 0, ≈ 1: {goal(ratio <= 1.05)} |",
        f"| daily posts sent (Telegram / Discord) | {delivered['telegram', 'daily']:,} / "
        f"{delivered['discord', 'daily']:,} | |",
        f"| announcements sent (Telegram / Discord) | {delivered['telegram', 'announce']:,} / "
        f"{delivered['discord', 'announce']:,} | |",
        f"| reminders sent (Telegram / Discord) | {delivered['telegram', 'remind']:,} / "
        f"{delivered['discord', 'remind']:,} | |",
        f"| other rows sent (the curated dataset's events) | "
        f"{delivered['telegram', 'other']:,} / {delivered['discord', 'other']:,} | |",
        f"| ledger rows by status | {dict(sorted(result.ledger.items()))} | all sent |",
        f"| rows the schedule calls for (seeded chats) | {result.expected_rows:,} | |",
        f"| daily posts queued ahead for the minute after the end (not counted) | "
        f"{result.queued_ahead:,} | |",
        f"| missing / unexpected / duplicates / left queued or claimed | {result.missing} / "
        f"{result.unexpected} / {result.duplicates} / {result.left_pending} | 0 / 0 / 0 / 0: "
        f"{goal(not (result.missing or result.unexpected or result.duplicates))} |",
        f"| 429s (Telegram / Discord), 5xx | {result.rate_limited.get('telegram', 0)} / "
        f"{result.rate_limited.get('discord', 0)}, {result.server_errors} | 0 |",
        f"| errors logged | {len(result.errors_logged)} | 0 |",
    ]
    if result.telegram_429s:
        lines.append("")
        lines.append(f"Telegram's 429s: {dict(sorted(result.telegram_429s.items()))}")
    if result.latency_by_command:
        lines.append("")
        lines.append("latency by command (p50 / p95 / p99 ms, count):")
        for name, q in result.latency_by_command.items():
            lines.append(f"  {name:<20} {q.p50:6.0f} {q.p95:6.0f} {q.p99:6.0f}  {q.count:,}")
    for line in result.errors_logged[:10]:
        lines.append(f"  error: {line}")
    return "\n".join(lines)


def main() -> None:
    """Parse the arguments, run, print the table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--chats", type=int, default=10_000)
    parser.add_argument("--zones", type=int, default=50)
    parser.add_argument("--days", type=float, default=7.0)
    parser.add_argument("--rate", type=float, default=20.0, help="commands a second")
    parser.add_argument("--events-per-day", type=int, default=1)
    parser.add_argument("--every-minute", action="store_true", help="tick every simulated minute")
    parser.add_argument(
        "--pg-admin-url",
        default=os.environ.get(
            "TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    config = SoakConfig(
        chats=args.chats,
        zones=min(args.zones, len(ZONES)),
        days=args.days,
        rate=args.rate,
        events_per_day=args.events_per_day,
        every_minute=args.every_minute,
    )

    def say(line: str) -> None:
        print(line, flush=True)

    async def go(url: str) -> SoakResult:
        return await run_soak(config, url, progress=say)

    if args.db == "sqlite":
        folder = tempfile.mkdtemp(prefix="soak-")
        result = asyncio.run(go(f"sqlite:///{folder}/soak.sqlite3"))
    else:
        with postgres_database(args.pg_admin_url) as url:
            result = asyncio.run(go(url))
    print(report(result), flush=True)


if __name__ == "__main__":
    main()
