"""When a daily post is due: a local wall-clock time in an IANA zone, computed afresh each time.

DST policy (the same for every zone, tested over ten years of transitions):

- **A time in a gap moves forward by the gap.** On the day clocks jump from 02:00 to 03:00,
  02:30 is delivered at 03:30 (Lord Howe's 30-minute gap: 02:15 → 02:45). This is what
  ``zoneinfo`` gives for ``fold=0``: the wall time read with the offset in force before the
  transition.
- **A repeated time fires once, at its first occurrence.** On the day clocks fall back from
  03:00 to 02:00, 02:30 is delivered at the first 02:30 (summer time), not at the second.
- **A local date that does not exist is skipped** (Pacific/Apia skipped 30 December 2011):
  its instant would coincide with the next date's.

Each subscription gets exactly one occurrence per local date, identified by that date (the
delivery ledger's ``occurrence_date``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

from bot.core.timeutil import zone

ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One daily delivery: the subscriber's local date and the UTC instant it is due."""

    local_date: dt.date
    due_at: dt.datetime


@lru_cache(maxsize=65536)
def _instant(day: dt.date, at: dt.time, tz: ZoneInfo) -> dt.datetime:
    local = dt.datetime.combine(day, at.replace(tzinfo=None, fold=0), tzinfo=tz)
    return local.astimezone(dt.UTC)


@lru_cache(maxsize=65536)
def occurrence_on(day: dt.date, at: dt.time, tz: ZoneInfo) -> dt.datetime | None:
    """The UTC instant of ``at`` on local date ``day`` under the DST policy.

    None when ``day`` does not exist in the zone (the instant equals the next date's).
    """
    instant = _instant(day, at, tz)
    if instant == _instant(day + ONE_DAY, at, tz):
        return None
    return instant


def zone_of(name: str) -> ZoneInfo:
    """The IANA zone ``name`` (cached by ``zoneinfo``); ValueError when unknown."""
    return zone(name)


def next_occurrence(after: dt.datetime, at: dt.time, tz: ZoneInfo) -> Occurrence:
    """The first occurrence due strictly after ``after``."""
    local_day = after.astimezone(tz).date()
    day = local_day - ONE_DAY
    while True:
        instant = occurrence_on(day, at, tz)
        if instant is not None and instant > after:
            return Occurrence(day, instant)
        day += ONE_DAY


def occurrences_between(
    start: dt.datetime, end: dt.datetime, at: dt.time, tz: ZoneInfo
) -> list[Occurrence]:
    """Every occurrence with ``start <= due_at <= end``, in order."""
    found: list[Occurrence] = []
    if end < start:
        return found
    day = start.astimezone(tz).date() - ONE_DAY
    last = end.astimezone(tz).date() + ONE_DAY
    while day <= last:
        instant = occurrence_on(day, at, tz)
        if instant is not None and start <= instant <= end:
            found.append(Occurrence(day, instant))
        day += ONE_DAY
    return found
