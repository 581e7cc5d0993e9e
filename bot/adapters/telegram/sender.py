"""Sending rendered replies through the Bot API, and the core's ``Sender`` port for Telegram.

``TelegramSender`` delivers scheduled posts and translates python-telegram-bot's errors into
the core's delivery errors (``bot.core.delivery``), so the scheduler can decide without
knowing Telegram:

- ``RetryAfter`` (429) → ``RetryLater`` for the chat, with Telegram's ``retry_after``;
- ``Forbidden`` (403: blocked by the user, kicked, not a member), ``BadRequest`` "chat not
  found" and the other answers that say the chat is gone → ``PermanentError``;
- ``ChatMigrated`` (a group became a supergroup) → the chat's settings and subscriptions move
  to the new id (``Core.migrate_chat``) and the post is sent there, once;
- ``NetworkError`` / ``TimedOut`` / 5xx, and anything else → ``TransientError``.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import warnings
from collections.abc import Awaitable, Callable, Sequence

from telegram import (
    Bot,
    InputFile,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    RetryAfter,
    TelegramError,
)
from telegram.warnings import PTBDeprecationWarning

from bot.adapters.telegram.render import RenderedReply, render, venue_address
from bot.core.delivery import (
    DeliveryError,
    PermanentError,
    RetryLater,
    RetryScope,
    TransientError,
)
from bot.core.domain import Pin, Platform
from bot.core.reply import Reply
from bot.core.services import Core

log = logging.getLogger(__name__)

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
"""Link previews off: a memorial's map link would otherwise unfold under every card."""

GONE_MARKERS: tuple[str, ...] = (
    "chat not found",
    "message thread not found",
    "topic_deleted",
    "need administrator rights",
    "not enough rights",
    "have no rights to send",
    "chat_write_forbidden",
    "chat_restricted",
    "user is deactivated",
    "group chat was deactivated",
    "peer_id_invalid",
    "bot was kicked",
    "bot is not a member",
)
"""Bad Request answers that mean the bot cannot write to the chat (or topic) any more."""


def chat_id_param(chat_id: str) -> int | str:
    """A stored chat id as the Bot API takes it: a number, or ``@username``."""
    try:
        return int(chat_id)
    except ValueError:
        return chat_id


def thread_id_param(thread_id: str) -> int | None:
    """A stored forum topic id as the Bot API takes it (None for the chat itself)."""
    return int(thread_id) if thread_id.strip().isdigit() and int(thread_id) else None


def retry_after_seconds(error: RetryAfter) -> float:
    """Telegram's ``retry_after`` in seconds, whether PTB gives an int or a timedelta."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


def describe(error: BaseException, secret: str | None = None) -> str:
    """A short one-line description of an error, with ``secret`` (the token) removed."""
    text = (
        f"{type(error).__name__}: {error}".splitlines()[0] if str(error) else type(error).__name__
    )
    if secret:
        text = text.replace(secret, "[redacted]")
    return text[:300]


def delivery_error(error: TelegramError, secret: str | None = None) -> DeliveryError:
    """The core's delivery error for a python-telegram-bot error."""
    reason = describe(error, secret)
    if isinstance(error, RetryAfter):
        return RetryLater(retry_after_seconds(error), RetryScope.CHAT)
    if isinstance(error, Forbidden):
        return PermanentError(reason)
    if isinstance(error, ChatMigrated):
        return PermanentError(f"the group moved to chat {error.new_chat_id}")
    if isinstance(error, InvalidToken):
        return TransientError("the Bot API rejected the bot token")
    if isinstance(error, BadRequest):
        message = error.message.lower()
        if any(marker in message for marker in GONE_MARKERS):
            return PermanentError(reason)
        return TransientError(reason)
    return TransientError(reason)


