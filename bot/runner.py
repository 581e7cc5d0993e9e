"""``run`` and ``tick``: one event loop for every adapter and the scheduler, started and stopped
in order (the app, the adapters, then the scheduler; the scheduler stops first, the app last).

Deliveries need a ``Sender`` per platform: in ``run``, the adapter's ``sender`` attribute (a
``<Platform>Adapter(app, settings)`` from ``bot.adapters.<platform>`` with ``start``/``stop``);
in ``tick``, ``bot.adapters.<platform>.open_sender(settings[, core])``. The console always has
one (``ConsoleSender``); rows of a platform without a sender stay queued, and ``tick`` says so.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib
import inspect
import logging
import re
import signal
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Protocol, TextIO

from bot.adapters.console import AbovePrompt, ConsoleAdapter, Terminal
from bot.app import App, open_app
from bot.config import ConfigError, RedactingFilter, Settings, load_environment
from bot.core.domain import DeliveryStatus, Platform
from bot.core.ports import Clock, Sender
from bot.core.regiment import MARCH_PREFIX, NOTICE_PREFIX
from bot.core.services import Core
from bot.core.timeutil import FixedClock, SystemClock, zone
from bot.http.server import serving_http
from bot.logformat import TEXT_FORMAT, formatter_for
from bot.memory import release_free_memory
from bot.scheduling.console import ConsoleSender
from bot.scheduling.limiter import RateLimiter
from bot.scheduling.planner import DAILY_ITEM, parse_event_key, split_kind
from bot.scheduling.ports import PreviewRow
from bot.scheduling.progress import ProgressBar
from bot.scheduling.render import ItemRenderer
from bot.scheduling.service import DeliveryService, TickReport
from bot.scheduling.settings import delivery_settings
from bot.scheduling.ticker import MinuteTicker
from bot.scheduling.timing import AnchoredTime
from db.deliveries import SqlDeliveryLedger
from db.locks import process_lock
from handlers import regiment as regiment_handlers

log = logging.getLogger(__name__)

TOKEN_HINT = (
    "no TELEGRAM_BOT_TOKEN or DISCORD_BOT_TOKEN is set: running the console adapter "
    "(set TELEGRAM_BOT_TOKEN to run on Telegram, DISCORD_BOT_TOKEN to run on Discord)"
)

SenderFactory = Callable[..., AbstractAsyncContextManager[Sender]]
TOKEN_VARIABLES = {Platform.TELEGRAM: "TELEGRAM_BOT_TOKEN", Platform.DISCORD: "DISCORD_BOT_TOKEN"}


def choose_platforms(settings: Settings, platform: str | None) -> list[str]:
    """The adapters to run: the one asked for, or every one whose token is set."""
    if platform == "all":
        platforms = ["telegram", "discord"]
    elif platform is not None:
        platforms = [platform]
    else:
        platforms = [
            name
            for name, token in (
                ("telegram", settings.telegram_token),
                ("discord", settings.discord_token),
            )
            if token
        ]
        if not platforms:
            print(TOKEN_HINT, file=sys.stderr)
            return ["console"]
    for name in platforms:
        if name == "telegram" and not settings.telegram_token:
            raise ConfigError("--platform telegram needs TELEGRAM_BOT_TOKEN")
        if name == "discord" and not settings.discord_token:
            raise ConfigError("--platform discord needs DISCORD_BOT_TOKEN")
    return platforms


# -- delivery wiring ----------------------------------------------------------------------


def _environment(settings: Settings, env: Mapping[str, str] | None) -> Mapping[str, str]:
    """The environment given, else the one the settings were read from (else, for settings
    built in code, the process environment)."""
    if env is not None:
        return env
    return settings.environment or load_environment()


def delivery_service(
    app: App,
    senders: Mapping[str, Sender],
    *,
    clock: Clock | None = None,
    env: Mapping[str, str] | None = None,
) -> DeliveryService:
    """The delivery service over the app's database, with ``DELIVERY_*`` settings."""
    return DeliveryService(
        ledger=SqlDeliveryLedger(app.sessions),
        senders=senders,
        anniversaries=app.core.on_this_day,
        rsvp_count=app.core.rsvps.count,
        items=feature_items(app),
        settings=delivery_settings(app.settings, _environment(app.settings, env)),
        clock=clock or app.core.clock,
        # a pass at another instant than now claims what is due at that instant, no more
        time=AnchoredTime(clock.now()) if clock is not None else None,
    )


