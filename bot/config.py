"""Configuration from the environment and ``.env``; every variable is listed in ``.env.example``.

Bad configuration raises ``ConfigError`` with one clear line naming the variable; tokens are
never part of any message.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values

from bot.core.domain import LANGUAGES
from bot.core.regiment import RegimentSettings
from bot.core.services import CoreSettings
from bot.core.timeutil import parse_hhmm, zone

DEFAULT_DATABASE_URL = "sqlite:///data/commemoration.sqlite3"
DEFAULT_TELEGRAM_API_BASE_URL = "https://api.telegram.org/bot"
DEFAULT_DISCORD_API_BASE_URL = "https://discord.com/api/v10"
SECRET_VARIABLES = ("TELEGRAM_BOT_TOKEN", "DISCORD_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET")


class ConfigError(ValueError):
    """The configuration is unusable; the message is one line for the operator."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the bot reads from its environment."""

    database_url: str = DEFAULT_DATABASE_URL
    telegram_token: str | None = field(default=None, repr=False)
    telegram_api_base_url: str = DEFAULT_TELEGRAM_API_BASE_URL
    telegram_mode: str = "polling"
    telegram_webhook_url: str | None = None
    telegram_webhook_listen: str = "0.0.0.0:8443"
    telegram_webhook_secret: str | None = field(default=None, repr=False)
    discord_token: str | None = field(default=None, repr=False)
    discord_api_base_url: str = DEFAULT_DISCORD_API_BASE_URL
    discord_gateway_url: str | None = None
    default_language: str = "en"
    default_timezone: str = "Europe/Brussels"
    default_delivery_time: dt.time = dt.time(9, 0)
    organizer_ids: frozenset[str] = frozenset()
    telegram_rate_limit: float = 25.0
    discord_rate_limit: float = 40.0
    telegram_paid_broadcast: bool = False
    """Scheduled posts go with ``allow_paid_broadcast`` (paid per message), so the Telegram
    ceiling may go above Telegram's free 30 a second, up to 1000."""
    log_level: str = "INFO"
    log_format: str = "text"
    """``text`` or ``json`` (one JSON object a line; ``bot.logformat``)."""
    conversation_idle_minutes: int = 30
    http_listen: str | None = None
    """``HOST:PORT`` of the bot's own HTTP server (health, metrics, calendars); None: off."""
    environment: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)
    """The environment these settings were read from (read once, by the CLI): the parts
    that only one component reads (delivery tuning, Discord shards) are parsed there."""

    def core_settings(self) -> CoreSettings:
        """The part of the settings the core needs."""
        return CoreSettings(
            default_language=self.default_language,
            default_timezone=self.default_timezone,
            default_delivery_time=self.default_delivery_time,
            organizer_ids=self.organizer_ids,
            conversation_idle=dt.timedelta(minutes=self.conversation_idle_minutes),
        )


def load_environment(env_file: Path | None = None) -> dict[str, str]:
    """The process environment over the values of ``.env`` (the environment wins)."""
    path = env_file if env_file is not None else Path.cwd() / ".env"
    values: dict[str, str] = {}
    if path.is_file():
        values.update({k: v for k, v in dotenv_values(path).items() if v is not None})
    values.update(os.environ)
    return values


def _get(env: Mapping[str, str], name: str, default: str | None = None) -> str | None:
    value = env.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip()


TELEGRAM_FREE_CEILING = 30
"""Telegram's broadcast limit without paid broadcasts, messages a second per bot."""


def _paid_broadcast(env: Mapping[str, str]) -> bool:
    raw = (_get(env, "TELEGRAM_PAID_BROADCAST") or "").lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"TELEGRAM_PAID_BROADCAST={raw!r} must be 1 or 0")


