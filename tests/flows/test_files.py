"""A question that expects a photo, answered on the console (a path), on Telegram (a photo or
a document) and on Discord (``/answer`` with an attachment): the flow receives the file's
description and fetches its bytes from the platform."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import pytest

from bot.adapters.console import CONSOLE_CHAT, CONSOLE_USER, ConsoleAdapter
from bot.app import App
from bot.core.context import ChatRef, Incoming, RequestContext, UserRef
from bot.core.conversation import Answers, Flow, Step
from bot.core.domain import ChatKind
from bot.core.reply import AnswerKind, Reply, text_reply
from bot.core.timeutil import FixedClock
from handlers.dispatch import Dispatcher
from handlers.flows import FLOWS
from tests.fakes.discord_server import FakeDiscordServer
from tests.fakes.telegram_server import FakeTelegramServer
from tests.flows.drivers import Bot, TelegramChat, discord_text, start_discord, start_telegram

PNG = bytes.fromhex("89504e470d0a1a0a") + b"\0" * 120
"""Something that starts like a PNG; the flow only counts bytes."""


async def _received(ctx: RequestContext, answers: Answers) -> Reply:
    portrait = answers["portrait"]
    attachment = ctx.attachment  # the answer's own file, fetched on demand
    data = await attachment.fetch() if attachment and attachment.fetch else b""
    return text_reply(f"received {portrait['mime_type']} {len(data)} bytes via {portrait['kind']}")


PORTRAIT = Flow(
    "portrait",
    "portrait",
    (
        Step(
            "portrait",
            AnswerKind.PHOTO,
            lambda ctx, answers: "Send the portrait.",
            "Portrait",
        ),
    ),
    _received,
)


def _dispatcher(app: App) -> Dispatcher:
    return Dispatcher(app.core, flows={**FLOWS, "portrait": PORTRAIT})


async def _start(dispatcher: Dispatcher, incoming: Incoming) -> Reply:
    """The portrait question, asked of the user of ``incoming`` where they are."""
    return await dispatcher.flows.start(await dispatcher.context(incoming), "portrait", {})


async def test_on_the_console(app: App, tmp_path: Path) -> None:
    dispatcher = _dispatcher(app)
    console = ConsoleAdapter(dispatcher, io.StringIO(), io.StringIO())
    question = await _start(dispatcher, Incoming("console", CONSOLE_CHAT, CONSOLE_USER))
    console._question = question  # the console printed it
    assert "Please send a photo." in (await console.handle_line("not a file") or "")
    photo = tmp_path / "grandfather.png"
    photo.write_bytes(PNG)
    answer = await console.handle_line(str(photo))
    assert answer == f"received image/png {len(PNG)} bytes via photo"


@pytest.mark.slow
@pytest.mark.parametrize("as_photo", [True, False], ids=["photo", "document"])
async def test_on_telegram(
    app: App, clock: FixedClock, tg: FakeTelegramServer, as_photo: bool
) -> None:
    settings = replace(app.settings, telegram_token=tg.token, telegram_api_base_url=tg.base_url)
    app.dispatcher = _dispatcher(app)
    running = Bot(app, settings, clock, start_telegram)
    await running.open()
    try:
        alice = tg.add_user("Alice", username="alice", language_code="en")
        chat = tg.private_chat(alice)
        where = ChatRef(str(chat.id), ChatKind.PRIVATE)
        await _start(app.dispatcher, Incoming("telegram", where, UserRef(str(alice.id))))
        talk = TelegramChat(running, tg, alice)
        before = len(tg.sent(chat))
        tg.send_user_file(alice, chat, PNG, as_photo=as_photo, mime_type="image/png")
        answer = await talk._answer(before)
    finally:
        await running.close()
    if as_photo:
        assert answer.startswith(f"received image/jpeg {len(PNG)} bytes via photo")
    else:
        assert answer.startswith(f"received image/png {len(PNG)} bytes via document")


@pytest.mark.slow
async def test_on_discord(app: App, clock: FixedClock, dc: FakeDiscordServer) -> None:
    owner = dc.add_user("owner", locale="en-US")
    guild = dc.add_guild("Memory", preferred_locale="en-US", owner=owner, channels=["general"])
    channel = guild.channel("general")
    settings = replace(
        app.settings,
        discord_token=dc.token,
        discord_api_base_url=dc.api_base,
        discord_gateway_url=dc.gateway_url,
    )
    app.dispatcher = _dispatcher(app)
    running = Bot(app, settings, clock, start_discord)
    await running.open()
    try:
        where = ChatRef(str(channel.id), ChatKind.CHANNEL)
        await _start(app.dispatcher, Incoming("discord", where, UserRef(str(owner.id))))
        file = {"filename": "grandfather.png", "content_type": "image/png", "data": PNG}
        handle = await dc.slash_command(guild, channel, owner, "answer", {"file": file})
        answer = await handle.response(timeout=5)
    finally:
        await running.close()
    assert discord_text(answer) == f"received image/png {len(PNG)} bytes via photo"