def feature_items(app: App) -> dict[str, ItemRenderer]:
    """The ledger items that features render themselves (the Immortal Regiment's)."""
    regiment = app.core.regiment
    if regiment is None:
        return {}
    render = regiment_handlers.item_renderer(regiment)
    return {MARCH_PREFIX: render, NOTICE_PREFIX: render}


@asynccontextmanager
async def running_scheduler(
    app: App, senders: Mapping[str, Sender]
) -> AsyncIterator[DeliveryService]:
    """Deliveries running with the bot: drainers, then the minute tick; stopped in reverse.
    Each tick is recorded in ``app.live`` (its age is part of the health), and gives the
    heap's free pages back to the system (``bot.memory``)."""
    service = delivery_service(app, senders)
    await service.start()

    def on_tick() -> None:
        app.live.ticked()
        service.request_plan()
        release_free_memory()  # the heap's free pages, once a minute (see bot.memory)

    ticker = MinuteTicker(on_tick)
    app.live.expect_ticks()
    ticker.start()
    try:
        yield service
    finally:
        await ticker.stop()
        await service.stop()


def _sender_factory(platform: str) -> SenderFactory | None:
    """``open_sender(settings)`` of ``bot.adapters.<platform>``, when the adapter offers one."""
    try:
        module = importlib.import_module(f"bot.adapters.{platform}")
    except ImportError:
        return None
    factory = getattr(module, "open_sender", None)
    return factory if callable(factory) else None


@asynccontextmanager
async def platform_senders(
    settings: Settings, core: Core | None = None
) -> AsyncIterator[dict[str, Sender]]:
    """Senders for a ``tick``: the console's, and each platform whose token is set and whose
    adapter provides ``open_sender(settings[, core])``, an async context manager giving a
    ``Sender`` (``core`` lets it move the subscriptions of a migrated chat)."""
    senders: dict[str, Sender] = {Platform.CONSOLE.value: ConsoleSender()}
    async with AsyncExitStack() as stack:
        for platform, token in (
            (Platform.TELEGRAM, settings.telegram_token),
            (Platform.DISCORD, settings.discord_token),
        ):
            factory = _sender_factory(platform.value) if token else None
            if factory is None:
                continue
            takes_core = "core" in inspect.signature(factory).parameters
            opened = factory(settings, core=core) if takes_core else factory(settings)
            senders[platform.value] = await stack.enter_async_context(opened)
        yield senders


def describe_left_queued(platform: str, count: int, hint: str = "") -> str:
    """ "3 deliveries for telegram left queued: no telegram sender is configured …"."""
    from bot.cli import english

    deliveries = english().ngettext("{count} delivery", "{count} deliveries", count)
    return f"{deliveries} for {platform} left queued: no {platform} sender is configured{hint}\n"


def _sender_hint(settings: Settings, platform: str) -> str:
    tokens = {"telegram": settings.telegram_token, "discord": settings.discord_token}
    if platform not in tokens:
        return ""
    if not tokens[platform]:
        return f" (set {TOKEN_VARIABLES[Platform(platform)]})"
    return f" (the {platform} adapter provides no open_sender yet)"


_DATE_PART = re.compile(r"^(\d{4}-\d{2}-\d{2})(.*)$")
_TIME_PART = re.compile(r"^[T ]\d{2}")
INSTANT_EXAMPLES = "2026-05-09T09:00+02:00 or 2026-05-09T07:00Z"