async def send_rendered(
    bot: Bot,
    chat_id: int | str,
    rendered: RenderedReply,
    *,
    thread_id: int | None = None,
    reply_to: int | None = None,
    remember_photo: RememberPhoto | None = None,
    paid_broadcast: bool = False,
    sent: list[Message] | None = None,
) -> list[Message]:
    """Send a rendered reply: photo, text chunks, venue; the keyboard on the last message
    before the venue (or on the venue when there is no text); only the first message
    quotes ``reply_to``.

    ``sent`` is the progress of an attempt: each message sent is appended to it as it goes, and
    the parts it already holds (sent by an earlier attempt that failed on a later part, e.g. a
    429 on the second chunk in a private chat) are not sent again: retrying resumes the reply
    where it stopped instead of repeating its beginning."""
    sent = [] if sent is None else sent
    earlier = len(sent)
    parts = itertools.count()

    def pending() -> bool:
        """Whether the next part is still to be sent (call once per part, in order)."""
        return next(parts) >= earlier

    paid = True if paid_broadcast else None  # None: the parameter is not sent at all
    quote = (
        ReplyParameters(message_id=reply_to, allow_sending_without_reply=True) if reply_to else None
    )

    def quoting() -> ReplyParameters | None:
        return None if sent else quote

    texts: Sequence[str] = rendered.texts
    markup = rendered.markup
    photo = rendered.photo
    if photo is not None and pending():
        known = photo.refs.get(Platform.TELEGRAM.value)
        message = await bot.send_photo(
            chat_id,
            known or InputFile(photo.read(), filename=photo.name),
            caption=rendered.caption,
            parse_mode=ParseMode.HTML if rendered.caption else None,
            reply_markup=None if texts else markup,
            message_thread_id=thread_id,
            reply_parameters=quoting(),
            allow_paid_broadcast=paid,
        )
        sent.append(message)
        if not known and message.photo and remember_photo is not None:
            # the next posts of this portrait go by reference: no upload
            await remember_photo(photo.key, message.photo[-1].file_id)
    if rendered.photo_url and pending():
        sent.append(
            await bot.send_photo(
                chat_id,
                rendered.photo_url,
                caption=rendered.caption,
                parse_mode=ParseMode.HTML if rendered.caption else None,
                reply_markup=None if texts else markup,
                message_thread_id=thread_id,
                reply_parameters=quoting(),
                allow_paid_broadcast=paid,
            )
        )
    for number, text in enumerate(texts, start=1):
        if not pending():
            continue
        sent.append(
            await bot.send_message(
                chat_id,
                text,
                parse_mode=ParseMode.HTML,
                link_preview_options=NO_PREVIEW,
                reply_markup=markup if number == len(texts) else None,
                message_thread_id=thread_id,
                reply_parameters=quoting(),
                allow_paid_broadcast=paid,
            )
        )
    if rendered.file is not None and pending():
        sent.append(
            await bot.send_document(
                chat_id,
                InputFile(rendered.file.data, filename=rendered.file.name),
                message_thread_id=thread_id,
                reply_parameters=quoting(),
                allow_paid_broadcast=paid,
            )
        )
    venue = rendered.venue
    if venue is not None and pending():
        sent.append(
            await bot.send_venue(
                chat_id,
                latitude=venue.point.lat,
                longitude=venue.point.lon,
                title=venue.title or venue_address(venue),
                address=venue_address(venue),
                reply_markup=None if sent else markup,
                message_thread_id=thread_id,
                reply_parameters=quoting(),
                allow_paid_broadcast=paid,
            )
        )
    return sent


RememberPhoto = Callable[[str, str], Awaitable[None]]
"""Keeps Telegram's reference (``file_id``) to a photo of the media store, by its key."""


PARTLY_SENT_KEPT = 10_000
"""Posts whose progress ``TelegramSender`` keeps for their next attempt (a bound, not a cache)."""


