"""Settings of the delivery machinery, read from the environment.

- ``DELIVERY_LATENESS_WINDOW`` (default ``6h``): what fell due while the bot was down is still
  delivered if it is at most this late, and recorded as skipped ("too late") otherwise.
- ``DELIVERY_CLAIM_LEASE`` (default ``120s``): the backstop for a row claimed by a process that
  died without a heartbeat (an older version): it is claimed again after this long. Keep it
  above the longest send (``send_timeout`` plus ``max_hold``). A process with a heartbeat
  (``bot.scheduling.liveness``) loses its rows ``worker_timeout`` (3 s) after its last beat.

- ``DELIVERY_PLAN_AHEAD`` (default ``60s``): the running bot queues the daily posts due
  within this long at each minute's tick, each held until its due time (``not_before``), so a
  minute's posts are already in the ledger when it starts (100,000 take the database 1–2 s to
  plan). ``0`` plans each minute when it comes. A subscription changed meanwhile withdraws
  the rows queued ahead for it (``db.repositories``) and is planned again.

Durations are written ``6h``, ``90m``, ``45s`` or combined (``1h30m``); a bare number counts
seconds.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass

from bot.config import ConfigError, Settings

DEFAULT_LATENESS_WINDOW = dt.timedelta(hours=6)
DEFAULT_CLAIM_LEASE = dt.timedelta(seconds=120)
DEFAULT_PLAN_AHEAD = dt.timedelta(seconds=60)

_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$")


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    """How deliveries are planned, paced and retried."""

    lateness_window: dt.timedelta = DEFAULT_LATENESS_WINDOW
    claim_lease: dt.timedelta = DEFAULT_CLAIM_LEASE
    telegram_rate_limit: float = 25.0
    discord_rate_limit: float = 40.0
    concurrency: int = 32
    """Sends in flight per platform (each waits for its rate-limit slot first)."""
    max_attempts: int = 8
    backoff_base: float = 2.0
    backoff_cap: float = 300.0
    send_timeout: float = 30.0
    max_hold: float = 30.0
    """A claimed row that would wait longer than this for its rate limit goes back to the queue."""
    poll_interval: float = 1.0
    idle_interval: float = 30.0
    """How often an idle drainer looks for rows queued by another process."""
    batch_size: int = 5000
    worker_timeout: dt.timedelta | None = dt.timedelta(seconds=3)
    """A ``sending`` row whose holder has not beaten for this long is claimed again; None:
    only the lease frees rows (no heartbeat)."""
    heartbeat_interval: float = 1.0
    plan_ahead: dt.timedelta = DEFAULT_PLAN_AHEAD
    """The running bot's minute tick also queues the daily posts due within this long."""
    loop_lag_target: float = 0.010
    """Seconds of event-loop lag above which the running bot's drainers send fewer at once,
    so commands are answered first (``bot.scheduling.pressure``); 0: never."""


def parse_duration(text: str) -> dt.timedelta:
    """``6h``, ``90m``, ``45s``, ``1h30m`` or a bare number of seconds; raise ValueError."""
    raw = text.strip().lower().replace(" ", "")
    if not raw:
        raise ValueError("empty duration")
    try:
        return dt.timedelta(seconds=float(raw))
    except ValueError:
        pass
    match = _DURATION.match(raw)
    if not match or not any(match.groups()):
        raise ValueError(f"not a duration: {text!r}")
    hours, minutes, seconds = (float(part) if part else 0.0 for part in match.groups())
    return dt.timedelta(hours=hours, minutes=minutes, seconds=seconds)


def _duration(
    env: Mapping[str, str], name: str, default: dt.timedelta, minimum: dt.timedelta
) -> dt.timedelta:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = parse_duration(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a duration (e.g. 6h, 90m, 45s)") from None
    if value < minimum:
        raise ConfigError(f"{name}={raw!r} must be at least {minimum}")
    return value


def delivery_settings(settings: Settings, env: Mapping[str, str]) -> DeliverySettings:
    """The delivery settings of the environment; raise ConfigError naming the variable."""
    return DeliverySettings(
        lateness_window=_duration(
            env, "DELIVERY_LATENESS_WINDOW", DEFAULT_LATENESS_WINDOW, dt.timedelta(0)
        ),
        claim_lease=_duration(
            env, "DELIVERY_CLAIM_LEASE", DEFAULT_CLAIM_LEASE, dt.timedelta(seconds=1)
        ),
        telegram_rate_limit=settings.telegram_rate_limit,
        discord_rate_limit=settings.discord_rate_limit,
        plan_ahead=_duration(env, "DELIVERY_PLAN_AHEAD", DEFAULT_PLAN_AHEAD, dt.timedelta(0)),
    )
