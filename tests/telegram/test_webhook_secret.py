"""The webhook's secret is compared in constant time and a wrong one is never logged: the
application python-telegram-bot's ``Updater`` builds routes to our handler."""

from __future__ import annotations

import hmac
import io
import logging
from dataclasses import replace

import aiohttp
import pytest

from bot.adapters.telegram import TelegramAdapter
from bot.adapters.telegram import webhook as secret_check
from bot.app import App
from bot.config import RedactingFilter, Settings
from tests.fakes.telegram_server import FakeTelegramServer, free_tcp_port
from tests.telegram.conftest import sqlite_only


def test_the_comparison_is_constant_time() -> None:
    assert secret_check.secret_matches("s3cret", "s3cret")
    assert not secret_check.secret_matches("s3creT", "s3cret")
    assert not secret_check.secret_matches(None, "s3cret")
    assert not secret_check.secret_matches("", "s3cret")
    assert not secret_check.secret_matches("é", "s3cret"), "non-ASCII is refused, not raised"


@sqlite_only
async def test_the_webhook_compares_with_compare_digest_and_logs_no_token(
    app: App,
    tg: FakeTelegramServer,
    telegram_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(given: bytes, expected: bytes) -> bool:
        compared.append((given, expected))
        return real(given, expected)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    caplog.set_level(logging.DEBUG)
    port = free_tcp_port()
    url = f"http://127.0.0.1:{port}/telegram/hook"
    secret = "s3cr3t_T0ken-abc"
    settings = replace(
        telegram_settings,
        telegram_mode="webhook",
        telegram_webhook_url=url,
        telegram_webhook_listen=f"127.0.0.1:{port}",
        telegram_webhook_secret=secret,
    )
    wrong = "wrong-secret-that-must-not-be-logged"
    async with (
        TelegramAdapter(app.dispatcher, settings),
        aiohttp.ClientSession() as session,
        session.post(
            url,
            json={"update_id": 1},
            headers={"X-Telegram-Bot-Api-Secret-Token": wrong},
        ) as response,
    ):
        assert response.status == 403
    assert (wrong.encode(), secret.encode()) in compared
    assert wrong not in caplog.text, "python-telegram-bot's own check logs it at DEBUG"


@sqlite_only
async def test_a_generated_secret_is_redacted_from_debug_logs(
    app: App, tg: FakeTelegramServer, telegram_settings: Settings
) -> None:
    """python-telegram-bot logs setWebhook's parameters at DEBUG, the secret among them: a
    configured one was redacted, a generated one was not."""
    port = free_tcp_port()
    settings = replace(
        telegram_settings,
        telegram_mode="webhook",
        telegram_webhook_url=f"http://127.0.0.1:{port}/",
        telegram_webhook_listen=f"127.0.0.1:{port}",
    )
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RedactingFilter(settings))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        async with TelegramAdapter(app.dispatcher, settings):
            secret = tg.webhook_secret
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    assert secret is not None
    assert "setWebhook" in out.getvalue()
    assert secret not in out.getvalue()
