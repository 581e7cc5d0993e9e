"""The same person talking to the bot on the console, on Telegram and on Discord.

Each driver sends what a user types (a command or an answer), presses a button by its label,
and restarts the bot (adapter and app closed and opened anew on the same database); each
returns the text of the bot's answer. The Telegram and Discord drivers run the real adapters
against the fake platform servers on 127.0.0.1.

- Console: a line is a command or the answer; a button is its number.
- Telegram: a message (``/cmd@bot`` in groups, answers as replies to the question); a
  button is an inline button; the answer replaces the question when the bot says so.
- Discord: a command is a slash command with its option; an answer is typed in the modal
  that the question's "answer" button opens; a button is a component.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import re
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, Protocol

from bot.adapters.console import ConsoleAdapter
from bot.adapters.discord import DiscordAdapter, DiscordOptions
from bot.adapters.discord.render import parse_custom_id
from bot.adapters.telegram import TelegramAdapter
from bot.app import App, open_app
from bot.config import Settings
from bot.core.timeutil import FixedClock
from handlers.registry import COMMANDS_BY_NAME
from tests.discord.conftest import text_of
from tests.fakes.discord_server import (
    FakeChannel,
    FakeDiscordServer,
    FakeGuild,
    FakeUser,
    InteractionCallback,
    SentMessage,
)
from tests.fakes.telegram_server import FakeChat, FakeTelegramServer
from tests.fakes.telegram_server import FakeUser as TelegramUser
from tests.fakes.telegram_server import SentMessage as TelegramMessage

DISCORD_OPTIONS = DiscordOptions(guild_ready_timeout=0.05, identify_delay=0.0, ready_timeout=10.0)
EPHEMERAL = 1 << 6
"""Discord's message flag: seen only by the user the interaction came from."""
QUIET = 0.15
"""Seconds without a new message after which a platform's answer is taken as complete."""


class Chat(Protocol):
    """One user in one chat with the bot."""

    async def send(self, text: str) -> str:
        """Type ``text``; the bot's answer."""
        ...

    async def press(self, label: str) -> str:
        """Press the last question's (or message's) button whose label contains ``label``."""
        ...

    async def restart(self) -> None:
        """Stop the bot and start it again on the same database."""
        ...


class Bot:
    """The app (database, core, dispatcher) and one platform adapter, restartable."""

    def __init__(
        self,
        app: App,
        settings: Settings,
        clock: FixedClock,
        start: Callable[[App, Settings], Awaitable[Any]] | None = None,
    ) -> None:
        self.app = app
        self.settings = settings
        self.clock = clock
        self._start = start
        self.adapter: Any = None
        self.restarts = 0

    async def open(self) -> None:
        """Start the adapter on the current app."""
        if self._start is not None:
            self.adapter = await self._start(self.app, self.settings)

    async def restart(self) -> None:
        """Stop the adapter, close the app, open both anew (the conversation is only in the
        database)."""
        if self.adapter is not None:
            await self.adapter.stop()
        await self.app.close()
        self.app = await open_app(
            replace(self.app.settings, database_url=self.app.settings.database_url),
            clock=self.clock,
        )
        self.restarts += 1
        await self.open()

    async def close(self) -> None:
        """Stop the adapter (the test's ``app`` fixture closes its own app)."""
        if self.adapter is not None:
            await self.adapter.stop()
            self.adapter = None
        if self.restarts:
            await self.app.close()


# -- the console -----------------------------------------------------------------------------


