"""A fake Telegram Bot API server for end-to-end tests of the Telegram adapter.

The server is an ``aiohttp.web`` application bound to ``127.0.0.1`` on a free port. It speaks
the Bot API's HTTP and JSON (https://core.telegram.org/bots/api#making-requests): requests may
be GET or POST with a query string, a JSON body, a form-urlencoded body or a multipart body;
every answer is ``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": N,
"description": "...", "parameters": {...}}`` with the HTTP status equal to ``error_code``. A
well-formed but wrong token answers 401 ``Unauthorized``, a malformed token or an unknown
method 404 ``Not Found``; method names are case-insensitive, as in the real API.

Start it from an async test or fixture and point python-telegram-bot at it::

    async with FakeTelegramServer() as tg:
        app = (
            ApplicationBuilder().token(tg.token).base_url(tg.base_url)
            .base_file_url(tg.base_file_url).job_queue(None).build()
        )

Implemented methods: getMe, getUpdates (long polling with offset, limit, timeout,
allowed_updates; a second concurrent call terminates the first with 409 as Telegram does),
setWebhook / deleteWebhook / getWebhookInfo (updates are POSTed to the webhook, with
``X-Telegram-Bot-Api-Secret-Token`` when a secret is set; getUpdates then answers 409; only
loopback webhook URLs are accepted so nothing leaves the machine), sendMessage,
editMessageText, editMessageReplyMarkup, editMessageCaption, deleteMessage, sendPhoto,
sendLocation, sendVenue, sendChatAction, answerCallbackQuery, answerInlineQuery,
setMyCommands / getMyCommands / deleteMyCommands (one list per scope and language_code),
getChat, getChatMember, getChatAdministrators, setChatMenuButton / getChatMenuButton.
Parameters are validated the way the real server validates them; HTML ``parse_mode`` is
parsed with a port of TDLib's ``parse_html`` (same tags, same error texts, entity offsets in
UTF-16 code units, length limits counted after parsing).

Test controls (all synchronous unless marked ``await``):

* State: ``add_user``, ``private_chat`` (a private chat the user has started), ``add_group``,
  ``add_supergroup`` (``is_forum=True`` for forums), ``add_channel``, ``add_topic``,
  ``set_member`` / ``set_admin`` (the test decides who is an administrator), ``chat``, ``user``.
* Updates, each built as the exact JSON Telegram sends and returned as the ``Update`` dict:
  ``send_user_message`` (commands get a ``bot_command`` entity, ``/cmd@botname`` included),
  ``press_button`` (callback_query), ``share_location``, ``inline_query``, ``channel_post``,
  ``my_chat_member`` (the bot added, promoted, removed or blocked), ``block_bot`` /
  ``unblock_bot``, ``migrate_group`` (service messages in both chats; later sends to the old
  group answer 400 with ``parameters.migrate_to_chat_id``), ``inject_update`` for anything else.
* Failures: ``inject_flood(chat, retry_after)`` answers the next send to that chat with 429;
  ``fail_next(...)`` answers the next matching call with any error; ``stall_next(...)`` hangs
  it past the client's timeout, unprocessed. Built-in flood control
  (``flood_control=True`` or a ``FloodLimits``; off by default): a global ceiling of N sends
  per second per bot (30), 1 per second per private chat, 20 per minute per group or channel;
  a send with ``allow_paid_broadcast`` is held to the paid ceiling (1000 a second) instead of
  the free one, the per-chat limits unchanged (``stats.paid_sends`` counts them).
  ``latency=`` delays each request by a random fraction of it before the server counts it
  (network jitter).
* Assertions: ``sent(chat)`` lists every message the bot sent (``SentMessage``: chat id,
  thread id, text after parsing, raw text, parse_mode, entities, ``html``, reply_markup, kind
  ``message``/``photo``/``location``/``venue``, time, edits, deleted flag, the Message JSON);
  ``edits(chat)``; ``callback_answers``, ``inline_answers``, ``chat_actions``, ``commands()``,
  ``calls`` (recent requests), ``webhook_deliveries``, ``stats`` (requests, 429s, per-chat
  send timestamps). ``await wait_for_messages(n, chat_id=..., timeout=5)``,
  ``await wait_for_edits``, ``await wait_for_callback_answer``, ``await wait_for_inline_answer``,
  ``await wait_until_consumed(update)`` and the generic ``await wait_for(predicate)``;
  ``pending_updates``, ``long_polling``, ``webhook_url`` / ``webhook_secret``, ``history(chat)``.

Anything that goes wrong inside the fake itself is answered with 500 and re-raised when the
server stops, so a bug in the fake cannot hide as a bot failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import random
import re
import secrets
import socket
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal, Self, TypeAlias, TypeVar, cast
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

JSON: TypeAlias = dict[str, Any]
ChatType: TypeAlias = Literal["private", "group", "supergroup", "channel"]
MemberStatus: TypeAlias = Literal[
    "creator", "administrator", "member", "restricted", "left", "kicked"
]
_T = TypeVar("_T")

__all__ = [
    "ApiError",
    "EditRecord",
    "FakeChat",
    "FakeTelegramServer",
    "FakeUser",
    "FloodLimits",
    "SentMessage",
    "ServerStats",
    "WebhookDelivery",
    "entities_to_html",
    "free_tcp_port",
    "parse_html",
]

_TOKEN_RE = re.compile(r"\d+:[A-Za-z0-9_-]+")
_SECRET_RE = re.compile(r"[A-Za-z0-9_-]*")
_COMMAND_NAME_RE = re.compile(r"[a-z0-9_]+")
_LANGUAGE_RE = re.compile(r"(?:[a-z]{2})?")
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_ALL_UPDATE_TYPES = frozenset(
    [
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "message_reaction",
        "message_reaction_count",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    ]
)
# Updates Telegram leaves out unless allowed_updates names them.
_DEFAULT_UPDATE_TYPES = _ALL_UPDATE_TYPES - {
    "chat_member",
    "message_reaction",
    "message_reaction_count",
}
_SEND_METHODS = frozenset({"sendmessage", "sendphoto", "sendlocation", "sendvenue", "senddocument"})
_CHAT_ACTIONS = frozenset(
    [
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    ]
)
_INLINE_RESULT_TYPES = frozenset(
    [
        "article",
        "photo",
        "gif",
        "mpeg4_gif",
        "video",
        "audio",
        "voice",
        "document",
        "location",
        "venue",
        "contact",
        "game",
        "sticker",
    ]
)
_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_ADMIN_RIGHTS: JSON = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": True,
    "can_restrict_members": True,
    "can_promote_members": False,
    "can_change_info": True,
    "can_invite_users": True,
    "can_post_stories": False,
    "can_edit_stories": False,
    "can_delete_stories": False,
}
_MEMBER_PERMISSIONS: JSON = {
    "can_send_messages": True,
    "can_send_audios": True,
    "can_send_documents": True,
    "can_send_photos": True,
    "can_send_videos": True,
    "can_send_video_notes": True,
    "can_send_voice_notes": True,
    "can_send_polls": True,
    "can_send_other_messages": True,
    "can_add_web_page_previews": True,
    "can_change_info": False,
    "can_invite_users": True,
    "can_pin_messages": False,
    "can_manage_topics": False,
}


def free_tcp_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago (for webhook listeners)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _dumps(value: Any) -> bytes:
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    except UnicodeEncodeError:
        return json.dumps(value, separators=(",", ":")).encode()


def _u16len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the unit of Telegram's entity offsets."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2


class ApiError(Exception):
    """An error answer of the Bot API: ``error_code``, ``description`` and ``parameters``."""

    def __init__(self, code: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def to_json(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _bad(message: str) -> ApiError:
    return ApiError(400, f"Bad Request: {message}")


def _flood(retry_after: int) -> ApiError:
    return ApiError(
        429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
    )


# --------------------------------------------------------------------------------------------
# HTML parse mode: a port of TDLib's parse_html (td/telegram/MessageEntity.cpp)
# --------------------------------------------------------------------------------------------


class _ParseError(Exception):
    pass


_HTML_TAGS = frozenset(
    [
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    ]
)
_HTML_SPACE = frozenset(" \t\r\n\v\f\0")
_HTML_SPECIAL = re.compile(r"[&<]")
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_SIMPLE_TAG_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "u": "underline",
    "ins": "underline",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}
_ENTITY_PRIORITY = {
    "blockquote": 0,
    "expandable_blockquote": 0,
    "pre": 11,
    "code": 20,
    "text_link": 49,
    "text_mention": 49,
    "bold": 90,
    "italic": 91,
    "underline": 92,
    "strikethrough": 93,
    "spoiler": 94,
    "custom_emoji": 99,
}


def _decode_html_entity(text: str, pos: int) -> tuple[str | None, int]:
    """Decode the character reference at ``text[pos] == '&'`` as TDLib does.

    Returns the decoded character (``None`` if it is not a supported reference) and the
    position after the reference.
    """
    n = len(text)
    end = pos + 1
    if end < n and text[end] == "#":
        end += 1
        code = 0
        if end < n and text[end] == "x":
            end += 1
            while end < n and text[end] in "0123456789abcdefABCDEF":
                code = code * 16 + int(text[end], 16)
                end += 1
        else:
            while end < n and "0" <= text[end] <= "9":
                code = code * 10 + ord(text[end]) - 48
                end += 1
        if code == 0 or code >= 0x10FFFF or end - pos >= 10:
            return None, pos
        char = chr(code)
    else:
        while end < n and text[end].isascii() and text[end].isalpha():
            end += 1
        named = _NAMED_ENTITIES.get(text[pos + 1 : end])
        if named is None:
            return None, pos
        char = named
    if end < n and text[end] == ";":
        end += 1
    return char, end


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8", "surrogatepass"))


def _checked_link(url: str) -> str | None:
    """The URL Telegram would keep for a link, or ``None`` when it rejects it."""
    return url.strip() if _link_error(url) is None else None


def _link_error(url: str) -> str | None:
    """Why Telegram refuses ``url`` as a link (``None`` when it accepts it)."""
    value = url.strip()
    if not value or any(ch.isspace() for ch in value):
        return "Wrong HTTP URL"
    if "://" in value:
        scheme, _, rest = value.partition("://")
        scheme = scheme.lower()
    else:
        scheme, rest = "http", value
    if scheme in ("tg", "ton"):
        return None if rest else "Wrong URL"
    if scheme not in ("http", "https"):
        return "Unsupported URL protocol"
    try:
        host = urlsplit(f"{scheme}://{rest}").hostname or ""
    except ValueError:
        return "Wrong HTTP URL"
    if re.fullmatch(r"\d{1,3}(?:\.\d{1,3}){3}", host):
        return None
    labels = host.split(".")
    if (
        len(labels) < 2
        or not all(labels)
        or not re.fullmatch(r"[a-z]{2,}|xn--[a-z0-9-]+", labels[-1])
    ):
        return "Wrong HTTP URL"
    return None


def parse_html(source: str, *, strict_entities: bool = True) -> tuple[str, list[JSON]]:
    """Parse Bot API HTML into plain text and MessageEntity dicts (UTF-16 offsets).

    Follows TDLib's ``parse_html``: the same tags, attributes, nesting rules and error texts.
    With ``strict_entities`` an ``&`` that does not start ``&lt;``, ``&gt;``, ``&amp;``,
    ``&quot;`` or a numeric reference is an error; TDLib itself keeps such text literally.

    Raises:
        _ParseError: with the text Telegram puts after "can't parse entities: ".
    """
    out: list[str] = []
    u16 = 0
    entities: list[JSON] = []
    # tag name, argument, utf-16 offset, position in ``out`` (for <a> without href)
    stack: list[tuple[str, str, int, int]] = []
    need_utf8_check = False
    n = len(source)
    i = 0
    while i < n:
        match = _HTML_SPECIAL.search(source, i)
        if match is None:
            chunk = source[i:]
            out.append(chunk)
            u16 += _u16len(chunk)
            break
        j = match.start()
        if j > i:
            chunk = source[i:j]
            out.append(chunk)
            u16 += _u16len(chunk)
        i = j
        if source[i] == "&":
            decoded, end = _decode_html_entity(source, i)
            if decoded is None:
                if strict_entities:
                    k = i + 1
                    while k < n and (
                        source[k].isascii() and (source[k].isalnum() or source[k] == "#")
                    ):
                        k += 1
                    shown = source[i : k + 1] if k < n and source[k] == ";" else source[i:k]
                    raise _ParseError(
                        f'Unsupported HTML entity "{shown}" at byte offset '
                        f"{_byte_offset(source, i)}; escape & as &amp;"
                    )
                out.append("&")
                u16 += 1
                i += 1
                continue
            if 0xD800 <= ord(decoded) <= 0xDFFF:
                need_utf8_check = True
            out.append(decoded)
            u16 += 1 if ord(decoded) <= 0xFFFF else 2
            i = end
            continue

        begin = i
        i += 1
        if i >= n or source[i] != "/":
            # start tag
            while i < n and source[i] not in _HTML_SPACE and source[i] != ">":
                i += 1
            if i >= n:
                raise _ParseError(
                    f"Unclosed start tag at byte offset {_byte_offset(source, begin)}"
                )
            tag = source[begin + 1 : i].lower()
            if tag not in _HTML_TAGS:
                raise _ParseError(
                    f'Unsupported start tag "{tag}" at byte offset {_byte_offset(source, begin)}'
                )
            argument = ""
            expandable = False
            while i < n and source[i] != ">":
                while i < n and source[i] in _HTML_SPACE:
                    i += 1
                if i < n and source[i] == ">":
                    break
                attr_begin = i
                while i < n and source[i] not in _HTML_SPACE and source[i] not in "=>":
                    i += 1
                attr_name = source[attr_begin:i]
                if not attr_name:
                    raise _ParseError(
                        f'Empty attribute name in the tag "{tag}" at byte offset '
                        f"{_byte_offset(source, begin)}"
                    )
                while i < n and source[i] in _HTML_SPACE:
                    i += 1
                if i >= n or source[i] != "=":
                    if tag == "blockquote" and attr_name.lower() == "expandable":
                        expandable = True
                        continue
                    raise _ParseError(
                        "Expected equal sign in declaration of an attribute of the tag "
                        f'"{tag}" at byte offset {_byte_offset(source, begin)}'
                    )
                i += 1
                while i < n and source[i] in _HTML_SPACE:
                    i += 1
                if i >= n:
                    raise _ParseError(
                        f'Unclosed start tag "{tag}" at byte offset {_byte_offset(source, begin)}'
                    )
                if source[i] not in "'\"":
                    token_begin = i
                    while i < n and (
                        source[i].isascii() and (source[i].isalnum() or source[i] in ".-")
                    ):
                        i += 1
                    value = source[token_begin:i].lower()
                    if i >= n or (source[i] not in _HTML_SPACE and source[i] != ">"):
                        raise _ParseError(
                            "Unexpected end of name token at byte offset "
                            f"{_byte_offset(source, token_begin)}"
                        )
                else:
                    quote = source[i]
                    i += 1
                    parts: list[str] = []
                    while i < n and source[i] != quote:
                        if source[i] == "&":
                            decoded, end = _decode_html_entity(source, i)
                            if decoded is not None:
                                parts.append(decoded)
                                i = end
                                continue
                            if strict_entities:
                                raise _ParseError(
                                    "Unsupported HTML entity in an attribute value at byte "
                                    f"offset {_byte_offset(source, i)}; escape & as &amp;"
                                )
                        parts.append(source[i])
                        i += 1
                    if i < n:
                        i += 1
                    value = "".join(parts)
                if i >= n:
                    raise _ParseError(
                        f"Unclosed start tag at byte offset {_byte_offset(source, begin)}"
                    )
                name = attr_name
                if tag == "a" and name == "href":
                    argument = value
                elif tag == "code" and name == "class" and value.startswith("language-"):
                    argument = value[len("language-") :]
                elif tag == "span" and name == "class" and value.startswith("tg-"):
                    argument = value[len("tg-") :]
                elif tag == "tg-emoji" and name == "emoji-id":
                    argument = value
                elif tag == "blockquote" and name == "expandable":
                    expandable = True
            if tag == "span" and argument != "spoiler":
                raise _ParseError(
                    'Tag "span" must have class "tg-spoiler" at byte offset '
                    f"{_byte_offset(source, begin)}"
                )
            if tag == "blockquote" and expandable:
                argument = "expandable"
            stack.append((tag, argument, u16, len(out)))
            i += 1  # skip '>'
            continue

        # end tag
        if not stack:
            raise _ParseError(f"Unexpected end tag at byte offset {_byte_offset(source, begin)}")
        i += 1
        while i < n and source[i] not in _HTML_SPACE and source[i] != ">":
            i += 1
        end_tag = source[begin + 2 : i].lower()
        while i < n and source[i] in _HTML_SPACE:
            i += 1
        if i >= n or source[i] != ">":
            raise _ParseError(f"Unclosed end tag at byte offset {_byte_offset(source, begin)}")
        tag, argument, offset, out_index = stack[-1]
        if end_tag and end_tag != tag:
            raise _ParseError(
                f"Unmatched end tag at byte offset {_byte_offset(source, begin)}, "
                f'expected "</{tag}>", found "</{end_tag}>"'
            )
        i += 1
        stack.pop()
        length = u16 - offset
        if length <= 0:
            continue
        entity: JSON | None
        simple = _SIMPLE_TAG_TYPES.get(tag)
        if simple is not None:
            entity = {"type": simple, "offset": offset, "length": length}
        elif tag == "tg-emoji":
            try:
                emoji_id = int(argument)
            except ValueError:
                emoji_id = 0
            if emoji_id == 0:
                raise _ParseError("Invalid custom emoji identifier specified")
            entity = {
                "type": "custom_emoji",
                "offset": offset,
                "length": length,
                "custom_emoji_id": str(emoji_id),
            }
        elif tag == "a":
            url = argument or "".join(out[out_index:])
            user_match = re.fullmatch(r"tg://user\?id=(\d+)", url.strip())
            if user_match:
                entity = {
                    "type": "text_mention",
                    "offset": offset,
                    "length": length,
                    "user": {"id": int(user_match.group(1)), "is_bot": False, "first_name": ""},
                }
            else:
                checked = _checked_link(url)
                entity = (
                    None
                    if checked is None
                    else {"type": "text_link", "offset": offset, "length": length, "url": checked}
                )
        elif tag == "pre":
            last = entities[-1] if entities else None
            if (
                last is not None
                and last["type"] == "code"
                and last["offset"] == offset
                and last["length"] == length
                and last.get("language")
            ):
                last["type"] = "pre"
                entity = None
            else:
                entity = {"type": "pre", "offset": offset, "length": length}
        elif tag == "code":
            last = entities[-1] if entities else None
            if (
                argument
                and last is not None
                and last["type"] == "pre"
                and last["offset"] == offset
                and last["length"] == length
            ):
                last["language"] = argument
                entity = None
            else:
                entity = {"type": "code", "offset": offset, "length": length}
                if argument:
                    entity["language"] = argument
        else:  # blockquote
            entity = {
                "type": "expandable_blockquote" if argument == "expandable" else "blockquote",
                "offset": offset,
                "length": length,
            }
        if entity is not None:
            entities.append(entity)
    if stack:
        raise _ParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    for entity in entities:
        if entity["type"] == "code":
            entity.pop("language", None)
    entities.sort(key=lambda e: (e["offset"], -e["length"], _ENTITY_PRIORITY.get(e["type"], 50)))
    text = "".join(out)
    if need_utf8_check:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise _ParseError(
                "Text contains invalid Unicode characters after decoding HTML entities, "
                "check for unmatched surrogate code units"
            ) from None
    return text, entities


_HTML_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"})


def _entity_tags(entity: JSON) -> tuple[str, str] | None:
    kind = entity.get("type")
    simple = {
        "bold": "b",
        "italic": "i",
        "underline": "u",
        "strikethrough": "s",
        "spoiler": "tg-spoiler",
        "code": "code",
        "blockquote": "blockquote",
    }.get(str(kind))
    if simple is not None:
        return f"<{simple}>", f"</{simple}>"
    if kind == "expandable_blockquote":
        return "<blockquote expandable>", "</blockquote>"
    if kind == "pre":
        language = entity.get("language")
        if language:
            return f'<pre><code class="language-{language}">', "</code></pre>"
        return "<pre>", "</pre>"
    if kind == "text_link":
        return f'<a href="{str(entity["url"]).translate(_HTML_ESCAPES)}">', "</a>"
    if kind == "text_mention":
        return f'<a href="tg://user?id={entity["user"]["id"]}">', "</a>"
    if kind == "custom_emoji":
        return f'<tg-emoji emoji-id="{entity["custom_emoji_id"]}">', "</tg-emoji>"
    return None


def entities_to_html(text: str, entities: Iterable[JSON]) -> str:
    """Render text and formatting entities back to Bot API HTML (detected entities omitted)."""
    opens: dict[int, list[str]] = {}
    closes: dict[int, list[str]] = {}
    for entity in sorted(entities, key=lambda e: (e["offset"], -e["length"])):
        tags = _entity_tags(entity)
        if tags is None:
            continue
        start, end = entity["offset"], entity["offset"] + entity["length"]
        opens.setdefault(start, []).append(tags[0])
        closes.setdefault(end, []).insert(0, tags[1])
    if not opens:
        return text.translate(_HTML_ESCAPES)
    parts: list[str] = []
    position = 0
    for char in text:
        if position in closes:
            parts.extend(closes[position])
        if position in opens:
            parts.extend(opens[position])
        parts.append(char.translate(_HTML_ESCAPES))
        position += 2 if ord(char) > 0xFFFF else 1
    parts.extend(closes.get(position, ()))
    return "".join(parts)


# Entities Telegram finds by itself in any text (a simplified subset of TDLib's matchers).
_AUTO_ENTITY_RE = re.compile(
    r"(?P<bot_command>(?<![\w/<>])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/<>@]))"
    r"|(?P<email>(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![\w-]))"
    r"|(?P<mention>(?<!\w)@[A-Za-z0-9_]{2,32}(?!\w))"
    r"|(?P<hashtag>(?<![\w#])#\w*[^\W\d_]\w*(?![\w#]))"
    r"|(?P<url>(?<![\w@/.])(?:https?://|www\.)[^\s<>\"]*[^\s<>\".,;:!?)\]'])"
)
_NO_AUTO_INSIDE = frozenset({"code", "pre", "text_link", "text_mention", "custom_emoji"})


def _detect_entities(text: str, existing: list[JSON]) -> list[JSON]:
    """Merge the entities Telegram detects (commands, mentions, ...) into ``existing``."""
    if not any(ch in text for ch in "/@#w:"):
        return existing
    found: list[JSON] = []
    blocked = [
        (e["offset"], e["offset"] + e["length"]) for e in existing if e["type"] in _NO_AUTO_INSIDE
    ]
    ascii_text = text.isascii()
    for match in _AUTO_ENTITY_RE.finditer(text):
        kind = match.lastgroup
        if kind is None:
            continue
        start, end = match.span()
        if ascii_text:
            offset, length = start, end - start
        else:
            offset = _u16len(text[:start])
            length = _u16len(text[start:end])
        if any(offset < b_end and b_start < offset + length for b_start, b_end in blocked):
            continue
        found.append({"type": kind, "offset": offset, "length": length})
    if not found:
        return existing
    merged = existing + found
    merged.sort(key=lambda e: (e["offset"], -e["length"], _ENTITY_PRIORITY.get(e["type"], 50)))
    return merged


# --------------------------------------------------------------------------------------------
# State objects
# --------------------------------------------------------------------------------------------


@dataclass(eq=False)
class FakeUser:
    """A Telegram user (or the bot itself, with ``is_bot=True``)."""

    id: int
    first_name: str
    username: str | None = None
    last_name: str | None = None
    language_code: str | None = None
    is_bot: bool = False
    is_premium: bool | None = None

    def to_json(self) -> JSON:
        data: JSON = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        if self.is_premium:
            data["is_premium"] = True
        return data


@dataclass(eq=False)
class FakeChat:
    """A chat of any type. ``bot_status`` is the bot's own membership status in it."""

    id: int
    type: ChatType
    title: str | None = None
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    is_forum: bool = False
    user: FakeUser | None = None
    topics: dict[int, str] = field(default_factory=dict)
    members: dict[int, MemberStatus] = field(default_factory=dict)
    bot_status: MemberStatus = "member"
    migrated_to: int | None = None
    migrated_from: int | None = None
    blocked: bool = False
    started: bool = True
    next_message_id: int = 1

    def to_json(self) -> JSON:
        data: JSON = {"id": self.id}
        if self.type == "private":
            data["first_name"] = self.first_name or ""
            if self.last_name:
                data["last_name"] = self.last_name
        else:
            data["title"] = self.title or ""
        if self.username:
            data["username"] = self.username
        data["type"] = self.type
        if self.is_forum:
            data["is_forum"] = True
        return data


