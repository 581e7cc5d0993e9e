"""What is due at an instant: daily posts and event announcements and reminders.

Pure functions; the ledger runs them inside its transactions.

**Daily posts.** A subscription stores ``next_run_at``, the UTC instant of its next daily post
(NULL: "recompute", set whenever the subscription or its chat's zone changes). When the tick
finds ``next_run_at <= now``, every occurrence from ``next_run_at`` to ``now`` enters the
ledger: queued when it is at most the lateness window old, skipped ("too late") otherwise (at
most ``MAX_CATCHUP`` of them). A NULL next run is recomputed from ``now - RECOMPUTE_GRACE``, so
a subscription edited in the minute its post falls due still gets it. ``next_run_at`` then
moves to the first occurrence after ``now``, computed afresh from the wall time and zone.

**Events.** Each published version of an event (``sequence``: a change of time or place, or a
cancellation, is a new one) has items: its announcement or cancellation notice (due when that
version was published) and its reminders (``Event.reminders`` minutes before the start: a
week, a day and two hours unless the organizer chose otherwise). An item is fanned out once
to every subscription with the "events" topic that follows it (``audience``); items that fell
due more than the window ago, or after the event started, are recorded once as skipped.
Drafts have no items.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence

from bot.core.domain import DeliveryStatus, Event, EventStatus
from bot.scheduling.occurrences import next_occurrence, occurrences_between, zone_of
from bot.scheduling.ports import DailyPlan, DueSubscription, FanOut, PlannedRow, ScheduledEvent

log = logging.getLogger(__name__)

DAILY_ITEM = "today"
"""The item key of the daily "on this day" post."""
DAILY_TOPIC = "today"
EVENTS_TOPIC = "events"

RECOMPUTE_GRACE = dt.timedelta(minutes=5)
MAX_CATCHUP = dt.timedelta(days=7)
"""Missed daily posts older than this are neither sent nor recorded (one log line says so)."""

LEGACY_REMINDERS = {24 * 60: "day-before", 2 * 60: "day-of"}
"""The keys reminders had before events had versions (kept for events never changed in
chat, so that an upgrade does not send a reminder twice)."""


def reminder_kind(minutes: int, sequence: int) -> str:
    """The item kind of a reminder ``minutes`` before the start of version ``sequence``."""
    if sequence == 0 and minutes in LEGACY_REMINDERS:
        return LEGACY_REMINDERS[minutes]
    return versioned(f"remind-{minutes}", sequence)


def versioned(kind: str, sequence: int) -> str:
    """``kind`` of version ``sequence`` (``announce.2``); version 0 (imported) is bare."""
    return f"{kind}.{sequence}" if sequence else kind


def split_kind(kind: str) -> tuple[str, int, int]:
    """An event item's kind as (what, minutes before the start for a reminder, version):
    ``announce.2`` → ("announce", 0, 2), ``remind-1440.2`` → ("remind", 1440, 2); the keys
    of unversioned events (``announce``, ``day-before``, ``day-of``) are version 0."""
    base, _, version = kind.partition(".")
    sequence = int(version) if version.isdigit() else 0
    if base == "day-before":
        return "remind", 24 * 60, sequence
    if base == "day-of":
        return "remind", 2 * 60, sequence
    what, _, minutes = base.partition("-")
    return what, int(minutes) if minutes.isdigit() else 0, sequence


def audience(event: Event) -> tuple[str, ...]:
    """The follows that hear of ``event``: everyone following all of them, its country, its
    town and its memorial."""
    found = ["all"]
    if event.country:
        found.append(f"country:{event.country}")
    if event.city:
        found.append(f"city:{event.city}")
    if event.memorial:
        found.append(f"memorial:{event.memorial}")
    return tuple(found)


def event_key(event_id: int, kind: str) -> str:
    """The ledger item key of an event item, e.g. ``event:12:day-before``."""
    return f"event:{event_id}:{kind}"


def parse_event_key(item_key: str) -> tuple[int, str] | None:
    """``(event_id, kind)`` of an event item key; None for other items."""
    prefix, _, rest = item_key.partition(":")
    if prefix != "event":
        return None
    number, _, kind = rest.partition(":")
    if not number.isdigit() or not kind:
        return None
    return int(number), kind


def format_delay(delay: dt.timedelta) -> str:
    """A short delay such as ``7h12m`` or ``45s``."""
    seconds = int(delay.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def too_late_reason(due_at: dt.datetime, now: dt.datetime, window: dt.timedelta) -> str | None:
    """The skip reason when ``due_at`` is more than ``window`` before ``now``, else None."""
    late = now - due_at
    if late <= window:
        return None
    return f"too late: {format_delay(late)} after due (window {format_delay(window)})"


def plan_daily(
    subscriptions: Sequence[DueSubscription],
    now: dt.datetime,
    window: dt.timedelta,
    horizon: dt.datetime | None = None,
) -> DailyPlan:
    """Ledger rows for due subscriptions and the next run of each.

    With ``horizon`` (after ``now``), the occurrences up to it are planned too, ahead of
    their time, and the next run is the first one after it; lateness is judged at ``now``.
    Subscriptions sharing a zone, a time and a next run (most of a hot minute) are computed
    once.
    """
    horizon = now if horizon is None else max(now, horizon)
    rows: list[PlannedRow] = []
    next_runs: dict[int, dt.datetime] = {}
    dropped = 0
    computed: dict[
        tuple[str, dt.time, dt.datetime | None],
        tuple[list[tuple[dt.date, dt.datetime, str | None]], dt.datetime, bool],
    ] = {}
    for subscription in subscriptions:
        key = (subscription.timezone, subscription.delivery_time, subscription.next_run_at)
        known = computed.get(key)
        if known is None:
            known = computed[key] = _occurrences(subscription, now, window, horizon)
        occurrences, next_run, too_old = known
        dropped += too_old
        if DAILY_TOPIC in subscription.topics:
            rows.extend(
                PlannedRow(
                    subscription_id=subscription.id,
                    item_key=DAILY_ITEM,
                    occurrence_date=day,
                    due_at=due_at,
                    status=DeliveryStatus.SKIPPED if reason else DeliveryStatus.QUEUED,
                    reason=reason,
                )
                for day, due_at, reason in occurrences
            )
        next_runs[subscription.id] = next_run
    if dropped:
        log.warning(
            "%s subscription schedules (a zone, a time and a last run, shared by one "
            "subscription or many) had daily posts due more than %s ago; those are not recorded",
            dropped,
            MAX_CATCHUP,
        )
    return DailyPlan(rows, next_runs)


def _occurrences(
    subscription: DueSubscription, now: dt.datetime, window: dt.timedelta, horizon: dt.datetime
) -> tuple[list[tuple[dt.date, dt.datetime, str | None]], dt.datetime, bool]:
    """The occurrences to record up to ``horizon`` (date, due, skip reason), the next run
    after it, and whether some were older than ``MAX_CATCHUP``."""
    try:
        tz = zone_of(subscription.timezone)
    except ValueError:
        log.warning(
            "subscription %s (and every other in that zone) has an unknown time zone %r; using UTC",
            subscription.id,
            subscription.timezone,
        )
        tz = zone_of("UTC")
    at = subscription.delivery_time
    if subscription.next_run_at is None:
        start = now - RECOMPUTE_GRACE + dt.timedelta(microseconds=1)
    else:
        start = subscription.next_run_at
    too_old = now - start > MAX_CATCHUP
    if too_old:
        start = now - MAX_CATCHUP
    found = [
        (o.local_date, o.due_at, too_late_reason(o.due_at, now, window))
        for o in occurrences_between(start, horizon, at, tz)
    ]
    return found, next_occurrence(horizon, at, tz).due_at, too_old


def first_post(now: dt.datetime, at: dt.time, timezone: str) -> dt.date:
    """The local date of the first daily post of a subscription made or changed at ``now``
    (its next run is recomputed from ``now - RECOMPUTE_GRACE``, as ``plan_daily`` does)."""
    try:
        tz = zone_of(timezone)
    except ValueError:
        tz = zone_of("UTC")
    return next_occurrence(now - RECOMPUTE_GRACE, at, tz).local_date


def event_items(
    events: Sequence[ScheduledEvent], now: dt.datetime, window: dt.timedelta
) -> list[FanOut]:
    """Every item of ``events`` due at ``now``, each with a skip reason when it is too late."""
    items: list[FanOut] = []
    for scheduled in events:
        event = scheduled.event
        if event.id is None:
            continue
        try:
            tz = zone_of(event.timezone)
        except ValueError:
            tz = zone_of("UTC")
        start_date = event.starts_at.astimezone(tz).date()
        announced = scheduled.announced_at
        sequence = event.sequence
        candidates: list[tuple[str, dt.datetime]] = []
        if event.status is EventStatus.DRAFT:
            continue
        if event.status is EventStatus.CANCELLED:
            candidates.append((versioned("cancelled", sequence), announced))
        else:
            candidates.append((versioned("announce", sequence), announced))
            for minutes in event.reminders:
                before = dt.timedelta(minutes=minutes)
                if event.starts_at - before >= announced:
                    candidates.append((reminder_kind(minutes, sequence), event.starts_at - before))
        for kind, due_at in candidates:
            if due_at > now or due_at >= event.starts_at:
                continue
            reason = too_late_reason(due_at, now, window)
            if reason is None and event.starts_at <= now:
                reason = "the event has started"
            items.append(
                FanOut(event_key(event.id, kind), start_date, due_at, reason, audience(event))
            )
    return items
