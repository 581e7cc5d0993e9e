"""Delivery settings from the environment, ``--at`` parsing, the progress bar, adapters."""

from __future__ import annotations

import datetime as dt
import io

import pytest

from bot.config import ConfigError, Settings
from bot.core.domain import DeliveryStatus
from bot.runner import load_adapter, parse_instant
from bot.scheduling.ports import Outcome
from bot.scheduling.progress import ProgressBar
from bot.scheduling.settings import delivery_settings, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("6h", 21600), ("90m", 5400), ("45s", 45), ("1h30m", 5400), ("120", 120), (" 2H ", 7200)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "soon", "6 hours", "h", "-5m"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_delivery_settings_from_the_environment() -> None:
    settings = Settings(telegram_rate_limit=20, discord_rate_limit=30)
    default = delivery_settings(settings, {})
    assert default.lateness_window == dt.timedelta(hours=6)
    assert default.claim_lease == dt.timedelta(seconds=120)
    assert (default.telegram_rate_limit, default.discord_rate_limit) == (20, 30)
    custom = delivery_settings(
        settings, {"DELIVERY_LATENESS_WINDOW": "90m", "DELIVERY_CLAIM_LEASE": "5m"}
    )
    assert custom.lateness_window == dt.timedelta(minutes=90)
    assert custom.claim_lease == dt.timedelta(minutes=5)
    with pytest.raises(ConfigError, match="DELIVERY_LATENESS_WINDOW"):
        delivery_settings(settings, {"DELIVERY_LATENESS_WINDOW": "later"})
    with pytest.raises(ConfigError, match="DELIVERY_CLAIM_LEASE"):
        delivery_settings(settings, {"DELIVERY_CLAIM_LEASE": "0"})


def test_instants_need_an_offset() -> None:
    assert parse_instant("2026-05-09T09:00+02:00") == dt.datetime(2026, 5, 9, 7, tzinfo=dt.UTC)
    assert parse_instant("2026-05-09T07:00:00Z") == dt.datetime(2026, 5, 9, 7, tzinfo=dt.UTC)
    with pytest.raises(ValueError, match="no UTC offset"):
        parse_instant("2026-05-09T07:00")
    with pytest.raises(ValueError, match="ISO-8601"):
        parse_instant("9 May")


def test_progress_bar_counts_final_outcomes() -> None:
    stream = io.StringIO()
    bar = ProgressBar(stream, total=3, width=10)
    for status in (DeliveryStatus.SENT, DeliveryStatus.QUEUED, DeliveryStatus.FAILED):
        bar.update(Outcome(1, 1, status))
    bar.update(Outcome(1, 1, DeliveryStatus.SKIPPED))
    bar.close()
    last = stream.getvalue().rstrip("\n").split("\r")[-1]
    assert last == "[##########] 3/3  sent 1  failed 1  skipped 1"


def test_a_missing_adapter_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="not available"):
        load_adapter("nowhere", object(), Settings())  # type: ignore[arg-type]