def parse_instant(text: str) -> dt.datetime:
    """An ISO-8601 instant with a time of day and an offset (``Z`` or ``+02:00``); raise
    ValueError with a hint whose examples are themselves accepted.

    A date alone is refused rather than guessed: Python 3.11 reads ``2026-05-09+02:00`` as
    02:00 on that day without an offset."""
    raw = text.strip()
    date_part = _DATE_PART.match(raw)
    if date_part is None:
        raise ValueError(f"{text!r} is not an ISO-8601 instant (write e.g. {INSTANT_EXAMPLES})")
    day, rest = date_part.groups()
    if not _TIME_PART.match(rest):
        try:
            dt.date.fromisoformat(day)
        except ValueError:
            examples = INSTANT_EXAMPLES
        else:
            examples = f"{day}T09:00+02:00 or {day}T07:00Z"
        raise ValueError(f"{text!r} has no time of day (write e.g. {examples})")
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError(
            f"{text!r} is not an ISO-8601 instant (write e.g. {INSTANT_EXAMPLES})"
        ) from None
    if value.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset (write e.g. {raw}Z or {raw}+02:00)")
    return value.astimezone(dt.UTC)


async def run_tick(
    app: App,
    at: dt.datetime | None,
    *,
    env: Mapping[str, str] | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> TickReport:
    """One pass at ``at`` (default: now): queue what is due, deliver it, print a summary."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    clock: Clock = FixedClock(at) if at is not None else SystemClock()
    async with platform_senders(app.settings, app.core) as senders:
        service = delivery_service(app, senders, clock=clock, env=env)
        report = TickReport(planned=await service.plan())
        pending = await service.ledger.pending(list(senders), service.settings.claim_lease)
        bar = ProgressBar(err, pending.total) if err.isatty() and pending.total else None
        report.drained = await service.drain(bar.update if bar else None)
        if bar is not None:
            bar.close()
        leftover = await service.ledger.pending(None, service.settings.claim_lease)
        report.left_queued = {
            platform: count
            for platform, count in sorted(leftover.by_platform.items())
            if platform not in senders and count
        }
    when = clock.now().isoformat(timespec="seconds")
    out.write(
        f"tick at {when}: queued {report.planned.queued}, sent {report.drained.sent}, "
        f"failed {report.drained.failed}, skipped {report.skipped}\n"
    )
    out.flush()
    for platform, count in report.left_queued.items():
        err.write(describe_left_queued(platform, count, _sender_hint(app.settings, platform)))
    return report


def describe_item(item_key: str, day: dt.date) -> str:
    """A ledger item for an operator: "daily post of 2027-05-09", "event #3 reminder 1440
    minutes before (2027-05-09)"."""
    if item_key == DAILY_ITEM:
        return f"daily post of {day.isoformat()}"
    parsed = parse_event_key(item_key)
    if parsed is None:
        return f"{item_key} of {day.isoformat()}"
    event_id, kind = parsed
    what, minutes, _ = split_kind(kind)
    names = {"announce": "announcement", "cancelled": "cancellation notice"}
    label = f"reminder {minutes} minutes before" if what == "remind" else names.get(what, what)
    return f"event #{event_id} {label} ({day.isoformat()})"


def describe_target(row: PreviewRow) -> str:
    """Whom a row goes to: "console chat console (en, Europe/Brussels)"."""
    topic = f" topic {row.thread_id}" if row.thread_id else ""
    return f"{row.platform} chat {row.chat_id}{topic} ({row.language}, {row.timezone})"


async def preview_tick(
    app: App,
    at: dt.datetime | None,
    *,
    env: Mapping[str, str] | None = None,
    stdout: TextIO | None = None,
) -> list[PreviewRow]:
    """``tick --dry-run``: print what a pass at ``at`` would queue and send, to whom, and
    what it would skip; write nothing, send nothing, open no platform connection."""
    out = stdout or sys.stdout
    clock: Clock = FixedClock(at) if at is not None else SystemClock()
    service = delivery_service(app, {}, clock=clock, env=env)
    rows = await service.preview()
    tokens = {
        Platform.CONSOLE.value: "console",
        Platform.TELEGRAM.value: app.settings.telegram_token,
        Platform.DISCORD.value: app.settings.discord_token,
    }
    when = clock.now().isoformat(timespec="seconds")
    out.write(f"dry run of a tick at {when}: nothing was changed, nothing was sent\n")
    queued = sent = skipped = 0
    for row in rows:
        item = describe_item(row.item_key, row.occurrence_date)
        if not row.subscription_id:
            skipped += 1
            out.write(f"  would record as skipped: {item}: {row.reason}\n")
            continue
        target = describe_target(row)
        due = ""
        if row.timezone:
            local = row.due_at.astimezone(zone(row.timezone)).strftime("%Y-%m-%d %H:%M")
            due = f", due {local} local time"
        state = "already queued, " if row.already_queued else ""
        if row.status is DeliveryStatus.SKIPPED:
            skipped += 1
            out.write(f"  {state}would skip: {item} for {target}{due}: {row.reason}\n")
            continue
        queued += not row.already_queued
        if not tokens.get(row.platform):
            out.write(
                f"  {state}would stay queued: {item} for {target}{due}: no {row.platform} "
                f"sender is configured{_sender_hint(app.settings, row.platform)}\n"
            )
            continue
        sent += 1
        out.write(f"  {state}would send: {item} to {target}{due}\n")
    out.write(f"dry run: would queue {queued}, send {sent}, skip {skipped}; nothing was changed\n")
    out.flush()
    return rows


# -- run ----------------------------------------------------------------------------------


class PlatformAdapter(Protocol):
    """What ``run`` needs from a chat adapter: start, stop, and its ``Sender``."""

    sender: Sender

    async def start(self) -> None:
        """Connect and start receiving updates (returns once running)."""
        ...

    async def stop(self) -> None:
        """Stop receiving updates and close connections."""
        ...


def load_adapter(platform: str, app: App, settings: Settings) -> PlatformAdapter:
    """``bot.adapters.<platform>.<Platform>Adapter(dispatcher, settings)``, handed the app's
    one dispatcher; ConfigError if absent."""
    class_name = f"{platform.capitalize()}Adapter"
    try:
        module = importlib.import_module(f"bot.adapters.{platform}")
    except ImportError:
        module = None
    adapter_class = getattr(module, class_name, None)
    if adapter_class is None:
        raise ConfigError(f"the {platform} adapter is not available in this version yet")
    adapter: PlatformAdapter = adapter_class(app.dispatcher, settings)
    return adapter


def elect_receivers(app: App, settings: Settings, adapters: Mapping[str, object]) -> None:
    """Processes on one Telegram token and one database elect which of them receives the
    updates (``bot.adapters.leadership``); the others deliver only. The lock is named after
    the bot's numeric id (public), never its token."""
    telegram = adapters.get(Platform.TELEGRAM.value)
    if telegram is None or not hasattr(telegram, "updates_lock") or not settings.telegram_token:
        return
    bot_id = settings.telegram_token.split(":", 1)[0]
    telegram.updates_lock = process_lock(app.engine, app.urls, f"telegram-updates-{bot_id}")


def pace_replies_with_deliveries(
    adapters: Mapping[str, object], service: DeliveryService, settings: Settings
) -> None:
    """Replies and deliveries on one Telegram token count against one ceiling and the same
    per-chat windows, so the adapter paces its replies with the scheduler's limiter (whose
    share follows the other processes on the token). With paid broadcasts deliveries may go
    above the free ceiling and replies may not: replies keep a global pace of their own, and
    share the per-chat windows (a private chat takes one message a second, paid or not)."""
    telegram = adapters.get(Platform.TELEGRAM.value)
    limiter = service.limiters.get(Platform.TELEGRAM.value)
    replies = getattr(telegram, "replies", None)
    if telegram is None or limiter is None or not isinstance(replies, RateLimiter):
        return
    shared = (
        RateLimiter(replies.policy, replies.time, chats_of=limiter)
        if settings.telegram_paid_broadcast
        else limiter
    )
    telegram.replies = shared  # type: ignore[attr-defined]


LOG_FILE = Path("data") / "commemoration.log"
"""Where the interactive console logs (relative to the working folder)."""


def log_beside_the_prompt(settings: Settings, terminal: Terminal) -> Path | None:
    """Logging for the interactive console: every record at ``LOG_LEVEL`` into
    ``data/commemoration.log``, and only warnings and errors on the terminal, written above
    the prompt (which is drawn again), so that no log line overwrites what is being typed.
    Returns the log file (None when it cannot be opened: then stderr keeps warnings only)."""
    root = logging.getLogger()
    redacting = RedactingFilter(settings)
    above = AbovePrompt(terminal, sys.stderr)
    above.setFormatter(logging.Formatter(TEXT_FORMAT))  # a person reads the terminal
    above.addFilter(redacting)
    handlers: list[logging.Handler] = [above]
    path: Path | None = LOG_FILE
    try:
        LOG_FILE.parent.mkdir(parents=True, exist_ok=True)
        to_file = logging.FileHandler(LOG_FILE, encoding="utf-8")
    except OSError:
        path = None
    else:
        to_file.setFormatter(formatter_for(settings))
        to_file.addFilter(redacting)
        handlers.append(to_file)
    root.handlers[:] = handlers
    return path


class PlatformLost(Exception):
    """A platform's connection ended for good while the bot was running (a revoked token, a
    gateway that refuses to resume): ``run`` stops and the process exits non-zero, so that
    its supervisor restarts it or an operator looks."""


async def wait_for_stop(stop: asyncio.Event, adapters: Mapping[str, object]) -> None:
    """Return when ``stop`` is set; raise ``PlatformLost`` when an adapter's connection ends
    for good first (an adapter with ``wait_closed``: the Discord gateway, which discord.py
    resumes by itself after an ordinary drop and gives up on only when it cannot)."""
    waiters: dict[asyncio.Task[object], str] = {
        asyncio.ensure_future(stop.wait()): "",
    }
    for name, adapter in adapters.items():
        closed = getattr(adapter, "wait_closed", None)
        if callable(closed):
            waiters[asyncio.ensure_future(closed())] = name
    try:
        done, _ = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in waiters:
            if not task.done():
                task.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)
    if stop.is_set():
        return
    lost = sorted(waiters[task] for task in done if waiters[task])
    raise PlatformLost(
        f"the {' and '.join(lost)} connection ended for good; stopping (exit status 1) "
        "so that a supervisor restarts the bot"
    )