def _rate(env: Mapping[str, str], name: str, default: float) -> float:
    raw = _get(env, name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number of messages per second") from None
    if not 0 < value <= 1000:
        raise ConfigError(f"{name}={raw!r} must be above 0 and at most 1000")
    return value


def _organizers(raw: str | None) -> frozenset[str]:
    if not raw:
        return frozenset()
    result = set()
    for entry in raw.split(","):
        item = entry.strip()
        if not item:
            continue
        platform, _, user_id = item.partition(":")
        if platform not in ("telegram", "discord", "console") or not user_id.strip():
            raise ConfigError(
                f"ORGANIZER_IDS: {item!r} is not platform:user_id "
                "(e.g. telegram:123456,discord:987654)"
            )
        result.add(f"{platform}:{user_id.strip()}")
    return frozenset(result)


def parse_host_port(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:8080`` for an IPv6 address) as host and port; ValueError."""
    host, colon, port = text.strip().rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not colon or not host or not port.isascii() or not port.isdigit():
        raise ValueError(f"{text!r} is not HOST:PORT (e.g. 127.0.0.1:8080)")
    number = int(port)
    if not 0 <= number <= 65535:
        raise ValueError(f"{text!r}: the port must be from 1 to 65535")
    return host, number


def _http_listen(env: Mapping[str, str]) -> str | None:
    raw = _get(env, "HTTP_LISTEN")
    if raw is None:
        return None
    try:
        _, port = parse_host_port(raw)
    except ValueError as error:
        raise ConfigError(f"HTTP_LISTEN: {error}") from None
    if port == 0:
        raise ConfigError(f"HTTP_LISTEN: {raw!r}: the port must be from 1 to 65535")
    return raw


def settings_from(env: Mapping[str, str]) -> Settings:
    """Validate the environment into ``Settings``; raise ConfigError naming the variable."""
    language = (_get(env, "DEFAULT_LANGUAGE", "en") or "en").lower()
    if language not in LANGUAGES:
        raise ConfigError(f"DEFAULT_LANGUAGE={language!r} is not one of {', '.join(LANGUAGES)}")
    timezone = _get(env, "DEFAULT_TIMEZONE", "Europe/Brussels") or "Europe/Brussels"
    try:
        zone(timezone)
    except ValueError:
        raise ConfigError(
            f"DEFAULT_TIMEZONE={timezone!r} is not an IANA time zone (e.g. Europe/Brussels)"
        ) from None
    raw_time = _get(env, "DEFAULT_DELIVERY_TIME", "09:00") or "09:00"
    try:
        delivery = parse_hhmm(raw_time)
    except ValueError:
        raise ConfigError(f"DEFAULT_DELIVERY_TIME={raw_time!r} is not a time HH:MM") from None
    mode = (_get(env, "TELEGRAM_MODE", "polling") or "polling").lower()
    if mode not in ("polling", "webhook"):
        raise ConfigError(f"TELEGRAM_MODE={mode!r} must be polling or webhook")
    if (
        mode == "webhook"
        and _get(env, "TELEGRAM_BOT_TOKEN")
        and not _get(env, "TELEGRAM_WEBHOOK_URL")
    ):
        raise ConfigError("TELEGRAM_MODE=webhook needs TELEGRAM_WEBHOOK_URL")
    raw_idle = (_get(env, "CONVERSATION_IDLE_MINUTES", "30") or "30").strip()
    if not raw_idle.isdigit() or not 1 <= int(raw_idle) <= 10080:
        raise ConfigError(
            f"CONVERSATION_IDLE_MINUTES={raw_idle!r} must be a number of minutes from 1 to 10080"
        )
    level = (_get(env, "LOG_LEVEL", "INFO") or "INFO").upper()
    if not isinstance(logging.getLevelName(level), int):
        raise ConfigError(f"LOG_LEVEL={level!r} is not a logging level (DEBUG, INFO, WARNING…)")
    log_format = (_get(env, "LOG_FORMAT", "text") or "text").lower()
    if log_format not in ("text", "json"):
        raise ConfigError(f"LOG_FORMAT={log_format!r} must be text or json")
    paid = _paid_broadcast(env)
    telegram_rate = _rate(env, "TELEGRAM_RATE_LIMIT", 25.0)
    if telegram_rate > TELEGRAM_FREE_CEILING and not paid:
        raise ConfigError(
            f"TELEGRAM_RATE_LIMIT={telegram_rate:g} is above Telegram's free "
            f"{TELEGRAM_FREE_CEILING} messages a second: every send above it would be answered "
            "429; set TELEGRAM_PAID_BROADCAST=1 (paid per message) or lower it"
        )
    return Settings(
        database_url=_get(env, "DATABASE_URL", DEFAULT_DATABASE_URL) or DEFAULT_DATABASE_URL,
        telegram_token=_get(env, "TELEGRAM_BOT_TOKEN"),
        telegram_api_base_url=_get(env, "TELEGRAM_API_BASE_URL") or DEFAULT_TELEGRAM_API_BASE_URL,
        telegram_mode=mode,
        telegram_webhook_url=_get(env, "TELEGRAM_WEBHOOK_URL"),
        telegram_webhook_listen=_get(env, "TELEGRAM_WEBHOOK_LISTEN", "0.0.0.0:8443")
        or "0.0.0.0:8443",
        telegram_webhook_secret=_get(env, "TELEGRAM_WEBHOOK_SECRET"),
        discord_token=_get(env, "DISCORD_BOT_TOKEN"),
        discord_api_base_url=_get(env, "DISCORD_API_BASE_URL") or DEFAULT_DISCORD_API_BASE_URL,
        discord_gateway_url=_get(env, "DISCORD_GATEWAY_URL"),
        default_language=language,
        default_timezone=timezone,
        default_delivery_time=delivery,
        organizer_ids=_organizers(_get(env, "ORGANIZER_IDS")),
        telegram_rate_limit=telegram_rate,
        discord_rate_limit=_rate(env, "DISCORD_RATE_LIMIT", 40.0),
        telegram_paid_broadcast=paid,
        log_level=level,
        log_format=log_format,
        conversation_idle_minutes=int(raw_idle),
        http_listen=_http_listen(env),
        environment=dict(env),
    )


_RUNTIME_SECRETS: set[str] = set()
"""Secrets made while running (a webhook secret generated for the run): redacted as well."""


def register_secret(secret: str) -> None:
    """Have ``redact`` (and so every log record) remove ``secret`` from now on."""
    if secret:
        _RUNTIME_SECRETS.add(secret)


def redact(text: str, settings: Settings) -> str:
    """Remove every secret of ``settings``, and those registered at run time, from ``text``."""
    for secret in (
        settings.telegram_token,
        settings.discord_token,
        settings.telegram_webhook_secret,
        *_RUNTIME_SECRETS,
    ):
        if secret:
            text = text.replace(secret, "[redacted]")
    return text


class RedactingFilter(logging.Filter):
    """A logging filter that removes tokens from every record, tracebacks included."""

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings

    def filter(self, record: logging.LogRecord) -> bool:
        """Render the record's message and exception text with secrets removed."""
        record.msg = redact(record.getMessage(), self.settings)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.settings)
        return True


def regiment_settings(settings: Settings) -> RegimentSettings:
    """The Immortal Regiment's settings: ``MEDIA_DIR`` (where portraits are kept,
    ``data/media``), ``REGIMENT_PHOTO_MAX_MB`` (10) and ``REGIMENT_DAILY_LIMIT`` (submissions
    per person per day, 5)."""
    env = settings.environment
    media = (_get(env, "MEDIA_DIR", "data/media") or "data/media").strip()
    numbers: dict[str, int] = {}
    for name, default, low, high in (
        ("REGIMENT_PHOTO_MAX_MB", "10", 1, 50),
        ("REGIMENT_DAILY_LIMIT", "5", 1, 1000),
    ):
        raw = (_get(env, name, default) or default).strip()
        if not raw.isdigit() or not low <= int(raw) <= high:
            raise ConfigError(f"{name}={raw!r} must be a whole number from {low} to {high}")
        numbers[name] = int(raw)
    return RegimentSettings(
        media_dir=Path(media),
        max_photo_bytes=numbers["REGIMENT_PHOTO_MAX_MB"] * 1024 * 1024,
        daily_limit=numbers["REGIMENT_DAILY_LIMIT"],
    )
