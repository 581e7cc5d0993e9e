"""Outgoing rate limits per bot token, enforced around each send.

One ``RateLimiter`` serves one bot token. Before each send, ``acquire`` waits until:

- the chat may receive: Telegram allows 1 message a second in a private chat and 20 a minute
  in a group or channel;
- the token may send: a global ceiling (``TELEGRAM_RATE_LIMIT``, ``DISCORD_RATE_LIMIT``),
  paced smoothly (GCRA, a burst of at most two) and capped at ``ceil(rate)`` sends in any
  one-second window;
- nothing is paused: a 429 pauses the chat it concerns, or the whole token when global, for
  its ``retry_after``; other chats keep their pace.

The model of a window
---------------------
The platform counts a request when it *arrives*, and we never know that instant: only that it
lies between the moment we start the request (``acquire``) and the moment its answer comes back
(``release``). So each send holds its place in every window it belongs to (the token's second,
the chat's second or minute) from ``acquire`` until ``release`` plus the window's period, and a
new send starts only while fewer than ``limit`` sends hold a place. That holds every window the
platform can measure, whatever the latency and its jitter:

    Take any window [T, T + period) of arrival instants and the sends that arrive in it. Let
    ``j`` be the one among them that started last: it started before T + period. Every other
    one, ``i``, started no later than ``j`` and was answered after it arrived, so after T, that
    is after ``start(j) - period``: at ``start(j)`` it still held its place. So ``j`` started
    while the others held theirs, and there are at most ``limit`` of them, ``j`` included.

Counting places at ``acquire`` only (the previous model) holds the average but not every
window: a request that leaves late (a busy event loop, a slow connection) lands in the next
window beside the ones that left on time. Measured on the fake server at 30/s, that was 1.6 %
of requests answered 429; with this model, none. The price is the latency of one request per
window: at most ``limit`` sends per ``period + latency``, which at 30 ms is 97 % of the ceiling,
and which the GCRA pace (at ``rate``) usually hides anyway. A send that never called
``release`` (a crash) does not matter: the limiter dies with it.

A reply split into several messages is counted once: the daily post is one message, and a
platform's per-chat limits absorb a second part.

Chat-ready senders take the global slots in FIFO order, so a chat that must wait does not hold
up the others. Processes sharing a token share its ceiling: each takes ``1/n`` of the pace and
``floor(ceil(rate) / n)`` places of the one-second window (``set_share``, from the heartbeat's
count of live processes), so their sum stays within the ceiling. Per-chat windows are not
divided: a chat's rows rarely go to two processes at once.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from dataclasses import dataclass, field

from bot.core.delivery import DeliveryTarget, RetryScope
from bot.core.domain import ChatKind, Platform
from bot.scheduling.timing import TimeSource

NEVER = float("-inf")
RECHECK = 0.05
"""How soon a send looks again when every place of a window is held by a send in flight."""


@dataclass(frozen=True, slots=True)
class Window:
    """At most ``limit`` sends in any ``period`` seconds."""

    limit: int
    period: float


@dataclass(frozen=True, slots=True)
class RatePolicy:
    """The limits of one platform: a global ceiling and per-chat windows."""

    global_rate: float | None = None
    """Sends per second per token; None for no ceiling."""
    global_burst: int = 2
    private: Window | None = None
    group: Window | None = None

    def chat_window(self, kind: ChatKind) -> Window | None:
        """The per-chat window for a kind of chat."""
        return self.private if kind is ChatKind.PRIVATE else self.group


TELEGRAM_PRIVATE = Window(1, 1.0)
TELEGRAM_GROUP = Window(20, 60.0)


def telegram_policy(rate: float) -> RatePolicy:
    """Telegram: the global ceiling, 1/s per private chat, 20/min per group or channel."""
    return RatePolicy(global_rate=rate, private=TELEGRAM_PRIVATE, group=TELEGRAM_GROUP)


def discord_policy(rate: float) -> RatePolicy:
    """Discord: the global ceiling; per-channel buckets are the client library's."""
    return RatePolicy(global_rate=rate)


