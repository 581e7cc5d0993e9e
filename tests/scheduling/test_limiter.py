"""Rate limits on a virtual clock: nothing really sleeps, waits are exact."""

from __future__ import annotations

import itertools
import random

import pytest

from bot.core.delivery import DeliveryTarget, RetryScope, target_for
from bot.core.domain import ChatKind
from bot.scheduling.limiter import (
    UNLIMITED,
    RateLimiter,
    RatePolicy,
    discord_policy,
    telegram_policy,
)
from tests.scheduling.support import VirtualTime


def _private(n: int) -> DeliveryTarget:
    return target_for("telegram", str(n))


def _group(n: int) -> DeliveryTarget:
    return target_for("telegram", f"-100{n}")


async def _send_all(
    clock: VirtualTime, limiter: RateLimiter, targets: list[DeliveryTarget]
) -> list[tuple[str, float]]:
    log: list[tuple[str, float]] = []

    async def one(target: DeliveryTarget) -> None:
        slot = await limiter.acquire(target)
        log.append((target.chat_id, clock.monotonic()))
        limiter.release(slot)  # answered at once

    await clock.run(*(one(t) for t in targets))
    return log


def _max_in_window(times: list[float], period: float) -> int:
    """The most sends in any window of ``period`` seconds (a nanosecond shorter, so float
    rounding at the exact boundary does not count)."""
    period -= 1e-9
    times = sorted(times)
    best = 0
    start = 0
    for end, t in enumerate(times):
        while times[start] <= t - period:
            start += 1
        best = max(best, end - start + 1)
    return best


def test_chat_kinds_come_from_the_ids() -> None:
    assert target_for("telegram", "12345").kind is ChatKind.PRIVATE
    assert target_for("telegram", "-1001234").kind is ChatKind.GROUP
    assert target_for("discord", "998877").kind is ChatKind.CHANNEL
    assert target_for("telegram", "-1001", "7").rate_key == target_for("telegram", "-1001").rate_key


async def test_global_ceiling_paces_and_never_exceeds_a_second() -> None:
    clock = VirtualTime()
    limiter = RateLimiter(telegram_policy(25), clock)
    log = await _send_all(clock, limiter, [_private(i) for i in range(500)])
    times = [t for _, t in log]
    assert len(times) == 500
    assert _max_in_window(times, 1.0) <= 25
    rate = (len(times) - 1) / (max(times) - min(times))
    assert 24.0 <= rate <= 25.5, rate


async def test_private_chat_gets_one_message_a_second() -> None:
    clock = VirtualTime()
    limiter = RateLimiter(telegram_policy(30), clock)
    log = await _send_all(clock, limiter, [_private(1)] * 5 + [_private(2)] * 5)
    one = [t for chat, t in log if chat == "1"]
    assert [round(b - a, 6) >= 1.0 for a, b in itertools.pairwise(one)] == [True] * 4
    assert max(t for _, t in log) < 4.5  # the two chats interleave


async def test_group_gets_twenty_a_minute() -> None:
    clock = VirtualTime()
    limiter = RateLimiter(telegram_policy(30), clock)
    log = await _send_all(clock, limiter, [_group(1)] * 45)
    times = [t for _, t in log]
    assert _max_in_window(times, 60.0) == 20
    assert 120.0 <= max(times) < 121.0


async def test_discord_has_only_the_global_ceiling() -> None:
    clock = VirtualTime()
    limiter = RateLimiter(discord_policy(40), clock)
    log = await _send_all(clock, limiter, [target_for("discord", "5")] * 80)
    times = [t for _, t in log]
    assert _max_in_window(times, 1.0) <= 40
    assert max(times) < 2.1


async def test_429_on_a_chat_pauses_only_that_chat() -> None:
    clock = VirtualTime()
    limiter = RateLimiter(telegram_policy(30), clock)
    limiter.pause(_group(9), 5.0, RetryScope.CHAT)
    log = await _send_all(clock, limiter, [_group(9)] + [_private(i) for i in range(60)])
    paused = [t for chat, t in log if chat == "-1009"]
    others = [t for chat, t in log if chat != "-1009"]
    assert paused == [5.0]
    assert max(others) < 2.5  # 60 others at 30/s went on during the pause
    assert limiter.stats.chat_pauses == 1


async def test_global_429_pauses_every_chat() -> None:
    clock = VirtualTime()
    limiter = RateLimiter(telegram_policy(30), clock)
    limiter.pause(_private(1), 3.0, RetryScope.GLOBAL)
    log = await _send_all(clock, limiter, [_private(i) for i in range(10)])
    assert min(t for _, t in log) >= 3.0


