"""Time zones, dates typed by users, and local delivery times."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

_MONTH_DAY = re.compile(r"^(?:(\d{4})-)?(\d{1,2})-(\d{1,2})$")
_DAY_MONTH = re.compile(r"^(\d{1,2})[./](\d{1,2})(?:[./](\d{4}))?$")
_HH_MM = re.compile(r"^(\d{1,2})[:.h](\d{2})$")

LEAP_YEAR = 2000
"""Month-day values are validated against a leap year, so 02-29 is a valid day."""


def utc_now() -> dt.datetime:
    """The current instant, aware, in UTC."""
    return dt.datetime.now(dt.UTC)


class SystemClock:
    """The real clock."""

    def now(self) -> dt.datetime:
        """The current instant, aware, in UTC."""
        return utc_now()


class FixedClock:
    """A clock stopped at one instant (for ``tick --at`` and tests)."""

    def __init__(self, at: dt.datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("a fixed clock needs an aware instant")
        self.at = at.astimezone(dt.UTC)

    def now(self) -> dt.datetime:
        """The fixed instant."""
        return self.at


MAX_ZONE_NAME = 64
"""The longest IANA zone name is 32 characters (America/Argentina/ComodRivadavia)."""


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; raise ValueError for an unknown one (anything ZoneInfo cannot
    open: a name too long for a file name, or with characters no file system takes, raises
    OSError there, not the ZoneInfoNotFoundError it raises for a plain unknown name)."""
    if (
        not name
        or len(name) > MAX_ZONE_NAME
        or name != name.strip()
        or ".." in name
        or name.startswith("/")
        or "\x00" in name
    ):
        raise ValueError(f"unknown time zone {name[:MAX_ZONE_NAME]!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


_ETC_OFFSET = re.compile(r"^Etc/GMT[+-]\d{1,2}$")


def utc_offset_text(offset: dt.timedelta) -> str:
    """An offset as ``UTC+05:30`` or ``UTC−03:00`` (a real minus sign)."""
    minutes = int(offset.total_seconds()) // 60
    sign = "−" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{rest:02d}"


def zone_display(name: str, at: dt.datetime) -> str:
    """A zone as people should read it. ``Etc/GMT+3`` follows POSIX, where the sign is
    reversed: it is three hours *behind* UTC, so it is shown as "UTC−03:00, Etc/GMT+3";
    every other zone by its name."""
    if not _ETC_OFFSET.match(name):
        return name
    offset = at.astimezone(zone(name)).utcoffset() or dt.timedelta(0)
    return f"{utc_offset_text(offset)}, {name}"


def find_zone(text: str) -> str | None:
    """Match user input to an IANA zone name, ignoring case ("europe/brussels" works)."""
    candidate = text.strip().replace(" ", "_")
    if not candidate:
        return None
    try:
        zone(candidate)
    except ValueError:
        pass
    else:
        return candidate
    lowered = candidate.lower()
    for name in _zone_names():
        if name.lower() == lowered:
            return name
    return None


_ZONES: list[str] = []


def _zone_names() -> list[str]:
    if not _ZONES:
        _ZONES.extend(sorted(available_timezones()))
    return _ZONES


class ImpossibleDate(ValueError):
    """A date written correctly that does not exist (30 February, month 13)."""

    def __init__(self, text: str, year: int | None, month: int, day: int) -> None:
        super().__init__(f"{text!r} is not a date")
        self.year = year
        self.month = month
        self.day = day


def parse_day(text: str, today: dt.date) -> dt.date:
    """Parse ``MM-DD``, ``YYYY-MM-DD``, ``DD.MM`` or ``DD.MM.YYYY``; raise ValueError
    (``ImpossibleDate`` for a well-formed date that does not exist).

    Without a year the date falls in ``today``'s year (29 February in a leap year).
    """
    text = text.strip()
    year: int | None
    if match := _MONTH_DAY.match(text):
        year_text, month_text, day_text = match.groups()
    elif match := _DAY_MONTH.match(text):
        day_text, month_text, year_text = match.groups()
    else:
        raise ValueError(f"not a date: {text!r}")
    year = int(year_text) if year_text else None
    month, day = int(month_text), int(day_text)
    try:
        dt.date(year or LEAP_YEAR, month, day)
    except ValueError:
        raise ImpossibleDate(text, year, month, day) from None
    if year is None:
        year = today.year
        if month == 2 and day == 29 and not _is_leap(year):
            year = LEAP_YEAR
    return dt.date(year, month, day)


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def parse_hhmm(text: str) -> dt.time:
    """Parse a wall-clock time ``HH:MM`` (also ``HH.MM`` and ``HHhMM``); raise ValueError."""
    match = _HH_MM.match(text.strip())
    if not match:
        raise ValueError(f"not a time of day: {text!r}")
    return dt.time(int(match.group(1)), int(match.group(2)))