UNLIMITED = RatePolicy()


def policy_for(platform: str, telegram_rate: float, discord_rate: float) -> RatePolicy:
    """The rate policy of a platform's token."""
    if platform == Platform.TELEGRAM:
        return telegram_policy(telegram_rate)
    if platform == Platform.DISCORD:
        return discord_policy(discord_rate)
    return UNLIMITED


class Gcra:
    """Smooth pacing at ``rate`` per second with a small burst (generic cell rate algorithm)."""

    def __init__(self, rate: float, burst: int) -> None:
        self.interval = 1.0 / rate
        self.tolerance = max(0, burst - 1) * self.interval
        self.tat = NEVER

    def ready_at(self) -> float:
        """The earliest instant of the next send."""
        return self.tat - self.tolerance

    def take(self, now: float) -> None:
        """Record a send at ``now``."""
        self.tat = max(self.tat, now) + self.interval


class SlidingWindow:
    """At most ``limit`` sends in any ``period`` seconds, a send holding its place from its
    start until ``period`` after its answer (see the module's docstring)."""

    __slots__ = ("answered", "inflight", "limit", "period")

    def __init__(self, window: Window) -> None:
        self.limit = window.limit
        self.period = window.period
        self.inflight = 0
        self.answered: deque[float] = deque()
        """When the answered sends that still hold a place were answered, oldest first."""

    def ready_at(self, now: float) -> float:
        """The earliest instant of the next send."""
        answered = self.answered
        # ``answered[0] + period``, the very instant returned below: ``now - period`` may
        # round the other way and let a send start while the place is still counted
        while answered and answered[0] + self.period <= now:
            answered.popleft()
        if self.inflight + len(answered) < self.limit:
            return NEVER
        if answered:
            return answered[0] + self.period
        return now + min(RECHECK, self.period / 20)  # every place held by a send in flight

    def take(self, now: float) -> None:
        """Record the start of a send at ``now``."""
        self.inflight += 1

    def give_back(self, now: float) -> None:
        """Record the answer to a send at ``now``: its place frees ``period`` later."""
        self.inflight = max(0, self.inflight - 1)
        self.answered.append(now)

    def idle(self, now: float) -> bool:
        """Whether the window holds no send in flight and no recent one."""
        return not self.inflight and (not self.answered or self.answered[-1] + self.period <= now)


class _ChatState:
    __slots__ = ("paused_until", "waiting", "window")

    def __init__(self, window: Window | None) -> None:
        self.window = SlidingWindow(window) if window else None
        self.paused_until = NEVER
        self.waiting = 0


@dataclass(slots=True, eq=False)
class Slot:
    """A send's places in its windows, from ``acquire`` until ``release``."""

    chat: _ChatState
    released: bool = field(default=False)


@dataclass(slots=True)
class LimiterStats:
    """What the limiter did: sends allowed and pauses taken."""

    acquired: int = 0
    chat_pauses: int = 0
    global_pauses: int = 0


