"""Benchmark: Discord deliveries at the platform's ceiling, against the fake Discord server.

    python bench/scheduling_discord.py                  # 5,000 channels, the server allows 50/s
    python bench/scheduling_discord.py --peer           # and discord.py without a global cap

The fake server (``tests/fakes/discord_server.py``, ``RateLimits.discord()``) enforces 50
requests a second per bot and 5 messages per 5 s per channel, and answers 429 (``global:
true`` for the global limit) as Discord does. "Ours" is the real path: due rows in an SQLite
ledger, ``DeliveryService`` and the Discord adapter's ``DiscordSender``. The peer is
discord.py's own HTTP client sending to every channel at once: per-route buckets, no global
cap. Printed: sustained rate against the ceiling, 429s (global ones apart), duplicates,
missing channels. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import insert

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import daily_subscription_rows  # noqa: E402
from bot.adapters.discord import open_sender, point_discord_py_at  # noqa: E402
from bot.app import open_app  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.core.domain import Anniversary, AnniversaryKind, Source  # noqa: E402
from bot.core.timeutil import FixedClock  # noqa: E402
from bot.scheduling.service import DeliveryService  # noqa: E402
from bot.scheduling.settings import DeliverySettings  # noqa: E402
from db import models  # noqa: E402
from db.deliveries import SqlDeliveryLedger  # noqa: E402
from tests.fakes.discord_server import FakeDiscordServer, RateLimits  # noqa: E402

AT = dt.datetime(2026, 5, 9, 7, 0, tzinfo=dt.UTC)


async def _anniversaries(day: dt.date) -> list[Anniversary]:
    return [
        Anniversary(
            slug="victory-day",
            month=day.month,
            day=day.day,
            kind=AnniversaryKind.COMMEMORATION_DAY,
            title={"en": "Victory Day"},
            text={"en": "The end of the war in Europe."},
            sources=(Source(seed="bench"),),
            year=1945,
        )
    ]


def _channels(server: FakeDiscordServer, count: int) -> list[int]:
    channels: list[int] = []
    per_guild = 400
    for start in range(0, count, per_guild):
        guild = server.add_guild(f"Guild {start // per_guild}", channels=())
        for n in range(start, min(count, start + per_guild)):
            channels.append(server.add_channel(guild, f"memory-{n}").id)
    return channels


def _report(
    name: str, server: FakeDiscordServer, *, channels: Sequence[int], ceiling: int, elapsed: float
) -> None:
    stats = server.stats
    times = {channel: stats.message_times.get(channel, []) for channel in channels}
    every = sorted(t for ts in times.values() for t in ts)
    sent = len(every)
    rate = (sent - 1) / (every[-1] - every[0]) if sent > 1 else 0.0
    duplicates = sum(max(0, len(ts) - 1) for ts in times.values())
    missing = sum(1 for ts in times.values() if not ts)
    print(
        f"  {name}: {sent:,} messages in {elapsed:.1f} s; sustained {rate:.2f}/s "
        f"({100 * rate / ceiling:.1f}% of {ceiling}/s); 429s {stats.rate_limited} "
        f"(global {stats.global_rate_limited}) of {stats.requests:,} requests; "
        f"duplicates {duplicates}; missing {missing}"
    )


async def ours(count: int, rate: float, ceiling: int) -> None:
    """The scheduler's path: ledger rows, DeliveryService, DiscordSender."""
    async with FakeDiscordServer(
        rate_limits=RateLimits.discord(global_per_second=ceiling)
    ) as server:
        channels = _channels(server, count)
        folder = tempfile.mkdtemp(prefix="bench-discord-")
        settings = Settings(
            database_url=f"sqlite:///{folder}/bench.sqlite3",
            discord_token=server.token,
            discord_api_base_url=server.api_base,
            discord_rate_limit=rate,
        )
        app = await open_app(settings, clock=FixedClock(AT), seed=False)
        try:
            async with app.sessions.begin() as session:
                await session.execute(
                    insert(models.Subscription),
                    daily_subscription_rows("discord", channels, AT),
                )
            async with open_sender(settings, app.core) as sender:
                server.stats.requests = 0
                service = DeliveryService(
                    ledger=SqlDeliveryLedger(app.sessions),
                    senders={"discord": sender},
                    anniversaries=_anniversaries,
                    settings=DeliverySettings(discord_rate_limit=rate, concurrency=64),
                    clock=FixedClock(AT),
                )
                started = time.perf_counter()
                report = await service.tick()
                elapsed = time.perf_counter() - started
            _report(
                f"ours (DISCORD_RATE_LIMIT={rate:g})",
                server,
                channels=channels,
                ceiling=ceiling,
                elapsed=elapsed,
            )
            print(
                f"    ledger: sent {report.drained.sent:,}, retried {report.drained.retried}, "
                f"failed {report.drained.failed}"
            )
        finally:
            await app.close()


async def peer(count: int, ceiling: int) -> None:
    """discord.py's HTTP client sending to every channel at once (no global cap)."""
    import discord
    from discord.http import HTTPClient, handle_message_parameters

    async with FakeDiscordServer(
        rate_limits=RateLimits.discord(global_per_second=ceiling)
    ) as server:
        channels = _channels(server, count)
        point_discord_py_at(server.api_base, server.gateway_url)
        http = HTTPClient(asyncio.get_running_loop())
        await http.static_login(server.token)
        server.stats.requests = 0
        text = "On this day, May 9\n\n**1945** (81 years ago) — **Victory Day**"
        try:
            started = time.perf_counter()

            async def send(channel: int) -> None:
                with handle_message_parameters(content=text) as params:
                    await http.send_message(channel, params=params)

            results = await asyncio.gather(
                *(send(channel) for channel in channels), return_exceptions=True
            )
            elapsed = time.perf_counter() - started
        finally:
            await http.close()
        failures = [r for r in results if isinstance(r, BaseException)]
        _report(
            f"peer (discord.py {discord.__version__}, no global cap)",
            server,
            channels=channels,
            ceiling=ceiling,
            elapsed=elapsed,
        )
        if failures:
            print(f"    {len(failures)} sends raised, e.g. {failures[0]!r}")


async def main() -> None:
    """Parse the arguments and run the chosen benchmarks."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=5_000)
    parser.add_argument("--ceiling", type=int, default=50, help="the fake server's global limit")
    parser.add_argument("--rate", type=float, default=48.0, help="DISCORD_RATE_LIMIT for ours")
    parser.add_argument("--peer", action="store_true", help="also run the discord.py peer")
    parser.add_argument("--no-ours", action="store_true", help="only the peer")
    args = parser.parse_args()
    print(f"discord: {args.channels:,} channels, the server allows {args.ceiling}/s")
    if not args.no_ours:
        await ours(args.channels, args.rate, args.ceiling)
    if args.peer:
        await peer(args.channels, args.ceiling)


if __name__ == "__main__":
    asyncio.run(main())
