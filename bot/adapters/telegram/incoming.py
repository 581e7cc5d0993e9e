"""Telegram updates read into the core's neutral ``Incoming`` requests: pure functions.

Conventions kept here: a chat is private, a group (basic groups and supergroups) or a channel;
a message in a forum topic carries the topic's thread id, so each topic has its own
subscription; a channel post speaks for the channel's administrators; a group's anonymous
administrator (a message sent on behalf of the group itself) is an administrator; messages
from other bots, automatic forwards from a linked channel and messages sent through the bot's
inline mode are not requests. In groups, an unknown command is answered only when addressed
to this bot (``/cmd@thisbot``): other bots in the group may own it.
"""

from __future__ import annotations

from collections.abc import Callable

from telegram import CallbackQuery, Chat, Message, User
from telegram.constants import ChatType

from bot.core.context import (
    AdminCheck,
    Attachment,
    AttachmentKind,
    ChatRef,
    Fetch,
    Incoming,
    UserRef,
)
from bot.core.domain import ChatKind, GeoPoint, Platform
from handlers.dispatch import parse_command
from handlers.registry import COMMANDS_BY_NAME

AdminCheckFactory = Callable[[int, int], AdminCheck]
"""Builds the lazy admin check of a user (second argument) in a chat (first argument)."""
Fetcher = Callable[[str], Fetch]
"""Builds the download of a file by its ``file_id`` (``getFile``, then the file's bytes)."""


def attachment_of(message: Message, fetcher: Fetcher | None) -> Attachment | None:
    """The photo (its largest size) or document of a message, if it has one."""
    if message.photo:
        largest = max(message.photo, key=lambda size: size.width * size.height)
        return Attachment(
            kind=AttachmentKind.PHOTO,
            file_ref=largest.file_id,
            mime_type="image/jpeg",
            size=largest.file_size,
            fetch=fetcher(largest.file_id) if fetcher else None,
        )
    document = message.document
    if document is not None:
        return Attachment(
            kind=AttachmentKind.DOCUMENT,
            file_ref=document.file_id,
            mime_type=document.mime_type or "application/octet-stream",
            size=document.file_size,
            file_name=document.file_name or "",
            fetch=fetcher(document.file_id) if fetcher else None,
        )
    return None


def chat_kind(chat: Chat) -> ChatKind:
    """The neutral kind of a Telegram chat."""
    if chat.type == ChatType.PRIVATE:
        return ChatKind.PRIVATE
    if chat.type == ChatType.CHANNEL:
        return ChatKind.CHANNEL
    return ChatKind.GROUP


def topic_of(message: Message) -> str:
    """The forum topic a message belongs to, as a string ("" outside forum topics)."""
    if message.is_topic_message and message.message_thread_id:
        return str(message.message_thread_id)
    return ""


def chat_ref(message: Message) -> ChatRef:
    """Where a message was written: the chat, its kind, its forum topic."""
    chat = message.chat
    return ChatRef(
        id=str(chat.id),
        kind=chat_kind(chat),
        thread_id=topic_of(message),
        title=chat.title or chat.full_name or "",
    )


def user_ref(user: User, *, is_admin: bool = False) -> UserRef:
    """A Telegram user as the core sees them."""
    return UserRef(
        id=str(user.id),
        name=user.full_name,
        client_language=user.language_code,
        is_admin=is_admin,
    )


def is_request(message: Message, bot_id: int) -> bool:
    """Whether a message may be a request to the bot at all."""
    if message.via_bot is not None and message.via_bot.id == bot_id:
        return False  # a memorial card the user shared through inline mode
    if message.is_automatic_forward:
        return False
    sender = message.from_user
    return not (sender is not None and sender.is_bot and not speaks_for_chat(message))


def speaks_for_chat(message: Message) -> bool:
    """Whether a message was sent on behalf of its own chat (a group's anonymous admin)."""
    return message.sender_chat is not None and message.sender_chat.id == message.chat.id


def meant_for_us(text: str, kind: ChatKind, bot_username: str) -> bool:
    """Outside private chats, an unknown command is ours only when addressed to us."""
    if kind is ChatKind.PRIVATE:
        return True
    parsed = parse_command(text)
    if parsed is None or parsed.name in COMMANDS_BY_NAME:
        return True
    return bool(parsed.addressee) and parsed.addressee.lower() == bot_username.lower()


def replies_to_bot(message: Message, bot_id: int) -> bool:
    """Whether a message answers one of the bot's messages (a forum topic's opening message,
    which every message of the topic quotes, does not count)."""
    replied = message.reply_to_message
    if replied is None or replied.from_user is None or replied.from_user.id != bot_id:
        return False
    return not (message.is_topic_message and replied.message_id == message.message_thread_id)


def message_incoming(
    message: Message,
    *,
    bot_id: int,
    bot_username: str,
    admin_check: AdminCheckFactory,
    fetcher: Fetcher | None = None,
) -> Incoming | None:
    """The request in a message or channel post; None when there is none for the bot.

    Shared locations, photos and files are requests in private chats, and in groups when
    they answer the bot (a reply to its question); a photo's caption comes with it as text.
    """
    if not is_request(message, bot_id):
        return None
    chat = chat_ref(message)
    sender = message.from_user
    check: AdminCheck | None = None
    if chat.kind is ChatKind.CHANNEL:
        user = UserRef(id=chat.id, name=chat.title, is_admin=True)
    elif sender is None:
        return None
    else:
        user = user_ref(sender, is_admin=speaks_for_chat(message))
        if chat.kind is not ChatKind.PRIVATE:
            check = admin_check(message.chat.id, sender.id)
    platform = Platform.TELEGRAM.value
    answering = chat.kind is ChatKind.PRIVATE or replies_to_bot(message, bot_id)
    if message.location is not None:
        if not answering:
            return None
        point = GeoPoint(message.location.latitude, message.location.longitude)
        return Incoming(platform, chat, user, location=point, check_admin=check)
    attachment = attachment_of(message, fetcher)
    if attachment is not None:
        if not answering:
            return None
        return Incoming(
            platform, chat, user, text=message.caption, attachment=attachment, check_admin=check
        )
    text = message.text
    if not text or not meant_for_us(text, chat.kind, bot_username):
        return None
    return Incoming(platform, chat, user, text=text, check_admin=check)


def callback_incoming(
    query: CallbackQuery, message: Message, *, admin_check: AdminCheckFactory
) -> Incoming | None:
    """The request of a pressed inline button under ``message``; in groups and channels the
    presser's rights are checked with the chat, when a setting changes."""
    if not query.data:
        return None
    chat = chat_ref(message)
    presser = query.from_user
    check = None if chat.kind is ChatKind.PRIVATE else admin_check(message.chat.id, presser.id)
    return Incoming(
        Platform.TELEGRAM.value, chat, user_ref(presser), action=query.data, check_admin=check
    )