class TelegramSender:
    """The core's ``Sender`` for Telegram: scheduled posts to chats, channels and topics."""

    def __init__(self, bot: Bot, core: Core | None = None, *, paid_broadcast: bool = False) -> None:
        self.bot = bot
        self.core = core
        self.paid_broadcast = paid_broadcast
        """Every post goes with ``allow_paid_broadcast`` (``TELEGRAM_PAID_BROADCAST``)."""
        self.partly_sent: dict[str, list[Message]] = {}
        """The parts already sent of posts whose last attempt failed on a later part, by
        ``key``: the next attempt sends only the rest. At most ``PARTLY_SENT_KEPT``, the oldest
        dropped first (a row given up, or taken by another process, is never tried here
        again)."""

    async def send(self, chat_id: str, reply: Reply, thread_id: str = "", *, key: str = "") -> None:
        """Send ``reply``; raises ``RetryLater``, ``PermanentError`` or ``TransientError``.

        The Bot API has no way to refuse a repeated message, but a post of several messages
        (long text in chunks, a venue) that failed on a later one is resumed by the next
        attempt with the same ``key`` (the same ledger row): its first messages are not sent
        twice. (After a restart the whole post is sent again.)"""
        rendered = render(reply)
        thread = thread_id_param(thread_id)
        secret = self.bot.token
        progress = self.partly_sent.pop(key, []) if key else []
        try:
            sent = await send_rendered(
                self.bot,
                chat_id_param(chat_id),
                rendered,
                thread_id=thread,
                remember_photo=self._remember_photo,
                paid_broadcast=self.paid_broadcast,
                sent=progress,
            )
        except ChatMigrated as migrated:
            new_id = str(migrated.new_chat_id)
            log.info("Telegram chat %s became %s; moving its subscriptions", chat_id, new_id)
            if self.core is not None:
                await self.core.migrate_chat(Platform.TELEGRAM.value, chat_id, new_id)
            try:
                sent = await send_rendered(
                    self.bot,
                    chat_id_param(new_id),
                    rendered,
                    thread_id=thread,
                    paid_broadcast=self.paid_broadcast,
                )
            except TelegramError as error:
                raise delivery_error(error, secret) from None
            chat_id = new_id
        except TelegramError as error:
            failure = delivery_error(error, secret)
            if key and progress and not isinstance(failure, PermanentError):
                self.partly_sent[key] = progress
                while len(self.partly_sent) > PARTLY_SENT_KEPT:  # rows never tried again
                    del self.partly_sent[next(iter(self.partly_sent))]
            raise failure from None
        if reply.pin_until is not None and sent and chat_id.startswith("-"):
            await self._pin(chat_id, sent[0], reply.pin_until)

    async def _remember_photo(self, key: str, file_id: str) -> None:
        regiment = self.core.regiment if self.core is not None else None
        if regiment is not None:
            try:
                await regiment.repository.set_photo_ref(key, Platform.TELEGRAM.value, file_id)
            except Exception as error:  # the post went out; the reference only saves bytes
                log.warning("could not keep Telegram's reference to a portrait: %s", error)

    async def _pin(self, chat_id: str, message: Message, until: dt.datetime) -> None:
        """Pin an announcement in a group where the bot may, and remember to unpin it;
        where it may not, the announcement simply stays unpinned."""
        try:
            await self.bot.pin_chat_message(
                chat_id_param(chat_id), message.message_id, disable_notification=True
            )
        except TelegramError as error:
            log.info("Telegram chat %s: not pinned: %s", chat_id, describe(error, self.bot.token))
            return
        if self.core is not None:
            pin = Pin(Platform.TELEGRAM.value, chat_id, str(message.message_id), until)
            await self.core.pins.add_pin(pin)

    async def unpin_due(self, now: dt.datetime) -> int:
        """Unpin the announcements whose events are over; how many were unpinned."""
        if self.core is None:
            return 0
        done = 0
        for pin in await self.core.pins.due_pins(Platform.TELEGRAM.value, now):
            try:
                await self.bot.unpin_chat_message(
                    chat_id_param(pin.chat_id), message_id=int(pin.message_id)
                )
                done += 1
            except TelegramError as error:
                log.info(
                    "Telegram chat %s: could not unpin %s: %s",
                    pin.chat_id,
                    pin.message_id,
                    describe(error, self.bot.token),
                )
            await self.core.pins.remove_pin(pin)
        return done