class ConsoleChat:
    """The person at the terminal."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        self.console = ConsoleAdapter(bot.app.dispatcher, io.StringIO(), io.StringIO())
        self.last = ""
        self.buttons = ""

    async def send(self, text: str) -> str:
        """A line of input; the printed answer."""
        self.last = await self.console.handle_line(text) or ""
        if "\n[1] " in self.last:
            self.buttons = self.last
        return self.last

    async def press(self, label: str) -> str:
        """The number of the button whose line holds ``label`` (on the last answer that had
        buttons, as a person scrolls back to it)."""
        for line in self.buttons.splitlines():
            if line.startswith("[") and "]" in line and label in line:
                return await self.send(line[1 : line.index("]")])
        raise AssertionError(f"no button {label!r} in:\n{self.last}")

    async def restart(self) -> None:
        """A new process on the same database: the console remembers nothing."""
        await self.bot.restart()
        self.console = ConsoleAdapter(self.bot.app.dispatcher, io.StringIO(), io.StringIO())


# -- Telegram --------------------------------------------------------------------------------


async def start_telegram(app: App, settings: Settings) -> TelegramAdapter:
    """The real Telegram adapter on the app, long-polling the fake."""
    adapter = TelegramAdapter(app.dispatcher, settings, poll_timeout=5)
    await adapter.start()
    return adapter


class TelegramChat:
    """A Telegram user in a private chat or a group."""

    def __init__(
        self,
        bot: Bot,
        tg: FakeTelegramServer,
        user: TelegramUser,
        chat: FakeChat | None = None,
    ) -> None:
        self.bot = bot
        self.tg = tg
        self.user = user
        self.chat = chat or tg.private_chat(user)
        self.group = chat is not None and chat.type != "private"
        self.question: TelegramMessage | None = None
        self.last: list[TelegramMessage] = []

    async def send(self, text: str) -> str:
        """A message; in a group a command names the bot and an answer replies to the
        question (as ForceReply makes the app do)."""
        reply_to = None
        if self.group and text.startswith("/"):
            head, _, rest = text.partition(" ")
            text = f"{head}@{self.tg.bot.username} {rest}".strip()
        elif self.group and self.question is not None:
            reply_to = self.question
        before = self._count()
        self.tg.send_user_message(self.user, self.chat, text, reply_to=reply_to)
        return await self._answer(before)

    async def press(self, label: str) -> str:
        """The inline button whose text contains ``label``, on the newest message that has
        one (a keyboard button sends its label as a message); the answer is the new
        messages, or the pressed message as edited."""
        for message in reversed(self.tg.sent(self.chat)):
            markup = message.reply_markup or {}
            if "keyboard" in markup:
                for row in markup["keyboard"]:
                    for key in row:
                        text = key if isinstance(key, str) else str(key.get("text", ""))
                        if label in text:
                            return await self.send(text)
                break
            for row in (message.reply_markup or {}).get("inline_keyboard", []):
                for button in row:
                    if label in button.get("text", "") and "callback_data" in button:
                        before, edits = self._count(), len(message.edits)
                        self.tg.press_button(self.user, message, button["callback_data"])
                        return await self._answer(before, edited=(message, edits))
        raise AssertionError(f"no button {label!r}")

    async def restart(self) -> None:
        """The bot process restarts; the chat and its messages stay."""
        await self.bot.restart()

    def _count(self) -> int:
        return len(self.tg.sent(self.chat))

    async def _answer(self, before: int, edited: tuple[TelegramMessage, int] | None = None) -> str:
        for _ in range(200):
            if self._count() > before or (edited and len(edited[0].edits) > edited[1]):
                break
            await asyncio.sleep(0.02)
        else:
            raise AssertionError("the bot did not answer")
        count = -1
        while count != self._count():  # the answer may span messages (a card, then a venue)
            count = self._count()
            await asyncio.sleep(QUIET)
        fresh = self.tg.sent(self.chat)[before:]
        if fresh:
            self.last = fresh
            for message in fresh:
                markup = message.reply_markup or {}
                if "force_reply" in markup or "inline_keyboard" in markup or "keyboard" in markup:
                    self.question = message
            return "\n".join(_shown(message) for message in fresh)
        assert edited is not None
        return _shown(edited[0])


def _shown(message: TelegramMessage) -> str:
    """A message as the user sees it: its text, then its buttons' labels."""
    markup = message.reply_markup or {}
    rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
    labels = [
        key if isinstance(key, str) else str(key.get("text", "")) for row in rows for key in row
    ]
    return "\n".join([message.text or "", *labels])


# -- Discord ---------------------------------------------------------------------------------


async def start_discord(app: App, settings: Settings) -> DiscordAdapter:
    """The real Discord adapter on the app, connected to the fake."""
    adapter = DiscordAdapter(app.dispatcher, settings, options=DISCORD_OPTIONS)
    await adapter.start()
    return adapter


async def start_discord_deferring(app: App, settings: Settings) -> DiscordAdapter:
    """The real Discord adapter with every answer slower than its deferral threshold (as on a
    loaded machine): each command and button is deferred first, then resolved."""
    options = dataclasses.replace(DISCORD_OPTIONS, defer_after=0.0)
    adapter = DiscordAdapter(app.dispatcher, settings, options=options)
    await adapter.start()
    return adapter


