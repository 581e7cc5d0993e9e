"""The Telegram adapter: python-telegram-bot's ``Application`` inside the bot's own event loop.

The application is built with ``.job_queue(None)`` (the bot's one scheduler serves every
platform) and started and stopped by ``TelegramAdapter.start`` / ``stop`` in the caller's loop:
``initialize``, ``start``, then ``updater.start_polling`` or ``updater.start_webhook``; never
``run_polling``. Handlers are registered in one place (``_register``) and every request goes
through one generic path: an ``Incoming`` is built from the update
(``bot.adapters.telegram.incoming``), ``Dispatcher.handle`` answers it, and the neutral reply
is rendered (``render``) and sent (``send_rendered``). Button presses are answered first, then
the message is edited in place (paging, choices) or a new one is sent. Requests of one chat
are handled in order; different chats concurrently.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from telegram import BotCommand, Message, Update, User
from telegram.constants import ChatMemberStatus, ChatType, ParseMode
from telegram.error import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidToken,
    RetryAfter,
    TelegramError,
)
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from bot.adapters.leadership import Leadership, ProcessLock
from bot.adapters.lifecycle import AdapterLifecycle
from bot.adapters.telegram.incoming import callback_incoming, message_incoming
from bot.adapters.telegram.inline import INLINE_CACHE_SECONDS, inline_offset, inline_result
from bot.adapters.telegram.render import RenderedReply, render
from bot.adapters.telegram.sender import (
    NO_PREVIEW,
    TelegramSender,
    chat_id_param,
    describe,
    retry_after_seconds,
    send_rendered,
    thread_id_param,
)
from bot.adapters.telegram.webhook import install as install_secret_check
from bot.config import TELEGRAM_FREE_CEILING, ConfigError, Settings, register_secret
from bot.core.context import AdminCheck, ChatRef, Fetch, Incoming, UserRef
from bot.core.delivery import DeliveryTarget, RetryScope
from bot.core.domain import LANGUAGES, ChatKind, Platform
from bot.core.i18n import translator
from bot.scheduling.limiter import RateLimiter, telegram_policy
from bot.scheduling.timing import SystemTime
from handlers.dispatch import Dispatcher
from handlers.registry import command_menu

log = logging.getLogger(__name__)

TelegramApplication = Application[Any, Any, Any, Any, Any, Any]

PLATFORM = Platform.TELEGRAM.value
ALLOWED_UPDATES: tuple[str, ...] = (
    "message",
    "channel_post",
    "callback_query",
    "inline_query",
    "my_chat_member",
)
"""The update types the bot handles (and asks Telegram for)."""
MAX_REPLY_WAIT = 10.0
"""A reply hit by a 429 is retried when Telegram asks to wait at most this long."""
REPLY_ATTEMPTS = 3
"""Tries of one reply: a 429 pauses its chat, then it goes on from the refused message."""
REPLY_RATE = TELEGRAM_FREE_CEILING * 0.98
"""Replies a second, at most: under Telegram's free ceiling (30 a second per bot), paced as the
scheduler paces posts, with the per-chat limits (1 a second in a private chat, 20 a minute in a
group). Scheduled posts sent as paid broadcasts do not count in that ceiling; free ones do, and
share it with the replies (the soak measured 429s and dropped answers at 15 commands a second
before replies were paced: bursts after a busy moment of the event loop went over 30)."""
DEFAULT_CONCURRENCY = 32
"""Updates handled at the same time (one chat's updates are still handled in order)."""
CONFLICT_REPEAT_SECONDS = 600.0
"""While a 409 Conflict goes on, how often the bot says so again (python-telegram-bot keeps
retrying with a pause of up to 30 s)."""
SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")


# -- configuration ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    """Where the webhook listens and what Telegram is told (``setWebhook``)."""

    listen: str
    port: int
    url: str
    url_path: str
    secret: str
    secret_generated: bool = False


def parse_listen(value: str) -> tuple[str, int]:
    """``host:port``, ``[v6]:port`` or a bare port (all interfaces); raise ConfigError."""
    text = value.strip()
    host, port_text = "0.0.0.0", text
    if text.startswith("["):
        head, _, rest = text[1:].partition("]")
        host, port_text = head, rest.removeprefix(":")
    elif ":" in text:
        host, _, port_text = text.rpartition(":")
    if not port_text.isdigit() or not 0 < int(port_text) < 65536 or not host:
        raise ConfigError(f"TELEGRAM_WEBHOOK_LISTEN={value!r} is not host:port (e.g. 0.0.0.0:8443)")
    return host, int(port_text)


def webhook_config(settings: Settings) -> WebhookConfig:
    """The webhook settings, checked; without ``TELEGRAM_WEBHOOK_SECRET`` a random secret is
    used for the run, so Telegram's requests are still told from anyone else's."""
    url = (settings.telegram_webhook_url or "").strip()
    if not url:
        raise ConfigError("TELEGRAM_MODE=webhook needs TELEGRAM_WEBHOOK_URL")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"TELEGRAM_WEBHOOK_URL={url!r} is not an https:// URL")
    listen, port = parse_listen(settings.telegram_webhook_listen)
    secret = settings.telegram_webhook_secret
    if secret is not None and not SECRET_TOKEN.fullmatch(secret):
        raise ConfigError(
            "TELEGRAM_WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and -"
        )
    if secret is None:
        secret = secrets.token_urlsafe(32)
        register_secret(secret)  # python-telegram-bot logs setWebhook's parameters at DEBUG
        generated = True
    else:
        generated = False
    return WebhookConfig(
        listen=listen,
        port=port,
        url=url,
        url_path=parts.path.strip("/"),
        secret=secret,
        secret_generated=generated,
    )


