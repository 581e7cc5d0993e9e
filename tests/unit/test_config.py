"""Configuration: defaults, validation with one clear line, secrets never shown."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest

from bot.config import (
    ConfigError,
    RedactingFilter,
    Settings,
    load_environment,
    redact,
    settings_from,
)


def test_defaults_need_no_configuration() -> None:
    settings = settings_from({})
    assert settings.database_url == "sqlite:///data/commemoration.sqlite3"
    assert settings.default_language == "en"
    assert settings.default_timezone == "Europe/Brussels"
    assert settings.default_delivery_time == dt.time(9, 0)
    assert settings.telegram_api_base_url == "https://api.telegram.org/bot"
    assert settings.discord_api_base_url == "https://discord.com/api/v10"
    assert (settings.telegram_rate_limit, settings.discord_rate_limit) == (25.0, 40.0)
    assert settings.telegram_token is None and settings.discord_token is None


def test_values_are_read() -> None:
    settings = settings_from(
        {
            "DEFAULT_LANGUAGE": "RU",
            "DEFAULT_TIMEZONE": "Europe/Moscow",
            "DEFAULT_DELIVERY_TIME": "07:45",
            "ORGANIZER_IDS": "telegram:123456, discord:987654",
            "TELEGRAM_RATE_LIMIT": "30",
            "LOG_LEVEL": "debug",
        }
    )
    assert settings.default_language == "ru"
    assert settings.default_delivery_time == dt.time(7, 45)
    assert settings.organizer_ids == frozenset({"telegram:123456", "discord:987654"})
    assert settings.telegram_rate_limit == 30.0
    assert settings.log_level == "DEBUG"


def test_paid_broadcast_allows_a_ceiling_up_to_1000() -> None:
    settings = settings_from({"TELEGRAM_RATE_LIMIT": "1000", "TELEGRAM_PAID_BROADCAST": "1"})
    assert settings.telegram_paid_broadcast and settings.telegram_rate_limit == 1000.0
    assert not settings_from({}).telegram_paid_broadcast


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEFAULT_LANGUAGE": "pt"}, "DEFAULT_LANGUAGE='pt' is not one of en, ru, fr, nl, de"),
        ({"DEFAULT_TIMEZONE": "Mars/Olympus"}, "DEFAULT_TIMEZONE='Mars/Olympus' is not an IANA"),
        ({"DEFAULT_DELIVERY_TIME": "25:61"}, "DEFAULT_DELIVERY_TIME='25:61' is not a time"),
        ({"TELEGRAM_MODE": "carrier-pigeon"}, "TELEGRAM_MODE='carrier-pigeon' must be"),
        (
            {"TELEGRAM_MODE": "webhook", "TELEGRAM_BOT_TOKEN": "1:x"},
            "TELEGRAM_MODE=webhook needs TELEGRAM_WEBHOOK_URL",
        ),
        ({"ORGANIZER_IDS": "myspace:1"}, "ORGANIZER_IDS: 'myspace:1' is not platform:user_id"),
        ({"TELEGRAM_RATE_LIMIT": "fast"}, "TELEGRAM_RATE_LIMIT='fast' is not a number"),
        ({"DISCORD_RATE_LIMIT": "0"}, "DISCORD_RATE_LIMIT='0' must be above 0"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL='LOUD' is not a logging level"),
        (
            {"TELEGRAM_RATE_LIMIT": "100"},
            "TELEGRAM_RATE_LIMIT=100 is above Telegram's free 30 messages a second",
        ),
        (
            {"TELEGRAM_RATE_LIMIT": "100", "TELEGRAM_PAID_BROADCAST": "maybe"},
            "TELEGRAM_PAID_BROADCAST='maybe' must be 1 or 0",
        ),
    ],
)
def test_bad_values_raise_one_clear_line(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from(env)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_environment_wins_over_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("DEFAULT_LANGUAGE=fr\nDEFAULT_TIMEZONE=Europe/Paris\n")
    monkeypatch.setenv("DEFAULT_LANGUAGE", "nl")
    values = load_environment(env_file)
    assert values["DEFAULT_LANGUAGE"] == "nl"
    assert values["DEFAULT_TIMEZONE"] == "Europe/Paris"


def test_tokens_are_never_in_the_repr_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(telegram_token="123:SECRET-TOKEN", discord_token="DISCORD.SECRET")
    assert "SECRET" not in repr(settings)
    assert redact("url https://api/bot123:SECRET-TOKEN/getMe", settings) == (
        "url https://api/bot[redacted]/getMe"
    )
    logger = logging.getLogger("test.redaction")
    handler_filter = RedactingFilter(settings)
    logger.addFilter(handler_filter)
    try:
        with caplog.at_level(logging.INFO, logger="test.redaction"):
            try:
                raise RuntimeError("failed calling bot123:SECRET-TOKEN")
            except RuntimeError:
                logger.exception("call to %s failed", "https://x/bot123:SECRET-TOKEN/")
    finally:
        logger.removeFilter(handler_filter)
    assert "SECRET" not in caplog.text
    assert "[redacted]" in caplog.text


def test_env_example_lists_every_variable_and_its_values_validate() -> None:
    import re

    from dotenv import dotenv_values

    from bot.adapters.discord.adapter import discord_options
    from bot.scheduling.settings import delivery_settings

    root = Path(__file__).resolve().parents[2]
    example = {k: v or "" for k, v in dotenv_values(root / ".env.example").items()}
    read_by_code: set[str] = set()
    for folder in ("bot", "db"):
        for path in (root / folder).rglob("*.py"):
            read_by_code |= set(
                re.findall(
                    r'"((?:TELEGRAM|DISCORD|DEFAULT|DELIVERY)_[A-Z_]+)"',
                    path.read_text(encoding="utf-8"),
                )
            )
    read_by_code |= {"DATABASE_URL", "ORGANIZER_IDS", "LOG_LEVEL"}
    assert read_by_code <= set(example), sorted(read_by_code - set(example))
    settings = settings_from(example)
    delivery_settings(settings, example)
    discord_options(example)