@dataclass(eq=False)
class EditRecord:
    """One edit of a message the bot sent."""

    message: SentMessage
    method: str
    text: str | None
    entities: list[JSON]
    reply_markup: JSON | None
    previous_text: str | None
    params: dict[str, str]
    edited_at: float


@dataclass(eq=False)
class SentMessage:
    """A message the bot sent, as the fake recorded it (kept up to date by edits/deletes).

    ``text`` is the text as Telegram shows it (after entity parsing); for a photo it is the
    caption. ``raw_text`` is exactly what the bot sent. ``message`` is the Message JSON the
    bot received (updated by edits). ``sent_at`` is ``time.monotonic()``.
    """

    chat_id: int
    message_id: int
    kind: Literal["message", "photo", "location", "venue", "document"]
    method: str
    text: str | None
    raw_text: str | None
    parse_mode: str | None
    entities: list[JSON]
    reply_markup: JSON | None
    message_thread_id: int | None
    reply_to_message_id: int | None
    link_preview_options: JSON | None
    location: JSON | None
    venue: JSON | None
    photo: JSON | None
    params: dict[str, str]
    date: int
    sent_at: float
    message: JSON
    edits: list[EditRecord] = field(default_factory=list)
    deleted: bool = False

    @property
    def html(self) -> str | None:
        """The text rendered back to Bot API HTML from its formatting entities."""
        if self.text is None:
            return None
        return entities_to_html(self.text, self.entities)

    @property
    def callback_data(self) -> list[str]:
        """Every callback_data of the current inline keyboard, row by row."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [b["callback_data"] for row in rows for b in row if "callback_data" in b]

    @property
    def button_texts(self) -> list[list[str]]:
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [[str(b.get("text")) for b in row] for row in rows]


@dataclass
class FloodLimits:
    """Flood control. Off by default in functional tests; enable it for benchmarks."""

    enabled: bool = False
    global_per_second: int = 30
    private_per_second: int = 1
    group_per_minute: int = 20
    paid_per_second: int = 1000
    """With ``allow_paid_broadcast``: Telegram's paid ceiling instead of the free one."""


@dataclass
class ServerStats:
    """Counters for benchmarks. ``send_times`` holds monotonic times of accepted sends."""

    requests: int = 0
    by_method: Counter[str] = field(default_factory=Counter)
    errors: Counter[int] = field(default_factory=Counter)
    flood_rejections: int = 0
    flood_by_method: Counter[str] = field(default_factory=Counter)
    """429s by method name as asked (``sendVenue (free)``) and whether the send was paid."""
    paid_sends: int = 0
    """Accepted sends that carried ``allow_paid_broadcast`` (each one billed by Telegram)."""
    send_times: dict[int, list[float]] = field(default_factory=dict)

    def reset(self) -> None:
        self.requests = 0
        self.by_method.clear()
        self.errors.clear()
        self.flood_rejections = 0
        self.flood_by_method.clear()
        self.paid_sends = 0
        self.send_times.clear()

    @property
    def sends(self) -> int:
        return sum(len(times) for times in self.send_times.values())


@dataclass(frozen=True)
class CallRecord:
    """A request the server answered (kept for the last ``calls.maxlen`` requests)."""

    method: str
    params: dict[str, str]
    files: tuple[str, ...]
    status: int
    at: float


@dataclass(frozen=True)
class WebhookDelivery:
    """One attempt to POST an update to the webhook."""

    update_id: int
    url: str
    status: int | None
    error: str | None
    secret_sent: str | None
    at: float


@dataclass(frozen=True)
class UploadedFile:
    name: str
    filename: str | None
    content_type: str
    data: bytes