@asynccontextmanager
async def shutdown_requested() -> AsyncIterator[asyncio.Event]:
    """An event set by SIGINT or SIGTERM, handled from the start so that a signal during
    start-up stops the bot cleanly once it is up, instead of killing it half-started."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    signals = (signal.SIGINT, signal.SIGTERM)
    for number in signals:
        loop.add_signal_handler(number, stop.set)
    try:
        yield stop
    finally:
        for number in signals:
            loop.remove_signal_handler(number)


async def run_bot(settings: Settings, platform: str | None) -> None:
    """Run the chosen adapters and the scheduler until they stop (the console: at end of
    input; the others: on SIGINT or SIGTERM). The app opens first, then the HTTP server (when
    ``HTTP_LISTEN`` is set), the adapters, then the scheduler; they stop in reverse order."""
    platforms = choose_platforms(settings, platform)
    if platforms == ["console"]:
        terminal = Terminal(sys.stdout) if sys.stdin.isatty() and sys.stdout.isatty() else None
        if terminal is not None:
            terminal.open()
            log_beside_the_prompt(settings, terminal)
        try:
            app = await open_app(settings)
            try:
                sender = ConsoleSender(terminal=terminal)
                async with (
                    serving_http(app),
                    running_scheduler(app, {Platform.CONSOLE.value: sender}),
                ):
                    await ConsoleAdapter(app.dispatcher, terminal=terminal).run()
            finally:
                await app.close()
        finally:
            if terminal is not None:
                terminal.close()
        return
    async with shutdown_requested() as stop:
        app = await open_app(settings)
        try:
            adapters = {name: load_adapter(name, app, settings) for name in platforms}
            elect_receivers(app, settings, adapters)
            async with AsyncExitStack() as stack:
                await stack.enter_async_context(serving_http(app))
                for name, adapter in adapters.items():
                    await adapter.start()
                    stack.push_async_callback(adapter.stop)
                    connected = getattr(adapter, "connected", None)
                    if callable(connected):
                        app.live.platforms[name] = connected
                senders = {name: adapter.sender for name, adapter in adapters.items()}
                service = await stack.enter_async_context(running_scheduler(app, senders))
                pace_replies_with_deliveries(adapters, service, settings)
                log.info("running on %s; stop with Ctrl-C", " and ".join(platforms))
                await wait_for_stop(stop, adapters)
                log.info("stopping")
        finally:
            await app.close()
