"""Benchmark: Telegram deliveries at the platform's ceiling, against the fake Bot API server.

    python bench/scheduling_telegram.py                 # 20,000 private chats, ours and the peer
    python bench/scheduling_telegram.py --chats 3000    # a shorter run
    python bench/scheduling_telegram.py --rate 30       # ours at 100 % of the ceiling
    python bench/scheduling_telegram.py --latency 0.05  # requests arrive 0-50 ms late (jitter)
    python bench/scheduling_telegram.py --flood         # one 429 of 5 s on a group as well
    python bench/scheduling_telegram.py --no-peer       # ours only
    python bench/scheduling_telegram.py --paid --chats 10000 --rate 980   # paid broadcast

The fake server (``tests/fakes/telegram_server.py``) enforces Telegram's limits (30 sends a
second per bot, 1 a second per private chat, 20 a minute per group) and answers 429 as Telegram
does. "Ours" is the real path: due rows in an SQLite ledger, ``DeliveryService`` and the
Telegram adapter's ``TelegramSender``. The peer is a plain python-telegram-bot broadcast,
``asyncio.gather`` over ``bot.send_message`` with ``AIORateLimiter`` (needs the
``python-telegram-bot[rate-limiter]`` extra; skipped, saying so, when it is missing).

Printed per run: the sustained send rate (accepted sends per second between the first and the
last) against the ceiling, 429s, duplicates and missing chats. Nothing is asserted.
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
from bot.adapters.telegram import open_sender  # noqa: E402
from bot.app import open_app  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.core.domain import Anniversary, AnniversaryKind, Source  # noqa: E402
from bot.core.timeutil import FixedClock  # noqa: E402
from bot.scheduling.service import DeliveryService  # noqa: E402
from bot.scheduling.settings import DeliverySettings  # noqa: E402
from db import models  # noqa: E402
from db.deliveries import SqlDeliveryLedger  # noqa: E402
from tests.fakes.telegram_server import FakeTelegramServer, FloodLimits  # noqa: E402

AT = dt.datetime(2026, 5, 9, 7, 0, tzinfo=dt.UTC)
TEXT = "On this day, May 9\n\n1945 (81 years ago) — Victory Day"


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


def _report(
    name: str,
    server: FakeTelegramServer,
    *,
    chats: Sequence[int],
    ceiling: float,
    elapsed: float,
    skip: frozenset[int] = frozenset(),
) -> None:
    stats = server.stats
    times = {chat: stats.send_times.get(chat, []) for chat in chats}
    every = sorted(t for chat, ts in times.items() if chat not in skip for t in ts)
    sent = len(every)
    rate = (sent - 1) / (every[-1] - every[0]) if sent > 1 else 0.0
    duplicates = sum(max(0, len(ts) - 1) for ts in times.values())
    missing = sum(1 for ts in times.values() if not ts)
    requests = sum(stats.by_method.values())
    rejected = stats.flood_rejections
    print(
        f"  {name}: {sent:,} sends in {elapsed:.1f} s; sustained {rate:.2f}/s "
        f"({100 * rate / ceiling:.1f}% of {ceiling:g}/s); 429s {rejected} of {requests:,} "
        f"requests ({100 * rejected / max(1, requests):.3f}%); paid sends {stats.paid_sends:,}; "
        f"duplicates {duplicates}; "
        f"missing {missing}"
    )


def _report_flood(server: FakeTelegramServer, chats: Sequence[int], group_id: int) -> None:
    """How the other chats fared during the group's 5-second 429 pause."""
    rejected = [
        call.at
        for call in server.calls
        if call.status == 429 and call.params.get("chat_id") == str(group_id)
    ]
    posted = server.stats.send_times.get(group_id, [])
    if not rejected or not posted:
        print("    the group's 429 was not seen")
        return
    start, end = rejected[0], rejected[0] + 5.0
    others = sum(
        1 for chat in chats for t in server.stats.send_times.get(chat, []) if start <= t < end
    )
    print(
        f"    group answered 429 (retry after 5 s), posted {posted[0] - start:.1f} s later; "
        f"during the pause the other chats got {others} sends ({others / 5:.2f}/s)"
    )