@dataclass
class _Webhook:
    url: str
    secret_token: str | None
    max_connections: int
    ip_address: str | None
    has_custom_certificate: bool
    allowed_updates: list[str] | None


@dataclass(eq=False)
class _Stored:
    message: JSON
    from_bot: bool
    record: SentMessage | None = None
    deleted: bool = False


@dataclass
class _InjectedFailure:
    methods: frozenset[str] | None
    chat_id: int | None
    error: ApiError
    remaining: int
    stall: float = 0.0
    """Seconds the answer waits first (past the client's timeout: the call never happened)."""


@dataclass
class _Described:
    """A successful result that carries a ``description`` as well (setWebhook & co)."""

    result: Any
    description: str


class _Params:
    """Request parameters, all as strings, as the real server reads them."""

    __slots__ = ("files", "values")

    def __init__(self, values: dict[str, str], files: dict[str, UploadedFile]) -> None:
        self.values = values
        self.files = files

    def text(self, name: str) -> str | None:
        value = self.values.get(name)
        return value if value else None

    def integer(self, name: str, default: int | None = None) -> int | None:
        value = self.values.get(name)
        if not value:
            return default
        try:
            return int(value)
        except ValueError:
            match = re.match(r"-?\d+", value)
            return int(match.group()) if match else 0

    def number(self, name: str) -> float | None:
        value = self.values.get(name)
        if not value:
            return None
        try:
            return float(value)
        except ValueError:
            return 0.0

    def flag(self, name: str) -> bool:
        return self.values.get(name, "").strip().lower() in ("true", "yes", "1")

    def json(self, name: str, error: str) -> Any:
        value = self.values.get(name)
        if not value:
            return None
        try:
            return json.loads(value)
        except ValueError:
            raise _bad(error) from None

    def json_object(self, name: str, error: str) -> JSON | None:
        value = self.json(name, error)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise _bad(error)
        return value


_Handler: TypeAlias = Callable[[_Params], Awaitable[Any]]
ChatRef: TypeAlias = "FakeChat | FakeUser | int"
MessageRef: TypeAlias = "SentMessage | JSON"


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------


def _upload(p: _Params, field: str) -> UploadedFile | None:
    """The file sent as ``field``: a multipart part of that name, or the part that
    ``attach://<name>`` names; None when there is none."""
    upload = p.files.get(field)
    value = p.values.get(field, "")
    if upload is None and value.startswith("attach://"):
        upload = p.files.get(value[len("attach://") :])
    return upload


