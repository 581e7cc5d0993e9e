"""The Immortal Regiment's settings: defaults, and one line naming the variable when wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, regiment_settings


def test_defaults() -> None:
    settings = regiment_settings(Settings())
    assert settings.media_dir == Path("data/media")
    assert settings.max_photo_bytes == 10 * 1024 * 1024
    assert settings.daily_limit == 5


def test_values_from_the_environment() -> None:
    env = {"MEDIA_DIR": "/srv/portraits", "REGIMENT_PHOTO_MAX_MB": "4", "REGIMENT_DAILY_LIMIT": "2"}
    settings = regiment_settings(Settings(environment=env))
    assert settings.media_dir == Path("/srv/portraits")
    assert settings.max_photo_bytes == 4 * 1024 * 1024
    assert settings.daily_limit == 2


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("REGIMENT_PHOTO_MAX_MB", "0"),
        ("REGIMENT_PHOTO_MAX_MB", "big"),
        ("REGIMENT_DAILY_LIMIT", "-1"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        regiment_settings(Settings(environment={name: value}))
    message = str(raised.value)
    assert message.startswith(f"{name}=") and "\n" not in message
