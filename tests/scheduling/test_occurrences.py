"""Ten years of DST transitions: exactly one delivery per local date, gaps move forward by the
gap, repeated times fire once (the first)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from bot.core.domain import DeliveryStatus
from bot.scheduling.occurrences import next_occurrence, occurrence_on, occurrences_between
from bot.scheduling.planner import plan_daily
from bot.scheduling.ports import DueSubscription

ZONES = [
    "Europe/Brussels",
    "Europe/Moscow",
    "America/New_York",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
]
START = dt.date(2010, 1, 1)
END = dt.date(2019, 12, 31)
TIMES = sorted(
    {dt.time(h, m) for h in range(4) for m in (0, 15, 30, 45)}
    | {dt.time(9, 0), dt.time(12, 0), dt.time(23, 45)}
)


def _exists(day: dt.date, at: dt.time, tz: ZoneInfo) -> bool:
    local = dt.datetime.combine(day, at, tzinfo=tz)
    back = local.astimezone(dt.UTC).astimezone(tz)
    return back.replace(tzinfo=None) == local.replace(tzinfo=None)


def _ambiguous(day: dt.date, at: dt.time, tz: ZoneInfo) -> bool:
    first = dt.datetime.combine(day, at, tzinfo=tz)
    return first.utcoffset() != first.replace(fold=1).utcoffset() and _exists(day, at, tz)


@pytest.mark.parametrize("name", ZONES)
def test_ten_years_one_delivery_per_local_date(name: str) -> None:
    tz = ZoneInfo(name)
    gaps = repeats = 0
    for at in TIMES:
        after = dt.datetime.combine(START, dt.time(0), tzinfo=tz).astimezone(dt.UTC)
        after -= dt.timedelta(days=1)
        dates: list[dt.date] = []
        previous: dt.datetime | None = None
        while True:
            occurrence = next_occurrence(after, at, tz)
            if occurrence.local_date > END:
                break
            due, day = occurrence.due_at, occurrence.local_date
            local = due.astimezone(tz)
            if occurrence.local_date >= START:
                dates.append(day)
            assert previous is None or due > previous
            assert local.date() == day, (name, at, day, local)
            if not _exists(day, at, tz):
                gaps += 1
                before = dt.datetime.combine(day, at, tzinfo=tz).utcoffset()
                after_offset = local.utcoffset()
                assert before is not None and after_offset is not None
                wall = dt.datetime.combine(day, at) + (after_offset - before)
                assert local.replace(tzinfo=None) == wall, (name, at, day, local)
                assert after_offset > before
            else:
                assert local.time() == at, (name, at, day, local)
                if _ambiguous(day, at, tz):
                    repeats += 1
                    assert local.fold == 0
                    second = dt.datetime.combine(day, at, tzinfo=tz).replace(fold=1)
                    assert due < second.astimezone(dt.UTC)
            previous = due
            after = due
        expected = (END - START).days + 1
        assert len(dates) == expected, (name, at)
        assert len(set(dates)) == expected
        assert dates[0] == START and dates[-1] == END
    if name == "Asia/Kathmandu":
        assert gaps == repeats == 0
    else:
        assert gaps > 0 and repeats > 0, (name, gaps, repeats)


def test_gap_moves_forward_by_the_gap() -> None:
    brussels = ZoneInfo("Europe/Brussels")
    due = occurrence_on(dt.date(2026, 3, 29), dt.time(2, 30), brussels)
    assert due is not None and due.astimezone(brussels).time() == dt.time(3, 30)
    lord_howe = ZoneInfo("Australia/Lord_Howe")
    due = occurrence_on(dt.date(2025, 10, 5), dt.time(2, 15), lord_howe)
    assert due is not None and due.astimezone(lord_howe).time() == dt.time(2, 45)
    new_york = ZoneInfo("America/New_York")
    due = occurrence_on(dt.date(2026, 3, 8), dt.time(2, 0), new_york)
    assert due is not None and due.astimezone(new_york).time() == dt.time(3, 0)


def test_repeated_time_fires_once_at_the_first() -> None:
    brussels = ZoneInfo("Europe/Brussels")
    day = dt.date(2026, 10, 25)
    start = dt.datetime(2026, 10, 24, 12, tzinfo=dt.UTC)
    found = occurrences_between(start, start + dt.timedelta(days=1), dt.time(2, 30), brussels)
    assert [o.local_date for o in found] == [day]
    assert found[0].due_at == dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC)  # 02:30 CEST
    moscow = ZoneInfo("Europe/Moscow")  # 26 October 2014: 02:00 MSK+4 back to 01:00 MSK+3
    due = occurrence_on(dt.date(2014, 10, 26), dt.time(1, 30), moscow)
    assert due == dt.datetime(2014, 10, 25, 21, 30, tzinfo=dt.UTC)


def test_a_local_date_that_does_not_exist_is_skipped() -> None:
    apia = ZoneInfo("Pacific/Apia")  # 30 December 2011 was skipped
    assert occurrence_on(dt.date(2011, 12, 30), dt.time(9), apia) is None
    start = dt.datetime(2011, 12, 28, tzinfo=dt.UTC)
    found = occurrences_between(start, start + dt.timedelta(days=4), dt.time(9), apia)
    assert [o.local_date.day for o in found] == [28, 29, 31, 1]


@pytest.mark.parametrize(
    ("name", "day", "at"),
    [
        ("Europe/Brussels", dt.date(2019, 3, 31), dt.time(2, 30)),
        ("Europe/Brussels", dt.date(2019, 10, 27), dt.time(2, 30)),
        ("America/New_York", dt.date(2019, 11, 3), dt.time(1, 30)),
        ("Australia/Lord_Howe", dt.date(2019, 10, 6), dt.time(2, 15)),
        ("Australia/Lord_Howe", dt.date(2019, 4, 7), dt.time(1, 45)),
        ("Europe/Moscow", dt.date(2014, 10, 26), dt.time(1, 30)),
    ],
)
def test_minute_ticks_across_a_transition_plan_one_post_per_date(
    name: str, day: dt.date, at: dt.time
) -> None:
    """The planner, ticking every minute over three days around a transition, queues each local
    date once, never late."""
    tz = ZoneInfo(name)
    now = dt.datetime.combine(day - dt.timedelta(days=1), dt.time(0), tzinfo=tz).astimezone(dt.UTC)
    end = now + dt.timedelta(days=3)
    next_run: dt.datetime | None = None
    rows = []
    window = dt.timedelta(hours=6)
    while now <= end:
        subscription = DueSubscription(1, name, at, ("today",), next_run)
        if next_run is None or next_run <= now:
            plan = plan_daily([subscription], now, window)
            rows.extend(plan.rows)
            next_run = plan.next_run_at[1]
        now += dt.timedelta(minutes=1)
    dates = [row.occurrence_date for row in rows]
    assert len(dates) == len(set(dates))
    assert day in dates
    assert all(row.status is DeliveryStatus.QUEUED for row in rows)
    for row in rows:
        assert row.due_at == occurrence_on(row.occurrence_date, at, tz)