def file_base_url(base_url: str) -> str | None:
    """The file download base that goes with a Bot API base (``…/bot`` → ``…/file/bot``)."""
    stripped = base_url.rstrip("/")
    if stripped.endswith("/bot"):
        return stripped.removesuffix("bot") + "file/bot"
    return None


def api_host(base_url: str) -> str:
    """The Bot API server's host, for messages (never the token)."""
    try:
        parts = urlsplit(base_url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "the configured server"
    return f"{host}{port}" if host else "the configured server"


def build_application(
    settings: Settings, concurrency: int = DEFAULT_CONCURRENCY
) -> TelegramApplication:
    """A python-telegram-bot ``Application`` for the settings: no JobQueue, our Bot API base."""
    if not settings.telegram_token:
        raise ConfigError("the Telegram adapter needs TELEGRAM_BOT_TOKEN")
    builder = (
        Application.builder()
        .token(settings.telegram_token)
        .base_url(settings.telegram_api_base_url)
        .job_queue(None)
        .concurrent_updates(concurrency)
    )
    files = file_base_url(settings.telegram_api_base_url)
    if files is not None:
        builder = builder.base_file_url(files)
    return builder.build()


def bot_commands(language: str) -> list[BotCommand]:
    """The command menu in one language."""
    return [
        BotCommand(name, description[:256])
        for name, description in command_menu(translator(language))
    ]


class KeyedLocks:
    """One lock per key (a chat), kept only while someone holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        """Hold the key's lock; waiters are served in arrival order."""
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)


# -- the adapter --------------------------------------------------------------------------