class FakeTelegramServer:
    """An in-process fake of the Telegram Bot API (see the module docstring)."""

    def __init__(
        self,
        *,
        token: str | None = None,
        bot_username: str = "commemoration_test_bot",
        bot_first_name: str = "Commemoration Test Bot",
        flood_control: bool | FloodLimits = False,
        strict_html_entities: bool = True,
        supports_inline_queries: bool = True,
        webhook_retry_delay: float = 0.2,
        webhook_timeout: float = 10.0,
        host: str = "127.0.0.1",
        port: int = 0,
        calls_kept: int = 10_000,
        latency: float = 0.0,
        seed: int | None = None,
    ) -> None:
        """``latency``: each request waits a random 0 to ``latency`` seconds before the
        server looks at it (network jitter: requests arrive in another order and spacing
        than they left in); ``seed`` makes those waits repeatable."""
        if token is None:
            token = f"7012345678:AA{secrets.token_urlsafe(33)[:33]}"
        if not _TOKEN_RE.fullmatch(token):
            raise ValueError(f"not a Bot API token: {token!r}")
        if host not in _LOOPBACK_HOSTS:
            raise ValueError("the fake server only listens on the loopback interface")
        self._token = token
        self.bot = FakeUser(
            id=int(token.split(":", 1)[0]),
            first_name=bot_first_name,
            username=bot_username,
            is_bot=True,
        )
        self.flood = (
            flood_control
            if isinstance(flood_control, FloodLimits)
            else FloodLimits(enabled=flood_control)
        )
        self.strict_html_entities = strict_html_entities
        self.supports_inline_queries = supports_inline_queries
        self.webhook_retry_delay = webhook_retry_delay
        self.webhook_timeout = webhook_timeout
        self.latency = latency
        self._jitter = random.Random(seed)
        self._host = host
        self._requested_port = port
        self._port: int | None = None
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._webhook_wakeup = asyncio.Event()
        self._closing = False

        # state
        self._users: dict[int, FakeUser] = {self.bot.id: self.bot}
        self._chats: dict[int, FakeChat] = {}
        self._chats_by_username: dict[str, FakeChat] = {}
        self._history: dict[int, dict[int, _Stored]] = {}
        self._user_ids = itertools.count(100_000_001)
        self._group_ids = itertools.count(-400_000_001, -1)
        self._supergroup_ids = itertools.count(-1_001_000_000_001, -1)
        self._channel_ids = itertools.count(-1_002_000_000_001, -1)
        self._query_ids = itertools.count(4_242_000_000_000_001)
        self._file_ids = itertools.count(1)
        self._files: dict[str, JSON] = {}
        self.photo_uploads: dict[str, bytes] = {}
        """The bytes of each photo the bot uploaded, by the file_id of its largest size."""

        # updates
        self._next_update_id = 500_000_001
        self._updates: deque[JSON] = deque()
        self._allowed_updates: frozenset[str] | None = None
        self._poll_waiter: asyncio.Future[str] | None = None
        self.poll_conflicts = 0
        """getUpdates calls ended by another one (409): two consumers of one token."""
        self._webhook: _Webhook | None = None
        self._webhook_last_error: tuple[int, str] | None = None
        self.webhook_secret_override: str | None = None
        """When set, webhook POSTs carry this secret instead of the one from setWebhook."""
        self.webhook_deliveries: list[WebhookDelivery] = []
        self.injected_updates: list[JSON] = []
        self.filtered_updates: list[JSON] = []

        # recordings
        self._sent: list[SentMessage] = []
        self._edits: list[EditRecord] = []
        self.inline_edits: list[JSON] = []
        self._callback_queries: dict[str, JSON] = {}
        self.callback_answers: dict[str, JSON] = {}
        self._inline_queries: dict[str, JSON] = {}
        self.inline_answers: dict[str, JSON] = {}
        self.chat_actions: list[tuple[int, str, float]] = []
        self._commands: dict[tuple[str, int | None, int | None, str], list[JSON]] = {}
        self.menu_buttons: dict[int | None, JSON] = {}
        self.calls: deque[CallRecord] = deque(maxlen=calls_kept)
        self.observers: list[Callable[[SentMessage], None]] = []
        """Called with each message the bot sends, as it is recorded: a long run counts what it
        needs here and calls ``forget`` now and then (see ``bench/soak.py``)."""
        self.stats = ServerStats()
        self.internal_errors: list[BaseException] = []
        self._failures: list[_InjectedFailure] = []
        self._global_window: deque[float] = deque()
        self._paid_window: deque[float] = deque()
        self._chat_windows: dict[int, deque[float]] = {}
        self._waiters: list[tuple[Callable[[], Any], asyncio.Future[Any]]] = []

        self._methods: dict[str, _Handler] = {
            "getme": self._m_get_me,
            "logout": self._m_true,
            "close": self._m_true,
            "getupdates": self._m_get_updates,
            "setwebhook": self._m_set_webhook,
            "deletewebhook": self._m_delete_webhook,
            "getwebhookinfo": self._m_get_webhook_info,
            "sendmessage": self._m_send_message,
            "sendphoto": self._m_send_photo,
            "sendlocation": self._m_send_location,
            "sendvenue": self._m_send_venue,
            "sendchataction": self._m_send_chat_action,
            "editmessagetext": self._m_edit_message_text,
            "editmessagecaption": self._m_edit_message_caption,
            "editmessagereplymarkup": self._m_edit_message_reply_markup,
            "deletemessage": self._m_delete_message,
            "answercallbackquery": self._m_answer_callback_query,
            "answerinlinequery": self._m_answer_inline_query,
            "setmycommands": self._m_set_my_commands,
            "getmycommands": self._m_get_my_commands,
            "deletemycommands": self._m_delete_my_commands,
            "getchat": self._m_get_chat,
            "getchatmember": self._m_get_chat_member,
            "getchatadministrators": self._m_get_chat_administrators,
            "getchatmembercount": self._m_get_chat_member_count,
            "setchatmenubutton": self._m_set_chat_menu_button,
            "getchatmenubutton": self._m_get_chat_menu_button,
            "getfile": self._m_get_file,
            "senddocument": self._m_send_document,
            "pinchatmessage": self._m_pin_chat_message,
            "unpinchatmessage": self._m_unpin_chat_message,
        }
        self._file_bytes: dict[str, bytes] = {}
        self._pins: dict[int, list[int]] = {}

    # ---------------------------------------------------------------- lifecycle & addresses

    async def start(self) -> Self:
        """Bind to 127.0.0.1 (a free port unless one was given) and start serving."""
        if self._runner is not None:
            raise RuntimeError("the fake Telegram server is already running")
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("GET", "/file/bot{token}/{path:.+}", self._download)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        runner = web.AppRunner(
            app,
            handle_signals=False,
            access_log=None,
            handler_cancellation=True,
            shutdown_timeout=1.0,
        )
        await runner.setup()
        sock = socket.socket(socket.AF_INET6 if ":" in self._host else socket.AF_INET)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self._host, self._requested_port))
            self._port = int(sock.getsockname()[1])
            site = web.SockSite(runner, sock)
            await site.start()
        except BaseException:
            sock.close()
            await runner.cleanup()
            raise
        self._runner = runner
        self._closing = False
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.webhook_timeout),
            connector=aiohttp.TCPConnector(limit=100, force_close=True),
        )
        self._webhook_wakeup = asyncio.Event()
        self._webhook_task = asyncio.create_task(self._webhook_loop(), name="fake-tg-webhook")
        return self

    async def stop(self) -> None:
        """Stop serving: pending long polls return, the webhook sender stops, sockets close."""
        self._closing = True
        if self._poll_waiter is not None and not self._poll_waiter.done():
            self._poll_waiter.set_result("closing")
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
            self._webhook_task = None
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
        if exc is None and self.internal_errors:
            raise RuntimeError(
                f"the fake Telegram server failed internally: {self.internal_errors[0]!r}"
            ) from self.internal_errors[0]

    @property
    def token(self) -> str:
        return self._token

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the fake Telegram server is not started")
        return self._port

    @property
    def url(self) -> str:
        """Root URL, e.g. ``http://127.0.0.1:8081``."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """For PTB's ``base_url``: ``http://127.0.0.1:PORT/bot`` (PTB appends the token)."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    @property
    def api_url(self) -> str:
        """``base_url`` with the token, for raw HTTP calls: append ``/methodName``."""
        return f"{self.base_url}{self._token}"

    # --------------------------------------------------------------------- HTTP plumbing

    async def _not_found(self, request: web.Request) -> web.Response:
        self.stats.requests += 1
        self.stats.errors[404] += 1
        return self._error_response(ApiError(404, "Not Found"))

    @staticmethod
    def _error_response(error: ApiError) -> web.Response:
        return web.Response(
            body=_dumps(error.to_json()), status=error.code, content_type="application/json"
        )

    async def _handle(self, request: web.Request) -> web.Response:
        if self.latency > 0:
            await asyncio.sleep(self._jitter.random() * self.latency)
        stats = self.stats
        stats.requests += 1
        token = request.match_info["token"]
        method = request.match_info["method"]
        if token != self._token:
            error = (
                ApiError(401, "Unauthorized")
                if _TOKEN_RE.fullmatch(token)
                else ApiError(404, "Not Found")
            )
            stats.errors[error.code] += 1
            return self._error_response(error)
        name = method.lower()
        handler = self._methods.get(name)
        if handler is None:
            stats.errors[404] += 1
            return self._error_response(ApiError(404, "Not Found"))
        stats.by_method[method] += 1
        params = _Params({}, {})
        try:
            params = await self._read_params(request)
            injected = self._injected_failure(name, params)
            if injected is not None:
                if injected.stall:
                    await asyncio.sleep(injected.stall)
                raise injected.error
            result = await handler(params)
        except ApiError as error:
            stats.errors[error.code] += 1
            if error.code == 429:
                stats.flood_rejections += 1
                paid = "paid" if params.flag("allow_paid_broadcast") else "free"
                stats.flood_by_method[f"{method} ({paid})"] += 1
            self._log_call(method, params, error.code)
            return self._error_response(error)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug in the fake: report it loudly at stop()
            self.internal_errors.append(exc)
            stats.errors[500] += 1
            self._log_call(method, params, 500)
            return self._error_response(ApiError(500, "Internal Server Error"))
        self._log_call(method, params, 200)
        if isinstance(result, _Described):
            body: JSON = {"ok": True, "result": result.result, "description": result.description}
        else:
            body = {"ok": True, "result": result}
        return web.Response(body=_dumps(body), content_type="application/json")

    def _log_call(self, method: str, params: _Params, status: int) -> None:
        self.calls.append(
            CallRecord(method, params.values, tuple(params.files), status, time.monotonic())
        )

    async def _read_params(self, request: web.Request) -> _Params:
        values: dict[str, str] = dict(request.query) if request.query_string else {}
        files: dict[str, UploadedFile] = {}
        if request.body_exists:
            content_type = request.content_type
            if content_type == "application/json":
                raw = await request.read()
                if raw.strip():
                    try:
                        data = json.loads(raw)
                    except ValueError:
                        raise _bad("can't parse JSON encoded request") from None
                    if not isinstance(data, dict):
                        raise _bad("JSON encoded request must be an object")
                    for key, value in data.items():
                        if value is None:
                            continue
                        values[key] = value if isinstance(value, str) else json.dumps(value)
            elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, web.FileField):
                        try:
                            data_bytes = value.file.read()
                        finally:
                            value.file.close()
                        files[key] = UploadedFile(
                            key, value.filename, value.content_type, data_bytes
                        )
                    else:
                        values[key] = value if isinstance(value, str) else bytes(value).decode()
            else:
                await request.read()
        return _Params(values, files)

    def _injected_failure(self, method: str, params: _Params) -> _InjectedFailure | None:
        if not self._failures:
            return None
        chat_param = params.values.get("chat_id")
        for failure in self._failures:
            if failure.methods is not None and method not in failure.methods:
                continue
            if failure.chat_id is not None:
                chat = self._chats.get(failure.chat_id)
                names = {str(failure.chat_id)}
                if chat is not None and chat.username:
                    names.add(f"@{chat.username}".lower())
                if chat_param is None or chat_param.lower() not in names:
                    continue
            failure.remaining -= 1
            if failure.remaining <= 0:
                self._failures.remove(failure)
            return failure
        return None

    # ------------------------------------------------------------------------- waiting

    def _notify(self) -> None:
        if not self._waiters:
            return
        for predicate, future in list(self._waiters):
            if future.done():
                continue
            try:
                value = predicate()
            except Exception as exc:
                future.set_exception(exc)
                continue
            if value:
                future.set_result(value)

    async def wait_for(
        self,
        predicate: Callable[[], _T | None],
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - a test helper's deadline
        what: str = "a condition",
    ) -> _T:
        """Wait until ``predicate()`` returns something truthy (re-checked on every change)."""
        value = predicate()
        if value:
            return value
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        entry = (predicate, future)
        self._waiters.append(entry)
        try:
            async with asyncio.timeout(timeout):
                return cast(_T, await future)
        except TimeoutError:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}") from None
        finally:
            self._waiters.remove(entry)

    async def wait_for_messages(
        self,
        n: int = 1,
        *,
        chat_id: ChatRef | None = None,
        kind: str | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[SentMessage]:
        """Wait until the bot has sent at least ``n`` matching messages; return all of them."""

        def ready() -> list[SentMessage] | None:
            found = self.sent(chat_id, kind=kind)
            return found if len(found) >= n else None

        try:
            return await self.wait_for(ready, timeout=timeout)
        except TimeoutError:
            where = "" if chat_id is None else f" in chat {self._chat_id_of(chat_id)}"
            got = [m.text for m in self.sent(chat_id, kind=kind)]
            raise TimeoutError(
                f"expected {n} message(s){where} within {timeout}s, the bot sent "
                f"{len(got)}: {got!r}"
            ) from None

    async def wait_for_edits(
        self,
        n: int = 1,
        *,
        chat_id: ChatRef | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[EditRecord]:
        """Wait until the bot has made at least ``n`` edits (in ``chat_id``); return them."""

        def ready() -> list[EditRecord] | None:
            found = self.edits(chat_id)
            return found if len(found) >= n else None

        return await self.wait_for(ready, timeout=timeout, what=f"{n} edit(s)")

    async def wait_for_callback_answer(
        self,
        query_id: str,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> JSON:
        """Wait for answerCallbackQuery on ``query_id``; return its parameters."""
        return await self.wait_for(
            lambda: self.callback_answers.get(query_id),
            timeout=timeout,
            what=f"an answer to callback query {query_id}",
        )

    async def wait_for_inline_answer(
        self,
        query_id: str,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> JSON:
        """Wait for answerInlineQuery on ``query_id``; return the answer (``results`` parsed)."""
        return await self.wait_for(
            lambda: self.inline_answers.get(query_id),
            timeout=timeout,
            what=f"an answer to inline query {query_id}",
        )

    async def wait_until_consumed(
        self,
        update: JSON,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> None:
        """Wait until the bot confirmed ``update`` (getUpdates offset) or the webhook took it."""
        update_id = int(update["update_id"])

        def consumed() -> bool:
            return not self._updates or int(self._updates[0]["update_id"]) > update_id

        await self.wait_for(consumed, timeout=timeout, what=f"update {update_id} to be consumed")

    # ------------------------------------------------------------------- test: state

    def add_user(
        self,
        first_name: str = "Test User",
        *,
        id: int | None = None,
        username: str | None = None,
        last_name: str | None = None,
        language_code: str | None = "en",
        is_premium: bool | None = None,
        is_bot: bool = False,
    ) -> FakeUser:
        """Create a user the tests can act as."""
        user = FakeUser(
            id=next(self._user_ids) if id is None else id,
            first_name=first_name,
            username=username,
            last_name=last_name,
            language_code=language_code,
            is_premium=is_premium,
            is_bot=is_bot,
        )
        if user.id in self._users:
            raise ValueError(f"user {user.id} already exists")
        self._users[user.id] = user
        return user

    def private_chat(self, user: FakeUser, *, started: bool = True) -> FakeChat:
        """The private chat with ``user`` (created on first use; ``started``: user wrote first)."""
        chat = self._chats.get(user.id)
        if chat is None:
            chat = FakeChat(
                id=user.id,
                type="private",
                first_name=user.first_name,
                last_name=user.last_name,
                username=user.username,
                user=user,
                started=started,
            )
            chat.members[user.id] = "member"
            self._add_chat(chat)
        elif started:
            chat.started = True
        return chat

    def add_group(
        self,
        title: str = "Test Group",
        *,
        id: int | None = None,
        creator: FakeUser | None = None,
        admins: Iterable[FakeUser] = (),
        members: Iterable[FakeUser] = (),
        bot_status: MemberStatus = "member",
    ) -> FakeChat:
        """A basic group the bot is already in (``bot_status``)."""
        chat = FakeChat(
            id=next(self._group_ids) if id is None else id,
            type="group",
            title=title,
            bot_status=bot_status,
        )
        return self._populate(chat, creator, admins, members)

    def add_supergroup(
        self,
        title: str = "Test Supergroup",
        *,
        id: int | None = None,
        username: str | None = None,
        is_forum: bool = False,
        creator: FakeUser | None = None,
        admins: Iterable[FakeUser] = (),
        members: Iterable[FakeUser] = (),
        bot_status: MemberStatus = "member",
    ) -> FakeChat:
        """A supergroup (a forum with ``is_forum=True``; add topics with ``add_topic``)."""
        chat = FakeChat(
            id=next(self._supergroup_ids) if id is None else id,
            type="supergroup",
            title=title,
            username=username,
            is_forum=is_forum,
            bot_status=bot_status,
        )
        return self._populate(chat, creator, admins, members)

    def add_channel(
        self,
        title: str = "Test Channel",
        *,
        id: int | None = None,
        username: str | None = None,
        creator: FakeUser | None = None,
        bot_status: MemberStatus = "administrator",
    ) -> FakeChat:
        """A channel; the bot is an administrator by default (needed to post)."""
        chat = FakeChat(
            id=next(self._channel_ids) if id is None else id,
            type="channel",
            title=title,
            username=username,
            bot_status=bot_status,
        )
        return self._populate(chat, creator, (), ())

    def _populate(
        self,
        chat: FakeChat,
        creator: FakeUser | None,
        admins: Iterable[FakeUser],
        members: Iterable[FakeUser],
    ) -> FakeChat:
        if chat.id in self._chats:
            raise ValueError(f"chat {chat.id} already exists")
        if creator is not None:
            chat.members[creator.id] = "creator"
        for admin in admins:
            chat.members[admin.id] = "administrator"
        for member in members:
            chat.members.setdefault(member.id, "member")
        self._add_chat(chat)
        return chat

    def _add_chat(self, chat: FakeChat) -> None:
        self._chats[chat.id] = chat
        self._history[chat.id] = {}
        if chat.username:
            self._chats_by_username[chat.username.lower()] = chat

    def add_topic(
        self, chat: FakeChat, name: str, *, by: FakeUser | None = None, notify: bool = True
    ) -> int:
        """Create a forum topic; returns its ``message_thread_id``.

        Like Telegram, the topic is opened by a ``forum_topic_created`` service message whose id
        is the thread id; with ``notify`` the bot receives that message as an update.
        """
        if not chat.is_forum:
            raise ValueError(f"chat {chat.id} is not a forum")
        sender = by or self._some_member(chat)
        message = self._new_message(chat, sender)
        thread_id = int(message["message_id"])
        message["message_thread_id"] = thread_id
        message["is_topic_message"] = True
        message["forum_topic_created"] = {"name": name, "icon_color": 7322096}
        chat.topics[thread_id] = name
        self._store(chat, message, from_bot=False)
        if notify:
            self._enqueue("message", message)
        return thread_id

    def set_member(self, chat: FakeChat, user: FakeUser, status: MemberStatus = "member") -> None:
        """Set ``user``'s membership status in ``chat`` (no update is sent)."""
        if user.id == self.bot.id:
            chat.bot_status = status
        else:
            chat.members[user.id] = status

    def set_admin(self, chat: FakeChat, user: FakeUser, is_admin: bool = True) -> None:
        """Make ``user`` an administrator of ``chat`` (or a plain member again)."""
        self.set_member(chat, user, "administrator" if is_admin else "member")

    def chat(self, chat_id: int) -> FakeChat:
        return self._chats[chat_id]

    def user(self, user_id: int) -> FakeUser:
        return self._users[user_id]

    def history(self, chat: ChatRef) -> list[JSON]:
        """Every message in the chat (users' and the bot's) that was not deleted, oldest first."""
        stored = self._history.get(self._chat_id_of(chat), {})
        return [s.message for s in stored.values() if not s.deleted]

    # ---------------------------------------------------------------- test: updates

    def inject_update(self, kind: str, payload: JSON) -> JSON:
        """Queue a raw update of type ``kind`` (for update types without a helper)."""
        if kind not in _ALL_UPDATE_TYPES:
            raise ValueError(f"unknown update type {kind!r}")
        return self._enqueue(kind, payload)

    def send_user_message(
        self,
        user: FakeUser,
        chat: FakeChat | int | None = None,
        text: str = "",
        *,
        message_thread_id: int | None = None,
        reply_to: MessageRef | None = None,
        entities: list[JSON] | None = None,
    ) -> JSON:
        """``user`` writes ``text`` in ``chat`` (default: the private chat with the bot).

        Entities Telegram detects (``bot_command`` at offset 0 for commands, ``/cmd@botname``
        included; mentions, hashtags, URLs) are added unless ``entities`` is given.
        Returns the ``message`` Update.
        """
        target = self._user_chat(user, chat)
        message = self._new_message(target, user)
        self._apply_thread(target, message, message_thread_id, reply_to)
        message["text"] = text
        found = _detect_entities(text, []) if entities is None else entities
        if found:
            message["entities"] = found
        self._store(target, message, from_bot=False)
        return self._enqueue("message", message)

    def send_user_file(
        self,
        user: FakeUser,
        chat: FakeChat | int | None,
        data: bytes,
        *,
        as_photo: bool = True,
        file_name: str = "photo.jpg",
        mime_type: str = "image/jpeg",
        caption: str | None = None,
        reply_to: MessageRef | None = None,
    ) -> JSON:
        """``user`` sends ``data`` as a photo (three sizes, like Telegram) or as a document;
        the bot can ``getFile`` it and download the bytes."""
        target = self._user_chat(user, chat)
        message = self._new_message(target, user)
        self._apply_thread(target, message, None, reply_to)
        number = next(self._file_ids)
        if as_photo:
            sizes = []
            for width in (90, 320, 1280):
                file_id = f"AgACAgIAAxkBAAU{number:06d}x{width}{secrets.token_urlsafe(8)}"
                entry = {
                    "file_id": file_id,
                    "file_unique_id": f"AQAU{number:06d}x{width}",
                    "file_size": len(data),
                    "width": width,
                    "height": width * 2 // 3,
                }
                self._files[file_id] = dict(entry, kind="photo")
                self._file_bytes[file_id] = data
                sizes.append(entry)
            message["photo"] = sizes
        else:
            file_id = f"BQACAgIAAxkBAAU{number:06d}{secrets.token_urlsafe(8)}"
            document = {
                "file_id": file_id,
                "file_unique_id": f"AgAU{number:06d}",
                "file_name": file_name,
                "mime_type": mime_type,
                "file_size": len(data),
            }
            self._files[file_id] = dict(document, kind="document")
            self._file_bytes[file_id] = data
            message["document"] = document
        if caption is not None:
            message["caption"] = caption
        self._store(target, message, from_bot=False)
        return self._enqueue("message", message)

    async def _m_get_file(self, p: _Params) -> JSON:
        file_id = p.text("file_id") or ""
        known = self._files.get(file_id)
        if known is None or file_id not in self._file_bytes:
            raise _bad("wrong file_id or the file is temporarily unavailable")
        return {
            "file_id": file_id,
            "file_unique_id": known["file_unique_id"],
            "file_size": len(self._file_bytes[file_id]),
            "file_path": f"files/{file_id}",
        }

    async def _download(self, request: web.Request) -> web.Response:
        self.stats.requests += 1
        if request.match_info["token"] != self._token:
            return self._error_response(ApiError(401, "Unauthorized"))
        file_id = request.match_info["path"].removeprefix("files/")
        data = self._file_bytes.get(file_id)
        if data is None:
            return self._error_response(ApiError(404, "Not Found"))
        return web.Response(body=data, content_type="application/octet-stream")

    def share_location(
        self,
        user: FakeUser,
        chat: FakeChat | int | None,
        latitude: float,
        longitude: float,
        *,
        live_period: int | None = None,
        horizontal_accuracy: float | None = None,
    ) -> JSON:
        """``user`` shares a location (a live one with ``live_period``)."""
        target = self._user_chat(user, chat)
        message = self._new_message(target, user)
        location: JSON = {"latitude": latitude, "longitude": longitude}
        if horizontal_accuracy is not None:
            location["horizontal_accuracy"] = horizontal_accuracy
        if live_period is not None:
            location["live_period"] = live_period
        message["location"] = location
        self._store(target, message, from_bot=False)
        return self._enqueue("message", message)

    def press_button(
        self,
        user: FakeUser,
        message: MessageRef,
        callback_data: str,
        *,
        check: bool = True,
    ) -> JSON:
        """``user`` presses the inline button with ``callback_data`` under ``message``.

        With ``check`` (default) the message must exist and currently show such a button.
        Returns the ``callback_query`` Update; its ``id`` is what answerCallbackQuery needs.
        """
        chat_id, message_id = self._message_key(message)
        stored = self._history.get(chat_id, {}).get(message_id)
        if stored is None or stored.deleted:
            raise LookupError(f"message {message_id} in chat {chat_id} does not exist")
        current = stored.message
        if check:
            rows = current.get("reply_markup", {}).get("inline_keyboard", [])
            available = [b.get("callback_data") for row in rows for b in row]
            if callback_data not in available:
                raise ValueError(
                    f"message {message_id} has no button with callback_data {callback_data!r};"
                    f" it has {available!r}"
                )
        query_id = str(next(self._query_ids))
        query: JSON = {
            "id": query_id,
            "from": user.to_json(),
            "message": current,
            "chat_instance": str((chat_id * 2_654_435_761) % 10**19),
            "data": callback_data,
        }
        self._callback_queries[query_id] = query
        return self._enqueue("callback_query", query)

    def inline_query(
        self, user: FakeUser, query: str, *, offset: str = "", chat_type: str | None = "sender"
    ) -> JSON:
        """``user`` types ``@botname query``; returns the ``inline_query`` Update."""
        query_id = str(next(self._query_ids))
        payload: JSON = {"id": query_id, "from": user.to_json(), "query": query, "offset": offset}
        if chat_type is not None:
            payload["chat_type"] = chat_type
        self._inline_queries[query_id] = payload
        return self._enqueue("inline_query", payload)

    def channel_post(self, chat: FakeChat, text: str) -> JSON:
        """A post in the channel ``chat``; returns the ``channel_post`` Update."""
        if chat.type != "channel":
            raise ValueError(f"chat {chat.id} is not a channel")
        message = self._new_message(chat, None)
        message["text"] = text
        found = _detect_entities(text, [])
        if found:
            message["entities"] = found
        self._store(chat, message, from_bot=False)
        return self._enqueue("channel_post", message)

    def my_chat_member(
        self,
        chat: FakeChat,
        new_status: MemberStatus,
        *,
        old_status: MemberStatus | None = None,
        by: FakeUser | None = None,
        rights: JSON | None = None,
        service_message: bool = True,
    ) -> JSON:
        """The bot's status in ``chat`` changes (added, promoted, demoted, removed, blocked).

        Sends the ``my_chat_member`` update; in groups, adding or removing the bot also sends
        the ``new_chat_members`` / ``left_chat_member`` service message, as Telegram does.
        """
        old = old_status or chat.bot_status
        actor = by or (chat.user if chat.type == "private" else self._some_member(chat))
        if actor is None:
            raise ValueError(f"who changes the bot's status in chat {chat.id}? pass by=")
        chat.bot_status = new_status
        bot_json = self.bot.to_json()
        payload: JSON = {
            "chat": chat.to_json(),
            "from": actor.to_json(),
            "date": int(time.time()),
            "old_chat_member": self._member_json(bot_json, old, chat),
            "new_chat_member": self._member_json(bot_json, new_status, chat, rights),
        }
        update = self._enqueue("my_chat_member", payload)
        was_in = old in ("creator", "administrator", "member", "restricted")
        is_in = new_status in ("creator", "administrator", "member", "restricted")
        if service_message and chat.type in ("group", "supergroup") and was_in != is_in:
            message = self._new_message(chat, actor)
            if is_in:
                message["new_chat_members"] = [bot_json]
                message["new_chat_member"] = bot_json
                message["new_chat_participant"] = bot_json
            else:
                message["left_chat_member"] = bot_json
                message["left_chat_participant"] = bot_json
            self._store(chat, message, from_bot=False)
            self._enqueue("message", message)
        return update

    def block_bot(self, user: FakeUser) -> JSON:
        """``user`` blocks the bot: ``my_chat_member`` (kicked); later sends answer 403."""
        chat = self.private_chat(user)
        chat.blocked = True
        return self.my_chat_member(chat, "kicked", old_status="member", by=user)

    def unblock_bot(self, user: FakeUser) -> JSON:
        """``user`` unblocks the bot (``my_chat_member`` back to member)."""
        chat = self.private_chat(user)
        chat.blocked = False
        return self.my_chat_member(chat, "member", old_status="kicked", by=user)

    def migrate_group(
        self,
        old_chat: FakeChat,
        new_supergroup_id: int | None = None,
        *,
        by: FakeUser | None = None,
    ) -> FakeChat:
        """Upgrade the basic group ``old_chat`` to a supergroup; returns the supergroup.

        Queues the ``migrate_to_chat_id`` message in the old group and the
        ``migrate_from_chat_id`` message in the new one. Afterwards any call naming the old
        group answers 400 "group chat was upgraded to a supergroup chat" with
        ``parameters.migrate_to_chat_id``.
        """
        if old_chat.type != "group":
            raise ValueError(f"chat {old_chat.id} is not a basic group")
        if old_chat.migrated_to is not None:
            raise ValueError(f"chat {old_chat.id} was already migrated")
        actor = by or self._some_member(old_chat)
        if actor is None:
            raise ValueError("who upgrades the group? pass by=")
        new_chat = FakeChat(
            id=next(self._supergroup_ids) if new_supergroup_id is None else new_supergroup_id,
            type="supergroup",
            title=old_chat.title,
            members=dict(old_chat.members),
            bot_status=old_chat.bot_status,
            migrated_from=old_chat.id,
        )
        if new_chat.id in self._chats:
            raise ValueError(f"chat {new_chat.id} already exists")
        self._add_chat(new_chat)
        old_message = self._new_message(old_chat, actor)
        old_message["migrate_to_chat_id"] = new_chat.id
        self._store(old_chat, old_message, from_bot=False)
        old_chat.migrated_to = new_chat.id
        new_message = self._new_message(new_chat, actor)
        new_message["migrate_from_chat_id"] = old_chat.id
        self._store(new_chat, new_message, from_bot=False)
        self._enqueue("message", old_message)
        self._enqueue("message", new_message)
        return new_chat

    # --------------------------------------------------------------- test: failures

    def inject_flood(
        self, chat: ChatRef, retry_after: int, *, method: str | None = None, times: int = 1
    ) -> None:
        """The next ``times`` sends (sendMessage, sendPhoto, ...; or only ``method``) to
        ``chat`` answer 429 "Too Many Requests: retry after N" with ``retry_after``."""
        self.fail_next(
            method or sorted(_SEND_METHODS),
            chat_id=chat,
            error_code=429,
            description=f"Too Many Requests: retry after {retry_after}",
            parameters={"retry_after": retry_after},
            times=times,
        )

    def fail_next(
        self,
        method: str | Iterable[str] | None = None,
        *,
        chat_id: ChatRef | None = None,
        error_code: int = 400,
        description: str = "Bad Request: injected failure",
        parameters: JSON | None = None,
        times: int = 1,
        stall: float = 0.0,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` (one name, several, or any when
        ``None``) naming ``chat_id`` (any chat when ``None``) with the given error, after
        ``stall`` seconds."""
        methods: frozenset[str] | None
        if method is None:
            methods = None
        elif isinstance(method, str):
            methods = frozenset({method.lower()})
        else:
            methods = frozenset(m.lower() for m in method)
        target = None if chat_id is None else self._chat_id_of(chat_id)
        error = ApiError(error_code, description, parameters)
        self._failures.append(_InjectedFailure(methods, target, error, times, stall))

    def stall_next(
        self,
        method: str | Iterable[str] | None = None,
        *,
        seconds: float,
        chat_id: ChatRef | None = None,
        times: int = 1,
    ) -> None:
        """The next ``times`` matching calls hang for ``seconds`` before they fail with 504,
        unprocessed: a client with a shorter timeout sees a timeout, and nothing was sent."""
        self.fail_next(
            method,
            chat_id=chat_id,
            error_code=504,
            description="Gateway Timeout",
            times=times,
            stall=seconds,
        )

    # ----------------------------------------------------------- test: assertions

    def sent(
        self,
        chat_id: ChatRef | None = None,
        *,
        kind: str | None = None,
        include_deleted: bool = True,
    ) -> list[SentMessage]:
        """Messages the bot sent, oldest first (in ``chat_id`` / of ``kind`` if given)."""
        wanted = None if chat_id is None else self._chat_id_of(chat_id)
        return [
            m
            for m in self._sent
            if (wanted is None or m.chat_id == wanted)
            and (kind is None or m.kind == kind)
            and (include_deleted or not m.deleted)
        ]

    def edits(self, chat_id: ChatRef | None = None) -> list[EditRecord]:
        """Edits the bot made to its messages, oldest first."""
        wanted = None if chat_id is None else self._chat_id_of(chat_id)
        return [e for e in self._edits if wanted is None or e.message.chat_id == wanted]

    def forget(self, chat_ids: Iterable[int] = ()) -> None:
        """Forget the recorded sends and their times in ``stats``, the updates given to the bot,
        and the stored messages of ``chat_ids`` (chats where no answer is awaited): what a long
        run no longer needs, since its recording would otherwise grow with every message.
        Counters and chats are kept."""
        self._sent.clear()
        self.stats.send_times.clear()
        self.injected_updates.clear()
        self.filtered_updates.clear()
        for chat_id in chat_ids:
            if chat_id in self._history:
                self._history[chat_id] = {}

    def clear_recordings(self) -> None:
        """Forget recorded messages, edits, answers and counters (state is kept)."""
        self._sent.clear()
        self._edits.clear()
        self.inline_edits.clear()
        self.callback_answers.clear()
        self.inline_answers.clear()
        self.chat_actions.clear()
        self.calls.clear()
        self.webhook_deliveries.clear()
        self.stats.reset()

    def commands(self, scope: JSON | None = None, language_code: str = "") -> list[JSON] | None:
        """The command list stored for exactly this scope and language (``None`` if unset)."""
        key = self._scope_key(scope or {"type": "default"}, language_code)
        stored = self._commands.get(key)
        return None if stored is None else [dict(c) for c in stored]

    @property
    def pending_updates(self) -> list[JSON]:
        """Updates queued and not yet confirmed by the bot."""
        return list(self._updates)

    @property
    def long_polling(self) -> bool:
        """Whether a getUpdates call is currently waiting for updates."""
        return self._poll_waiter is not None and not self._poll_waiter.done()

    @property
    def webhook_url(self) -> str | None:
        return None if self._webhook is None else self._webhook.url

    @property
    def webhook_secret(self) -> str | None:
        return None if self._webhook is None else self._webhook.secret_token

    # ----------------------------------------------------------------- internals

    def _chat_id_of(self, chat: ChatRef) -> int:
        if isinstance(chat, FakeChat | FakeUser):
            return chat.id
        return int(chat)

    def _some_member(self, chat: FakeChat) -> FakeUser | None:
        for wanted in ("creator", "administrator", "member"):
            for user_id, status in chat.members.items():
                if status == wanted and user_id in self._users:
                    return self._users[user_id]
        return chat.user

    def _user_chat(self, user: FakeUser, chat: FakeChat | int | None) -> FakeChat:
        if chat is None or (isinstance(chat, int) and chat == user.id):
            target = self.private_chat(user)
            if target.blocked:
                self.unblock_bot(user)
            return target
        target = chat if isinstance(chat, FakeChat) else self._chats[int(chat)]
        if target.type == "channel":
            raise ValueError("users do not write in channels; use channel_post()")
        if target.type == "private" and target.id != user.id:
            raise ValueError("a private chat belongs to one user")
        if target.type != "private":
            status = target.members.get(user.id)
            if status in (None, "left", "kicked"):
                target.members[user.id] = "member"
        return target

    def _message_key(self, message: MessageRef) -> tuple[int, int]:
        if isinstance(message, SentMessage):
            return message.chat_id, message.message_id
        return int(message["chat"]["id"]), int(message["message_id"])

    def _new_message(self, chat: FakeChat, sender: FakeUser | None) -> JSON:
        message_id = chat.next_message_id
        chat.next_message_id += 1
        message: JSON = {"message_id": message_id}
        if sender is not None and chat.type != "channel":
            message["from"] = sender.to_json()
        if chat.type == "channel":
            message["sender_chat"] = chat.to_json()
        message["chat"] = chat.to_json()
        message["date"] = int(time.time())
        return message

    def _apply_thread(
        self,
        chat: FakeChat,
        message: JSON,
        thread_id: int | None,
        reply_to: MessageRef | int | None,
    ) -> None:
        reply: JSON | None = None
        if reply_to is not None:
            reply_id = reply_to if isinstance(reply_to, int) else self._message_key(reply_to)[1]
            stored = self._history[chat.id].get(reply_id)
            if stored is None or stored.deleted:
                raise LookupError(f"message {reply_id} in chat {chat.id} does not exist")
            reply = stored.message
            if thread_id is None and chat.is_forum:
                thread_id = reply.get("message_thread_id")
        if thread_id is not None:
            if chat.is_forum and thread_id not in chat.topics:
                raise LookupError(f"chat {chat.id} has no topic {thread_id}")
            message["message_thread_id"] = thread_id
            if chat.is_forum:
                message["is_topic_message"] = True
                if reply is None:
                    reply = self._history[chat.id][thread_id].message
        if reply is not None:
            message["reply_to_message"] = {
                k: v for k, v in reply.items() if k != "reply_to_message"
            }

    def _store(
        self, chat: FakeChat, message: JSON, *, from_bot: bool, record: SentMessage | None = None
    ) -> None:
        self._history[chat.id][int(message["message_id"])] = _Stored(message, from_bot, record)

    def _enqueue(self, kind: str, payload: JSON) -> JSON:
        update: JSON = {"update_id": self._next_update_id, kind: payload}
        self._next_update_id += 1
        self.injected_updates.append(update)
        allowed = self._allowed_updates
        if (allowed is None and kind not in _DEFAULT_UPDATE_TYPES) or (
            allowed is not None and kind not in allowed
        ):
            self.filtered_updates.append(update)
            return update
        self._updates.append(update)
        if self._poll_waiter is not None and not self._poll_waiter.done():
            self._poll_waiter.set_result("update")
        if self._webhook is not None:
            self._webhook_wakeup.set()
        return update

    def _set_allowed_updates(self, allowed: Any) -> list[str] | None:
        if allowed is None:
            return None
        if not isinstance(allowed, list) or not all(isinstance(a, str) for a in allowed):
            raise _bad("can't parse allowed updates: expected an Array of String")
        names = [a for a in allowed if a in _ALL_UPDATE_TYPES]
        self._allowed_updates = frozenset(names) if names else None
        return allowed

    def _member_json(
        self, user_json: JSON, status: str, chat: FakeChat, rights: JSON | None = None
    ) -> JSON:
        data: JSON = {"user": user_json, "status": status}
        if status == "creator":
            data["is_anonymous"] = False
        elif status == "administrator":
            data.update(_ADMIN_RIGHTS)
            if chat.type == "channel":
                data.update(can_post_messages=True, can_edit_messages=True)
            else:
                data["can_pin_messages"] = True
            if chat.type == "supergroup":
                data["can_manage_topics"] = chat.is_forum
            if rights:
                data.update(rights)
        elif status == "restricted":
            data["is_member"] = True
            data.update(_MEMBER_PERMISSIONS)
            data["can_edit_tag"] = False
            data["until_date"] = 0
            if rights:
                data.update(rights)
        elif status == "kicked":
            data["until_date"] = 0
        return data

    # ----------------------------------------------------------- request helpers

    def _resolve_chat(self, p: _Params, name: str = "chat_id", *, send: bool = False) -> FakeChat:
        raw = p.values.get(name, "").strip()
        if not raw:
            raise _bad(f"{name} is empty")
        chat: FakeChat | None
        if raw.startswith("@"):
            chat = self._chats_by_username.get(raw[1:].lower())
        else:
            try:
                chat = self._chats.get(int(raw))
            except ValueError:
                chat = None
        if chat is None:
            raise _bad("chat not found")
        return self._check_access(chat, send=send)

    def _check_access(self, chat: FakeChat, *, send: bool) -> FakeChat:
        if chat.migrated_to is not None:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": chat.migrated_to},
            )
        if chat.type == "private":
            if chat.blocked:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            if send and not chat.started:
                raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
            return chat
        kind = f"{chat.type} chat"
        if chat.bot_status == "kicked":
            raise ApiError(403, f"Forbidden: bot was kicked from the {kind}")
        if chat.bot_status == "left":
            raise ApiError(403, f"Forbidden: bot is not a member of the {kind}")
        if send and chat.type == "channel" and chat.bot_status not in ("administrator", "creator"):
            raise _bad("need administrator rights in the channel chat")
        return chat

    def _parse_inline_keyboard(self, markup: JSON) -> JSON:
        rows = markup.get("inline_keyboard")
        if not isinstance(rows, list):
            raise _bad('can\'t parse inline keyboard: field "inline_keyboard" must be an Array')
        clean_rows: list[list[JSON]] = []
        for row in rows:
            if not isinstance(row, list):
                raise _bad("can't parse inline keyboard: expected an Array of buttons")
            clean_row: list[JSON] = []
            for button in row:
                if not isinstance(button, dict):
                    raise _bad(
                        "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
                    )
                if "text" not in button:
                    raise _bad("can't parse inline keyboard button: Can't find field \"text\"")
                if not isinstance(button["text"], str):
                    raise _bad(
                        'can\'t parse inline keyboard button: Field "text" must be of type String'
                    )
                action = next(
                    (a for a in _BUTTON_ACTIONS if button.get(a) not in (None, "", False)), None
                )
                if action is None:
                    raise _bad(
                        "can't parse inline keyboard button: Text buttons are unallowed in the "
                        "inline keyboard"
                    )
                if action == "callback_data":
                    data = button["callback_data"]
                    if not isinstance(data, str) or not 1 <= len(data.encode()) <= 64:
                        raise _bad("BUTTON_DATA_INVALID")
                elif action == "url":
                    url = str(button["url"])
                    reason = _link_error(url)
                    if reason is not None:
                        raise _bad(f"inline keyboard button URL '{url}' is invalid: {reason}")
                clean: JSON = {"text": button["text"], action: button[action]}
                clean_row.append(clean)
            clean_rows.append(clean_row)
        return {"inline_keyboard": clean_rows}

    def _parse_reply_markup(self, p: _Params) -> tuple[JSON | None, JSON | None]:
        """Returns (markup as sent, inline keyboard to put on the message)."""
        markup = p.json_object("reply_markup", "can't parse reply keyboard markup JSON object")
        if markup is None:
            return None, None
        if "inline_keyboard" in markup:
            inline = self._parse_inline_keyboard(markup)
            return inline, inline
        if "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise _bad('can\'t parse keyboard: field "keyboard" must be an Array of Arrays')
            for row in rows:
                for button in row:
                    if not isinstance(button, str | dict) or (
                        isinstance(button, dict) and not isinstance(button.get("text"), str)
                    ):
                        raise _bad("can't parse keyboard button: Can't find field \"text\"")
            return markup, None
        if markup.get("remove_keyboard") is True or markup.get("force_reply") is True:
            return markup, None
        return None, None

    def _send_context(self, p: _Params, chat: FakeChat) -> tuple[int | None, JSON | None]:
        """Validate message_thread_id and reply_parameters; returns (thread id, replied msg)."""
        thread_id = p.integer("message_thread_id")
        history = self._history[chat.id]
        if thread_id is not None and thread_id != 0:
            if chat.is_forum:
                if thread_id not in chat.topics:
                    raise _bad("message thread not found")
            else:
                stored = history.get(thread_id)
                if stored is None or stored.deleted or chat.type in ("private", "channel"):
                    raise _bad("message thread not found")
        else:
            thread_id = None
        reply = p.json_object("reply_parameters", "can't parse reply parameters JSON object")
        reply_id: int | None
        allow_without = p.flag("allow_sending_without_reply")
        quote: str | None = None
        reply_chat = chat
        if reply is not None:
            if "message_id" not in reply:
                raise _bad(
                    "can't parse reply parameters JSON object: Can't find field \"message_id\""
                )
            try:
                reply_id = int(reply["message_id"])
            except (TypeError, ValueError):
                raise _bad(
                    'can\'t parse reply parameters JSON object: Field "message_id" must be a '
                    "valid Number"
                ) from None
            allow_without = bool(reply.get("allow_sending_without_reply", False))
            quote = reply.get("quote")
            if reply.get("chat_id") not in (None, "", chat.id):
                reply_chat = self._resolve_chat(_Params({"chat_id": str(reply["chat_id"])}, {}))
        else:
            reply_id = p.integer("reply_to_message_id")
        replied: JSON | None = None
        if reply_id:
            stored = self._history[reply_chat.id].get(reply_id)
            if stored is None or stored.deleted:
                if not allow_without:
                    raise _bad("message to be replied not found")
            else:
                replied = stored.message
                if quote is not None and quote not in str(
                    replied.get("text", replied.get("caption", ""))
                ):
                    raise _bad("QUOTE_TEXT_INVALID")
        if thread_id is None and replied is not None and chat.is_forum:
            thread_id = replied.get("message_thread_id")
        if thread_id is not None and replied is None and chat.is_forum:
            replied = history[thread_id].message
        return thread_id, replied

    def _format(
        self,
        raw: str,
        parse_mode: str | None,
        explicit_entities: Any,
        *,
        limit: int,
        empty_error: str | None,
        too_long_error: str,
    ) -> tuple[str, list[JSON]]:
        mode = (parse_mode or "").strip().lower()
        entities: list[JSON]
        if mode == "html":
            try:
                text, entities = parse_html(raw, strict_entities=self.strict_html_entities)
            except _ParseError as error:
                raise _bad(f"can't parse entities: {error}") from None
        elif mode in ("markdownv2", "markdown"):
            text, entities = raw, []
        elif mode == "":
            text = raw
            entities = self._check_entities(text, explicit_entities)
        else:
            raise _bad("unsupported parse_mode")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise _bad("text must be encoded in UTF-8") from None
        if empty_error is not None and not text.strip():
            raise _bad(empty_error)
        if len(text) > limit:
            raise _bad(too_long_error)
        return text, _detect_entities(text, entities)

    @staticmethod
    def _check_entities(text: str, entities: Any) -> list[JSON]:
        if entities is None:
            return []
        if not isinstance(entities, list):
            raise _bad("can't parse entities JSON object")
        size = _u16len(text)
        checked: list[JSON] = []
        for entity in entities:
            if not isinstance(entity, dict) or not {"type", "offset", "length"} <= entity.keys():
                raise _bad("can't parse MessageEntity: Can't find field \"type\"")
            offset, length = int(entity["offset"]), int(entity["length"])
            if offset < 0 or length <= 0 or offset + length > size:
                continue  # Telegram silently drops entities outside the text
            checked.append(dict(entity))
        checked.sort(key=lambda e: (e["offset"], -e["length"]))
        return checked

    def _flood_gate(self, chat: FakeChat, *, paid: bool = False) -> float:
        now = time.monotonic()
        limits = self.flood
        if not limits.enabled:
            return now
        # a paid broadcast ignores the free ceiling for one of its own (and is counted in it);
        # a free send sees only the free sends (answering users is not held up by a paid run)
        window = self._paid_window if paid else self._global_window
        ceiling = limits.paid_per_second if paid else limits.global_per_second
        while window and window[0] <= now - 1.0:
            window.popleft()
        if len(window) >= ceiling:
            raise _flood(max(1, math.ceil(window[0] + 1.0 - now)))
        chat_window = self._chat_windows.get(chat.id)
        if chat_window is None:
            chat_window = self._chat_windows[chat.id] = deque()
        if chat.type == "private":
            span, allowed = 1.0, limits.private_per_second
        else:
            span, allowed = 60.0, limits.group_per_minute
        while chat_window and chat_window[0] <= now - span:
            chat_window.popleft()
        if len(chat_window) >= allowed:
            raise _flood(max(1, math.ceil(chat_window[0] + span - now)))
        return now

    def _commit_send(
        self,
        chat: FakeChat,
        message: JSON,
        *,
        now: float,
        kind: Literal["message", "photo", "location", "venue", "document"],
        method: str,
        p: _Params,
        text: str | None = None,
        raw_text: str | None = None,
        parse_mode: str | None = None,
        entities: list[JSON] | None = None,
        reply_markup: JSON | None = None,
        link_preview_options: JSON | None = None,
        location: JSON | None = None,
        venue: JSON | None = None,
        photo: JSON | None = None,
    ) -> JSON:
        paid = p.flag("allow_paid_broadcast")
        if paid:
            self.stats.paid_sends += 1
        if self.flood.enabled:
            if not paid:
                self._global_window.append(now)
            self._paid_window.append(now)
            self._chat_windows[chat.id].append(now)
        times = self.stats.send_times.get(chat.id)
        if times is None:
            times = self.stats.send_times[chat.id] = []
        times.append(now)
        replied = message.get("reply_to_message")
        record = SentMessage(
            chat_id=chat.id,
            message_id=int(message["message_id"]),
            kind=kind,
            method=method,
            text=text,
            raw_text=raw_text,
            parse_mode=parse_mode,
            entities=entities or [],
            reply_markup=reply_markup,
            message_thread_id=message.get("message_thread_id"),
            reply_to_message_id=None if replied is None else int(replied["message_id"]),
            link_preview_options=link_preview_options,
            location=location,
            venue=venue,
            photo=photo,
            params=p.values,
            date=int(message["date"]),
            sent_at=now,
            message=message,
        )
        self._store(chat, message, from_bot=True, record=record)
        self._sent.append(record)
        for observer in self.observers:
            observer(record)
        self._notify()
        return message

    def _bot_message(self, chat: FakeChat, thread_id: int | None, replied: JSON | None) -> JSON:
        message = self._new_message(chat, self.bot)
        if thread_id is not None:
            message["message_thread_id"] = thread_id
            if chat.is_forum:
                message["is_topic_message"] = True
        if replied is not None:
            message["reply_to_message"] = {
                k: v for k, v in replied.items() if k != "reply_to_message"
            }
        return message

    # ------------------------------------------------------------------ API methods

    async def _m_true(self, p: _Params) -> bool:
        return True

    async def _m_get_me(self, p: _Params) -> JSON:
        me = self.bot.to_json()
        me.update(
            can_join_groups=True,
            can_read_all_group_messages=True,
            supports_inline_queries=self.supports_inline_queries,
            can_connect_to_business=False,
            has_main_web_app=False,
        )
        return me

    def _batch(self, limit: int) -> list[JSON]:
        if limit >= len(self._updates):
            return list(self._updates)
        return list(itertools.islice(self._updates, limit))

    def _confirm(self, offset: int) -> None:
        updates = self._updates
        if offset > 0:
            confirmed = False
            while updates and int(updates[0]["update_id"]) < offset:
                updates.popleft()
                confirmed = True
            if confirmed:
                self._notify()
        elif offset < 0:
            while len(updates) > -offset:
                updates.popleft()
            self._notify()

    async def _m_get_updates(self, p: _Params) -> list[JSON]:
        if self._webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        offset = p.integer("offset", 0) or 0
        limit = p.integer("limit", 100) or 100
        limit = min(max(limit, 1), 100)
        timeout = max(p.integer("timeout", 0) or 0, 0)
        if "allowed_updates" in p.values:
            self._set_allowed_updates(
                p.json("allowed_updates", "can't parse allowed updates JSON object")
            )
        previous = self._poll_waiter
        if previous is not None and not previous.done():
            previous.set_result("conflict")
            self.poll_conflicts += 1
        self._confirm(offset)
        if self._updates or timeout <= 0 or self._closing:
            return self._batch(limit)
        waiter: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._poll_waiter = waiter
        self._notify()
        try:
            async with asyncio.timeout(timeout):
                reason = await waiter
        except TimeoutError:
            return []
        finally:
            if self._poll_waiter is waiter:
                self._poll_waiter = None
        if reason == "conflict":
            raise ApiError(
                409,
                "Conflict: terminated by other getUpdates request; make sure that only one bot "
                "instance is running",
            )
        if reason == "closing" or self._webhook is not None:
            return []
        return self._batch(limit)

    async def _m_set_webhook(self, p: _Params) -> _Described:
        url = (p.text("url") or "").strip()
        if not url:
            return await self._m_delete_webhook(p)
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise _bad("bad webhook: Wrong port number specified in the URL") from None
        if parts.scheme not in ("http", "https"):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        host = parts.hostname or ""
        if host not in _LOOPBACK_HOSTS:
            # The fake never talks to the outside world.
            raise _bad("bad webhook: Failed to resolve host: Name or service not known")
        if port == 0:
            raise _bad("bad webhook: Wrong port number specified in the URL")
        secret = p.values.get("secret_token", "")
        if len(secret) > 256:
            raise _bad("secret token is too long")
        if not _SECRET_RE.fullmatch(secret):
            raise _bad("secret token contains unallowed characters")
        max_connections = min(max(p.integer("max_connections", 40) or 40, 1), 100)
        allowed = self._webhook.allowed_updates if self._webhook else None
        if "allowed_updates" in p.values:
            allowed = self._set_allowed_updates(
                p.json("allowed_updates", "can't parse allowed updates JSON object")
            )
        if p.flag("drop_pending_updates"):
            self._updates.clear()
            self._notify()
        webhook = _Webhook(
            url=url,
            secret_token=secret or None,
            max_connections=max_connections,
            ip_address=p.text("ip_address"),
            has_custom_certificate="certificate" in p.files or "certificate" in p.values,
            allowed_updates=allowed,
        )
        already = self._webhook == webhook
        self._webhook = webhook
        self._webhook_last_error = None
        if self._poll_waiter is not None and not self._poll_waiter.done():
            self._poll_waiter.set_result("closing")
        self._webhook_wakeup.set()
        return _Described(True, "Webhook is already set" if already else "Webhook was set")

    async def _m_delete_webhook(self, p: _Params) -> _Described:
        if p.flag("drop_pending_updates"):
            self._updates.clear()
            self._notify()
        had = self._webhook is not None
        self._webhook = None
        self._webhook_last_error = None
        return _Described(True, "Webhook was deleted" if had else "Webhook is already deleted")

    async def _m_get_webhook_info(self, p: _Params) -> JSON:
        webhook = self._webhook
        info: JSON = {
            "url": "" if webhook is None else webhook.url,
            "has_custom_certificate": False if webhook is None else webhook.has_custom_certificate,
            "pending_update_count": len(self._updates),
        }
        if webhook is not None:
            if webhook.ip_address:
                info["ip_address"] = webhook.ip_address
            if self._webhook_last_error is not None:
                info["last_error_date"], info["last_error_message"] = self._webhook_last_error
            info["max_connections"] = webhook.max_connections
            if webhook.allowed_updates is not None:
                info["allowed_updates"] = webhook.allowed_updates
        return info

    async def _webhook_loop(self) -> None:
        while True:
            await self._webhook_wakeup.wait()
            self._webhook_wakeup.clear()
            while self._webhook is not None and self._updates and not self._closing:
                webhook = self._webhook
                update = self._updates[0]
                delivered = await self._deliver(webhook, update)
                if delivered:
                    if self._updates and self._updates[0] is update:
                        self._updates.popleft()
                    self._notify()
                else:
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(self.webhook_retry_delay):
                            # wake early when the webhook changes or is deleted
                            await self._webhook_wakeup.wait()
                    self._webhook_wakeup.clear()

    async def _deliver(self, webhook: _Webhook, update: JSON) -> bool:
        session = self._session
        if session is None:
            return False
        headers = {"Content-Type": "application/json"}
        secret = self.webhook_secret_override or webhook.secret_token
        if secret:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        status: int | None = None
        error: str | None = None
        reply: Any = None
        try:
            async with session.post(webhook.url, data=_dumps(update), headers=headers) as response:
                status = response.status
                body = await response.read()
                if 200 <= status < 300:
                    if response.content_type == "application/json" and body.strip():
                        with contextlib.suppress(ValueError):
                            reply = json.loads(body)
                else:
                    error = f"Wrong response from the webhook: {status} {response.reason}"
        except asyncio.CancelledError:
            raise
        except TimeoutError:
            error = "Read timeout expired"
        except aiohttp.ClientConnectorError:
            error = "Connection refused"
        except aiohttp.ClientError as exc:
            error = f"Connection error: {exc.__class__.__name__}"
        self.webhook_deliveries.append(
            WebhookDelivery(
                int(update["update_id"]), webhook.url, status, error, secret, time.monotonic()
            )
        )
        if error is not None:
            self._webhook_last_error = (int(time.time()), error)
            self._notify()
            return False
        if isinstance(reply, dict) and isinstance(reply.get("method"), str):
            # A webhook may answer with a method call, which Telegram executes.
            handler = self._methods.get(str(reply["method"]).lower())
            if handler is not None:
                values = {
                    k: v if isinstance(v, str) else json.dumps(v)
                    for k, v in reply.items()
                    if k != "method" and v is not None
                }
                with contextlib.suppress(ApiError):
                    await handler(_Params(values, {}))
        return True

    async def _m_send_message(self, p: _Params) -> JSON:
        sent_markup, inline = self._parse_reply_markup(p)
        chat = self._resolve_chat(p, send=True)
        raw = p.values.get("text", "")
        if not raw:
            raise _bad("message text is empty")
        thread_id, replied = self._send_context(p, chat)
        parse_mode = p.text("parse_mode")
        text, entities = self._format(
            raw,
            parse_mode,
            p.json("entities", "can't parse entities JSON object"),
            limit=4096,
            empty_error="message text is empty",
            too_long_error="message is too long",
        )
        preview = p.json_object(
            "link_preview_options", "can't parse link preview options JSON object"
        )
        now = self._flood_gate(chat, paid=p.flag("allow_paid_broadcast"))
        message = self._bot_message(chat, thread_id, replied)
        message["text"] = text
        if entities:
            message["entities"] = entities
        if preview is not None:
            message["link_preview_options"] = preview
        if inline is not None:
            message["reply_markup"] = inline
        return self._commit_send(
            chat,
            message,
            now=now,
            kind="message",
            method="sendMessage",
            p=p,
            text=text,
            raw_text=raw,
            parse_mode=parse_mode,
            entities=entities,
            reply_markup=sent_markup,
            link_preview_options=preview,
        )

    def _caption(self, p: _Params) -> tuple[str | None, list[JSON]]:
        raw = p.values.get("caption", "")
        if not raw:
            return None, []
        text, entities = self._format(
            raw,
            p.text("parse_mode"),
            p.json("caption_entities", "can't parse caption entities JSON object"),
            limit=1024,
            empty_error=None,
            too_long_error="message caption is too long",
        )
        return text, entities

    async def _m_send_document(self, p: _Params) -> JSON:
        """A file the bot sends (uploaded): recorded with its name, type and bytes."""
        sent_markup, inline = self._parse_reply_markup(p)
        chat = self._resolve_chat(p, send=True)
        thread_id, replied = self._send_context(p, chat)
        upload = _upload(p, "document")
        if upload is None or not upload.data:
            raise _bad("there is no document in the request")
        caption, entities = self._caption(p)
        now = self._flood_gate(chat, paid=p.flag("allow_paid_broadcast"))
        file_id = f"BQACAgIAAxkBAAD{next(self._file_ids):06d}{secrets.token_urlsafe(8)}"
        document = {
            "file_id": file_id,
            "file_unique_id": file_id[-12:],
            "file_name": upload.filename or "file",
            "mime_type": upload.content_type,
            "file_size": len(upload.data),
        }
        self._files[file_id] = dict(document, kind="document")
        self._file_bytes[file_id] = upload.data
        message = self._bot_message(chat, thread_id, replied)
        message["document"] = document
        if caption is not None:
            message["caption"] = caption
        if inline is not None:
            message["reply_markup"] = inline
        return self._commit_send(
            chat,
            message,
            now=now,
            kind="document",
            method="sendDocument",
            p=p,
            text=caption,
            raw_text=p.values.get("caption"),
            parse_mode=p.text("parse_mode"),
            entities=entities,
            reply_markup=sent_markup,
        )

    def document_bytes(self, message: SentMessage) -> bytes:
        """The bytes of a document the bot sent."""
        document = message.message.get("document") or {}
        return self._file_bytes[str(document.get("file_id"))]

    async def _m_send_photo(self, p: _Params) -> JSON:
        sent_markup, inline = self._parse_reply_markup(p)
        chat = self._resolve_chat(p, send=True)
        thread_id, replied = self._send_context(p, chat)
        source = self._photo_source(p)
        caption, entities = self._caption(p)
        now = self._flood_gate(chat, paid=p.flag("allow_paid_broadcast"))
        number = next(self._file_ids)
        uploaded = _upload(p, "photo")
        sizes = []
        for width, height, size in ((90, 60, 1_200), (800, 533, 48_000), (1280, 853, 96_000)):
            file_id = f"AgACAgIAAxkBAAI{number:06d}x{width}{secrets.token_urlsafe(12)}"
            unique = f"AQAD{number:06d}x{width}"
            entry = {
                "file_id": file_id,
                "file_unique_id": unique,
                "file_size": size if source.get("size") is None else source["size"],
                "width": width,
                "height": height,
            }
            self._files[file_id] = dict(entry, kind="photo")
            sizes.append(entry)
        message = self._bot_message(chat, thread_id, replied)
        message["photo"] = sizes
        if caption is not None:
            message["caption"] = caption
            if entities:
                message["caption_entities"] = entities
            if p.flag("show_caption_above_media"):
                message["show_caption_above_media"] = True
        if p.flag("has_spoiler"):
            message["has_media_spoiler"] = True
        if inline is not None:
            message["reply_markup"] = inline
        source["file_id"] = sizes[-1]["file_id"]
        if uploaded is not None:
            self.photo_uploads[str(sizes[-1]["file_id"])] = uploaded.data
        return self._commit_send(
            chat,
            message,
            now=now,
            kind="photo",
            method="sendPhoto",
            p=p,
            text=caption,
            raw_text=p.values.get("caption"),
            parse_mode=p.text("parse_mode"),
            entities=entities,
            reply_markup=sent_markup,
            photo=source,
        )

    def _photo_source(self, p: _Params) -> JSON:
        upload = _upload(p, "photo")
        value = p.values.get("photo", "")
        if upload is not None:
            if not upload.data:
                raise _bad("file must be non-empty")
            return {
                "source": "upload",
                "filename": upload.filename,
                "content_type": upload.content_type,
                "size": len(upload.data),
            }
        if not value:
            raise _bad("there is no photo in the request")
        if value.startswith(("http://", "https://")):
            if _link_error(value) is not None:
                raise _bad("wrong file identifier/HTTP URL specified")
            return {"source": "url", "url": value, "size": None}
        known = self._files.get(value)
        if known is None:
            raise _bad("wrong file identifier/HTTP URL specified")
        if known["kind"] != "photo":
            raise _bad(f"can't use file of type {known['kind'].title()} as Photo")
        return {"source": "file_id", "reused": value, "size": known.get("file_size")}

    def _location(self, p: _Params) -> JSON:
        latitude = p.number("latitude")
        longitude = p.number("longitude")
        if latitude is None:
            raise _bad('parameter "latitude" is required')
        if longitude is None:
            raise _bad('parameter "longitude" is required')
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise _bad("wrong latitude or longitude")
        location: JSON = {"latitude": latitude, "longitude": longitude}
        accuracy = p.number("horizontal_accuracy")
        if accuracy is not None:
            if not 0 <= accuracy <= 1500:
                raise _bad("wrong horizontal accuracy specified")
            location["horizontal_accuracy"] = accuracy
        return location

    async def _m_send_location(self, p: _Params) -> JSON:
        sent_markup, inline = self._parse_reply_markup(p)
        chat = self._resolve_chat(p, send=True)
        thread_id, replied = self._send_context(p, chat)
        location = self._location(p)
        live_period = p.integer("live_period")
        if live_period is not None:
            if not (60 <= live_period <= 86400 or live_period == 0x7FFFFFFF):
                raise _bad("wrong live period specified")
            location["live_period"] = live_period
        now = self._flood_gate(chat, paid=p.flag("allow_paid_broadcast"))
        message = self._bot_message(chat, thread_id, replied)
        message["location"] = location
        if inline is not None:
            message["reply_markup"] = inline
        return self._commit_send(
            chat,
            message,
            now=now,
            kind="location",
            method="sendLocation",
            p=p,
            reply_markup=sent_markup,
            location=location,
        )

    async def _m_send_venue(self, p: _Params) -> JSON:
        sent_markup, inline = self._parse_reply_markup(p)
        chat = self._resolve_chat(p, send=True)
        thread_id, replied = self._send_context(p, chat)
        location = self._location(p)
        title = p.values.get("title", "")
        address = p.values.get("address", "")
        if not title:
            raise _bad('parameter "title" is required')
        if not address:
            raise _bad('parameter "address" is required')
        venue: JSON = {"location": location, "title": title, "address": address}
        for key in ("foursquare_id", "foursquare_type", "google_place_id", "google_place_type"):
            if p.text(key):
                venue[key] = p.values[key]
        now = self._flood_gate(chat, paid=p.flag("allow_paid_broadcast"))
        message = self._bot_message(chat, thread_id, replied)
        message["venue"] = venue
        message["location"] = location
        if inline is not None:
            message["reply_markup"] = inline
        return self._commit_send(
            chat,
            message,
            now=now,
            kind="venue",
            method="sendVenue",
            p=p,
            text=title,
            reply_markup=sent_markup,
            location=location,
            venue=venue,
        )

    async def _m_send_chat_action(self, p: _Params) -> bool:
        chat = self._resolve_chat(p, send=True)
        action = p.values.get("action", "")
        if not action:
            raise _bad('parameter "action" is required')
        if action not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        self.chat_actions.append((chat.id, action, time.monotonic()))
        self._notify()
        return True

    def _editable(self, p: _Params) -> tuple[FakeChat, _Stored, SentMessage]:
        chat = self._resolve_chat(p)
        message_id = p.integer("message_id")
        if not message_id:
            raise _bad("message identifier is not specified")
        stored = self._history[chat.id].get(message_id)
        if stored is None or stored.deleted:
            raise _bad("message to edit not found")
        if not stored.from_bot or stored.record is None:
            raise _bad("message can't be edited")
        return chat, stored, stored.record

    def _record_edit(
        self,
        stored: _Stored,
        record: SentMessage,
        *,
        method: str,
        p: _Params,
        text: str | None,
        entities: list[JSON],
        markup: JSON | None,
    ) -> JSON:
        message = stored.message
        previous = record.text
        message["edit_date"] = int(time.time())
        record.reply_markup = markup
        if markup is not None and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        edit = EditRecord(
            message=record,
            method=method,
            text=text,
            entities=entities,
            reply_markup=markup,
            previous_text=previous,
            params=p.values,
            edited_at=time.monotonic(),
        )
        record.text = text
        record.entities = entities
        record.edits.append(edit)
        self._edits.append(edit)
        self._notify()
        return message

    def _edit_inline(self, p: _Params, method: str) -> bool:
        inline_id = p.text("inline_message_id")
        if inline_id is None:
            raise _bad("message identifier is not specified")
        self.inline_edits.append({"method": method, **p.values})
        self._notify()
        return True

    async def _m_edit_message_text(self, p: _Params) -> JSON | bool:
        _, inline = self._parse_reply_markup(p)
        raw = p.values.get("text", "")
        if "chat_id" not in p.values and "inline_message_id" in p.values:
            if not raw:
                raise _bad("text must be non-empty")
            return self._edit_inline(p, "editMessageText")
        _, stored, record = self._editable(p)
        if "text" not in stored.message:
            raise _bad("there is no text in the message to edit")
        if not raw:
            raise _bad("text must be non-empty")
        text, entities = self._format(
            raw,
            p.text("parse_mode"),
            p.json("entities", "can't parse entities JSON object"),
            limit=4096,
            empty_error="text must be non-empty",
            too_long_error="MESSAGE_TOO_LONG",
        )
        message = stored.message
        if (
            text == message.get("text")
            and entities == message.get("entities", [])
            and inline == message.get("reply_markup")
        ):
            raise _bad(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        message["text"] = text
        if entities:
            message["entities"] = entities
        else:
            message.pop("entities", None)
        preview = p.json_object(
            "link_preview_options", "can't parse link preview options JSON object"
        )
        if preview is not None:
            message["link_preview_options"] = preview
            record.link_preview_options = preview
        record.raw_text = raw
        record.parse_mode = p.text("parse_mode")
        return self._record_edit(
            stored,
            record,
            method="editMessageText",
            p=p,
            text=text,
            entities=entities,
            markup=inline,
        )

    async def _m_edit_message_caption(self, p: _Params) -> JSON | bool:
        _, inline = self._parse_reply_markup(p)
        if "chat_id" not in p.values and "inline_message_id" in p.values:
            return self._edit_inline(p, "editMessageCaption")
        _, stored, record = self._editable(p)
        message = stored.message
        if "text" in message or "location" in message:
            raise _bad("there is no caption in the message to edit")
        caption, entities = self._caption(p)
        if (
            caption == message.get("caption")
            and entities == message.get("caption_entities", [])
            and inline == message.get("reply_markup")
        ):
            raise _bad(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        if caption is None:
            message.pop("caption", None)
            message.pop("caption_entities", None)
        else:
            message["caption"] = caption
            if entities:
                message["caption_entities"] = entities
            else:
                message.pop("caption_entities", None)
        record.raw_text = p.values.get("caption")
        return self._record_edit(
            stored,
            record,
            method="editMessageCaption",
            p=p,
            text=caption,
            entities=entities,
            markup=inline,
        )

    async def _m_edit_message_reply_markup(self, p: _Params) -> JSON | bool:
        _, inline = self._parse_reply_markup(p)
        if "chat_id" not in p.values and "inline_message_id" in p.values:
            return self._edit_inline(p, "editMessageReplyMarkup")
        _, stored, record = self._editable(p)
        if inline == stored.message.get("reply_markup"):
            raise _bad(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        return self._record_edit(
            stored,
            record,
            method="editMessageReplyMarkup",
            p=p,
            text=record.text,
            entities=record.entities,
            markup=inline,
        )

    def pinned(self, chat: FakeChat) -> list[int]:
        """The ids of the messages pinned in ``chat``, most recent last."""
        return list(self._pins.get(chat.id, []))

    def _may_pin(self, chat: FakeChat) -> None:
        if chat.type == "private":
            return
        member = self._member_of(chat, self.bot)
        if member["status"] == "creator":
            return
        if member["status"] != "administrator" or not member.get("can_pin_messages"):
            raise _bad("not enough rights to manage pinned messages in the chat")

    async def _m_pin_chat_message(self, p: _Params) -> bool:
        chat = self._resolve_chat(p)
        message_id = p.integer("message_id")
        stored = self._history[chat.id].get(message_id or 0)
        if stored is None or stored.deleted:
            raise _bad("message to pin not found")
        self._may_pin(chat)
        pins = self._pins.setdefault(chat.id, [])
        if message_id in pins:
            pins.remove(message_id)
        pins.append(int(message_id or 0))
        return True

    async def _m_unpin_chat_message(self, p: _Params) -> bool:
        chat = self._resolve_chat(p)
        self._may_pin(chat)
        pins = self._pins.setdefault(chat.id, [])
        message_id = p.integer("message_id")
        if message_id is None:
            if pins:
                pins.pop()
            return True
        if message_id not in pins:
            raise _bad("message to unpin not found")
        pins.remove(message_id)
        return True

    async def _m_delete_message(self, p: _Params) -> bool:
        chat = self._resolve_chat(p)
        message_id = p.integer("message_id")
        if not message_id:
            raise _bad('parameter "message_id" is required')
        stored = self._history[chat.id].get(message_id)
        if stored is None or stored.deleted:
            raise _bad("message to delete not found")
        if (
            not stored.from_bot
            and chat.type != "private"
            and chat.bot_status not in ("administrator", "creator")
        ):
            raise _bad("message can't be deleted")
        stored.deleted = True
        if stored.record is not None:
            stored.record.deleted = True
        self._notify()
        return True

    async def _m_answer_callback_query(self, p: _Params) -> bool:
        query_id = p.values.get("callback_query_id", "")
        if query_id not in self._callback_queries or query_id in self.callback_answers:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        text = p.values.get("text", "")
        if len(text) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        url = p.text("url")
        answer: JSON = {
            "text": text or None,
            "show_alert": p.flag("show_alert"),
            "url": url,
            "cache_time": p.integer("cache_time", 0),
        }
        self.callback_answers[query_id] = answer
        self._notify()
        return True

    async def _m_answer_inline_query(self, p: _Params) -> bool:
        query_id = p.values.get("inline_query_id", "")
        if query_id not in self._inline_queries or query_id in self.inline_answers:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        results = p.json("results", "can't parse JSON encoded inline query results")
        if results is None:
            results = []
        if not isinstance(results, list):
            raise _bad("can't parse JSON encoded inline query results: expected an Array")
        if len(results) > 50:
            raise _bad("RESULTS_TOO_MUCH")
        seen: set[str] = set()
        for result in results:
            if not isinstance(result, dict):
                raise _bad("can't parse inline query result: expected an Object")
            kind = result.get("type")
            if not isinstance(kind, str) or kind.lower() not in _INLINE_RESULT_TYPES:
                raise _bad("can't parse inline query result: Unsupported type specified")
            result_id = result.get("id")
            if not isinstance(result_id, str) or not 1 <= len(result_id.encode()) <= 64:
                raise _bad("RESULT_ID_INVALID")
            if result_id in seen:
                raise _bad("RESULT_ID_DUPLICATE")
            seen.add(result_id)
            if "reply_markup" in result:
                if not isinstance(result["reply_markup"], dict):
                    raise _bad("can't parse inline query result: reply_markup must be an Object")
                self._parse_inline_keyboard(result["reply_markup"])
            content = result.get("input_message_content")
            if kind == "article":
                if not isinstance(result.get("title"), str) or not result["title"]:
                    raise _bad("can't parse inline query result: Can't find field \"title\"")
                if not isinstance(content, dict):
                    raise _bad(
                        "can't parse inline query result: "
                        'Can\'t find field "input_message_content"'
                    )
            if isinstance(content, dict) and "message_text" in content:
                self._format(
                    str(content["message_text"]),
                    content.get("parse_mode"),
                    content.get("entities"),
                    limit=4096,
                    empty_error="message text is empty",
                    too_long_error="MESSAGE_TOO_LONG",
                )
        next_offset = p.values.get("next_offset", "")
        if len(next_offset.encode()) > 64:
            raise _bad("next_offset is too long")
        self.inline_answers[query_id] = {
            "results": results,
            "cache_time": p.integer("cache_time", 300),
            "is_personal": p.flag("is_personal"),
            "next_offset": next_offset,
            "button": p.json_object("button", "can't parse inline query results button"),
        }
        self._notify()
        return True

    def _scope_key(self, scope: Any, language_code: str) -> tuple[str, int | None, int | None, str]:
        if not isinstance(scope, dict):
            raise _bad("can't parse BotCommandScope: expected an Object")
        kind = scope.get("type")
        simple = ("default", "all_private_chats", "all_group_chats", "all_chat_administrators")
        if kind in simple:
            key: tuple[str, int | None, int | None, str] = (str(kind), None, None, language_code)
        elif kind in ("chat", "chat_administrators", "chat_member"):
            chat_ref = scope.get("chat_id")
            if chat_ref in (None, ""):
                raise _bad("can't parse BotCommandScope: Can't find field \"chat_id\"")
            chat = self._resolve_chat(_Params({"chat_id": str(chat_ref)}, {}))
            if chat.type == "channel":
                raise _bad("can't change commands in channel chats")
            user_id: int | None = None
            if kind == "chat_member":
                try:
                    user_id = int(scope.get("user_id") or 0)
                except (TypeError, ValueError):
                    user_id = 0
                if user_id <= 0:
                    raise _bad("invalid user_id specified")
            elif chat.type == "private" and kind == "chat_administrators":
                raise _bad("can't use specified scope in private chats")
            key = (str(kind), chat.id, user_id, language_code)
        else:
            raise _bad("can't parse BotCommandScope: Unsupported type specified")
        if not _LANGUAGE_RE.fullmatch(language_code):
            raise _bad("invalid language code specified")
        return key

    def _command_key(self, p: _Params) -> tuple[str, int | None, int | None, str]:
        scope = p.json("scope", "can't parse BotCommandScope JSON object")
        return self._scope_key(
            {"type": "default"} if scope is None else scope, p.values.get("language_code", "")
        )

    async def _m_set_my_commands(self, p: _Params) -> bool:
        commands = p.json("commands", "can't parse commands JSON object")
        if commands is None:
            commands = []
        if not isinstance(commands, list):
            raise _bad('field "commands" must be of type Array')
        key = self._command_key(p)
        if len(commands) > 100:
            raise _bad("BOT_COMMANDS_TOO_MUCH")
        clean: list[JSON] = []
        for item in commands:
            if not isinstance(item, dict):
                raise _bad("can't parse BotCommand: expected an Object")
            for name in ("command", "description"):
                if name not in item:
                    raise _bad(f"can't parse BotCommand: Can't find field \"{name}\"")
                if not isinstance(item[name], str):
                    raise _bad(f'can\'t parse BotCommand: Field "{name}" must be of type String')
            command = item["command"].strip().removeprefix("/")
            description = item["description"].strip()
            if not command:
                raise _bad("command must be non-empty")
            if len(command) > 32:
                raise _bad("command length must not exceed 32")
            if not description:
                raise _bad("command description must be non-empty")
            if len(description) > 256:
                raise _bad("command description length must not exceed 256")
            if not _COMMAND_NAME_RE.fullmatch(command):
                raise _bad("BOT_COMMAND_INVALID")
            clean.append({"command": command, "description": description})
        if clean:
            self._commands[key] = clean
        else:
            self._commands.pop(key, None)
        self._notify()
        return True

    async def _m_get_my_commands(self, p: _Params) -> list[JSON]:
        return [dict(c) for c in self._commands.get(self._command_key(p), [])]

    async def _m_delete_my_commands(self, p: _Params) -> bool:
        self._commands.pop(self._command_key(p), None)
        self._notify()
        return True

    async def _m_get_chat(self, p: _Params) -> JSON:
        chat = self._resolve_chat(p)
        info = chat.to_json()
        info.update(
            accent_color_id=0,
            max_reaction_count=11,
            accepted_gift_types={
                "unlimited_gifts": True,
                "limited_gifts": True,
                "unique_gifts": True,
                "premium_subscription": True,
                "gifts_from_channels": True,
            },
        )
        if chat.type in ("group", "supergroup"):
            info["permissions"] = {k: v for k, v in _MEMBER_PERMISSIONS.items()}
        return info

    def _member_of(self, chat: FakeChat, user: FakeUser) -> JSON:
        if user.id == self.bot.id:
            status: str = "member" if chat.type == "private" else chat.bot_status
        elif chat.type == "private":
            status = "member" if user.id == chat.id else "left"
        else:
            status = chat.members.get(user.id, "left")
        return self._member_json(user.to_json(), status, chat)

    async def _m_get_chat_member(self, p: _Params) -> JSON:
        chat = self._resolve_chat(p)
        user_id = p.integer("user_id")
        if not user_id or user_id <= 0:
            raise _bad("invalid user_id specified")
        user = self._users.get(user_id)
        if user is None:
            raise _bad("user not found")
        return self._member_of(chat, user)

    async def _m_get_chat_administrators(self, p: _Params) -> list[JSON]:
        chat = self._resolve_chat(p)
        if chat.type == "private":
            raise _bad("there are no administrators in the private chat")
        admins = [
            self._member_of(chat, self._users[user_id])
            for user_id, status in chat.members.items()
            if status in ("creator", "administrator") and user_id in self._users
        ]
        if chat.bot_status in ("creator", "administrator"):
            admins.append(self._member_of(chat, self.bot))
        return admins

    async def _m_get_chat_member_count(self, p: _Params) -> int:
        chat = self._resolve_chat(p)
        if chat.type == "private":
            return 2
        members = sum(
            1
            for s in chat.members.values()
            if s in ("creator", "administrator", "member", "restricted")
        )
        bot_in = chat.bot_status in ("creator", "administrator", "member", "restricted")
        return members + int(bot_in)

    async def _m_set_chat_menu_button(self, p: _Params) -> bool:
        chat_id: int | None = None
        if p.text("chat_id"):
            chat = self._resolve_chat(p)
            if chat.type != "private":
                raise _bad("chat_id must be a private chat")
            chat_id = chat.id
        button = p.json_object("menu_button", "can't parse menu button JSON object")
        if button is not None and button.get("type") not in ("default", "commands", "web_app"):
            raise _bad("can't parse menu button: Unsupported type specified")
        self.menu_buttons[chat_id] = button or {"type": "default"}
        return True

    async def _m_get_chat_menu_button(self, p: _Params) -> JSON:
        chat_id: int | None = None
        if p.text("chat_id"):
            chat_id = self._resolve_chat(p).id
        return self.menu_buttons.get(chat_id) or self.menu_buttons.get(None) or {"type": "default"}