def _placeholder(message: SentMessage) -> bool:
    """The adapter's "…": a deferral whose visibility does not match the reply is resolved
    with it, deleted, and the reply follows up (``DiscordAdapter.deliver``)."""
    return message.content == "…" and not message.embeds and not message.components


def discord_text(callback: InteractionCallback) -> str:
    """Content, embed titles, descriptions and fields of a response; command mentions
    (``</cancel:123>``) read as the user sees them (``/cancel``)."""
    parts = [text_of(callback)]
    parts += [str(button.get("label", "")) for button in _buttons(callback.components)]
    text = "\n".join(part for part in parts if part)
    return re.sub(r"</([\w-]+):\d+>", r"/\1", text)


def _buttons(components: list[Any]) -> list[dict[str, Any]]:
    return [
        button
        for row in components
        for button in row.get("components", [])
        if button.get("type") == 2 and "custom_id" in button
    ]


def _inputs(modal: dict[str, Any]) -> list[str]:
    found: list[str] = []

    def walk(component: Any) -> None:
        if not isinstance(component, dict):
            return
        if component.get("type") == 4:
            found.append(str(component["custom_id"]))
        for child in component.get("components") or []:
            walk(child)
        walk(component.get("component"))

    for component in modal.get("components") or []:
        walk(component)
    return found


class DiscordChat:
    """A Discord user in a server channel (or a DM)."""

    def __init__(
        self,
        bot: Bot,
        dc: FakeDiscordServer,
        guild: FakeGuild | None,
        channel: FakeChannel | None,
        user: FakeUser,
    ) -> None:
        self.bot = bot
        self.dc = dc
        self.guild = guild
        self.channel = channel
        self.user = user
        self.question: SentMessage | None = None
        self.answer: SentMessage | None = None
        """The last answer that had buttons (a question, or a reply such as a subscription's
        confirmation with its "Another time…")."""
        self.ephemeral: list[bool] = []
        """Whether each question was shown only to this user."""

    async def send(self, text: str) -> str:
        """A slash command with its option, or the answer typed into the question's modal."""
        if text.startswith("/"):
            name, _, rest = text[1:].partition(" ")
            options: dict[str, Any] = {}
            command = COMMANDS_BY_NAME.get(name)
            if rest and command is not None and command.params:
                param = command.params[0]
                options[param.name] = rest
            handle = await self.dc.slash_command(self.guild, self.channel, self.user, name, options)
            return self._seen(await handle.answer(10, _placeholder))
        question = self.question
        assert question is not None, "no open question to answer"
        opener = next(
            (b for b in _buttons(question.components) if b["custom_id"].endswith(":open")), None
        )
        assert opener is not None, "the question has no answer button"
        handle = await self.dc.press_button(question, opener["custom_id"], self.user)
        await handle.response(timeout=5)
        modal = handle.modal
        assert modal is not None, "the answer button opened no modal"
        [field] = _inputs(modal)
        submitted = await self.dc.submit_modal(handle, {field: text})
        return self._seen(await submitted.answer(10, _placeholder))

    async def press(self, label: str) -> str:
        """The button whose label contains ``label`` on the last answer with buttons (or the
        question)."""
        shown = [message for message in (self.answer, self.question) if message is not None]
        assert shown, "no message with buttons"
        for message in shown:
            for button in _buttons(message.components):
                if label in str(button.get("label", "")):
                    handle = await self.dc.press_button(message, button["custom_id"], self.user)
                    return self._seen(await handle.answer(10, _placeholder))
        raise AssertionError(f"no button {label!r}")

    async def restart(self) -> None:
        """The bot process restarts; the messages and their buttons stay."""
        await self.bot.restart()

    def _seen(self, callback: InteractionCallback) -> str:
        message = callback.message
        buttons = _buttons(message.components) if message is not None else []
        if message is not None and buttons:
            self.answer = message
        if message is not None and any(
            (parse_custom_id(b["custom_id"]) or "").startswith("cv:") for b in buttons
        ):
            self.question = message  # a conversation's question (its buttons are cv:…)
            self.ephemeral.append(bool(message.flags & EPHEMERAL))
        return discord_text(callback)
