"""Fast tests without a network: error mapping, configuration, reading updates."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import replace
from typing import Any

import pytest
from telegram import CallbackQuery, Message
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)

from bot.adapters.telegram.adapter import (
    KeyedLocks,
    api_host,
    file_base_url,
    parse_listen,
    webhook_config,
)
from bot.adapters.telegram.incoming import callback_incoming, message_incoming
from bot.adapters.telegram.sender import delivery_error, describe
from bot.config import ConfigError, Settings
from bot.core.context import AdminCheck
from bot.core.delivery import PermanentError, RetryLater, RetryScope, TransientError
from bot.core.domain import ChatKind

BOT_ID = 7012345678
BOT = "commemoration_test_bot"
ALICE: dict[str, Any] = {"id": 101, "is_bot": False, "first_name": "Alice", "language_code": "nl"}
GROUP: dict[str, Any] = {"id": -4001, "type": "group", "title": "Veterans"}
FORUM: dict[str, Any] = {"id": -1001, "type": "supergroup", "title": "Forum", "is_forum": True}
CHANNEL: dict[str, Any] = {"id": -1002, "type": "channel", "title": "Chronicle"}


# -- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "kind", "reason"),
    [
        (Forbidden("Forbidden: bot was blocked by the user"), PermanentError, "blocked"),
        (Forbidden("Forbidden: bot was kicked from the group chat"), PermanentError, "kicked"),
        (BadRequest("Chat not found"), PermanentError, "Chat not found"),
        (BadRequest("Message thread not found"), PermanentError, "thread"),
        (BadRequest("Need administrator rights in the channel chat"), PermanentError, "rights"),
        (ChatMigrated(-100123), PermanentError, "-100123"),
        (BadRequest("Can't parse entities: unexpected end tag"), TransientError, "parse"),
        (NetworkError("Internal Server Error (500)"), TransientError, "500"),
        (NetworkError("Bad Gateway"), TransientError, "Bad Gateway"),
        (TimedOut(), TransientError, "TimedOut"),
        (InvalidToken(), TransientError, "token"),
    ],
)
def test_telegram_errors_become_delivery_errors(error: Any, kind: type, reason: str) -> None:
    mapped = delivery_error(error)
    assert type(mapped) is kind
    assert reason in mapped.reason


def test_a_429_pauses_the_chat_for_telegrams_delay() -> None:
    mapped = delivery_error(RetryAfter(dt.timedelta(seconds=17)))
    assert isinstance(mapped, RetryLater)
    assert (mapped.retry_after, mapped.scope) == (17, RetryScope.CHAT)


def test_descriptions_never_show_the_token() -> None:
    token = "7012345678:AAsecretsecretsecretsecretsecret"
    error = InvalidToken(f"The token `{token}` was rejected by the server.")
    assert token not in describe(error, token)
    assert "[redacted]" in describe(error, token)
    assert token not in delivery_error(NetworkError(f"failed for {token}"), token).reason


# -- configuration ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.0.0.0:8443", ("0.0.0.0", 8443)),
        ("127.0.0.1:80", ("127.0.0.1", 80)),
        ("[::]:8443", ("::", 8443)),
        ("8443", ("0.0.0.0", 8443)),
    ],
)
def test_listen_addresses(text: str, expected: tuple[str, int]) -> None:
    assert parse_listen(text) == expected


@pytest.mark.parametrize("text", ["", "host:", "host:http", "0.0.0.0:70000", ":8443"])
def test_bad_listen_addresses(text: str) -> None:
    with pytest.raises(ConfigError, match="TELEGRAM_WEBHOOK_LISTEN"):
        parse_listen(text)


def test_webhook_configuration() -> None:
    settings = Settings(
        telegram_token="1:x",
        telegram_mode="webhook",
        telegram_webhook_url="https://bot.example.org/telegram/hook",
        telegram_webhook_secret="abc_DEF-123",
    )
    config = webhook_config(settings)
    assert (config.listen, config.port) == ("0.0.0.0", 8443)
    assert (config.url_path, config.secret, config.secret_generated) == (
        "telegram/hook",
        "abc_DEF-123",
        False,
    )
    generated = webhook_config(replace(settings, telegram_webhook_secret=None))
    assert generated.secret_generated and len(generated.secret) >= 32
    with pytest.raises(ConfigError, match="TELEGRAM_WEBHOOK_SECRET"):
        webhook_config(replace(settings, telegram_webhook_secret="not allowed!"))
    with pytest.raises(ConfigError, match="TELEGRAM_WEBHOOK_URL"):
        webhook_config(replace(settings, telegram_webhook_url=None))


def test_bot_api_addresses() -> None:
    assert file_base_url("https://api.telegram.org/bot") == "https://api.telegram.org/file/bot"
    assert file_base_url("http://127.0.0.1:8081/bot/") == "http://127.0.0.1:8081/file/bot"
    assert file_base_url("http://tg.local/api/{token}") is None
    assert api_host("https://user:pw@bots.example.org:8081/bot") == "bots.example.org:8081"


async def test_keyed_locks_serialize_one_key_and_forget_it() -> None:
    locks = KeyedLocks()
    order: list[str] = []

    async def work(key: str, name: str, pause: float) -> None:
        async with locks.hold(key):
            order.append(f"{name}+")
            await asyncio.sleep(pause)
            order.append(f"{name}-")

    await asyncio.gather(work("a", "1", 0.02), work("a", "2", 0), work("b", "3", 0))
    assert order.index("1-") < order.index("2+")
    assert order.index("3-") < order.index("1-"), "another chat does not wait"
    assert len(locks) == 0


# -- reading updates ----------------------------------------------------------------------


def _message(chat: dict[str, Any], **fields: Any) -> Message:
    data: dict[str, Any] = {"message_id": 5, "date": 1_778_000_000, "chat": chat}
    data.update(fields)
    message = Message.de_json(data, None)
    assert message is not None
    return message


def _no_check(chat_id: int, user_id: int) -> AdminCheck:
    async def check() -> bool:
        return chat_id == -4001 and user_id == 101

    return check


def _read(message: Message) -> Any:
    return message_incoming(message, bot_id=BOT_ID, bot_username=BOT, admin_check=_no_check)


async def test_a_private_command() -> None:
    incoming = _read(_message({"id": 101, "type": "private"}, text="/today", **{"from": ALICE}))
    assert incoming.chat.kind is ChatKind.PRIVATE
    assert (incoming.chat.id, incoming.text, incoming.user.client_language) == (
        "101",
        "/today",
        "nl",
    )
    assert incoming.check_admin is None


async def test_a_group_command_checks_admins_lazily() -> None:
    incoming = _read(_message(GROUP, text="/subscribe", **{"from": ALICE}))
    assert incoming.chat.kind is ChatKind.GROUP
    assert incoming.user.is_admin is False
    assert incoming.check_admin is not None and await incoming.check_admin()


def test_unknown_commands_in_groups_need_the_bots_name() -> None:
    assert _read(_message(GROUP, text="/weather", **{"from": ALICE})) is None
    assert _read(_message(GROUP, text=f"/weather@{BOT}", **{"from": ALICE})) is not None
    assert _read(_message(GROUP, text="/today@other_bot", **{"from": ALICE})) is not None
    private = {"id": 101, "type": "private"}
    assert _read(_message(private, text="/weather", **{"from": ALICE})) is not None


def test_a_forum_topic_is_part_of_the_chat() -> None:
    incoming = _read(
        _message(
            FORUM,
            text="/subscribe",
            message_thread_id=77,
            is_topic_message=True,
            **{"from": ALICE},
        )
    )
    assert (incoming.chat.id, incoming.chat.thread_id) == ("-1001", "77")
    reply_thread = _read(_message(GROUP, text="/today", message_thread_id=3, **{"from": ALICE}))
    assert reply_thread.chat.thread_id == "", "a reply thread outside forums is no topic"


def test_a_channel_post_speaks_for_its_admins() -> None:
    incoming = _read(_message(CHANNEL, text="/subscribe", sender_chat=CHANNEL))
    assert incoming.chat.kind is ChatKind.CHANNEL
    assert incoming.user.is_admin is True
    assert incoming.user.id == "-1002"


def test_an_anonymous_group_admin_is_an_admin() -> None:
    anonymous = {"id": 1087968824, "is_bot": True, "first_name": "Group"}
    incoming = _read(_message(GROUP, text="/subscribe", sender_chat=GROUP, **{"from": anonymous}))
    assert incoming.user.is_admin is True


def test_what_is_not_a_request() -> None:
    other_bot = {"id": 555, "is_bot": True, "first_name": "Other"}
    me = {"id": BOT_ID, "is_bot": True, "first_name": "Me"}
    assert _read(_message(GROUP, text="/today", **{"from": other_bot})) is None
    shared = _message({"id": 101, "type": "private"}, text="A card", via_bot=me, **{"from": ALICE})
    assert _read(shared) is None
    location = {"latitude": 50.6, "longitude": 5.5}
    assert _read(_message(GROUP, location=location, **{"from": ALICE})) is None
    private = {"id": 101, "type": "private"}
    assert _read(_message(private, location=location, **{"from": ALICE})).location is not None


def test_a_button_press_in_a_group() -> None:
    message = _message(
        GROUP, text="Choose", **{"from": {"id": BOT_ID, "is_bot": True, "first_name": "Me"}}
    )
    query = CallbackQuery.de_json(
        {"id": "1", "from": ALICE, "chat_instance": "9", "data": "lang:ru"}, None
    )
    assert query is not None
    incoming = callback_incoming(query, message, admin_check=_no_check)
    assert incoming is not None
    assert (incoming.action, incoming.chat.id, incoming.user.id) == ("lang:ru", "-4001", "101")
    assert incoming.check_admin is not None
