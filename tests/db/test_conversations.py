"""Conversations in the database (SQLite and PostgreSQL): kept across a restart, ended when
idle, and a flow's last step saved in one transaction or not at all."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from bot.app import App, open_app
from bot.core.context import ChatRef, Incoming, UserRef
from bot.core.conversation import Answers, Flow, Step
from bot.core.domain import ChatKind, ConversationKey, ConversationState
from bot.core.reply import AnswerKind, Reply, text_reply
from bot.core.timeutil import FixedClock
from handlers.chat_settings import CHANGE_TIME_ACTION
from handlers.dispatch import Dispatcher
from handlers.flows import FLOWS

KEY = ConversationKey("telegram", "-100", "7", "42")
NOW = dt.datetime(2026, 5, 9, 7, 0, tzinfo=dt.UTC)
GROUP = ChatRef("-100", ChatKind.GROUP, thread_id="7")
ADMIN = UserRef("42", "Anna", "en", is_admin=True)


def _say(text: str, user: UserRef = ADMIN) -> Incoming:
    return Incoming("telegram", GROUP, user, text=text)


def _another_time(user: UserRef = ADMIN) -> Incoming:
    """The "Another time…" button under a subscription: the form that asks for the time."""
    return Incoming("telegram", GROUP, user, action=CHANGE_TIME_ACTION)


async def test_a_conversation_is_stored_replaced_and_ended(app: App) -> None:
    repository = app.core.conversations
    assert await repository.get_conversation(KEY) is None
    state = ConversationState(
        KEY, "timezone", "zone", {"candidates": [["Europe/Moscow", "Moscow, RU"]]}, NOW, 3
    )
    await repository.save_conversation(state)
    assert await repository.get_conversation(KEY) == replace(state, offered=())
    moved = replace(state, step="other", turn=4, offered=("a", "b"), language="ru")
    await repository.save_conversation(moved)
    assert await repository.get_conversation(KEY) == moved
    labelled = replace(moved, labels=("Alpha", "Beta"))  # what the question showed
    await repository.save_conversation(labelled)
    assert await repository.get_conversation(KEY) == labelled
    other = replace(KEY, user_id="43")
    assert await repository.get_conversation(other) is None  # per user, even in one topic
    await repository.save_conversation(replace(moved, key=other, updated_at=NOW - dt.timedelta(1)))
    assert await repository.delete_idle_conversations(NOW - dt.timedelta(hours=1)) == 1
    assert await repository.get_conversation(other) is None
    assert await repository.delete_conversation(KEY)
    assert not await repository.delete_conversation(KEY)


async def test_a_half_filled_form_survives_a_restart(app: App, clock: FixedClock) -> None:
    question = await app.dispatcher.handle(_another_time())
    assert question is not None and question.ask is not None
    restarted = await open_app(app.settings, clock=clock)
    try:
        answer = await restarted.dispatcher.handle(_say("07:15"))
        assert answer is not None and "Subscribed." in answer.plain_text()
        subscription = await restarted.core.chats.get_subscription("telegram", "-100", "7")
        assert subscription is not None and subscription.delivery_time == dt.time(7, 15)
        assert await restarted.core.conversations.get_conversation(KEY) is None
    finally:
        await restarted.close()


async def test_an_idle_form_expires_with_a_message(app: App, clock: FixedClock) -> None:
    await app.dispatcher.handle(_another_time())
    later = FixedClock(NOW + dt.timedelta(minutes=31))
    app.core.clock = later
    reply = await app.dispatcher.handle(_say("07:15"))
    assert reply is not None
    assert reply.plain_text() == (
        "Your /subscribe form expired after 30 minutes without an answer, and nothing was "
        "saved. Send /subscribe to start again."
    )
    assert await app.core.chats.get_subscription("telegram", "-100", "7") is None
    assert await app.core.conversations.get_conversation(KEY) is None
    # A command after an expired form is simply answered.
    await app.dispatcher.handle(_say("/subscribe"))
    app.core.clock = FixedClock(NOW + dt.timedelta(minutes=70))
    settings = await app.dispatcher.handle(_say("/settings"))
    assert settings is not None and "form" not in settings.plain_text()


async def test_the_last_step_is_saved_in_one_transaction_or_not_at_all(app: App) -> None:
    async def finish(ctx: object, answers: Answers) -> Reply:
        core = app.core
        await core.set_language("telegram", "-100", "ru")
        await core.subscribe("telegram", "-100", language="ru", timezone="Europe/Moscow")
        raise RuntimeError("the disk is full")

    flow = Flow(
        "failing",
        "failing",
        (Step("name", AnswerKind.TEXT, lambda ctx, answers: "Name?", "Name"),),
        finish,
    )
    dispatcher = Dispatcher(app.core, flows={**FLOWS, "failing": flow})
    context = await dispatcher.context(_say("x"))
    question = await dispatcher.flows.start(context, "failing", {})
    assert question.ask is not None
    reply = await dispatcher.handle(_say("Anna"))
    assert reply is not None and "Sorry, something went wrong" in reply.plain_text()
    # Neither write of the failed step was kept, and the form is still there to retry.
    assert await app.core.stored_language("telegram", "-100") is None
    assert await app.core.chats.get_subscription("telegram", "-100") is None
    state = await app.core.conversations.get_conversation(KEY)
    assert state is not None and state.flow == "failing"


async def test_a_unit_of_work_commits_together(app: App) -> None:
    core = app.core
    async with core.unit_of_work():
        await core.set_language("telegram", "-5", "fr")
        await core.set_timezone("telegram", "-5", "Europe/Paris")
    settings = await core.chats.get_settings("telegram", "-5")
    assert settings is not None and (settings.language, settings.timezone) == (
        "fr",
        "Europe/Paris",
    )
    with pytest.raises(ValueError, match="unknown language"):
        async with core.unit_of_work():
            await core.set_timezone("telegram", "-6", "Europe/Paris")
            await core.set_language("telegram", "-6", "xx")
    assert await core.chats.get_settings("telegram", "-6") is None


def test_every_flow_is_registered_once() -> None:
    assert all(name == flow.name for name, flow in FLOWS.items())
    assert {"timezone", "subscribe", "memorial", "near", "setup"} <= set(FLOWS)
    assert text_reply("x").ask is None