async def test_a_waiting_chat_does_not_hold_up_others() -> None:
    clock = VirtualTime()
    limiter = RateLimiter(telegram_policy(10), clock)
    log = await _send_all(clock, limiter, [_private(1)] * 3 + [_private(i) for i in range(2, 12)])
    assert max(t for chat, t in log if chat != "1") < 1.5  # not stuck behind chat 1's seconds
    assert [t for chat, t in log if chat == "1"] == [0.0, 1.0, 2.0]
    assert RateLimiter(RatePolicy(global_rate=10), clock).ready_in(_private(1)) == 0.0


async def test_unlimited_never_waits_and_memory_stays_bounded() -> None:
    clock = VirtualTime()
    limiter = RateLimiter(UNLIMITED, clock)
    log = await _send_all(clock, limiter, [_private(i) for i in range(100)])
    assert max(t for _, t in log) == 0.0
    telegram = RateLimiter(telegram_policy(1000), clock)
    telegram.PRUNE_EVERY = 100
    await _send_all(clock, telegram, [_private(i) for i in range(1000)])
    clock.t += 120
    await _send_all(clock, telegram, [_private(i) for i in range(5000, 5100)])
    assert telegram.tracked_chats <= 200


async def _send_with_latency(
    clock: VirtualTime, limiter: RateLimiter, targets: list[DeliveryTarget], seed: int
) -> list[tuple[str, float]]:
    """Each send takes 0 to 300 ms and reaches the platform at any moment in between: the
    returned instants are the platform's, which is what it counts."""
    rng = random.Random(seed)
    arrivals: list[tuple[str, float]] = []

    async def one(target: DeliveryTarget) -> None:
        slot = await limiter.acquire(target)
        latency = rng.choice([0.0, 0.001, 0.02, 0.3]) * rng.random()
        arrive = rng.random() * latency
        await clock.sleep(arrive)
        arrivals.append((target.chat_id, clock.monotonic()))
        await clock.sleep(latency - arrive)
        limiter.release(slot)

    await clock.run(*(one(t) for t in targets))
    return arrivals


@pytest.mark.parametrize(("rate", "seed"), [(29.4, 1), (30.0, 2), (29.4, 3)])
async def test_every_window_the_platform_measures_holds_whatever_the_latency(
    rate: float, seed: int
) -> None:
    clock = VirtualTime()
    limiter = RateLimiter(telegram_policy(rate), clock)
    targets = [_private(i % 400) for i in range(900)] + [_group(i % 3) for i in range(60)]
    random.Random(seed).shuffle(targets)
    arrivals = await _send_with_latency(clock, limiter, targets, seed)
    assert len(arrivals) == len(targets)
    assert _max_in_window([t for _, t in arrivals], 1.0) <= 30
    by_chat: dict[str, list[float]] = {}
    for chat, t in arrivals:
        by_chat.setdefault(chat, []).append(t)
    for chat, times in by_chat.items():
        if chat.startswith("-"):
            assert _max_in_window(times, 60.0) <= 20, chat
        else:
            assert _max_in_window(times, 1.0) <= 1, chat
    first, last = min(t for _, t in arrivals), max(t for _, t in arrivals)
    assert (len(arrivals) - 1) / (last - first) >= 0.9 * rate  # the pace is kept


async def test_a_send_in_flight_holds_its_place_until_answered() -> None:
    clock = VirtualTime()
    limiter = RateLimiter(telegram_policy(30), clock)
    slow = await limiter.acquire(_private(1))
    assert limiter.ready_in(_private(1)) > 0  # the same private chat waits for the answer
    clock.t = 5.0
    assert limiter.ready_in(_private(1)) > 0  # still in flight after 5 s
    limiter.release(slow)
    limiter.release(slow)  # a second release changes nothing
    assert limiter.ready_in(_private(1)) == pytest.approx(1.0)
    clock.t = 6.0
    assert limiter.ready_in(_private(1)) == 0.0


async def test_a_share_of_the_ceiling_holds_its_part_of_every_window() -> None:
    clock = VirtualTime()
    limiter = RateLimiter(telegram_policy(29.4), clock)
    limiter.set_share(3)  # three processes on the token
    log = await _send_all(clock, limiter, [_private(i) for i in range(200)])
    times = [t for _, t in log]
    assert _max_in_window(times, 1.0) <= 10
    rate = (len(times) - 1) / (max(times) - min(times))
    assert 9.0 <= rate <= 10.0, rate
    limiter.set_share(1)  # the others left: the whole ceiling again
    log = await _send_all(clock, limiter, [_private(i) for i in range(1000, 1300)])
    times = [t for _, t in log]
    assert (len(times) - 1) / (max(times) - min(times)) > 28