class TelegramAdapter(AdapterLifecycle):
    """The bot on Telegram: start it, let it run alongside the scheduler, stop it.

    ``sender`` is the ``Sender`` the scheduler uses for Telegram deliveries.
    """

    def __init__(
        self,
        dispatcher: Dispatcher,
        settings: Settings,
        *,
        poll_timeout: float = 10.0,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        self.dispatcher = dispatcher
        self.core = dispatcher.core
        self.settings = settings
        self.poll_timeout = poll_timeout
        self.application: TelegramApplication = build_application(settings, concurrency)
        self.sender = TelegramSender(
            self.application.bot, self.core, paid_broadcast=settings.telegram_paid_broadcast
        )
        self.replies = RateLimiter(telegram_policy(REPLY_RATE), SystemTime())
        """The pace of replies (``REPLY_RATE``)."""
        self.bot_username = ""
        self.bot_id = 0
        self.webhook: WebhookConfig | None = None
        self._locks = KeyedLocks()
        self._token = settings.telegram_token or ""
        self._conflict_said: float | None = None
        self.updates_lock: ProcessLock | None = None
        """Set by ``run`` where processes may share the token: only the holder receives
        updates (``Leadership``); without it this adapter always receives."""
        self._leadership: Leadership | None = None
        self._wanted_webhook: WebhookConfig | None = None
        self._register(self.application)

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Connect (``getMe``), publish the command menus, then poll or listen for updates.

        Raise ``ConfigError`` (one line, no secrets) when the token is refused, the server
        cannot be reached, or Telegram refuses the webhook.
        """
        application = self.application
        mode = self.settings.telegram_mode
        # read once, here: a bad webhook setting stops the start before anything connects
        self._wanted_webhook = webhook_config(self.settings) if mode == "webhook" else None
        host = api_host(self.settings.telegram_api_base_url)
        try:
            await application.initialize()
        except TelegramError as error:
            await application.bot.shutdown()
            if isinstance(error, InvalidToken):
                raise ConfigError(
                    f"TELEGRAM_BOT_TOKEN was rejected by the Bot API at {host}"
                ) from None
            raise ConfigError(
                f"cannot reach the Telegram Bot API at {host}: {describe(error, self._token)}"
            ) from None
        try:
            me = application.bot.bot
            self.bot_id, self.bot_username = me.id, me.username or ""
            self.dispatcher.set_username(PLATFORM, self.bot_username)
            await self.publish_commands()
            await application.start()
            if self.updates_lock is None:
                await self._start_receiving()
            else:
                self._leadership = Leadership(
                    self.updates_lock,
                    self._start_receiving,
                    self._stop_receiving,
                    what=f"Telegram @{self.bot_username}",
                )
                await self._leadership.begin()
        except BaseException:
            await self.stop()
            raise
        standby = self._leadership is not None and not self._leadership.leading
        log.info(
            "Telegram: @%s is running (%s)",
            self.bot_username,
            "delivering only, on standby for updates" if standby else mode,
        )

    async def _start_receiving(self) -> None:
        """Poll for updates, or set the webhook and listen (``TELEGRAM_MODE``)."""
        application = self.application
        webhook = self._wanted_webhook
        updater = application.updater
        if updater is None:
            raise ConfigError("the Telegram application has no updater")
        if webhook is not None:
            self.webhook = webhook
            install_secret_check()
            if webhook.secret_generated:
                log.warning(
                    "TELEGRAM_WEBHOOK_SECRET is not set: using a random secret for this run"
                )
            try:
                await updater.start_webhook(
                    listen=webhook.listen,
                    port=webhook.port,
                    url_path=webhook.url_path,
                    webhook_url=webhook.url,
                    secret_token=webhook.secret,
                    allowed_updates=list(ALLOWED_UPDATES),
                )
            except TelegramError as error:
                raise ConfigError(
                    f"Telegram refused the webhook {webhook.url}: {describe(error, self._token)}"
                ) from None
            except OSError as error:
                raise ConfigError(
                    f"TELEGRAM_WEBHOOK_LISTEN: cannot listen on {webhook.listen}:"
                    f"{webhook.port} ({error.strerror or error})"
                ) from None
        else:
            await updater.start_polling(
                poll_interval=0.0,
                timeout=dt.timedelta(seconds=self.poll_timeout),
                allowed_updates=list(ALLOWED_UPDATES),
                error_callback=self._on_polling_error,
            )

    async def _stop_receiving(self) -> None:
        """Stop polling or listening (the application keeps delivering)."""
        updater = self.application.updater
        if updater is not None and updater.running:
            await updater.stop()

    def receiving(self) -> bool:
        """Whether this process receives the updates (polling or the webhook)."""
        updater = self.application.updater
        return self.application.running and updater is not None and updater.running

    def connected(self) -> bool:
        """Whether the application runs and receives updates, or delivers on standby while
        another process receives them (``/healthz``)."""
        if self._leadership is not None and not self._leadership.leading:
            return self.application.running
        return self.receiving()

    async def stop(self) -> None:
        """Stop receiving updates, finish the ones in hand, close the connections."""
        application = self.application
        leadership, self._leadership = self._leadership, None
        if leadership is not None:
            await leadership.end()
        await self._stop_receiving()
        if application.running:
            await application.stop()
        await application.shutdown()

    async def publish_commands(self) -> None:
        """``setMyCommands`` in each language (``language_code``), and the default list in
        ``DEFAULT_LANGUAGE``; a failure is logged, not fatal."""
        bot = self.application.bot
        try:
            await bot.set_my_commands(bot_commands(self.core.settings.default_language))
            for language in LANGUAGES:
                await bot.set_my_commands(bot_commands(language), language_code=language)
        except TelegramError as error:
            log.warning("Telegram: could not set the command menus: %s", self._describe(error))

    def _register(self, application: TelegramApplication) -> None:
        """Every handler of the bot, in one place."""
        application.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, self._on_migrate))
        application.add_handler(
            ChatMemberHandler(self._on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER)
        )
        application.add_handler(CallbackQueryHandler(self._on_button))
        application.add_handler(InlineQueryHandler(self._on_inline_query))
        application.add_handler(
            MessageHandler(
                (filters.TEXT | filters.LOCATION | filters.PHOTO | filters.Document.ALL)
                & (filters.UpdateType.MESSAGE | filters.UpdateType.CHANNEL_POST),
                self._on_message,
            )
        )
        application.add_error_handler(self._on_error)

    # -- requests ------------------------------------------------------------------------

    def _admin_check(self, chat_id: int, user_id: int) -> AdminCheck:
        async def check() -> bool:
            try:
                member = await self.application.bot.get_chat_member(chat_id, user_id)
            except TelegramError as error:
                log.warning(
                    "Telegram: cannot tell whether %s administers %s: %s",
                    user_id,
                    chat_id,
                    self._describe(error),
                )
                return False
            return member.status in (ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR)

        return check

    async def _on_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A message or channel post: a command, plain text or a shared location."""
        message = update.effective_message
        if message is None:
            return
        incoming = message_incoming(
            message,
            bot_id=self.bot_id,
            bot_username=self.bot_username,
            admin_check=self._admin_check,
            fetcher=self._fetcher,
        )
        if incoming is None:
            return
        async with self._locks.hold(incoming.chat.id):
            reply = await self.dispatcher.handle(incoming)
            if reply is not None:
                private = incoming.chat.kind is ChatKind.PRIVATE
                await self._send(
                    incoming.chat, render(reply, private=private), self._quote(message)
                )

    def _fetcher(self, file_id: str) -> Fetch:
        """Downloads a file the user sent (``getFile``, then its bytes), when asked."""

        async def fetch() -> bytes:
            file = await self.application.bot.get_file(file_id)
            return bytes(await file.download_as_bytearray())

        return fetch

    async def _on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A pressed inline button: answered at once, then the request is handled."""
        query = update.callback_query
        if query is None:
            return
        try:
            await query.answer()
        except TelegramError as error:
            log.info("Telegram: could not answer a button press: %s", self._describe(error))
        message = query.message if isinstance(query.message, Message) else None
        if message is None:
            return
        incoming = callback_incoming(query, message, admin_check=self._admin_check)
        if incoming is None or incoming.action is None:
            return
        async with self._locks.hold(incoming.chat.id):
            reply = await self.dispatcher.handle(incoming)
            if reply is None:
                return
            rendered = render(reply, private=incoming.chat.kind is ChatKind.PRIVATE)
            in_place = reply.replaces and rendered.editable and message.text is not None
            if in_place and await self._edit(message, rendered):
                return
            await self._send(incoming.chat, rendered, self._quote(message))

    async def _on_inline_query(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """``@bot <query>``: memorials matching the query, a page at a time (the handlers'
        inline view, each result its memorial card)."""
        query = update.inline_query
        if query is None:
            return
        incoming = self._inline_incoming(query.from_user)
        page = await self.dispatcher.inline(incoming, query.query, inline_offset(query.offset))
        await query.answer(
            [inline_result(item, self.bot_username) for item in page.items],
            cache_time=INLINE_CACHE_SECONDS,
            is_personal=True,
            next_offset="" if page.next_offset is None else str(page.next_offset),
        )

    async def _on_migrate(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A group became a supergroup: its settings and subscriptions follow it."""
        message = update.effective_message
        if message is None:
            return
        if message.migrate_to_chat_id:
            old, new = message.chat_id, message.migrate_to_chat_id
        elif message.migrate_from_chat_id:
            old, new = message.migrate_from_chat_id, message.chat_id
        else:
            return
        async with self._locks.hold(str(new)):  # the supergroup waits for its settings
            await self.core.migrate_chat(PLATFORM, str(old), str(new))
        log.info("Telegram: group %s became supergroup %s; its settings moved", old, new)

    async def _on_my_chat_member(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The bot was blocked by a user, or removed from a group or channel: stop posting."""
        change = update.my_chat_member
        if change is None:
            return
        status = change.new_chat_member.status
        if status not in (ChatMemberStatus.BANNED, ChatMemberStatus.LEFT):
            return
        chat = change.chat
        stopped = await self.core.chat_gone(PLATFORM, str(chat.id))
        what = "blocked by the user" if chat.type == ChatType.PRIVATE else "removed"
        log.info(
            "Telegram chat %s: the bot was %s; %s subscription(s) stopped", chat.id, what, stopped
        )

    # -- errors --------------------------------------------------------------------------

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Any exception outside the dispatcher: logged (no token), and the user gets the
        short apology in their language when there is a chat to write to."""
        error = context.error
        if error is None:
            return
        update_id = update.update_id if isinstance(update, Update) else None
        log.error(
            "Telegram update %s failed: %s",
            update_id,
            self._describe(error),
            exc_info=None if isinstance(error, InvalidToken) else error,
        )
        if isinstance(update, Update):
            await self._apologize(update)

    def _on_polling_error(self, error: TelegramError) -> None:
        if isinstance(error, Conflict):
            # another process long-polls with this token: python-telegram-bot retries with a
            # growing pause; say so once, not on every retry
            now = time.monotonic()
            said = self._conflict_said
            if said is not None and now - said < CONFLICT_REPEAT_SECONDS:
                log.debug("Telegram: getUpdates conflict again: %s", self._describe(error))
                return
            self._conflict_said = now
            log.warning(
                "Telegram: another instance is fetching updates with this token (409 Conflict "
                "from getUpdates); retrying until it stops: run one instance per token, or "
                "use the webhook"
            )
            return
        log.warning("Telegram: fetching updates failed (retrying): %s", self._describe(error))

    async def _apologize(self, update: Update) -> None:
        chat = update.effective_chat
        if chat is None:
            return
        try:
            language = await self._language(str(chat.id), update.effective_user)
            t = translator(language)
            text = t.gettext("Sorry, something went wrong. Please try again later.")
            message = update.effective_message
            thread = (
                message.message_thread_id
                if message is not None and message.is_topic_message
                else None
            )
            await self.application.bot.send_message(chat.id, text, message_thread_id=thread)
        except Exception as error:  # the apology is best effort
            log.warning("Telegram: could not apologize in %s: %s", chat.id, self._describe(error))

    def _describe(self, error: BaseException) -> str:
        return describe(error, self._token)

    # -- sending -------------------------------------------------------------------------

    def _quote(self, message: Message) -> int | None:
        """In groups a reply quotes the request; in private chats and channels it does not."""
        return (
            message.message_id
            if message.chat.type in (ChatType.GROUP, ChatType.SUPERGROUP)
            else None
        )

    async def _send(self, chat: ChatRef, rendered: RenderedReply, reply_to: int | None) -> None:
        """Send a reply to the chat (and topic) it answers, paced under Telegram's limits
        (``REPLY_RATE``). A 429 with a short wait pauses the chat and the reply goes on from
        the message that was refused (a venue after the text within a private chat's second),
        without repeating the ones sent before it; after ``REPLY_ATTEMPTS`` it is dropped."""
        bot = self.application.bot
        target, thread = chat_id_param(chat.id), thread_id_param(chat.thread_id)
        place = DeliveryTarget(PLATFORM, chat.id, chat.thread_id, chat.kind)
        sent: list[Message] = []
        for attempt in range(1, REPLY_ATTEMPTS + 1):
            slot = await self.replies.acquire(place)
            try:
                await send_rendered(
                    bot, target, rendered, thread_id=thread, reply_to=reply_to, sent=sent
                )
                return
            except RetryAfter as error:
                wait = retry_after_seconds(error)
                if wait > MAX_REPLY_WAIT or attempt == REPLY_ATTEMPTS:
                    log.warning("Telegram chat %s: reply dropped, flood wait %s s", chat.id, wait)
                    return
                self.replies.pause(place, wait, RetryScope.CHAT)
            except Forbidden as error:
                log.info("Telegram chat %s: cannot reply: %s", chat.id, self._describe(error))
                return
            finally:
                self.replies.release(slot)

    async def _edit(self, message: Message, rendered: RenderedReply) -> bool:
        """Replace a message's text and buttons; False when Telegram will not edit it."""
        try:
            await self.application.bot.edit_message_text(
                rendered.texts[0],
                chat_id=message.chat_id,
                message_id=message.message_id,
                parse_mode=ParseMode.HTML,
                link_preview_options=NO_PREVIEW,
                reply_markup=rendered.markup,
            )
        except BadRequest as error:
            if "not modified" in error.message.lower():
                return True
            log.info("Telegram: editing failed, sending anew: %s", self._describe(error))
            return False
        return True

    # -- helpers -------------------------------------------------------------------------

    async def _language(self, chat_id: str, user: User | None) -> str:
        """The language of a chat: its choice, else the user's client language, else the
        default."""
        stored = await self.core.stored_language(PLATFORM, chat_id)
        return self.core.resolve_language(stored, user.language_code if user else None)

    @staticmethod
    def _inline_incoming(user: User) -> Incoming:
        """An inline query as a request from the user's private chat with the bot, so its
        context (language, zone) is resolved by the dispatcher like any other request."""
        chat = ChatRef(str(user.id), ChatKind.PRIVATE)
        who = UserRef(str(user.id), user.full_name, user.language_code)
        return Incoming(PLATFORM, chat, who)
