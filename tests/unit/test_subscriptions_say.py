"""Subscriptions say what they did (issue 14, item 6): ``/subscribe`` without a time takes
``DEFAULT_DELIVERY_TIME`` for a new subscription and keeps an existing one's; a change says
"moved from … to …"; every confirmation shows the time, the zone and the first post's date."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.core.context import ChatRef, Incoming, UserRef
from bot.core.domain import ChatKind
from bot.core.reply import Reply
from bot.core.services import Core, CoreSettings
from handlers.dispatch import Dispatcher
from tests.fakes.memory import fake_core
from tests.fakes.sample import sample_dataset

NOW = dt.datetime(2026, 5, 9, 10, 0, tzinfo=dt.UTC)
"""12:00 in Brussels: a 07:15 post falls tomorrow, a 21:30 one today."""
PRIVATE = ChatRef("100", ChatKind.PRIVATE)
USER = UserRef("100", "Anna")


@pytest.fixture
def core() -> Core:
    return fake_core(
        sample_dataset(), now=NOW, settings=CoreSettings(default_delivery_time=dt.time(7, 15))
    )


@pytest.fixture
def dispatcher(core: Core) -> Dispatcher:
    return Dispatcher(core, bot_username="MemoryBot")


async def ask(dispatcher: Dispatcher, text: str, platform: str = "telegram") -> Reply:
    reply = await dispatcher.handle(Incoming(platform, PRIVATE, USER, text=text))
    assert reply is not None, text
    return reply


async def _time(core: Core) -> dt.time | None:
    subscription = await core.chats.get_subscription("telegram", PRIVATE.id)
    return subscription.delivery_time if subscription and subscription.active else None


async def test_a_new_subscription_without_a_time_takes_the_default(
    dispatcher: Dispatcher, core: Core
) -> None:
    reply = await ask(dispatcher, "/subscribe")
    assert reply.ask is None
    assert await _time(core) == dt.time(7, 15)
    text = reply.plain_text()
    assert "7:15\u202fAM" in text and "Europe/Brussels" in text
    assert "May 10, 2026" in text  # 07:15 has passed today: the first post is tomorrow
    # another time remains one button away
    assert any(b.action for row in reply.buttons for b in row)


async def test_an_existing_subscription_keeps_its_time(dispatcher: Dispatcher, core: Core) -> None:
    await ask(dispatcher, "/subscribe 21:30")
    reply = await ask(dispatcher, "/subscribe")
    assert await _time(core) == dt.time(21, 30)
    text = reply.plain_text()
    assert "9:30\u202fPM" in text and "Europe/Brussels" in text and "May 9, 2026" in text
    assert "moved" not in text


async def test_changing_the_time_says_from_what_to_what(dispatcher: Dispatcher, core: Core) -> None:
    await ask(dispatcher, "/subscribe 21:30")
    text = (await ask(dispatcher, "/subscribe 09:00")).plain_text()
    assert "moved from 9:30\u202fPM to 9:00\u202fAM" in text
    assert "Europe/Brussels" in text and "May 10, 2026" in text
    assert await _time(core) == dt.time(9, 0)


async def test_a_first_subscription_at_a_time_gives_the_first_date(dispatcher: Dispatcher) -> None:
    text = (await ask(dispatcher, "/subscribe 21:30")).plain_text()
    assert "9:30\u202fPM" in text and "Europe/Brussels" in text and "May 9, 2026" in text


async def test_the_other_time_button_asks_for_a_time(dispatcher: Dispatcher, core: Core) -> None:
    reply = await ask(dispatcher, "/subscribe")
    [action] = [b.action for row in reply.buttons for b in row if b.action]
    question = await dispatcher.handle(Incoming("telegram", PRIVATE, USER, action=action))
    assert question is not None and question.ask is not None
    await ask(dispatcher, "20:00")
    assert await _time(core) == dt.time(20, 0)


async def test_setup_says_when_the_first_post_comes(dispatcher: Dispatcher) -> None:
    text = (await ask(dispatcher, "/setup en Europe/Moscow 08:00")).plain_text()
    assert "8:00\u202fAM" in text and "Europe/Moscow" in text and "May 10, 2026" in text