async def ours(
    chat_count: int, rate: float, ceiling: int, *, flood: bool, latency: float, paid: bool
) -> None:
    """The scheduler's path: ledger rows, DeliveryService, TelegramSender."""
    limits = _limits(ceiling, paid)
    async with FakeTelegramServer(
        flood_control=limits, calls_kept=200_000, latency=latency, seed=1
    ) as server:
        users = [server.add_user(f"User {n}") for n in range(chat_count)]
        chats = [server.private_chat(user).id for user in users]
        group_id = None
        if flood:
            group = server.add_group("Flooded group")
            group_id = group.id
            server.inject_flood(group.id, 5)
        folder = tempfile.mkdtemp(prefix="bench-telegram-")
        settings = Settings(
            database_url=f"sqlite:///{folder}/bench.sqlite3",
            telegram_token=server.token,
            telegram_api_base_url=server.base_url,
            telegram_rate_limit=rate,
            telegram_paid_broadcast=paid,
        )
        app = await open_app(settings, clock=FixedClock(AT), seed=False)
        try:
            # The group first: its 429 comes early, while the others still have posts due.
            targets = [*([group_id] if group_id is not None else []), *chats]
            async with app.sessions.begin() as session:
                await session.execute(
                    insert(models.Subscription),
                    daily_subscription_rows("telegram", targets, AT),
                )
            async with open_sender(settings, app.core) as sender:
                service = DeliveryService(
                    ledger=SqlDeliveryLedger(app.sessions),
                    senders={"telegram": sender},
                    anniversaries=_anniversaries,
                    settings=DeliverySettings(telegram_rate_limit=rate, concurrency=64),
                    clock=FixedClock(AT),
                )
                started = time.perf_counter()
                report = await service.tick()
                elapsed = time.perf_counter() - started
            name = f"ours (TELEGRAM_RATE_LIMIT={rate:g}{', paid' if paid else ''})"
            _report(
                name,
                server,
                chats=targets,
                ceiling=ceiling,
                elapsed=elapsed,
                skip=frozenset({group_id or 0}),
            )
            print(
                f"    ledger: sent {report.drained.sent:,}, retried {report.drained.retried}, "
                f"failed {report.drained.failed}"
            )
            if group_id is not None:
                _report_flood(server, chats, group_id)
        finally:
            await app.close()


def _limits(ceiling: int, paid: bool) -> FloodLimits:
    """Telegram's limits; with ``paid``, ``ceiling`` is the paid one and the free one is 30."""
    if paid:
        return FloodLimits(enabled=True, global_per_second=30, paid_per_second=ceiling)
    return FloodLimits(enabled=True, global_per_second=ceiling)


async def peer(chat_count: int, ceiling: int, latency: float, paid: bool) -> None:
    """A plain python-telegram-bot broadcast with AIORateLimiter."""
    try:
        from telegram.ext import AIORateLimiter, ExtBot
        from telegram.request import HTTPXRequest

        limiter = AIORateLimiter(overall_max_rate=ceiling, overall_time_period=1, max_retries=5)
    except RuntimeError as error:
        print(f"  peer skipped: {error}")
        return
    limits = _limits(ceiling, paid)
    async with FakeTelegramServer(flood_control=limits, latency=latency, seed=1) as server:
        chats = [server.private_chat(server.add_user(f"User {n}")).id for n in range(chat_count)]
        bot = ExtBot(
            server.token,
            base_url=server.base_url,
            base_file_url=server.base_file_url,
            request=HTTPXRequest(connection_pool_size=64),
            rate_limiter=limiter,
        )
        await bot.initialize()
        try:
            started = time.perf_counter()
            results = await asyncio.gather(
                *(
                    bot.send_message(chat, TEXT, allow_paid_broadcast=True if paid else None)
                    for chat in chats
                ),
                return_exceptions=True,
            )
            elapsed = time.perf_counter() - started
        finally:
            await bot.shutdown()
        failures = [r for r in results if isinstance(r, BaseException)]
        _report("peer (PTB AIORateLimiter)", server, chats=chats, ceiling=ceiling, elapsed=elapsed)
        if failures:
            print(f"    {len(failures)} sends raised, e.g. {failures[0]!r}")


async def main() -> None:
    """Parse the arguments and run the chosen benchmarks."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=20_000)
    parser.add_argument("--ceiling", type=int, default=30, help="the fake server's global limit")
    parser.add_argument("--rate", type=float, default=29.4, help="TELEGRAM_RATE_LIMIT for ours")
    parser.add_argument(
        "--latency", type=float, default=0.0, help="each request arrives 0 to N s late"
    )
    parser.add_argument("--flood", action="store_true", help="inject a 429 of 5 s on a group")
    parser.add_argument(
        "--paid", action="store_true", help="paid broadcast: --ceiling is the paid one (1000)"
    )
    parser.add_argument("--no-peer", action="store_true", help="skip the PTB peer")
    parser.add_argument("--no-ours", action="store_true", help="only the peer")
    args = parser.parse_args()
    if args.paid and args.ceiling == 30:
        args.ceiling = 1000
    print(
        f"telegram: {args.chats:,} due private chats, the server allows {args.ceiling}/s, "
        f"request jitter 0-{1000 * args.latency:g} ms"
    )
    if not args.no_ours:
        await ours(
            args.chats,
            args.rate,
            args.ceiling,
            flood=args.flood,
            latency=args.latency,
            paid=args.paid,
        )
    if not args.no_peer:
        await peer(args.chats, args.ceiling, args.latency, args.paid)


if __name__ == "__main__":
    asyncio.run(main())
