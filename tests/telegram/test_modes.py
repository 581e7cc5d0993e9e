"""Start-up and modes: command menus per language, webhook with its secret, a refused token;
errors logged without the token and answered with an apology."""

from __future__ import annotations

import logging
from dataclasses import replace

import aiohttp
import pytest
from telegram.warnings import PTBUserWarning

from bot.adapters.telegram import TelegramAdapter
from bot.app import App
from bot.config import ConfigError, Settings
from bot.core.domain import LANGUAGES
from bot.core.i18n import translator
from handlers.registry import command_menu
from tests.fakes.telegram_server import FakeTelegramServer, FakeUser, free_tcp_port
from tests.telegram.conftest import ask, sqlite_only

APOLOGY = "Sorry, something went wrong. Please try again later."


def _menu(language: str) -> list[dict[str, str]]:
    return [
        {"command": name, "description": description}
        for name, description in command_menu(translator(language))
    ]


@sqlite_only
async def test_command_menus_are_published_in_every_language(
    tg: FakeTelegramServer, adapter: TelegramAdapter
) -> None:
    for language in LANGUAGES:
        assert tg.commands(language_code=language) == _menu(language), language
    assert tg.commands() == _menu("en")
    assert _menu("ru") != _menu("en")
    assert [c["command"] for c in _menu("ru")] == [c["command"] for c in _menu("en")]
    with pytest.warns(PTBUserWarning, match="No `JobQueue` set up"):
        assert adapter.application.job_queue is None, "the bot's one scheduler serves Telegram"


@sqlite_only
async def test_the_default_menu_is_in_the_default_language(
    app: App, tg: FakeTelegramServer, telegram_settings: Settings
) -> None:
    app.core.settings = replace(app.core.settings, default_language="nl")
    async with TelegramAdapter(app.dispatcher, telegram_settings):
        assert tg.commands() == _menu("nl")


@sqlite_only
async def test_webhook_mode_checks_the_secret(
    app: App, tg: FakeTelegramServer, alice: FakeUser, telegram_settings: Settings
) -> None:
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
    async with TelegramAdapter(app.dispatcher, settings):
        assert (tg.webhook_url, tg.webhook_secret) == (url, secret)
        [reply] = await ask(tg, alice, "/today")
        assert reply.text is not None and reply.text.startswith("On this day, May 9")
        assert tg.webhook_deliveries[-1].status == 200

        tg.webhook_secret_override = "wrong-secret"
        tg.send_user_message(alice, None, "/help")
        await tg.wait_for(
            lambda: [d for d in tg.webhook_deliveries if d.status == 403],
            what="a refused delivery",
        )
        assert len(tg.sent(alice)) == 1, "an update with a wrong secret is not handled"
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, json={"update_id": 1}) as response,
        ):
            assert response.status == 403, "no secret at all"
        tg.webhook_secret_override = None
        [help_] = (await tg.wait_for_messages(2, chat_id=alice))[1:]
        assert help_.text is not None and help_.text.startswith("Commands")


@sqlite_only
async def test_webhook_without_a_configured_secret_uses_a_random_one(
    app: App,
    tg: FakeTelegramServer,
    alice: FakeUser,
    telegram_settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    port = free_tcp_port()
    settings = replace(
        telegram_settings,
        telegram_mode="webhook",
        telegram_webhook_url=f"http://127.0.0.1:{port}/",
        telegram_webhook_listen=f"127.0.0.1:{port}",
    )
    async with TelegramAdapter(app.dispatcher, settings) as adapter:
        secret = tg.webhook_secret
        assert secret is not None and len(secret) >= 32
        assert adapter.webhook is not None and adapter.webhook.secret == secret
        await ask(tg, alice, "/help")
    assert "random secret" in caplog.text
    assert secret not in caplog.text


@sqlite_only
async def test_a_refused_token_is_a_config_error_without_the_token(
    app: App, tg: FakeTelegramServer, telegram_settings: Settings
) -> None:
    wrong = f"{tg.bot.id}:AAwrongwrongwrongwrongwrongwrongwrong"
    adapter = TelegramAdapter(app.dispatcher, replace(telegram_settings, telegram_token=wrong))
    with pytest.raises(ConfigError) as refused:
        await adapter.start()
    assert str(refused.value) == (
        f"TELEGRAM_BOT_TOKEN was rejected by the Bot API at 127.0.0.1:{tg.port}"
    )
    assert refused.value.__suppress_context__


@sqlite_only
async def test_a_bad_webhook_setting_is_a_config_error(
    app: App, telegram_settings: Settings
) -> None:
    settings = replace(
        telegram_settings,
        telegram_mode="webhook",
        telegram_webhook_url="http://127.0.0.1:8443/hook",
        telegram_webhook_listen="127.0.0.1:eighty",
    )
    with pytest.raises(ConfigError, match="TELEGRAM_WEBHOOK_LISTEN"):
        await TelegramAdapter(app.dispatcher, settings).start()


@sqlite_only
async def test_a_failed_reply_is_logged_without_the_token_and_apologized(
    tg: FakeTelegramServer,
    boris: FakeUser,
    adapter: TelegramAdapter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot")
    caplog.set_level(logging.DEBUG, logger="telegram")
    tg.fail_next("sendMessage", chat_id=boris, description="Bad Request: injected failure")
    [apology] = await ask(tg, boris, "/today")
    assert apology.text == translator("ru").gettext(APOLOGY)
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.name for r in failures] == ["bot.adapters.telegram.adapter"]
    assert "Injected failure" in failures[0].getMessage()
    assert tg.token not in caplog.text
    assert tg.token.split(":")[1] not in caplog.text
    caplog.clear()


@sqlite_only
async def test_a_failing_handler_is_apologized_for_in_the_users_language(
    tg: FakeTelegramServer,
    boris: FakeUser,
    adapter: TelegramAdapter,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def broken(query: str, limit: int = 5) -> list[object]:
        raise RuntimeError("the index is on fire")

    monkeypatch.setattr(adapter.core, "search_memorials", broken)
    [apology] = await ask(tg, boris, "/memorial Liège")
    assert apology.text == translator("ru").gettext(APOLOGY)
    assert "the index is on fire" in caplog.text
    assert tg.token not in caplog.text
    caplog.clear()
