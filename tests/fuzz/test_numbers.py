"""Numbers that come back from buttons and typed commands: ASCII digits within a database
integer, or nothing (``str.isdigit`` takes "²", which ``int`` refuses)."""

from __future__ import annotations

import contextlib

from hypothesis import given
from hypothesis import strategies as st

from bot.core.domain import MAX_RECORD_ID, parse_number
from bot.core.timeutil import zone


@given(st.text(max_size=30))
def test_parse_number_never_raises_and_stays_in_range(text: str) -> None:
    number = parse_number(text)
    assert number is None or 0 <= number <= MAX_RECORD_ID


def test_parse_number_takes_ascii_digits_within_a_bigint() -> None:
    assert parse_number("42") == 42
    assert parse_number(" 7 ") == 7
    assert parse_number("²") is None
    assert parse_number("٣") is None
    assert parse_number(str(MAX_RECORD_ID)) == MAX_RECORD_ID
    assert parse_number(str(MAX_RECORD_ID + 1)) is None
    assert parse_number("51", maximum=50) is None


@given(st.text(max_size=400))
def test_zone_raises_only_value_error(name: str) -> None:
    with contextlib.suppress(ValueError):
        zone(name)
