"""Numbers and dates read as people write them (issue 14, item 5), through the dispatcher
every adapter calls (the same replies on Telegram, Discord and the console)."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.core.context import ChatRef, Incoming, UserRef
from bot.core.domain import ChatKind, GeoPoint
from bot.core.geo import NotAPosition, OutOfRange, parse_point
from bot.core.reply import Reply
from bot.core.services import Core
from bot.core.timeutil import zone_display
from handlers.dispatch import Dispatcher
from tests.fakes.memory import fake_core
from tests.fakes.sample import sample_dataset

NOW = dt.datetime(2026, 5, 9, 7, 0, tzinfo=dt.UTC)
PRIVATE = ChatRef("100", ChatKind.PRIVATE)
USER = UserRef("100", "Anna")


@pytest.fixture
def core() -> Core:
    return fake_core(sample_dataset(), now=NOW)


@pytest.fixture
def dispatcher(core: Core) -> Dispatcher:
    return Dispatcher(core, bot_username="MemoryBot")


async def ask(dispatcher: Dispatcher, text: str, platform: str = "telegram") -> Reply:
    reply = await dispatcher.handle(Incoming(platform, PRIVATE, USER, text=text))
    assert reply is not None, text
    return reply


# -- /near ---------------------------------------------------------------------------------


@pytest.mark.parametrize("platform", ["telegram", "discord", "console"])
async def test_near_accepts_decimal_commas(dispatcher: Dispatcher, platform: str) -> None:
    text = (await ask(dispatcher, "/near 50,66 4,13", platform)).plain_text()
    assert "Memorials nearest to 50.6600, 4.1300" in text


async def test_near_tells_a_word_apart_from_an_out_of_range_latitude(
    dispatcher: Dispatcher,
) -> None:
    word = (await ask(dispatcher, "/near abc")).plain_text()
    assert "“abc” is not a position" in word
    latitude = (await ask(dispatcher, "/near 91 4")).plain_text()
    assert "latitude 91 is out of range" in latitude.lower() and "-90 to 90" in latitude
    assert "is not a position" not in latitude
    longitude = (await ask(dispatcher, "/near 50 181")).plain_text()
    assert "longitude 181 is out of range" in longitude.lower()


def test_parse_point_never_raises_python_text() -> None:
    with pytest.raises(NotAPosition) as word:
        parse_point("abc", "4")
    assert "could not convert" not in str(word.value)
    with pytest.raises(OutOfRange) as far:
        parse_point("100", "4")
    assert (far.value.axis, far.value.value) == ("latitude", 100.0)


async def test_a_town_centre_position_gives_an_approximate_distance(
    dispatcher: Dispatcher,
) -> None:
    text = (await ask(dispatcher, "/near 50.668 4.135")).plain_text()
    # Rebecq is known only by its town centre: no distance to the metre
    assert "about 0.4 km, town centre" in text
    assert " m\n" not in text and "394 m" not in text


async def test_far_results_are_labelled_far_away(dispatcher: Dispatcher) -> None:
    reply = await dispatcher.handle(
        Incoming("telegram", PRIVATE, USER, location=GeoPoint(55.75, 37.62))  # Moscow
    )
    assert reply is not None
    text = reply.plain_text()
    assert "No memorial within 100 km" in text
    assert "far away" in text


# -- /today --------------------------------------------------------------------------------


@pytest.mark.parametrize("arg", ["9999-05-09", "0001-05-09", "1800-05-09", "2101-01-01"])
async def test_years_the_dataset_cannot_speak_of_are_refused(
    dispatcher: Dispatcher, arg: str
) -> None:
    text = (await ask(dispatcher, f"/today {arg}")).plain_text()
    assert "Usage: /today" in text
    assert "years from 1930 to 2100" in text
    assert "On this day" not in text


async def test_a_past_year_is_in_the_header_and_1945_is_not_this_year(
    dispatcher: Dispatcher,
) -> None:
    text = (await ask(dispatcher, "/today 1945-05-09")).plain_text()
    assert "On this day, May 9, 1945" in text
    assert "this year" not in text
    assert "1945 — Victory Day" in text or "1945 —" in text


async def test_the_current_year_keeps_its_short_header(dispatcher: Dispatcher) -> None:
    text = (await ask(dispatcher, "/today 2026-05-09")).plain_text()
    assert "On this day, May 9\n" in text
    assert "81 years ago" in text


# -- time zones ----------------------------------------------------------------------------


def test_etc_zones_show_their_real_offset() -> None:
    # Etc/GMT+3 is three hours *behind* UTC (POSIX signs)
    assert zone_display("Etc/GMT+3", NOW) == "UTC−03:00, Etc/GMT+3"
    assert zone_display("Etc/GMT-5", NOW) == "UTC+05:00, Etc/GMT-5"
    assert zone_display("Europe/Brussels", NOW) == "Europe/Brussels"


async def test_choosing_etc_gmt_plus_3_says_utc_minus_3(dispatcher: Dispatcher) -> None:
    text = (await ask(dispatcher, "/timezone Etc/GMT+3")).plain_text()
    assert "UTC−03:00" in text
    assert "4:00" in text  # 07:00 UTC is 04:00 there