class RateLimiter:
    """The rate limits of one bot token."""

    PRUNE_EVERY = 2048

    def __init__(
        self, policy: RatePolicy, time: TimeSource, *, chats_of: RateLimiter | None = None
    ) -> None:
        """``chats_of``: another limiter of the same token whose per-chat windows and pauses
        this one shares, with a global ceiling of its own (replies at the free ceiling beside
        paid broadcasts: one private chat still takes one message a second from both)."""
        self.policy = policy
        self.time = time
        self._pace = Gcra(policy.global_rate, policy.global_burst) if policy.global_rate else None
        self._cap = (
            SlidingWindow(Window(max(1, math.ceil(policy.global_rate)), 1.0))
            if policy.global_rate
            else None
        )
        self.share = 1
        self._global_paused_until = NEVER
        self._chats: dict[str, _ChatState] = {} if chats_of is None else chats_of._chats
        self._gate = asyncio.Lock()
        self.stats = LimiterStats()

    def _chat(self, target: DeliveryTarget) -> _ChatState:
        state = self._chats.get(target.rate_key)
        if state is None:
            state = _ChatState(self.policy.chat_window(target.kind))
            self._chats[target.rate_key] = state
        return state

    def _chat_ready_at(self, state: _ChatState, now: float) -> float:
        ready = state.paused_until
        if state.window is not None:
            ready = max(ready, state.window.ready_at(now))
        return ready

    def _global_ready_at(self, now: float) -> float:
        ready = self._global_paused_until
        if self._pace is not None:
            ready = max(ready, self._pace.ready_at())
        if self._cap is not None:
            ready = max(ready, self._cap.ready_at(now))
        return ready

    def set_share(self, processes: int) -> None:
        """Take ``1/processes`` of the token's ceiling (the others take the rest)."""
        processes = max(1, processes)
        rate = self.policy.global_rate
        if processes == self.share or rate is None:
            return
        self.share = processes
        if self._pace is not None:
            self._pace.interval = processes / rate
            self._pace.tolerance = max(0, self.policy.global_burst - 1) * self._pace.interval
        if self._cap is not None:
            self._cap.limit = max(1, math.ceil(rate) // processes)

    def ready_in(self, target: DeliveryTarget) -> float:
        """Seconds until ``target`` could be sent to, not counting other senders waiting."""
        now = self.time.monotonic()
        ready = max(self._chat_ready_at(self._chat(target), now), self._global_ready_at(now))
        return max(0.0, ready - now)

    async def acquire(self, target: DeliveryTarget) -> Slot:
        """Wait until a message may be sent to ``target`` and count it as started; give the
        slot back with ``release`` once the platform answered (or the send failed)."""
        state = self._chat(target)
        state.waiting += 1
        try:
            while True:
                now = self.time.monotonic()
                chat_ready = self._chat_ready_at(state, now)
                if chat_ready > now:
                    await self.time.sleep(chat_ready - now)
                    continue
                async with self._gate:
                    while True:
                        now = self.time.monotonic()
                        if self._chat_ready_at(state, now) > now:
                            break  # paused while waiting for the token: wait outside the gate
                        global_ready = self._global_ready_at(now)
                        if global_ready <= now:
                            self._take(state, now)
                            return Slot(state)
                        await self.time.sleep(global_ready - now)
        finally:
            state.waiting -= 1

    def _take(self, state: _ChatState, now: float) -> None:
        if state.window is not None:
            state.window.take(now)
        if self._pace is not None:
            self._pace.take(now)
        if self._cap is not None:
            self._cap.take(now)
        self.stats.acquired += 1
        if self.stats.acquired % self.PRUNE_EVERY == 0:
            self._prune(now)

    def release(self, slot: Slot) -> None:
        """The send of ``slot`` was answered: its places free one period from now."""
        if slot.released:
            return
        slot.released = True
        now = self.time.monotonic()
        if slot.chat.window is not None:
            slot.chat.window.give_back(now)
        if self._cap is not None:
            self._cap.give_back(now)

    def pause(self, target: DeliveryTarget, seconds: float, scope: RetryScope) -> None:
        """Honour a 429: pause the chat, or every send of the token, for ``seconds``."""
        until = self.time.monotonic() + max(0.0, seconds)
        if scope is RetryScope.GLOBAL:
            self._global_paused_until = max(self._global_paused_until, until)
            self.stats.global_pauses += 1
        else:
            state = self._chat(target)
            state.paused_until = max(state.paused_until, until)
            self.stats.chat_pauses += 1

    def _prune(self, now: float) -> None:
        """Forget chats with no recent send and no pause, so memory stays bounded."""
        stale = [
            key
            for key, state in self._chats.items()
            if not state.waiting
            and state.paused_until <= now
            and (state.window is None or state.window.idle(now))
        ]
        for key in stale:
            del self._chats[key]

    @property
    def tracked_chats(self) -> int:
        """How many chats the limiter currently remembers."""
        return len(self._chats)
