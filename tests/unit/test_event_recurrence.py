"""Yearly ceremonies: parsed from files, written back unchanged, moved to their next
occurrence once this year's has passed, and unconfirmed unless a source says otherwise."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.core.domain import Event, Recurrence
from bot.core.records import Dataset, parse_event
from bot.core.transfer import FORMATS, dump, read_text

ROW = {
    "slug": "immortal-regiment-liege",
    "starts_at": "2027-05-05T14:00:00+02:00",
    "timezone": "Europe/Brussels",
    "title": {"en": "Immortal Regiment", "ru": "Бессмертный полк"},
    "recurrence": "yearly",
    "sources": [{"ref": "A page", "url": "https://example.org/"}],
}


def event(**changes: object) -> Event:
    parsed, errors = parse_event(ROW | changes, "events.yaml", 1)
    assert errors == []
    return parsed


def test_a_yearly_event_is_unconfirmed_unless_the_file_says_so() -> None:
    assert event().recurrence is Recurrence.YEARLY
    assert event().confirmed is False
    assert event(confirmed=True).confirmed is True
    once = event(recurrence=None)
    assert once.recurrence is None and once.confirmed is True
    assert event(recurrence=None, confirmed="false").confirmed is False


@pytest.mark.parametrize(("field", "value"), [("recurrence", "weekly"), ("confirmed", "perhaps")])
def test_bad_values_are_reported(field: str, value: str) -> None:
    _, errors = parse_event(ROW | {field: value}, "events.yaml", 3)
    assert [(e.row, e.field) for e in errors] == [(3, field)]


@pytest.mark.parametrize("fmt", FORMATS)
def test_recurrence_and_confirmation_survive_an_export(fmt: str) -> None:
    records = [
        event(),
        event(slug="confirmed-this-year", confirmed=True),
        event(slug="one-off", recurrence=None),
        event(slug="one-off-unconfirmed", recurrence=None, confirmed=False),
    ]
    text = dump(Dataset(events=records), fmt)
    again = Dataset()
    assert read_text(text, fmt, f"events.{fmt}", into=again) == []
    assert again.events == records
    assert dump(again, fmt) == text


def test_a_past_yearly_event_comes_back_next_year_at_the_same_local_time() -> None:
    yearly = event()
    assert yearly.next_occurrence(dt.datetime(2027, 1, 1, tzinfo=dt.UTC)) == yearly
    moved = yearly.next_occurrence(dt.datetime(2027, 5, 6, tzinfo=dt.UTC))
    assert moved is not None and moved.slug == yearly.slug
    assert moved.starts_at == dt.datetime(2028, 5, 5, 12, 0, tzinfo=dt.UTC)
    winter = event(starts_at="2027-01-27T11:00:00+01:00").next_occurrence(
        dt.datetime(2027, 2, 1, tzinfo=dt.UTC)
    )
    assert winter is not None
    assert winter.starts_at == dt.datetime(2028, 1, 27, 10, 0, tzinfo=dt.UTC)


def test_a_29_february_ceremony_falls_on_28_february_in_common_years() -> None:
    leap = event(starts_at="2028-02-29T10:00:00+01:00")
    moved = leap.next_occurrence(dt.datetime(2028, 3, 1, tzinfo=dt.UTC))
    assert moved is not None
    assert moved.starts_at == dt.datetime(2029, 2, 28, 9, 0, tzinfo=dt.UTC)


def test_a_past_one_off_event_is_over() -> None:
    assert event(recurrence=None).next_occurrence(dt.datetime(2028, 1, 1, tzinfo=dt.UTC)) is None


async def test_events_are_not_empty_out_of_the_box_and_say_they_are_unconfirmed() -> None:
    from bot.core.context import ChatRef, Incoming, UserRef
    from bot.core.domain import ChatKind
    from db.dataset import load_curated
    from handlers.dispatch import Dispatcher
    from tests.fakes.memory import fake_core

    curated = load_curated()
    assert curated.events
    assert all(e.recurrence is Recurrence.YEARLY and not e.confirmed for e in curated.events)
    assert all(e.sources for e in curated.events)
    core = fake_core(curated, now=dt.datetime(2027, 12, 1, tzinfo=dt.UTC))
    reply = await Dispatcher(core).handle(
        Incoming("telegram", ChatRef("1", ChatKind.PRIVATE), UserRef("1", "u"), text="/events")
    )
    assert reply is not None
    text = reply.plain_text()
    assert "Immortal Regiment at the Citadel of Liège" in text
    assert "May 5, 2028" in text  # a year after the stored date: the next occurrence
    assert "Usually held; an organizer confirms each year." in text
    assert "12:00" not in text and "PM" not in text  # no hour is invented
