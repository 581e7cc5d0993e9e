"""A fake Discord (REST API v10 + gateway) for end-to-end tests of the Discord adapter.

The server is an ``aiohttp.web`` application bound to ``127.0.0.1`` on a free port, with the
REST API under ``/api/v10`` (and ``/api/v9``) and the gateway websocket at ``/`` (READY's
``resume_gateway_url`` points at ``/resume/`` on the same server). The real ``discord.py``
client connects to it unmodified::

    async with FakeDiscordServer() as dc:
        guild = dc.add_guild("Veterans", preferred_locale="ru", channels=["general"])
        point_discord_py_at(dc.api_base, dc.gateway_url)   # the recipe below
        client = discord.Client(intents=discord.Intents.default())
        await client.login(dc.token)
        task = asyncio.create_task(client.connect())
        ...
        await client.close()
        await task

How discord.py 2.7 finds Discord (read from its source)
-------------------------------------------------------
* REST: every request, the interaction callbacks and the followup webhooks included, is built
  as ``discord.http.Route.BASE + path``; ``Route.BASE`` is a class attribute
  (``"https://discord.com/api/v10"``). Webhook and interaction routes
  (``discord/webhook/async_.py``) import the same ``Route``, so one assignment covers them.
  ``login()`` calls ``GET /users/@me`` (401 raises ``LoginFailure``) and
  ``GET /oauth2/applications/@me`` (the application id; ``interactions_endpoint_url`` must be
  null or the library warns that it will receive no interactions).
* Gateway: ``Client.connect()`` does *not* ask ``GET /gateway``; the first connection goes
  to the class attribute ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY``
  (``yarl.URL("wss://gateway.discord.gg/")``), later RESUMEs to READY's
  ``resume_gateway_url``, and an INVALID_SESSION(false) resets it to ``DEFAULT_GATEWAY``.
  ``AutoShardedClient`` without ``shard_count`` asks ``GET /gateway/bot`` for ``shards`` and
  ``url``; with ``shard_count`` it also uses ``DEFAULT_GATEWAY``. The library appends
  ``?v=10&encoding=json&compress=zlib-stream`` (``zstd-stream`` when the ``zstandard``
  module, or Python 3.14's ``compression.zstd``, is importable — neither is in this
  virtualenv, and the fake implements both) to the URL's path, replacing any query.
* Transport compression: discord.py expects every binary frame to end with the zlib
  ``Z_SYNC_FLUSH`` marker ``00 00 ff ff`` and decompresses with one ``zlib.decompressobj``
  for the whole connection; the fake compresses each payload with one ``compressobj`` per
  connection and ``flush(Z_SYNC_FLUSH)``. IDENTIFY also carries ``"compress": true``
  (per-payload compression), which Discord ignores when transport compression is on; so
  does the fake.
* Interactions: the initial response is ``POST /interactions/{id}/{token}/callback
  ?with_response=1`` (discord.py parses the returned ``{"interaction", "resource"}``);
  followups are ``POST /webhooks/{application_id}/{token}?wait=1``, the original response is
  ``GET/PATCH/DELETE /webhooks/{application_id}/{token}/messages/@original`` and followups
  ``.../messages/{message_id}``. These requests carry no ``Authorization`` header (Discord
  does not ask for one) and, as on Discord, do not count towards the global rate limit.
* Rate limits: discord.py reads ``X-RateLimit-Limit/Remaining/Reset/Reset-After/Bucket`` and
  on 429 sleeps the body's ``retry_after`` then retries (``global: true`` blocks every
  request meanwhile). A 429 *without* a ``Via`` header is taken for a Cloudflare ban and
  raised as ``HTTPException``; the fake, like Discord, sends ``Via: 1.1 google``. The
  ``Content-Type`` must be exactly ``application/json`` for the body to be parsed.
* ``Client`` waits ``guild_ready_timeout`` (2 s by default) after the last GUILD_CREATE before
  ``on_ready``; tests pass ``guild_ready_timeout=0.1``. ``AutoShardedClient`` sleeps 5 s in
  ``before_identify_hook`` before every IDENTIFY but the first; tests override the hook.

The recipe (the production adapter can use it unchanged)::

    import discord, discord.gateway, discord.http, yarl

    def point_discord_py_at(api_base: str, gateway_url: str | None) -> None:
        # api_base: DISCORD_API_BASE_URL, e.g. "http://127.0.0.1:PORT/api/v10"
        discord.http.Route.BASE = api_base.rstrip("/")
        if gateway_url:  # DISCORD_GATEWAY_URL, e.g. "ws://127.0.0.1:PORT/"
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)

    # Without DISCORD_GATEWAY_URL, after client.login() (in setup_hook), ask the REST API:
    #     _, url, _ = await client.http.get_bot_gateway()
    #     discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)

Both are process-wide class attributes: set them before ``login()``; tests set them with
``monkeypatch.setattr`` so they are restored. ``dc.api_base``, ``dc.gateway_url``,
``dc.token`` and ``dc.application_id`` give the values.

What the fake implements
------------------------
Gateway (``discord_gateway.py``): HELLO (op 10), IDENTIFY (op 2: token checked, close 4004;
intents checked, 4013 invalid / 4014 privileged intents not granted; shard checked, 4010),
READY (``v``, ``user``, ``guilds`` as unavailable, ``session_id``, ``resume_gateway_url``,
``application {id, flags}``, ``shard``), one GUILD_CREATE per guild of the shard
(``(guild_id >> 22) % shard_count``) with channels, roles, ``members`` (the bot; everyone
below ``large_threshold`` with GUILD_PRESENCES), ``owner_id``, ``preferred_locale``;
heartbeats (op 1 -> op 11), RESUME (op 6: missed events replayed, then RESUMED; an unknown
or ended session gets op 9 false), sequence numbers, REQUEST_GUILD_MEMBERS (op 8 ->
GUILD_MEMBERS_CHUNK), PRESENCE_UPDATE recorded, several shards; controls to drop a
connection (close code or TCP abort), send op 7 RECONNECT and op 9 INVALID_SESSION.
Bot messages are echoed as MESSAGE_CREATE/UPDATE/DELETE (GUILD_MESSAGES/DIRECT_MESSAGES
intents), interactions arrive as INTERACTION_CREATE.

REST, Bot-token auth (401 ``{"message": "401: Unauthorized", "code": 0}`` otherwise):
``GET /gateway``, ``GET /gateway/bot``, ``GET /users/@me``, ``GET /users/{id}``,
``POST /users/@me/channels`` (DM), ``GET /oauth2/applications/@me``, ``GET
/applications/@me``, application commands (global and guild: ``GET``, bulk-overwrite
``PUT``, ``POST``, ``GET/PATCH/DELETE .../{command_id}``, validated like Discord: names,
descriptions, localizations keyed by valid locales only, options, choices), ``POST
/interactions/{id}/{token}/callback`` (types 4, 5, 6, 7, 8, 9; answered twice: 400 40060;
later than ``interaction_deadline`` seconds: 404 10062), followup and original-response
webhooks, ``GET/POST /channels/{id}/messages`` (``nonce`` echoed; with ``enforce_nonce`` a
repeat within ``nonce_window`` returns the first message), ``GET/PATCH/DELETE
/channels/{id}/messages/{id}``, ``GET /channels/{id}``, ``GET /guilds/{id}``, ``GET
/guilds/{id}/channels``, ``GET /guilds/{id}/roles``, ``GET /guilds/{id}/members/{user}``.
Messages are validated like the real API (content <= 2000 characters; <= 10 embeds, title
<= 256, description <= 4096, <= 25 fields, field name <= 256 / value <= 1024, footer <=
2048, author name <= 256, total <= 6000; <= 5 action rows of <= 5 buttons or one select,
custom_id <= 100 and unique, labels <= 80; allowed_mentions) with 400 code 50035 ``Invalid
Form Body`` and Discord's nested ``errors``; an empty message is 50006. Unknown channel:
404 10003; no VIEW_CHANNEL: 403 50001 ``Missing Access``; no SEND_MESSAGES: 403 50013
``Missing Permissions`` (permissions are computed from roles and overwrites;
``dc.forbid(channel, code)`` forces either). Mentions that *would* notify are computed from
the content, ``allowed_mentions`` and the bot's MENTION_EVERYONE permission, and recorded.

Rate limits: every response carries ``X-RateLimit-Limit/Remaining/Reset/Reset-After/Bucket``
(except a global 429, which carries ``X-RateLimit-Global`` instead, as on Discord); per-route
buckets keyed by the top-level resource (channel, guild, webhook+token) and a global limit
of N requests per second per bot, both from a ``RateLimits`` (``RateLimits.lenient()`` by
default, ``RateLimits.discord()`` for Discord's numbers); 429s answer ``{"message",
"retry_after", "global"}`` with ``Retry-After``, ``X-RateLimit-Scope`` and ``Via``.
``dc.inject_429(route)`` answers the next matching request with a 429; ``dc.stats`` counts
requests, 429s, global 429s and per-channel message timestamps.

Test controls (synchronous unless marked ``await``):

* World: ``add_user`` (with the client ``locale``), ``add_guild`` (``preferred_locale``,
  channels, members, owner, ``shard=`` to land on a shard, the bot joins with a managed role
  of ``bot_permissions``), ``join_guild``, ``add_channel``, ``add_role``, ``add_member``,
  ``set_overwrite``, ``forbid`` / ``allow``, ``block_dms``, ``dm_channel``,
  ``guild_id_for_shard``, ``snowflake``. Joins and new channels made while the bot is
  connected are dispatched (GUILD_CREATE, CHANNEL_CREATE); ``await settle()`` waits for them.
* Interactions, built as the exact INTERACTION_CREATE Discord sends (fresh id and token,
  ``member`` with ``permissions``, ``app_permissions``, ``locale``, ``guild_locale``,
  ``channel``, ``context``, ``authorizing_integration_owners``):
  ``await slash_command(guild, channel, user, "name" or "group sub", options, locale=)``,
  ``await autocomplete(..., options, focused="option")``, ``await press_button(message,
  custom_id, user)``, ``await select(message, custom_id, values, user)``, ``await
  submit_modal(handle, values)``. Each returns an ``InteractionHandle``: ``await
  handle.response(timeout=5)`` (an ``InteractionCallback``: type, content, embeds,
  components, flags, ephemeral, allowed_mentions, choices, delay), ``await
  handle.wait_for_followups(n)``, ``await handle.wait_for_original()`` (after a deferral),
  ``await handle.answer()`` (the response, or what resolved its deferral),
  ``await handle.wait_for_rejection()``, ``handle.original``, ``handle.followups``,
  ``handle.rejected``, ``handle.modal``, ``handle.payload``.
* ``await user_message(channel, user, content)``: a user's MESSAGE_CREATE.
* Gateway: ``await drop_connection(shard_id, code=4000, abrupt=False)``, ``await
  request_reconnect()``, ``await invalidate_session(resumable=False)``, ``await
  dispatch(event, data, guild_id=)``, ``await wait_until_connected(n)``.
* Rate limits: ``inject_429(route, retry_after=, is_global=, count=, major=)``.
* Server errors and timeouts: ``fail_next(route, status=, stall=, count=, major=)``.
* Records: ``messages(channel)`` (``SentMessage``: content, embeds, components, flags,
  ``ephemeral``, ``allowed_mentions``, ``pings``, ``source``, ``edits``, ``deleted``,
  ``custom_ids``, ``text``, ``to_json()``), ``message(id)``, ``await wait_for_messages(n,
  channel_id=..., timeout=5)``, ``await wait_for(predicate)``, ``interactions``,
  ``commands(guild)``, ``command(name, guild)``, ``gateway_connections``, ``sessions``,
  ``gateway.presence_updates``, ``requests`` (``RequestRecord``), ``stats``
  (``ServerStats``).

Close the discord.py clients before the server stops: the server closes open gateway
connections with 1001, which discord.py answers by reconnecting.

Anything that goes wrong inside the fake itself answers 500 and is re-raised when the server
stops, so a bug in the fake cannot pass for a bot failure.

Known deviations from Discord: JSON encoding only (no ETF); no voice; no heartbeat timeout
enforcement; message length counted in code points; 429s do not count towards the global
window; attachments are accepted (multipart ``payload_json`` + ``files[n]``) and recorded but
not served; threads, reactions, webhooks other than interaction webhooks, audit-log reasons
and most guild-management routes are not implemented (404 ``{"message": "404: Not Found",
"code": 0}``); error codes for command validation follow Discord's shape but not always its
exact ``_errors`` codes.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import hashlib
import json
import math
import re
import secrets
import socket
import time
import unicodedata
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self, TypeAlias, TypeVar
from urllib.parse import urlsplit

from aiohttp import BodyPartReader, web

from tests.fakes.discord_gateway import (
    DEFAULT_EVERYONE_PERMISSIONS,
    DM_CHANNEL_TYPES,
    INTENTS,
    JSON,
    PERMISSIONS,
    PRIVILEGED_INTENTS,
    VALID_LOCALES,
    FakeChannel,
    FakeGuild,
    FakeMember,
    FakeRole,
    FakeUser,
    Gateway,
    GatewayConnectionRecord,
    GatewaySession,
    World,
    dumps,
    iso_timestamp,
)

__all__ = [
    "DEFAULT_BOT_PERMISSIONS",
    "DEFAULT_EVERYONE_PERMISSIONS",
    "INTENTS",
    "PERMISSIONS",
    "VALID_LOCALES",
    "ApiError",
    "FakeChannel",
    "FakeDiscordServer",
    "FakeGuild",
    "FakeMember",
    "FakeRole",
    "FakeUser",
    "GatewayConnectionRecord",
    "InteractionCallback",
    "InteractionHandle",
    "Pings",
    "RateLimit",
    "RateLimits",
    "RequestRecord",
    "SentMessage",
    "ServerStats",
    "free_tcp_port",
]

_T = TypeVar("_T")
Reply: TypeAlias = tuple[int, Any]


@dataclass(frozen=True)
class _Body:
    """A request body: parsed JSON (None when empty) and the uploaded files."""

    data: Any
    files: list[JSON]


Handler: TypeAlias = Callable[[web.Request, _Body], Awaitable[Reply]]

DEFAULT_BOT_PERMISSIONS = sum(
    PERMISSIONS[name]
    for name in (
        "VIEW_CHANNEL",
        "SEND_MESSAGES",
        "SEND_MESSAGES_IN_THREADS",
        "EMBED_LINKS",
        "ATTACH_FILES",
        "READ_MESSAGE_HISTORY",
        "MENTION_EVERYONE",
        "USE_EXTERNAL_EMOJIS",
        "ADD_REACTIONS",
        "USE_APPLICATION_COMMANDS",
    )
)
"""The bot's managed role in a new guild. MENTION_EVERYONE is included on purpose: without
it ``@everyone`` never notifies, and a test that allowed_mentions block the ping would prove
nothing."""

EPHEMERAL = 1 << 6
LOADING = 1 << 7
SUPPRESS_EMBEDS = 1 << 2
SUPPRESS_NOTIFICATIONS = 1 << 12
IS_COMPONENTS_V2 = 1 << 15
INTERACTION_TOKEN_LIFETIME = 15 * 60.0

_USER_MENTION = re.compile(r"<@!?(\d{1,20})>")
_ROLE_MENTION = re.compile(r"<@&(\d{1,20})>")
_API_PREFIXES = ("/api/v10", "/api/v9")


def free_tcp_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


class ApiError(Exception):
    """An error answer of the REST API: HTTP status, JSON error code, message, form errors."""

    def __init__(self, status: int, code: int, message: str, errors: JSON | None = None) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    def body(self) -> JSON:
        data: JSON = {"message": self.message, "code": self.code}
        if self.errors is not None:
            data["errors"] = self.errors
        return data


def _unknown(code: int, what: str) -> ApiError:
    return ApiError(404, code, f"Unknown {what}")


MISSING_ACCESS = 50001
MISSING_PERMISSIONS = 50013
_FORBIDDEN_MESSAGES = {
    MISSING_ACCESS: "Missing Access",
    MISSING_PERMISSIONS: "Missing Permissions",
    50007: "Cannot send messages to this user",
    50005: "Cannot edit a message authored by another user",
    20012: "You are not authorized to perform this action on this application",
}


def _forbidden(code: int) -> ApiError:
    return ApiError(403, code, _FORBIDDEN_MESSAGES.get(code, "Missing Permissions"))


class FormErrors:
    """Collects ``Invalid Form Body`` problems as Discord nests them under ``errors``."""

    def __init__(self, prefix: Sequence[str | int] = ()) -> None:
        self.prefix = tuple(prefix)
        self.problems: list[tuple[tuple[str | int, ...], str, str]] = []

    def add(self, path: Sequence[str | int], code: str, message: str) -> None:
        self.problems.append(((*self.prefix, *path), code, message))

    def max_length(self, path: Sequence[str | int], value: Any, limit: int) -> None:
        if isinstance(value, str | list) and len(value) > limit:
            self.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")

    def length(self, path: Sequence[str | int], value: Any, low: int, high: int) -> None:
        if not isinstance(value, str):
            self.add(path, "BASE_TYPE_STRING", "Must be a string.")
        elif not low <= len(value) <= high:
            self.add(path, "BASE_TYPE_BAD_LENGTH", f"Must be between {low} and {high} in length.")

    def raise_if_any(self) -> None:
        if not self.problems:
            return
        errors: JSON = {}
        for path, code, message in self.problems:
            node = errors
            for part in path:
                node = node.setdefault(str(part), {})
            node.setdefault("_errors", []).append({"code": code, "message": message})
        raise ApiError(400, 50035, "Invalid Form Body", errors)


# --------------------------------------------------------------------------------------------
# Rate limits
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RateLimit:
    """``limit`` requests per ``per`` seconds (a window that starts with its first request)."""

    limit: int
    per: float


_DISCORD_BUCKETS: dict[str, RateLimit] = {
    "messages.create": RateLimit(5, 5.0),
    "messages.edit": RateLimit(5, 5.0),
    "messages.delete": RateLimit(5, 1.0),
    "messages.get": RateLimit(5, 1.0),
    "channels.get": RateLimit(5, 1.0),
    "guilds.get": RateLimit(5, 1.0),
    "members.get": RateLimit(5, 1.0),
    "dm.create": RateLimit(5, 1.0),
    "commands.write": RateLimit(25, 20.0),
    "commands.read": RateLimit(50, 1.0),
    "webhooks": RateLimit(5, 2.0),
    "interactions.callback": RateLimit(50, 1.0),
    "default": RateLimit(50, 1.0),
}


@dataclass(frozen=True)
class RateLimits:
    """Rate limits the fake enforces.

    ``global_per_second`` requests per second per bot over all authenticated routes (None:
    no global limit); ``buckets`` per-route limits by bucket name (see ``ROUTES``), missing
    names use ``buckets["default"]``. ``RateLimits.discord()`` has Discord's numbers (50/s
    global, 5 messages per 5 s per channel ...); ``RateLimits.lenient()`` keeps the headers
    but never limits a functional test.
    """

    global_per_second: int | None = 50
    buckets: Mapping[str, RateLimit] = field(default_factory=lambda: dict(_DISCORD_BUCKETS))

    @classmethod
    def discord(cls, *, global_per_second: int | None = 50, **overrides: RateLimit) -> RateLimits:
        """Discord's limits; ``overrides`` replace buckets by name (dots as underscores)."""
        buckets = dict(_DISCORD_BUCKETS)
        for name, limit in overrides.items():
            buckets[name.replace("_", ".")] = limit
        return cls(global_per_second=global_per_second, buckets=buckets)

    @classmethod
    def lenient(cls) -> RateLimits:
        """Headers as usual, limits no functional test reaches (100 000 per second)."""
        return cls(
            global_per_second=100_000,
            buckets={name: RateLimit(100_000, 1.0) for name in _DISCORD_BUCKETS},
        )

    def bucket(self, name: str) -> RateLimit:
        return self.buckets.get(name) or self.buckets.get("default") or RateLimit(50, 1.0)


class _Window:
    __slots__ = ("count", "reset_at")

    def __init__(self) -> None:
        self.count = 0
        self.reset_at = 0.0


@dataclass
class _Injected429:
    route: str | None
    major: str | None
    retry_after: float
    is_global: bool
    scope: str
    remaining: int


@dataclass
class _InjectedError:
    route: str | None
    major: str | None
    status: int
    stall: float
    remaining: int


_Matching = TypeVar("_Matching", _Injected429, _InjectedError)


def _take_next(injected: list[_Matching], key: str, major: str) -> _Matching | None:
    """The first injected answer for this route and major parameter, used once more (and
    forgotten when used up)."""
    for item in injected:
        if (item.route is None or item.route == key) and (
            item.major is None or item.major == major
        ):
            item.remaining -= 1
            if item.remaining <= 0:
                injected.remove(item)
            return item
    return None


@dataclass
class ServerStats:
    """Counters for assertions and benchmarks. ``message_times`` holds, per channel, the
    ``time.monotonic()`` of every message created in it (REST, interaction or followup)."""

    requests: int = 0
    by_route: Counter[str] = field(default_factory=Counter)
    by_status: Counter[int] = field(default_factory=Counter)
    rate_limited: int = 0
    global_rate_limited: int = 0
    injected_429s: int = 0
    unauthorized: int = 0
    interaction_callbacks: int = 0
    nonce_repeats: int = 0
    """Creates answered with the message an earlier create with the same nonce made."""
    message_times: dict[int, list[float]] = field(default_factory=dict)

    def messages_per_second(self, channel_id: int) -> float:
        """Highest number of messages created in the channel within any 1 s window."""
        times = self.message_times.get(channel_id, [])
        best = 0
        start = 0
        for end, moment in enumerate(times):
            while moment - times[start] >= 1.0:
                start += 1
            best = max(best, end - start + 1)
        return float(best)


@dataclass(frozen=True)
class RequestRecord:
    """One REST request: method, path, Discord route key, status and time (monotonic)."""

    method: str
    path: str
    route: str
    status: int
    at: float


# --------------------------------------------------------------------------------------------
# Records of what the bot sent
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pings:
    """Who a message notifies: Discord's reading of content + allowed_mentions + permissions."""

    everyone: bool = False
    """``@everyone`` or ``@here`` notified."""
    users: frozenset[int] = frozenset()
    roles: frozenset[int] = frozenset()
    replied_user: bool = False

    @property
    def anyone(self) -> bool:
        return self.everyone or bool(self.users) or bool(self.roles) or self.replied_user


@dataclass(eq=False)
class SentMessage:
    """A message in a channel: sent by the bot (REST, interaction response, followup) or by a
    user through ``user_message``. ``edits`` keeps the payload of every edit."""

    id: int
    channel_id: int
    guild_id: int | None
    author: FakeUser
    content: str = ""
    embeds: list[JSON] = field(default_factory=list)
    components: list[JSON] = field(default_factory=list)
    flags: int = 0
    allowed_mentions: JSON | None = None
    pings: Pings = field(default_factory=Pings)
    source: str = "channel"
    """``channel`` (POST /channels/{id}/messages), ``interaction`` (initial response),
    ``followup``, ``user`` (a test control)."""
    interaction_id: int | None = None
    attachments: list[JSON] = field(default_factory=list)
    message_reference: JSON | None = None
    tts: bool = False
    type: int = 0
    created_at: float = field(default_factory=time.time)
    edited_at: float | None = None
    edits: list[JSON] = field(default_factory=list)
    deleted: bool = False
    payload: JSON = field(default_factory=dict)
    """The request body that created the message."""
    interaction_metadata: JSON | None = None
    webhook_id: int | None = None
    nonce: str | int | None = None

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL)

    @property
    def loading(self) -> bool:
        """A deferred response still "thinking" (flag LOADING)."""
        return bool(self.flags & LOADING)

    @property
    def custom_ids(self) -> list[str]:
        """Every component custom_id, in order."""
        found: list[str] = []

        def walk(items: Iterable[Any]) -> None:
            for item in items:
                if isinstance(item, dict):
                    if isinstance(item.get("custom_id"), str):
                        found.append(item["custom_id"])
                    walk(item.get("components") or [])
                    accessory = item.get("accessory")
                    if isinstance(accessory, dict):
                        walk([accessory])

        walk(self.components)
        return found

    @property
    def text(self) -> str:
        """Content plus every embed's title, description, fields, footer and author, one
        per line: handy for ``in`` assertions."""
        parts = [self.content]
        for embed in self.embeds:
            parts.extend(str(embed.get(key) or "") for key in ("title", "description"))
            for item in embed.get("fields") or []:
                parts.extend((str(item.get("name", "")), str(item.get("value", ""))))
            parts.append(str((embed.get("footer") or {}).get("text") or ""))
            parts.append(str((embed.get("author") or {}).get("name") or ""))
        return "\n".join(part for part in parts if part)

    def to_json(self) -> JSON:
        """The message object as the REST API and the gateway return it."""
        data: JSON = {
            "type": self.type,
            "content": self.content,
            "mentions": [],
            "mention_roles": [str(role) for role in sorted(self.pings.roles)],
            "attachments": list(self.attachments),
            "embeds": list(self.embeds),
            "timestamp": iso_timestamp(self.created_at),
            "edited_timestamp": None if self.edited_at is None else iso_timestamp(self.edited_at),
            "flags": self.flags,
            "components": list(self.components),
            "id": str(self.id),
            "channel_id": str(self.channel_id),
            "author": self.author.to_json(),
            "pinned": False,
            "mention_everyone": self.pings.everyone,
            "tts": self.tts,
        }
        if self.nonce is not None:
            data["nonce"] = self.nonce
        if self.webhook_id is not None:
            data["webhook_id"] = str(self.webhook_id)
            data["application_id"] = str(self.webhook_id)
        if self.interaction_metadata is not None:
            data["interaction_metadata"] = self.interaction_metadata
        if self.message_reference is not None:
            data["message_reference"] = self.message_reference
        if self.guild_id is not None:
            data["guild_id"] = str(self.guild_id)
        return data


@dataclass
class InteractionCallback:
    """One accepted ``POST /interactions/{id}/{token}/callback``."""

    type: int
    """4 CHANNEL_MESSAGE_WITH_SOURCE, 5 DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE, 6
    DEFERRED_UPDATE_MESSAGE, 7 UPDATE_MESSAGE, 8 APPLICATION_COMMAND_AUTOCOMPLETE_RESULT,
    9 MODAL."""
    data: JSON
    at: float
    delay: float
    """Seconds between the INTERACTION_CREATE and this callback."""
    message: SentMessage | None = None
    """The message the callback created (4, 5) or updated (7)."""

    @property
    def content(self) -> str:
        return str(self.data.get("content") or "")

    @property
    def embeds(self) -> list[JSON]:
        return list(self.data.get("embeds") or [])

    @property
    def components(self) -> list[JSON]:
        return list(self.data.get("components") or [])

    @property
    def flags(self) -> int:
        return int(self.data.get("flags") or 0)

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL)

    @property
    def allowed_mentions(self) -> JSON | None:
        value = self.data.get("allowed_mentions")
        return value if isinstance(value, dict) else None

    @property
    def choices(self) -> list[JSON]:
        """Autocomplete choices (type 8)."""
        return list(self.data.get("choices") or [])

    @property
    def deferred(self) -> bool:
        return self.type in (5, 6)


class _Notifier:
    """Wakes waiters whenever the fake's state changes."""

    poll_interval = 0.02

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait_for(
        self,
        predicate: Callable[[], _T | None],
        timeout: float,  # noqa: ASYNC109 - a test helper's deadline
        describe: Callable[[], str],
    ) -> _T:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = predicate()
            if result is not None:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(describe())
            event = self._event
            # Also poll: a predicate may look at state outside the fake (the client's cache).
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), min(remaining, self.poll_interval))


class InteractionHandle:
    """An interaction the test started; await what the bot answers.

    ``payload`` is the INTERACTION_CREATE ``d`` exactly as dispatched. ``callbacks`` are the
    accepted initial responses (one, unless the fake let a second through — it does not:
    that answers 400 40060 and lands in ``rejected``), ``followups`` the followup messages,
    ``original`` the message of the initial response (for 6/7: the component's message).
    """

    def __init__(
        self,
        notifier: _Notifier,
        payload: JSON,
        user: FakeUser,
        message: SentMessage | None,
    ) -> None:
        self._notifier = notifier
        self.payload = payload
        self.id = int(payload["id"])
        self.token = str(payload["token"])
        self.type = int(payload["type"])
        self.user = user
        self.guild_id: int | None = (
            int(payload["guild_id"]) if payload.get("guild_id") is not None else None
        )
        self.channel_id = int(payload["channel_id"])
        self.message = message
        """For a component interaction: the message whose component was used."""
        self.created_at = time.monotonic()
        self.callbacks: list[InteractionCallback] = []
        self.rejected: list[ApiError] = []
        self.followups: list[SentMessage] = []
        self.original: SentMessage | None = None
        self.delivered_to: list[str] = []
        """Session ids the INTERACTION_CREATE went to (empty: no bot was connected)."""

    def __repr__(self) -> str:
        return f"<InteractionHandle id={self.id} type={self.type} callbacks={len(self.callbacks)}>"

    @property
    def acknowledged(self) -> bool:
        return bool(self.callbacks)

    @property
    def modal(self) -> JSON | None:
        """The modal the bot opened (callback type 9), if any."""
        for callback in self.callbacks:
            if callback.type == 9:
                return callback.data
        return None

    async def response(
        self,
        timeout: float = 5.0,  # noqa: ASYNC109 - a test helper's deadline
    ) -> InteractionCallback:
        """The initial response, once the bot has sent it."""
        return await self._notifier.wait_for(
            lambda: self.callbacks[0] if self.callbacks else None,
            timeout,
            lambda: (
                f"no response to interaction {self.id} (type {self.type}) "
                f"within {timeout}s; rejected attempts: {[e.code for e in self.rejected]}"
            ),
        )

    async def answer(
        self,
        timeout: float = 5.0,  # noqa: ASYNC109 - a test helper's deadline
        transient: Callable[[SentMessage], bool] | None = None,
    ) -> InteractionCallback:
        """What the user sees as the answer: the initial response; or, when the bot deferred
        it (5, 6: a slow handler), the message that resolved the deferral, as a callback of
        type 4 (``at`` and ``delay`` of the deferral): the original response once edited
        after the deferral (unless ``transient`` says the edit is a step on the way, e.g. a
        placeholder the bot deletes before it follows up), or the first followup."""
        first = await self.response(timeout)
        if not first.deferred:
            return first

        def resolved() -> SentMessage | None:
            if self.followups:
                return self.followups[0]
            original = self.original
            if original is None or original.loading or original.deleted:
                return None
            edited = original.edited_at is not None and original.edited_at >= first.at
            if not edited or (transient is not None and transient(original)):
                return None
            return original

        message = await self._notifier.wait_for(
            resolved,
            timeout,
            lambda: f"interaction {self.id}: deferred, and not resolved within {timeout}s",
        )
        return InteractionCallback(
            type=4, data=message.to_json(), at=first.at, delay=first.delay, message=message
        )

    async def wait_for_followups(
        self,
        n: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[SentMessage]:
        """The first ``n`` followup messages, once there are that many."""
        return await self._notifier.wait_for(
            lambda: list(self.followups[:n]) if len(self.followups) >= n else None,
            timeout,
            lambda: f"interaction {self.id}: {len(self.followups)} followups, wanted {n}",
        )

    async def wait_for_original(
        self,
        predicate: Callable[[SentMessage], bool] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> SentMessage:
        """The original response message once it is not "thinking" any more (and matches)."""

        def ready() -> SentMessage | None:
            message = self.original
            if message is None or message.loading or message.deleted:
                return None
            if predicate is not None and not predicate(message):
                return None
            return message

        return await self._notifier.wait_for(
            ready,
            timeout,
            lambda: f"interaction {self.id}: original response is {self.original!r}",
        )

    async def wait_for_rejection(
        self,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> ApiError:
        """The first error the fake answered to this interaction's callback."""
        return await self._notifier.wait_for(
            lambda: self.rejected[0] if self.rejected else None,
            timeout,
            lambda: f"interaction {self.id}: no rejected callback",
        )


@dataclass(frozen=True)
class _RouteSpec:
    method: str
    path: str
    """Discord's route template, as discord.py's ``Route.key`` writes it."""
    handler: Handler
    bucket: str
    auth: bool = True
    global_limit: bool = True
    major: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


class FakeDiscordServer:
    """A fake Discord: REST API v10 and gateway on 127.0.0.1 (see the module docstring).

    ``shards`` is what ``GET /gateway/bot`` recommends; ``rate_limits`` defaults to
    ``RateLimits.lenient()``; ``heartbeat_interval`` (seconds) goes into HELLO;
    ``privileged_intents`` are the privileged intents the application was granted (IDENTIFY
    asking for others is closed with 4014); an interaction not answered within
    ``interaction_deadline`` seconds is gone (404 10062), as on Discord (3 s);
    ``echo_messages`` dispatches MESSAGE_CREATE/UPDATE/DELETE for the bot's messages.

    ``nonce_window``: a message created with ``enforce_nonce: true`` and a ``nonce`` that the
    same author used in the last ``nonce_window`` seconds is not created again; the message
    created then is returned (200), as Discord documents it ("checked for uniqueness in the
    past few minutes. If another message was created by the same author with the same nonce,
    that message will be returned and no new message will be created"). Discord does not say
    how many minutes; the fake keeps three. Without ``enforce_nonce`` the nonce is only
    echoed in the message object, and a repeat creates a second message.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        shards: int = 1,
        rate_limits: RateLimits | None = None,
        heartbeat_interval: float = 41.25,
        privileged_intents: int = PRIVILEGED_INTENTS,
        interaction_deadline: float = 3.0,
        echo_messages: bool = True,
        bot_name: str = "Commemoration",
        application_name: str = "Commemoration",
        request_log_size: int = 10_000,
        nonce_window: float = 180.0,
    ) -> None:
        if shards < 1:
            raise ValueError("shards must be at least 1")
        self._host = host
        self._requested_port = port
        self._port = 0
        self.world = World(bot_name=bot_name, application_name=application_name, shard_count=shards)
        self.rate_limits = rate_limits if rate_limits is not None else RateLimits.lenient()
        self.interaction_deadline = interaction_deadline
        self.echo_messages = echo_messages
        self.nonce_window = nonce_window
        self._nonces: dict[tuple[int, str], tuple[SentMessage, float]] = {}
        self._notifier = _Notifier()
        self.gateway = Gateway(
            self.world,
            heartbeat_interval_ms=int(heartbeat_interval * 1000),
            allowed_intents=privileged_intents,
            notify=self._notifier.notify,
        )
        self.stats = ServerStats()
        self.requests: deque[RequestRecord] = deque(maxlen=request_log_size)
        self._auth = f"Bot {self.world.token}"
        self._runner: web.AppRunner | None = None
        self._internal_errors: list[BaseException] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._windows: dict[tuple[str, str], _Window] = {}
        self._global_window = _Window()
        self._injected: list[_Injected429] = []
        self._errors: list[_InjectedError] = []
        self._bucket_hashes: dict[str, str] = {}
        self._messages: dict[int, SentMessage] = {}
        self._channel_messages: dict[int, list[SentMessage]] = {}
        self.observers: list[Callable[[SentMessage], None]] = []
        """Called with each message created (by the bot or a test), as it is stored: a long
        run counts what it needs here and calls ``forget`` now and then (``bench/soak.py``)."""
        self._interactions: dict[int, InteractionHandle] = {}
        self.uploads: list[bytes] = []
        """The bytes of every file the bot uploaded, in order."""
        self.attachment_bytes: dict[int, bytes] = {}
        self._scheduled: dict[int, dict[int, JSON]] = {}
        """Files users attached to commands, by attachment id (served at their URL)."""
        self._interactions_by_token: dict[str, InteractionHandle] = {}
        self._commands: dict[int | None, list[JSON]] = {}
        self._blocked_dms: set[int] = set()
        self.routes: list[_RouteSpec] = self._route_table()

    # -- properties ----------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if not self._port:
            raise RuntimeError("the fake Discord server is not running")
        return self._port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://{self._host}:{self.port}"

    @property
    def api_base(self) -> str:
        """The REST base for ``discord.http.Route.BASE``: ``http://127.0.0.1:PORT/api/v10``."""
        return f"{self.base_url}/api/v10"

    @property
    def gateway_url(self) -> str:
        """The gateway URL (``ws://127.0.0.1:PORT/``), also returned by GET /gateway/bot."""
        return self.gateway.url

    @property
    def token(self) -> str:
        """The bot token the fake accepts."""
        return self.world.token

    @property
    def application_id(self) -> int:
        return self.world.application_id

    @property
    def bot(self) -> FakeUser:
        """The bot's user (its id is the application id, as for every modern app)."""
        return self.world.bot

    @property
    def shard_count(self) -> int:
        return self.world.shard_count

    @property
    def guilds(self) -> dict[int, FakeGuild]:
        return self.world.guilds

    @property
    def gateway_connections(self) -> list[GatewayConnectionRecord]:
        """Every websocket connection so far (IDENTIFY or RESUME, shard, intents ...)."""
        return self.gateway.connections

    @property
    def sessions(self) -> list[GatewaySession]:
        return list(self.gateway.sessions.values())

    @property
    def interactions(self) -> list[InteractionHandle]:
        return list(self._interactions.values())

    async def _attachment(self, request: web.Request) -> web.StreamResponse:
        """The bytes of a file a user attached to a command (``{"data": b"…"}`` as the
        option's value), as Discord's CDN serves them."""
        raw = request.match_info["attachment_id"]
        data = self.attachment_bytes.get(int(raw)) if raw.isdigit() else None
        if data is None:
            return web.Response(status=404)
        return web.Response(body=data, content_type="application/octet-stream")

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> Self:
        """Bind to 127.0.0.1 (a free port unless one was given) and start serving."""
        if self._runner is not None:
            raise RuntimeError("the fake Discord server is already running")
        app = web.Application(client_max_size=25 * 1024 * 1024)
        app.router.add_get("/", self.gateway.handle)
        app.router.add_get("/resume/", self.gateway.handle)
        for prefix in _API_PREFIXES:
            app.add_subapp(prefix, self._api_app())
        app.router.add_get("/attachments/{attachment_id}/{filename}", self._attachment)
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
        self.gateway.base_url = f"ws://{self._host}:{self._port}"
        return self

    async def stop(self) -> None:
        """Close gateway connections, finish background work, stop serving.

        Raises the first error that happened inside the fake, if any.
        """
        await self.settle()
        await self.gateway.close_all()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._internal_errors:
            error = self._internal_errors[0]
            raise RuntimeError(
                f"the fake Discord server failed {len(self._internal_errors)} time(s)"
            ) from error

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def settle(self) -> None:
        """Wait until the fake's background dispatches (GUILD_CREATE of a new guild ...) ran."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _spawn(self, coro: Awaitable[Any]) -> None:
        async def run() -> None:
            try:
                await coro
            except Exception as error:  # a bug in the fake: surface it at stop()
                self._internal_errors.append(error)

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _bot_in_live_session(self) -> bool:
        return bool(self.gateway.live_sessions())

    # -- world controls ------------------------------------------------------------------------

    def snowflake(self) -> int:
        """A fresh snowflake."""
        return self.world.snowflake()

    def guild_id_for_shard(self, shard_id: int, shard_count: int | None = None) -> int:
        """A fresh guild id whose events go to ``shard_id``."""
        return self.world.snowflake.for_shard(shard_id, shard_count or self.world.shard_count)

    def add_user(
        self,
        username: str,
        *,
        global_name: str | None = None,
        locale: str = "en-US",
        bot: bool = False,
        id: int | None = None,
    ) -> FakeUser:
        """A user; ``locale`` is the language of their Discord client."""
        if locale not in VALID_LOCALES:
            raise ValueError(f"{locale!r} is not a Discord locale")
        user = FakeUser(
            id=id or self.snowflake(),
            username=username,
            global_name=global_name,
            bot=bot,
            locale=locale,
        )
        self.world.users[user.id] = user
        return user

    def add_guild(
        self,
        name: str = "Test guild",
        *,
        preferred_locale: str = "en-US",
        owner: FakeUser | None = None,
        id: int | None = None,
        shard: int | None = None,
        channels: Iterable[str] = ("general",),
        members: Iterable[FakeUser] = (),
        bot_permissions: int = DEFAULT_BOT_PERMISSIONS,
        everyone_permissions: int = DEFAULT_EVERYONE_PERMISSIONS,
        with_bot: bool = True,
    ) -> FakeGuild:
        """A guild the bot is in (``with_bot=False``: not yet), with text channels, the
        owner and ``members``. ``shard`` picks an id whose events go to that shard. If the
        bot is connected, it receives GUILD_CREATE (a join), as on Discord."""
        if preferred_locale not in VALID_LOCALES:
            raise ValueError(f"{preferred_locale!r} is not a Discord locale")
        if id is None:
            id = self.guild_id_for_shard(shard) if shard is not None else self.snowflake()
        owner = owner or self.add_user(f"owner_{len(self.world.guilds) + 1}")
        self.world.users.setdefault(owner.id, owner)
        guild = FakeGuild(id=id, name=name, owner_id=owner.id, preferred_locale=preferred_locale)
        guild.roles[id] = FakeRole(
            id=id, guild_id=id, name="@everyone", permissions=everyone_permissions
        )
        self.world.guilds[id] = guild
        guild.members[owner.id] = FakeMember(user=owner, guild_id=id)
        for user in members:
            self.world.users.setdefault(user.id, user)
            guild.members[user.id] = FakeMember(user=user, guild_id=id)
        for position, channel_name in enumerate(channels):
            self._new_channel(guild, channel_name, position=position)
        if with_bot:
            self._join(guild, bot_permissions)
        return guild

    def _join(self, guild: FakeGuild, bot_permissions: int) -> None:
        role = FakeRole(
            id=self.snowflake(),
            guild_id=guild.id,
            name=self.world.bot.username,
            permissions=bot_permissions,
            position=1,
            managed=True,
            bot_id=self.world.bot.id,
        )
        guild.roles[role.id] = role
        guild.members[self.world.bot.id] = FakeMember(
            user=self.world.bot, guild_id=guild.id, roles=[role.id]
        )
        if self._bot_in_live_session():
            self._spawn(self._announce_guild(guild))

    def join_guild(
        self, guild: FakeGuild, *, bot_permissions: int = DEFAULT_BOT_PERMISSIONS
    ) -> None:
        """The bot is added to ``guild`` (GUILD_CREATE is dispatched if it is connected)."""
        if self.world.bot.id in guild.members:
            raise ValueError("the bot is already in this guild")
        self._join(guild, bot_permissions)

    async def _announce_guild(self, guild: FakeGuild) -> None:
        for session in self.gateway.live_sessions():
            if session.covers(guild.id) and session.intents & INTENTS["GUILDS"]:
                payload = guild.create_payload(
                    bot_id=self.world.bot.id,
                    include_members=bool(session.intents & INTENTS["GUILD_PRESENCES"]),
                    large_threshold=50,
                )
                await self.gateway.dispatch_to(session, "GUILD_CREATE", payload)
        self._notifier.notify()

    def _new_channel(
        self,
        guild: FakeGuild,
        name: str,
        *,
        type: int = 0,
        position: int | None = None,
        topic: str | None = None,
        parent: FakeChannel | None = None,
    ) -> FakeChannel:
        channel = FakeChannel(
            id=self.snowflake(),
            name=name,
            type=type,
            guild_id=guild.id,
            position=len(guild.channels) if position is None else position,
            topic=topic,
            parent_id=None if parent is None else parent.id,
        )
        guild.channels[channel.id] = channel
        self.world.channels[channel.id] = channel
        return channel

    def add_channel(
        self,
        guild: FakeGuild,
        name: str,
        *,
        type: int = 0,
        topic: str | None = None,
        parent: FakeChannel | None = None,
        position: int | None = None,
    ) -> FakeChannel:
        """A channel (0 text, 2 voice, 4 category, 5 announcement); CHANNEL_CREATE if live."""
        channel = self._new_channel(
            guild, name, type=type, topic=topic, parent=parent, position=position
        )
        if self._bot_in_live_session() and self.world.bot.id in guild.members:
            self._spawn(
                self.gateway.dispatch(
                    "CHANNEL_CREATE", channel.to_json(), guild_id=guild.id, intent=INTENTS["GUILDS"]
                )
            )
        return channel

    def add_role(
        self,
        guild: FakeGuild,
        name: str,
        *,
        permissions: int = 0,
        mentionable: bool = False,
        color: int = 0,
    ) -> FakeRole:
        """A role (not dispatched: add roles before the bot connects)."""
        role = FakeRole(
            id=self.snowflake(),
            guild_id=guild.id,
            name=name,
            permissions=permissions,
            position=len(guild.roles),
            mentionable=mentionable,
            color=color,
        )
        guild.roles[role.id] = role
        return role

    def add_member(
        self,
        guild: FakeGuild,
        user: FakeUser,
        *,
        roles: Iterable[FakeRole] = (),
        nick: str | None = None,
    ) -> FakeMember:
        """``user`` joins ``guild`` with ``roles``."""
        self.world.users.setdefault(user.id, user)
        member = FakeMember(user=user, guild_id=guild.id, roles=[r.id for r in roles], nick=nick)
        guild.members[user.id] = member
        return member

    def set_overwrite(
        self,
        channel: FakeChannel,
        target: FakeRole | FakeUser | FakeMember,
        *,
        allow: int = 0,
        deny: int = 0,
    ) -> None:
        """A permission overwrite on ``channel`` for a role (``@everyone``: ``guild.everyone``)
        or a member; replaces an earlier one for the same target."""
        kind = 0 if isinstance(target, FakeRole) else 1
        channel.permission_overwrites = [
            o for o in channel.permission_overwrites if int(o["id"]) != target.id
        ]
        channel.permission_overwrites.append(
            {"id": target.id, "type": kind, "allow": allow, "deny": deny}
        )

    def forbid(self, channel: FakeChannel | int, code: int = MISSING_ACCESS) -> None:
        """Every bot request on ``channel`` answers 403 with ``code`` (50001 or 50013)."""
        self._channel(channel).forbidden_code = code

    def allow(self, channel: FakeChannel | int) -> None:
        """Undo ``forbid``."""
        self._channel(channel).forbidden_code = None

    def block_dms(self, user: FakeUser) -> None:
        """The user does not accept direct messages from the bot (403 50007)."""
        self._blocked_dms.add(user.id)

    def dm_channel(self, user: FakeUser) -> FakeChannel:
        """The direct-message channel between the bot and ``user``."""
        channel = self.world.dm_channels.get(user.id)
        if channel is None:
            channel = FakeChannel(id=self.snowflake(), name="", type=1, recipients=[user])
            self.world.dm_channels[user.id] = channel
            self.world.channels[channel.id] = channel
        return channel

    def _channel(self, channel: FakeChannel | int) -> FakeChannel:
        if isinstance(channel, FakeChannel):
            return channel
        found = self.world.channels.get(channel)
        if found is None:
            raise KeyError(f"no channel {channel}")
        return found

    # -- records -------------------------------------------------------------------------------

    def messages(
        self,
        channel_id: int | FakeChannel | None = None,
        *,
        include_ephemeral: bool = True,
        include_deleted: bool = False,
        include_users: bool = False,
    ) -> list[SentMessage]:
        """Messages the bot sent (``include_users``: and ``user_message`` ones), oldest first,
        in one channel or everywhere."""
        if channel_id is None:
            pool: Iterable[SentMessage] = self._messages.values()
        else:
            key = channel_id.id if isinstance(channel_id, FakeChannel) else channel_id
            pool = self._channel_messages.get(key, [])
        return [
            m
            for m in pool
            if (include_ephemeral or not m.ephemeral)
            and (include_deleted or not m.deleted)
            and (include_users or m.source != "user")
        ]

    def message(self, message_id: int) -> SentMessage:
        return self._messages[message_id]

    async def wait_for_messages(
        self,
        n: int = 1,
        *,
        channel_id: int | FakeChannel | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
        include_ephemeral: bool = True,
    ) -> list[SentMessage]:
        """The first ``n`` bot messages (in a channel), once there are that many."""

        def ready() -> list[SentMessage] | None:
            found = self.messages(channel_id, include_ephemeral=include_ephemeral)
            return found[:n] if len(found) >= n else None

        return await self._notifier.wait_for(
            ready,
            timeout,
            lambda: (
                f"wanted {n} messages in {channel_id}, got "
                f"{[m.content[:40] for m in self.messages(channel_id)]}"
            ),
        )

    async def wait_for(
        self,
        predicate: Callable[[], _T | None],
        timeout: float = 5.0,  # noqa: ASYNC109
        what: str = "condition",
    ) -> _T:
        """Wait until ``predicate()`` returns something other than None (checked after every
        request and gateway event, and every 20 ms)."""
        return await self._notifier.wait_for(predicate, timeout, lambda: f"timed out: {what}")

    def forget(self, channel_ids: Iterable[int], *, older_than: float = 0.0) -> None:
        """Forget the messages of ``channel_ids`` created more than ``older_than`` seconds ago
        and their times in ``stats``, the interactions answered that long ago, the list of each
        gateway session's dispatches and the nonces older than ``nonce_window``: a long run's
        recording would otherwise grow with every message."""
        wall = time.time() - older_than
        for channel_id in channel_ids:
            messages = self._channel_messages.pop(channel_id, [])
            kept = [m for m in messages if m.created_at >= wall]
            for message in messages:
                if message.created_at < wall:
                    self._messages.pop(message.id, None)
            if kept:
                self._channel_messages[channel_id] = kept
            self.stats.message_times.pop(channel_id, None)
        answered = time.monotonic() - older_than
        for handle in list(self._interactions.values()):
            if handle.callbacks and handle.created_at < answered:
                del self._interactions[handle.id]
                self._interactions_by_token.pop(handle.token, None)
        for session in self.gateway.sessions.values():
            session.events.clear()
        now = time.monotonic()
        self._nonces = {k: v for k, v in self._nonces.items() if now - v[1] < self.nonce_window}

    async def wait_until_connected(
        self,
        n: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[GatewaySession]:
        """Wait until ``n`` sessions are connected and have received READY."""
        return await self._notifier.wait_for(
            lambda: s if len(s := self.gateway.connected_sessions()) >= n else None,
            timeout,
            lambda: f"{len(self.gateway.connected_sessions())} sessions connected, wanted {n}",
        )

    def commands(self, guild: FakeGuild | int | None = None) -> list[JSON]:
        """The application commands registered globally or for a guild."""
        key = guild.id if isinstance(guild, FakeGuild) else guild
        return list(self._commands.get(key, []))

    def command(self, name: str, guild: FakeGuild | int | None = None, type: int = 1) -> JSON:
        for command in self.commands(guild):
            if command["name"] == name and command.get("type", 1) == type:
                return command
        raise KeyError(f"no command {name!r} registered for {guild or 'global'}")

    # -- gateway controls ----------------------------------------------------------------------

    async def drop_connection(
        self, shard_id: int | None = None, *, code: int = 4000, abrupt: bool = False
    ) -> int:
        """Close the gateway connection of a shard (all when None) so the client resumes."""
        return await self.gateway.drop(shard_id, code=code, abrupt=abrupt)

    async def request_reconnect(self, shard_id: int | None = None) -> int:
        """Send op 7 RECONNECT."""
        return await self.gateway.request_reconnect(shard_id)

    async def invalidate_session(
        self, shard_id: int | None = None, *, resumable: bool = False
    ) -> int:
        """Send op 9 INVALID_SESSION."""
        return await self.gateway.invalidate_session(shard_id, resumable=resumable)

    async def dispatch(
        self, event: str, data: JSON, *, guild_id: int | None = None, intent: int | None = None
    ) -> list[GatewaySession]:
        """Dispatch any gateway event to the sessions of the guild's shard."""
        return await self.gateway.dispatch(event, data, guild_id=guild_id, intent=intent)

    # -- interactions --------------------------------------------------------------------------

    def _place(
        self,
        guild: FakeGuild | None,
        channel: FakeChannel | int | None,
        user: FakeUser | FakeMember,
    ) -> tuple[FakeGuild | None, FakeChannel, FakeUser]:
        person = user.user if isinstance(user, FakeMember) else user
        self.world.users.setdefault(person.id, person)
        if channel is None:
            if guild is None:
                found = self.dm_channel(person)
            elif guild.text_channels:
                found = guild.text_channels[0]
            else:
                raise ValueError(f"guild {guild.name!r} has no text channel")
        else:
            found = self._channel(channel)
        if guild is None and found.guild_id is not None:
            guild = self.world.guilds[found.guild_id]
        if guild is not None:
            if found.guild_id != guild.id:
                raise ValueError(f"channel {found.id} is not in guild {guild.name!r}")
            if person.id not in guild.members:
                raise ValueError(f"{person.username} is not a member of {guild.name!r}")
            if self.world.bot.id not in guild.members:
                raise ValueError(f"the bot is not in {guild.name!r}")
            if not guild.permissions_in(found, person.id) & PERMISSIONS["VIEW_CHANNEL"]:
                raise ValueError(f"{person.username} cannot see #{found.name}")
        elif found.type not in DM_CHANNEL_TYPES:
            raise ValueError("a guild channel needs its guild")
        return guild, found, person

    def _interaction_payload(
        self,
        kind: int,
        guild: FakeGuild | None,
        channel: FakeChannel,
        user: FakeUser,
        locale: str | None,
    ) -> JSON:
        interaction_id = self.snowflake()
        secret = secrets.token_urlsafe(96)
        token = (
            base64.urlsafe_b64encode(f"interaction:{interaction_id}:{secret}".encode())
            .decode()
            .rstrip("=")
        )
        locale = locale or user.locale
        if locale not in VALID_LOCALES:
            raise ValueError(f"{locale!r} is not a Discord locale")
        payload: JSON = {
            "app_permissions": str(self.world.bot_permissions(channel)),
            "application_id": str(self.world.application_id),
            "attachment_size_limit": 10 * 1024 * 1024,
            "channel_id": str(channel.id),
            "entitlement_sku_ids": [],
            "entitlements": [],
            "id": str(interaction_id),
            "locale": locale,
            "token": token,
            "type": kind,
            "version": 1,
        }
        channel_json = channel.to_json()
        if guild is not None:
            member = guild.members[user.id]
            permissions = guild.permissions_in(channel, user.id)
            channel_json["permissions"] = str(permissions)
            payload.update(
                {
                    "authorizing_integration_owners": {"0": str(guild.id)},
                    "context": 0,
                    "guild": {
                        "id": str(guild.id),
                        "locale": guild.preferred_locale,
                        "features": list(guild.features),
                    },
                    "guild_id": str(guild.id),
                    "guild_locale": guild.preferred_locale,
                    "member": member.to_json(permissions=permissions),
                }
            )
        else:
            channel_json["permissions"] = str(self.world.bot_permissions(channel))
            payload.update(
                {
                    "authorizing_integration_owners": {"0": "0"},
                    "context": 1,
                    "user": user.to_json(),
                }
            )
        payload["channel"] = channel_json
        return payload

    async def _start_interaction(
        self, payload: JSON, user: FakeUser, message: SentMessage | None
    ) -> InteractionHandle:
        handle = InteractionHandle(self._notifier, payload, user, message)
        self._interactions[handle.id] = handle
        self._interactions_by_token[handle.token] = handle
        guild_id = handle.guild_id
        sessions = await self.gateway.dispatch("INTERACTION_CREATE", payload, guild_id=guild_id)
        handle.delivered_to = [session.session_id for session in sessions]
        return handle

    def _find_command(self, name: str, guild: FakeGuild | None, type: int) -> JSON:
        pools: list[list[JSON]] = []
        if guild is not None:
            pools.append(self._commands.get(guild.id, []))
        pools.append(self._commands.get(None, []))
        for pool in pools:
            for command in pool:
                if command["name"] == name and command.get("type", 1) == type:
                    contexts = command.get("contexts")
                    context = 0 if guild is not None else 1
                    if contexts is not None and context not in contexts:
                        continue
                    if guild is None and command.get("dm_permission") is False:
                        continue
                    return command
        where = f"guild {guild.name!r} or globally" if guild is not None else "for DMs"
        raise ValueError(f"no command {name!r} (type {type}) registered {where}; sync first")

    def _check_command_permissions(
        self, command: JSON, guild: FakeGuild | None, channel: FakeChannel, user: FakeUser
    ) -> None:
        required = command.get("default_member_permissions")
        if guild is None or required is None:
            return
        needed = int(required)
        if needed == 0 and user.id != guild.owner_id:
            raise ValueError(f"/{command['name']} is disabled for members by default")
        if guild.permissions_in(channel, user.id) & needed != needed:
            raise ValueError(f"{user.username} lacks the permissions /{command['name']} requires")

    def _resolve(
        self,
        option_type: int,
        value: Any,
        guild: FakeGuild | None,
        channel: FakeChannel,
        resolved: JSON,
    ) -> str:
        if option_type in (6, 9) and isinstance(value, FakeUser | FakeMember | int):
            person = value.user if isinstance(value, FakeMember) else value
            if isinstance(person, int):
                found = self.world.users.get(person)
                if found is None:
                    if option_type == 9 and guild is not None and person in guild.roles:
                        return self._resolve(8, person, guild, channel, resolved)
                    raise ValueError(f"no user {person}")
                person = found
            resolved.setdefault("users", {})[str(person.id)] = person.to_json()
            if guild is not None and person.id in guild.members:
                member = guild.members[person.id].to_json(
                    permissions=guild.permissions_in(channel, person.id), with_user=False
                )
                resolved.setdefault("members", {})[str(person.id)] = member
            return str(person.id)
        if option_type in (8, 9) and isinstance(value, FakeRole | int):
            role_id = value.id if isinstance(value, FakeRole) else value
            if guild is None or role_id not in guild.roles:
                raise ValueError(f"no role {role_id} in this guild")
            resolved.setdefault("roles", {})[str(role_id)] = guild.roles[role_id].to_json()
            return str(role_id)
        if option_type == 7 and isinstance(value, FakeChannel | int):
            target = self._channel(value)
            data = target.to_json()
            if guild is not None:
                data["permissions"] = str(self.world.bot_permissions(target))
            resolved.setdefault("channels", {})[str(target.id)] = data
            return str(target.id)
        if option_type == 11 and isinstance(value, dict | str):
            attachment_id = self.snowflake()
            info = {"filename": value} if isinstance(value, str) else dict(value)
            content = info.pop("data", None)
            if isinstance(content, bytes):
                self.attachment_bytes[attachment_id] = content
                info.setdefault("size", len(content))
            filename = str(info.get("filename", "file.bin"))
            url = f"{self.base_url}/attachments/{attachment_id}/{filename}"
            resolved.setdefault("attachments", {})[str(attachment_id)] = {
                "id": str(attachment_id),
                "filename": filename,
                "size": int(info.get("size", 1024)),
                "url": url,
                "proxy_url": url,
                "content_type": info.get("content_type", "application/octet-stream"),
            }
            return str(attachment_id)
        raise ValueError(f"{value!r} is not a value for an option of type {option_type}")

    def _option_value(
        self,
        definition: JSON,
        value: Any,
        guild: FakeGuild | None,
        channel: FakeChannel,
        resolved: JSON,
        *,
        strict: bool,
    ) -> Any:
        option_type = int(definition["type"])
        name = definition["name"]
        if option_type in (6, 7, 8, 9, 11):
            return self._resolve(option_type, value, guild, channel, resolved)
        if option_type == 3 and not isinstance(value, str):
            raise ValueError(f"option {name!r} takes a string")
        if option_type == 4 and (not isinstance(value, int) or isinstance(value, bool)):
            raise ValueError(f"option {name!r} takes an integer")
        if option_type == 10 and (not isinstance(value, int | float) or isinstance(value, bool)):
            raise ValueError(f"option {name!r} takes a number")
        if option_type == 5 and not isinstance(value, bool):
            raise ValueError(f"option {name!r} takes a boolean")
        if strict:
            choices = definition.get("choices")
            if choices and value not in [choice["value"] for choice in choices]:
                raise ValueError(f"{value!r} is not a choice of option {name!r}")
            if isinstance(value, str):
                if len(value) < int(definition.get("min_length", 0)):
                    raise ValueError(f"{value!r} is shorter than option {name!r} allows")
                if len(value) > int(definition.get("max_length", 6000)):
                    raise ValueError(f"{value!r} is longer than option {name!r} allows")
            if isinstance(value, int | float) and not isinstance(value, bool):
                low = definition.get("min_value")
                high = definition.get("max_value")
                if (low is not None and value < low) or (high is not None and value > high):
                    raise ValueError(f"{value!r} is out of the range of option {name!r}")
        return value

    def _command_data(
        self,
        name: str,
        options: Mapping[str, Any] | None,
        guild: FakeGuild | None,
        channel: FakeChannel,
        user: FakeUser,
        *,
        focused: str | None,
        check_permissions: bool,
    ) -> JSON:
        root, *path = name.split()
        command = self._find_command(root, guild, 1)
        if check_permissions:
            self._check_command_permissions(command, guild, channel, user)
        definitions: list[JSON] = list(command.get("options") or [])
        chain: list[tuple[str, int]] = []
        for part in path:
            match = next((o for o in definitions if o["name"] == part), None)
            if match is None or match["type"] not in (1, 2):
                raise ValueError(f"/{root} has no subcommand or group {part!r}")
            chain.append((part, int(match["type"])))
            definitions = list(match.get("options") or [])
        if any(o["type"] in (1, 2) for o in definitions):
            raise ValueError(f"/{name} needs a subcommand")
        given = dict(options or {})
        by_name = {o["name"]: o for o in definitions}
        resolved: JSON = {}
        leaf: list[JSON] = []
        for option_name, value in given.items():
            definition = by_name.get(option_name)
            if definition is None:
                raise ValueError(f"/{name} has no option {option_name!r}; it has {list(by_name)}")
            if option_name == focused:
                if not definition.get("autocomplete"):
                    raise ValueError(f"option {option_name!r} has no autocomplete")
                leaf.append(
                    {
                        "name": option_name,
                        "type": definition["type"],
                        "value": value,
                        "focused": True,
                    }
                )
                continue
            converted = self._option_value(
                definition, value, guild, channel, resolved, strict=focused is None
            )
            leaf.append({"name": option_name, "type": definition["type"], "value": converted})
        if focused is None:
            missing = [
                o["name"] for o in definitions if o.get("required") and o["name"] not in given
            ]
            if missing:
                raise ValueError(f"/{name} misses required options {missing}")
        elif focused not in given:
            raise ValueError(f"the focused option {focused!r} needs a value (the typed text)")
        nested: list[JSON] = leaf
        for part, part_type in reversed(chain):
            entry: JSON = {"name": part, "type": part_type}
            if nested:
                entry["options"] = nested
            nested = [entry]
        data: JSON = {"id": command["id"], "name": root, "type": 1}
        if nested:
            data["options"] = nested
        if resolved:
            data["resolved"] = resolved
        if command.get("guild_id") is not None:
            data["guild_id"] = command["guild_id"]
        return data

    async def slash_command(
        self,
        guild: FakeGuild | None,
        channel: FakeChannel | int | None,
        user: FakeUser | FakeMember,
        name: str,
        options: Mapping[str, Any] | None = None,
        *,
        locale: str | None = None,
        check_permissions: bool = True,
    ) -> InteractionHandle:
        """``user`` runs ``/name`` (``"group sub"`` for subcommands) in ``channel``.

        The command must be registered (guild commands first, then global ones, as the
        Discord client offers them); option values are checked against the registered
        options (types, choices, ranges, required) and users, members, channels, roles and
        attachments go into ``resolved``. ``locale`` is the user's client language
        (default: ``user.locale``). Returns the handle of the dispatched interaction.
        """
        place_guild, place, person = self._place(guild, channel, user)
        data = self._command_data(
            name,
            options,
            place_guild,
            place,
            person,
            focused=None,
            check_permissions=check_permissions,
        )
        payload = self._interaction_payload(2, place_guild, place, person, locale)
        payload["data"] = data
        return await self._start_interaction(payload, person, None)

    async def autocomplete(
        self,
        guild: FakeGuild | None,
        channel: FakeChannel | int | None,
        user: FakeUser | FakeMember,
        name: str,
        options: Mapping[str, Any],
        *,
        focused: str,
        locale: str | None = None,
    ) -> InteractionHandle:
        """``user`` types into option ``focused`` of ``/name``: an APPLICATION_COMMAND_
        AUTOCOMPLETE interaction (type 4) with ``options[focused]`` as the typed text."""
        place_guild, place, person = self._place(guild, channel, user)
        data = self._command_data(
            name, options, place_guild, place, person, focused=focused, check_permissions=False
        )
        payload = self._interaction_payload(4, place_guild, place, person, locale)
        payload["data"] = data
        return await self._start_interaction(payload, person, None)

    def _find_component(self, message: SentMessage, custom_id: str) -> JSON | None:
        def walk(items: Iterable[Any]) -> JSON | None:
            for item in items:
                if not isinstance(item, dict):
                    continue
                if item.get("custom_id") == custom_id:
                    return item
                for child in (item.get("components") or [], [item.get("accessory")]):
                    found = walk(child)
                    if found is not None:
                        return found
            return None

        return walk(message.components)

    def _component_place(
        self, message: SentMessage | int, user: FakeUser | FakeMember
    ) -> tuple[SentMessage, FakeGuild | None, FakeChannel, FakeUser]:
        target = message if isinstance(message, SentMessage) else self._messages[message]
        if target.deleted:
            raise ValueError(f"message {target.id} was deleted")
        guild = None if target.guild_id is None else self.world.guilds[target.guild_id]
        place_guild, place, person = self._place(guild, target.channel_id, user)
        return target, place_guild, place, person

    async def press_button(
        self,
        message: SentMessage | int,
        custom_id: str,
        user: FakeUser | FakeMember,
        *,
        locale: str | None = None,
        check: bool = True,
    ) -> InteractionHandle:
        """``user`` presses the button ``custom_id`` of ``message`` (MESSAGE_COMPONENT, type
        3). With ``check`` the button must exist on the message and be enabled."""
        target, guild, place, person = self._component_place(message, user)
        component = self._find_component(target, custom_id)
        if check:
            if component is None:
                raise ValueError(f"message {target.id} has no component {custom_id!r}")
            if component.get("type") != 2:
                raise ValueError(f"component {custom_id!r} is not a button")
            if component.get("disabled"):
                raise ValueError(f"button {custom_id!r} is disabled")
        payload = self._interaction_payload(3, guild, place, person, locale)
        data: JSON = {"custom_id": custom_id, "component_type": 2}
        if component is not None and component.get("id") is not None:
            data["id"] = component["id"]
        payload["data"] = data
        payload["message"] = target.to_json()
        return await self._start_interaction(payload, person, target)

    async def select(
        self,
        message: SentMessage | int,
        custom_id: str,
        values: Sequence[Any],
        user: FakeUser | FakeMember,
        *,
        locale: str | None = None,
    ) -> InteractionHandle:
        """``user`` picks ``values`` in the select menu ``custom_id`` of ``message``."""
        target, guild, place, person = self._component_place(message, user)
        component = self._find_component(target, custom_id)
        if component is None or component.get("type") not in (3, 5, 6, 7, 8):
            raise ValueError(f"message {target.id} has no select menu {custom_id!r}")
        low = int(component.get("min_values", 1))
        high = int(component.get("max_values", 1))
        if not low <= len(values) <= high:
            raise ValueError(f"{len(values)} values, the menu takes {low}..{high}")
        component_type = int(component["type"])
        resolved: JSON = {}
        picked: list[str] = []
        if component_type == 3:
            allowed = [option["value"] for option in component.get("options") or []]
            for value in values:
                if value not in allowed:
                    raise ValueError(f"{value!r} is not an option of {custom_id!r}")
                picked.append(str(value))
        else:
            option_type = {5: 6, 6: 8, 7: 9, 8: 7}[component_type]
            picked = [self._resolve(option_type, v, guild, place, resolved) for v in values]
        payload = self._interaction_payload(3, guild, place, person, locale)
        data: JSON = {"custom_id": custom_id, "component_type": component_type, "values": picked}
        if resolved:
            data["resolved"] = resolved
        payload["data"] = data
        payload["message"] = target.to_json()
        return await self._start_interaction(payload, person, target)

    async def submit_modal(
        self,
        source: InteractionHandle,
        values: Mapping[str, Any],
        *,
        locale: str | None = None,
    ) -> InteractionHandle:
        """The user who got the modal of ``source`` fills it with ``values`` (by custom_id)
        and submits it (MODAL_SUBMIT, type 5)."""
        modal = source.modal
        if modal is None:
            raise ValueError(f"interaction {source.id} did not open a modal")
        guild = None if source.guild_id is None else self.world.guilds[source.guild_id]
        place_guild, place, person = self._place(guild, source.channel_id, source.user)
        unknown = set(values)

        def submitted(component: JSON) -> JSON | None:
            kind = component.get("type")
            if kind == 1:
                children = [submitted(c) for c in component.get("components") or []]
                return {"type": 1, "components": [c for c in children if c is not None]}
            if kind == 18:
                inner = component.get("component")
                child = submitted(inner) if isinstance(inner, dict) else None
                return None if child is None else {"type": 18, "component": child}
            custom_id = component.get("custom_id")
            if custom_id is None:
                return None
            unknown.discard(custom_id)
            if kind == 4:
                return {"type": 4, "custom_id": custom_id, "value": str(values.get(custom_id, ""))}
            picked = values.get(custom_id, [])
            return {"type": kind, "custom_id": custom_id, "values": list(picked)}

        components = [submitted(c) for c in modal.get("components") or []]
        if unknown:
            raise ValueError(f"the modal has no inputs {sorted(unknown)}")
        payload = self._interaction_payload(5, place_guild, place, person, locale)
        payload["data"] = {
            "custom_id": modal["custom_id"],
            "components": [c for c in components if c is not None],
        }
        if source.message is not None:
            payload["message"] = source.message.to_json()
        return await self._start_interaction(payload, person, source.message)

    async def user_message(
        self, channel: FakeChannel | int, user: FakeUser | FakeMember, content: str
    ) -> SentMessage:
        """``user`` posts ``content`` in ``channel``: MESSAGE_CREATE to the bot (content empty
        without the MESSAGE_CONTENT intent unless the bot is mentioned or it is a DM)."""
        place = self._channel(channel)
        guild = self.world.channel_guild(place)
        _, _, person = self._place(guild, place, user)
        message = SentMessage(
            id=self.snowflake(),
            channel_id=place.id,
            guild_id=None if guild is None else guild.id,
            author=person,
            content=content,
            source="user",
            pings=self._pings(content, None, place, person, None),
        )
        self._store(message)
        await self._echo("MESSAGE_CREATE", message)
        return message

    # -- REST plumbing -------------------------------------------------------------------------

    def inject_429(
        self,
        route: str | None = None,
        *,
        retry_after: float = 0.2,
        is_global: bool = False,
        scope: str = "user",
        count: int = 1,
        major: int | str | None = None,
    ) -> None:
        """Answer the next ``count`` requests of ``route`` (a route key as discord.py writes
        it, e.g. ``"POST /channels/{channel_id}/messages"``; None: any route) with 429.
        ``major`` narrows it to one channel/guild id (or ``"webhook_id+token"``)."""
        if route is not None and route not in {spec.key for spec in self.routes}:
            raise ValueError(f"unknown route {route!r}")
        self._injected.append(
            _Injected429(
                route=route,
                major=None if major is None else str(major),
                retry_after=retry_after,
                is_global=is_global,
                scope="global" if is_global else scope,
                remaining=count,
            )
        )

    def fail_next(
        self,
        route: str | None = None,
        *,
        status: int = 500,
        stall: float = 0.0,
        count: int = 1,
        major: int | str | None = None,
    ) -> None:
        """Answer the next ``count`` requests of ``route`` (None: any) with ``status`` (a
        5xx), after ``stall`` seconds (past the client's timeout: unprocessed either way)."""
        if route is not None and route not in {spec.key for spec in self.routes}:
            raise ValueError(f"unknown route {route!r}")
        self._errors.append(
            _InjectedError(route, None if major is None else str(major), status, stall, count)
        )

    def _route_table(self) -> list[_RouteSpec]:
        channel = ("channel_id",)
        guild = ("guild_id",)
        webhook = ("webhook_id", "webhook_token")
        interaction = ("interaction_id", "interaction_token")
        app = "/applications/{application_id}"
        hook = "/webhooks/{webhook_id}/{webhook_token}"
        message = "/channels/{channel_id}/messages/{message_id}"
        spec = _RouteSpec
        return [
            spec("GET", "/gateway", self._h_gateway, "default", auth=False, global_limit=False),
            spec("GET", "/gateway/bot", self._h_gateway_bot, "default"),
            spec("GET", "/users/@me", self._h_me, "default"),
            spec("POST", "/users/@me/channels", self._h_create_dm, "dm.create"),
            spec("GET", "/users/{user_id}", self._h_user, "default"),
            spec("GET", "/oauth2/applications/@me", self._h_application, "default"),
            spec("GET", "/applications/@me", self._h_application, "default"),
            spec("GET", f"{app}/commands", self._h_commands_get, "commands.read"),
            spec("PUT", f"{app}/commands", self._h_commands_put, "commands.write"),
            spec("POST", f"{app}/commands", self._h_commands_post, "commands.write"),
            spec("GET", f"{app}/commands/{{command_id}}", self._h_command_get, "commands.read"),
            spec(
                "PATCH", f"{app}/commands/{{command_id}}", self._h_command_patch, "commands.write"
            ),
            spec(
                "DELETE", f"{app}/commands/{{command_id}}", self._h_command_delete, "commands.write"
            ),
            spec(
                "GET", f"{app}/guilds/{{guild_id}}/commands", self._h_commands_get, "commands.read",
                major=guild,
            ),
            spec(
                "PUT", f"{app}/guilds/{{guild_id}}/commands", self._h_commands_put,
                "commands.write", major=guild,
            ),
            spec(
                "POST", f"{app}/guilds/{{guild_id}}/commands", self._h_commands_post,
                "commands.write", major=guild,
            ),
            spec(
                "GET", f"{app}/guilds/{{guild_id}}/commands/{{command_id}}", self._h_command_get,
                "commands.read", major=guild,
            ),
            spec(
                "PATCH", f"{app}/guilds/{{guild_id}}/commands/{{command_id}}",
                self._h_command_patch, "commands.write", major=guild,
            ),
            spec(
                "DELETE", f"{app}/guilds/{{guild_id}}/commands/{{command_id}}",
                self._h_command_delete, "commands.write", major=guild,
            ),
            spec(
                "POST", "/interactions/{interaction_id}/{interaction_token}/callback",
                self._h_callback, "interactions.callback", auth=False, global_limit=False,
                major=interaction,
            ),
            spec(
                "POST", hook, self._h_followup, "webhooks", auth=False, global_limit=False,
                major=webhook,
            ),
            spec(
                "GET", f"{hook}/messages/@original", self._h_webhook_message_get, "webhooks",
                auth=False, global_limit=False, major=webhook,
            ),
            spec(
                "PATCH", f"{hook}/messages/@original", self._h_webhook_message_edit, "webhooks",
                auth=False, global_limit=False, major=webhook,
            ),
            spec(
                "DELETE", f"{hook}/messages/@original", self._h_webhook_message_delete,
                "webhooks", auth=False, global_limit=False, major=webhook,
            ),
            spec(
                "GET", f"{hook}/messages/{{message_id}}", self._h_webhook_message_get,
                "webhooks", auth=False, global_limit=False, major=webhook,
            ),
            spec(
                "PATCH", f"{hook}/messages/{{message_id}}", self._h_webhook_message_edit,
                "webhooks", auth=False, global_limit=False, major=webhook,
            ),
            spec(
                "DELETE", f"{hook}/messages/{{message_id}}", self._h_webhook_message_delete,
                "webhooks", auth=False, global_limit=False, major=webhook,
            ),
            spec(
                "GET", "/channels/{channel_id}", self._h_channel_get, "channels.get", major=channel
            ),
            spec(
                "GET", "/channels/{channel_id}/messages", self._h_messages_list, "messages.get",
                major=channel,
            ),
            spec(
                "POST", "/channels/{channel_id}/messages", self._h_message_create,
                "messages.create", major=channel,
            ),
            spec(
                "POST", "/channels/{channel_id}/typing", self._h_typing, "default", major=channel
            ),
            spec("GET", message, self._h_message_get, "messages.get", major=channel),
            spec("PATCH", message, self._h_message_edit, "messages.edit", major=channel),
            spec("DELETE", message, self._h_message_delete, "messages.delete", major=channel),
            spec("GET", "/guilds/{guild_id}", self._h_guild_get, "guilds.get", major=guild),
            spec(
                "GET", "/guilds/{guild_id}/channels", self._h_guild_channels, "guilds.get",
                major=guild,
            ),
            spec("GET", "/guilds/{guild_id}/roles", self._h_guild_roles, "guilds.get", major=guild),
            spec(
                "POST", "/guilds/{guild_id}/scheduled-events", self._h_scheduled_create,
                "scheduled", major=guild,
            ),
            spec(
                "PATCH", "/guilds/{guild_id}/scheduled-events/{event_id}",
                self._h_scheduled_edit, "scheduled", major=guild,
            ),
            spec(
                "GET", "/guilds/{guild_id}/members/{user_id}", self._h_member_get, "members.get",
                major=guild,
            ),
        ]  # fmt: skip

    def _api_app(self) -> web.Application:
        app = web.Application(client_max_size=25 * 1024 * 1024)
        for spec in self.routes:
            app.router.add_route(spec.method, spec.path, self._endpoint(spec))
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        return app

    def _endpoint(self, spec: _RouteSpec) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def endpoint(request: web.Request) -> web.StreamResponse:
            return await self._serve(request, spec)

        return endpoint

    async def _not_found(self, request: web.Request) -> web.StreamResponse:
        self.stats.requests += 1
        self.stats.by_status[404] += 1
        self.requests.append(RequestRecord(request.method, request.path, "", 404, time.monotonic()))
        body = dumps({"message": "404: Not Found", "code": 0}).encode()
        headers = {"Content-Type": "application/json", "Via": "1.1 google"}
        return web.Response(status=404, body=body, headers=headers)

    def _bucket_hash(self, bucket: str) -> str:
        found = self._bucket_hashes.get(bucket)
        if found is None:
            found = hashlib.md5(f"fake-discord:{bucket}".encode()).hexdigest()
            self._bucket_hashes[bucket] = found
        return found

    async def _serve(self, request: web.Request, spec: _RouteSpec) -> web.StreamResponse:
        now = time.monotonic()
        stats = self.stats
        stats.requests += 1
        stats.by_route[spec.key] += 1
        match = request.match_info
        major = "+".join(match[name] for name in spec.major) if spec.major else ""
        rule = self.rate_limits.bucket(spec.bucket)
        window_key = (spec.bucket, major)
        window = self._windows.get(window_key)
        if window is None:
            window = self._windows[window_key] = _Window()
        if now >= window.reset_at:
            window.count = 0
            window.reset_at = now + rule.per
        status: int
        body: Any
        try:
            if spec.auth and request.headers.get("Authorization") != self._auth:
                stats.unauthorized += 1
                raise ApiError(401, 0, "401: Unauthorized")
            if self._errors:
                error = _take_next(self._errors, spec.key, major)
                if error is not None:
                    if error.stall:
                        await asyncio.sleep(error.stall)
                    raise ApiError(error.status, 0, f"{error.status}: injected server error")
            if self._injected:
                injected = _take_next(self._injected, spec.key, major)
                if injected is not None:
                    stats.injected_429s += 1
                    return self._too_many(
                        request,
                        spec,
                        window,
                        rule,
                        now,
                        retry_after=injected.retry_after,
                        scope=injected.scope,
                    )
            limit = self.rate_limits.global_per_second
            if spec.global_limit and limit is not None:
                window_global = self._global_window
                if now >= window_global.reset_at:
                    window_global.count = 0
                    window_global.reset_at = now + 1.0
                if window_global.count >= limit:
                    retry = window_global.reset_at - now
                    return self._too_many(
                        request, spec, window, rule, now, retry_after=retry, scope="global"
                    )
                window_global.count += 1
            if window.count >= rule.limit:
                return self._too_many(
                    request,
                    spec,
                    window,
                    rule,
                    now,
                    retry_after=window.reset_at - now,
                    scope="user",
                )
            window.count += 1
            incoming = (
                await self._read_body(request)
                if request.method in ("POST", "PUT", "PATCH")
                else _Body(None, [])
            )
            status, body = await spec.handler(request, incoming)
        except ApiError as error:
            status, body = error.status, error.body()
        except Exception as error:  # a bug in the fake: 500 now, raised at stop()
            self._internal_errors.append(error)
            status = 500
            body = {"message": f"500: Internal Server Error ({error!r})", "code": 0}
        stats.by_status[status] += 1
        self.requests.append(RequestRecord(request.method, request.path, spec.key, status, now))
        headers = {
            "Via": "1.1 google",
            "X-RateLimit-Bucket": self._bucket_hash(spec.bucket),
            "X-RateLimit-Limit": str(rule.limit),
            "X-RateLimit-Remaining": str(max(rule.limit - window.count, 0)),
            "X-RateLimit-Reset": f"{time.time() + (window.reset_at - now):.3f}",
            "X-RateLimit-Reset-After": f"{max(window.reset_at - now, 0.0):.3f}",
        }
        self._notifier.notify()
        if body is None:
            return web.Response(status=status, headers=headers)
        headers["Content-Type"] = "application/json"
        return web.Response(status=status, body=dumps(body).encode(), headers=headers)

    def _too_many(
        self,
        request: web.Request,
        spec: _RouteSpec,
        window: _Window,
        rule: RateLimit,
        now: float,
        *,
        retry_after: float,
        scope: str,
    ) -> web.Response:
        retry_after = max(round(retry_after, 3), 0.001)
        is_global = scope == "global"
        self.stats.rate_limited += 1
        self.stats.by_status[429] += 1
        if is_global:
            self.stats.global_rate_limited += 1
        self.requests.append(RequestRecord(request.method, request.path, spec.key, 429, now))
        headers = {
            "Content-Type": "application/json",
            "Via": "1.1 google",
            "Retry-After": str(max(math.ceil(retry_after), 1)),
            "X-RateLimit-Scope": scope,
        }
        if is_global:
            headers["X-RateLimit-Global"] = "true"
        else:
            headers.update(
                {
                    "X-RateLimit-Bucket": self._bucket_hash(spec.bucket),
                    "X-RateLimit-Limit": str(rule.limit),
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": f"{time.time() + retry_after:.3f}",
                    "X-RateLimit-Reset-After": f"{retry_after:.3f}",
                }
            )
        body = {
            "message": "You are being rate limited.",
            "retry_after": retry_after,
            "global": is_global,
        }
        self._notifier.notify()
        return web.Response(status=429, body=dumps(body).encode(), headers=headers)

    async def _read_body(self, request: web.Request) -> _Body:
        if request.content_type.startswith("multipart/"):
            return await self._read_multipart(request)
        raw = await request.read()
        if not raw:
            return _Body(None, [])
        try:
            data = json.loads(raw)
        except ValueError:
            raise ApiError(400, 50109, "The request body contains invalid JSON.") from None
        if not isinstance(data, dict | list):
            raise ApiError(400, 50109, "The request body contains invalid JSON.")
        return _Body(data, [])

    async def _read_multipart(self, request: web.Request) -> _Body:
        reader = await request.multipart()
        data: Any = None
        files: list[JSON] = []
        while True:
            part = await reader.next()
            if part is None:
                break
            if not isinstance(part, BodyPartReader):
                continue
            name = part.name or ""
            if name == "payload_json":
                try:
                    data = json.loads(await part.text())
                except ValueError:
                    raise ApiError(400, 50109, "The request body contains invalid JSON.") from None
            elif name.startswith("files["):
                content = await part.read()
                self.uploads.append(bytes(content))
                files.append(
                    {
                        "field": name,
                        "index": int(name[6:-1]) if name[6:-1].isdigit() else len(files),
                        "filename": part.filename or "file",
                        "size": len(content),
                        "content_type": part.headers.get("Content-Type"),
                    }
                )
        if data is not None and not isinstance(data, dict):
            raise ApiError(400, 50109, "The request body contains invalid JSON.")
        return _Body(data if data is not None else {}, files)

    # -- validation ----------------------------------------------------------------------------

    @staticmethod
    def _valid_url(value: Any, *, attachment: bool = False) -> bool:
        if not isinstance(value, str):
            return False
        parts = urlsplit(value)
        if attachment and parts.scheme == "attachment":
            return bool(parts.netloc or parts.path)
        return parts.scheme in ("http", "https") and bool(parts.netloc)

    def _validate_embeds(self, embeds: Any, errors: FormErrors) -> None:
        if not isinstance(embeds, list):
            errors.add(["embeds"], "BASE_TYPE_LIST", "Must be an array.")
            return
        errors.max_length(["embeds"], embeds, 10)
        total = 0
        for index, embed in enumerate(embeds):
            path: list[str | int] = ["embeds", index]
            if not isinstance(embed, dict):
                errors.add(path, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
                continue
            for key, limit in (("title", 256), ("description", 4096)):
                value = embed.get(key)
                if value is None:
                    continue
                if not isinstance(value, str):
                    errors.add([*path, key], "BASE_TYPE_STRING", "Must be a string.")
                    continue
                errors.max_length([*path, key], value, limit)
                total += len(value)
            if embed.get("url") is not None and not self._valid_url(embed["url"]):
                errors.add([*path, "url"], "URL_TYPE_INVALID_URL", "Not a well formed URL.")
            color = embed.get("color")
            if color is not None and (
                not isinstance(color, int) or isinstance(color, bool) or not 0 <= color <= 0xFFFFFF
            ):
                errors.add(
                    [*path, "color"], "NUMBER_TYPE_MAX", "int value should be <= 16777215 and >= 0."
                )
            stamp = embed.get("timestamp")
            if stamp is not None:
                try:
                    dt.datetime.fromisoformat(str(stamp))
                except ValueError:
                    errors.add(
                        [*path, "timestamp"],
                        "DATE_TYPE_PARSE",
                        f"Could not parse {stamp}. Should be ISO8601.",
                    )
            fields = embed.get("fields")
            if fields is not None:
                if not isinstance(fields, list):
                    errors.add([*path, "fields"], "BASE_TYPE_LIST", "Must be an array.")
                    fields = []
                errors.max_length([*path, "fields"], fields, 25)
                for number, item in enumerate(fields):
                    item_path = [*path, "fields", number]
                    if not isinstance(item, dict):
                        errors.add(item_path, "DICT_TYPE_CONVERT", "Only dictionaries may be used")
                        continue
                    for key, limit in (("name", 256), ("value", 1024)):
                        value = item.get(key)
                        if value is None or value == "":
                            errors.add(
                                [*item_path, key], "BASE_TYPE_REQUIRED", "This field is required"
                            )
                        elif not isinstance(value, str):
                            errors.add([*item_path, key], "BASE_TYPE_STRING", "Must be a string.")
                        else:
                            errors.max_length([*item_path, key], value, limit)
                            total += len(value)
            for key, text_key, limit in (("footer", "text", 2048), ("author", "name", 256)):
                part = embed.get(key)
                if part is None:
                    continue
                if not isinstance(part, dict):
                    errors.add([*path, key], "DICT_TYPE_CONVERT", "Only dictionaries may be used")
                    continue
                text = part.get(text_key)
                if text is None or text == "":
                    errors.add(
                        [*path, key, text_key], "BASE_TYPE_REQUIRED", "This field is required"
                    )
                elif not isinstance(text, str):
                    errors.add([*path, key, text_key], "BASE_TYPE_STRING", "Must be a string.")
                else:
                    errors.max_length([*path, key, text_key], text, limit)
                    total += len(text)
                for url_key in ("icon_url", "url"):
                    url = part.get(url_key)
                    if url is not None and not self._valid_url(
                        url, attachment=url_key == "icon_url"
                    ):
                        errors.add(
                            [*path, key, url_key], "URL_TYPE_INVALID_URL", "Not a well formed URL."
                        )
            for key in ("image", "thumbnail"):
                part = embed.get(key)
                if part is None:
                    continue
                if not isinstance(part, dict) or not self._valid_url(
                    part.get("url"), attachment=True
                ):
                    errors.add(
                        [*path, key, "url"], "URL_TYPE_INVALID_URL", "Not a well formed URL."
                    )
        if total > 6000:
            errors.add(
                ["embeds"], "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000"
            )

    def _validate_component(
        self, component: Any, path: list[str | int], errors: FormErrors, seen: set[str]
    ) -> None:
        if not isinstance(component, dict):
            errors.add(path, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
            return
        kind = component.get("type")
        custom_id = component.get("custom_id")
        if kind == 2:
            style = component.get("style")
            if style not in (1, 2, 3, 4, 5, 6):
                errors.add([*path, "style"], "BASE_TYPE_CHOICES", "Value must be one of (1-6).")
            if style == 5:
                if not self._valid_url(component.get("url")):
                    errors.add([*path, "url"], "BASE_TYPE_REQUIRED", "This field is required")
                if custom_id is not None:
                    errors.add(
                        [*path, "custom_id"],
                        "COMPONENT_CUSTOM_ID_NOT_ALLOWED",
                        "A custom id is not allowed with this button style",
                    )
            elif style == 6:
                if component.get("sku_id") is None:
                    errors.add([*path, "sku_id"], "BASE_TYPE_REQUIRED", "This field is required")
            elif custom_id is None:
                errors.add([*path, "custom_id"], "BASE_TYPE_REQUIRED", "This field is required")
            label = component.get("label")
            if label is not None:
                errors.max_length([*path, "label"], label, 80)
            if style != 6 and not label and not component.get("emoji"):
                errors.add(
                    [*path, "label"],
                    "BUTTON_COMPONENT_LABEL_OR_EMOJI_REQUIRED",
                    "A label or an emoji is required",
                )
        elif kind in (3, 5, 6, 7, 8):
            if custom_id is None:
                errors.add([*path, "custom_id"], "BASE_TYPE_REQUIRED", "This field is required")
            errors.max_length([*path, "placeholder"], component.get("placeholder"), 150)
            low = component.get("min_values", 1)
            high = component.get("max_values", 1)
            if not isinstance(low, int) or not 0 <= low <= 25:
                errors.add([*path, "min_values"], "NUMBER_TYPE_MAX", "Must be between 0 and 25.")
            if not isinstance(high, int) or not 1 <= high <= 25:
                errors.add([*path, "max_values"], "NUMBER_TYPE_MAX", "Must be between 1 and 25.")
            if kind == 3:
                options = component.get("options")
                if not isinstance(options, list) or not 1 <= len(options) <= 25:
                    errors.add(
                        [*path, "options"],
                        "BASE_TYPE_BAD_LENGTH",
                        "Must be between 1 and 25 in length.",
                    )
                    options = []
                for number, option in enumerate(options):
                    option_path = [*path, "options", number]
                    if not isinstance(option, dict):
                        errors.add(
                            option_path, "DICT_TYPE_CONVERT", "Only dictionaries may be used"
                        )
                        continue
                    errors.length([*option_path, "label"], option.get("label"), 1, 100)
                    errors.length([*option_path, "value"], option.get("value"), 1, 100)
                    errors.max_length([*option_path, "description"], option.get("description"), 100)
        elif kind == 4:
            errors.length([*path, "label"], component.get("label", "x"), 1, 45)
            errors.max_length([*path, "value"], component.get("value"), 4000)
            if custom_id is None:
                errors.add([*path, "custom_id"], "BASE_TYPE_REQUIRED", "This field is required")
        if custom_id is not None:
            if not isinstance(custom_id, str) or not 1 <= len(custom_id) <= 100:
                errors.add(
                    [*path, "custom_id"],
                    "BASE_TYPE_BAD_LENGTH",
                    "Must be between 1 and 100 in length.",
                )
            elif custom_id in seen:
                errors.add(
                    [*path, "custom_id"],
                    "COMPONENT_CUSTOM_ID_DUPLICATED",
                    "Component custom id cannot be duplicated",
                )
            else:
                seen.add(custom_id)

    def _validate_components(
        self, components: Any, errors: FormErrors, *, v2: bool, modal: bool = False
    ) -> None:
        if not isinstance(components, list):
            errors.add(["components"], "BASE_TYPE_LIST", "Must be an array.")
            return
        seen: set[str] = set()
        if v2:
            count = 0

            def walk(items: list[Any], path: list[str | int]) -> None:
                nonlocal count
                for number, item in enumerate(items):
                    count += 1
                    item_path = [*path, number]
                    if not isinstance(item, dict):
                        errors.add(item_path, "DICT_TYPE_CONVERT", "Only dictionaries may be used")
                        continue
                    self._validate_component(item, item_path, errors, seen)
                    children = item.get("components")
                    if isinstance(children, list):
                        walk(children, [*item_path, "components"])
                    accessory = item.get("accessory")
                    if isinstance(accessory, dict):
                        count += 1
                        self._validate_component(accessory, [*item_path, "accessory"], errors, seen)

            walk(components, ["components"])
            if count > 40:
                errors.add(["components"], "BASE_TYPE_MAX_LENGTH", "Must be 40 or fewer in length.")
            return
        errors.max_length(["components"], components, 5)
        for index, row in enumerate(components):
            path: list[str | int] = ["components", index]
            if not isinstance(row, dict):
                errors.add(path, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
                continue
            if modal and row.get("type") == 18:
                inner = row.get("component")
                self._validate_component(inner, [*path, "component"], errors, seen)
                continue
            if row.get("type") != 1:
                errors.add(
                    [*path, "type"], "UNION_TYPE_CHOICES", 'Value of field "type" must be 1.'
                )
                continue
            children = row.get("components")
            if not isinstance(children, list) or not 1 <= len(children) <= 5:
                errors.add(
                    [*path, "components"],
                    "BASE_TYPE_BAD_LENGTH",
                    "Must be between 1 and 5 in length.",
                )
                continue
            kinds = [c.get("type") if isinstance(c, dict) else None for c in children]
            wide = [k for k in kinds if k in (3, 4, 5, 6, 7, 8)]
            if wide and len(children) > 1:
                errors.add(
                    [*path, "components"],
                    "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                    "The specified component exceeds the maximum width",
                )
            if not modal and 4 in kinds:
                errors.add(
                    [*path, "components"], "COMPONENT_TYPE_INVALID", "Text inputs belong in modals"
                )
            for number, child in enumerate(children):
                self._validate_component(child, [*path, "components", number], errors, seen)

    def _validate_allowed_mentions(self, value: Any, errors: FormErrors) -> None:
        if not isinstance(value, dict):
            errors.add(["allowed_mentions"], "DICT_TYPE_CONVERT", "Only dictionaries may be used")
            return
        parse = value.get("parse", [])
        if not isinstance(parse, list):
            errors.add(["allowed_mentions", "parse"], "BASE_TYPE_LIST", "Must be an array.")
            parse = []
        for index, item in enumerate(parse):
            if item not in ("users", "roles", "everyone"):
                errors.add(
                    ["allowed_mentions", "parse", index],
                    "BASE_TYPE_CHOICES",
                    "Value must be one of {'users', 'roles', 'everyone'}.",
                )
        for key in ("users", "roles"):
            ids = value.get(key)
            if ids is None:
                continue
            if not isinstance(ids, list):
                errors.add(["allowed_mentions", key], "BASE_TYPE_LIST", "Must be an array.")
                continue
            errors.max_length(["allowed_mentions", key], ids, 100)
            if key in parse and ids:
                errors.add(
                    ["allowed_mentions"],
                    "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                    f'parse:["{key}"] and {key}: [ids] are mutually exclusive.',
                )

    def _validate_message(
        self, data: JSON, errors: FormErrors, *, flags_allowed: int, edit: bool = False
    ) -> None:
        content = data.get("content")
        if content is not None:
            if not isinstance(content, str):
                errors.add(["content"], "BASE_TYPE_STRING", "Must be a string.")
            else:
                errors.max_length(["content"], content, 2000)
        flags = data.get("flags")
        v2 = False
        if flags is not None:
            if not isinstance(flags, int) or isinstance(flags, bool):
                errors.add(["flags"], "NUMBER_TYPE_COERCE", f'Value "{flags}" is not int.')
            else:
                v2 = bool(flags & IS_COMPONENTS_V2)
                if flags & ~flags_allowed:
                    errors.add(["flags"], "MESSAGE_FLAGS_INVALID", "Invalid message flags.")
        embeds = data.get("embeds")
        if embeds is None and data.get("embed") is not None:
            embeds = [data["embed"]]
        if embeds is not None:
            self._validate_embeds(embeds, errors)
        if v2 and (content or embeds):
            errors.add(
                ["content" if content else "embeds"],
                "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
                "The 'content' and 'embeds' fields cannot be used when using "
                "MessageFlags.IS_COMPONENTS_V2",
            )
        components = data.get("components")
        if components is not None:
            self._validate_components(components, errors, v2=v2)
        allowed = data.get("allowed_mentions")
        if allowed is not None:
            self._validate_allowed_mentions(allowed, errors)
        if data.get("tts") is not None and not isinstance(data.get("tts"), bool):
            errors.add(["tts"], "BASE_TYPE_BOOLEAN", "Must be either true or false.")
        nonce = data.get("nonce")
        if isinstance(nonce, str):
            errors.max_length(["nonce"], nonce, 25)
        elif nonce is not None and (not isinstance(nonce, int) or isinstance(nonce, bool)):
            errors.add(["nonce"], "BASE_TYPE_BAD_TYPE", "Must be a string or an integer.")
        enforce = data.get("enforce_nonce")
        if enforce is not None and not isinstance(enforce, bool):
            errors.add(["enforce_nonce"], "BASE_TYPE_BOOLEAN", "Must be either true or false.")

    # -- messages ------------------------------------------------------------------------------

    def _pings(
        self,
        content: str,
        allowed_mentions: Any,
        channel: FakeChannel,
        author: FakeUser,
        replied: SentMessage | None,
    ) -> Pings:
        if isinstance(allowed_mentions, dict):
            parse = set(allowed_mentions.get("parse") or [])
            users_ok = {int(x) for x in allowed_mentions.get("users") or [] if str(x).isdigit()}
            roles_ok = {int(x) for x in allowed_mentions.get("roles") or [] if str(x).isdigit()}
            reply_ok = bool(allowed_mentions.get("replied_user", False))
        else:
            parse = {"users", "roles", "everyone"}
            users_ok = set()
            roles_ok = set()
            reply_ok = True
        guild = self.world.channel_guild(channel)
        if author.id == self.world.bot.id:
            permissions = self.world.bot_permissions(channel)
        elif guild is not None:
            permissions = guild.permissions_in(channel, author.id)
        else:
            permissions = 0
        may_everyone = bool(permissions & PERMISSIONS["MENTION_EVERYONE"])
        everyone = (
            ("@everyone" in content or "@here" in content)
            and "everyone" in parse
            and may_everyone
            and guild is not None
        )
        users = frozenset(
            uid
            for uid in (int(x) for x in _USER_MENTION.findall(content))
            if "users" in parse or uid in users_ok
        )
        roles: set[int] = set()
        if guild is not None:
            for role_id in (int(x) for x in _ROLE_MENTION.findall(content)):
                role = guild.roles.get(role_id)
                if role is None or not ("roles" in parse or role_id in roles_ok):
                    continue
                if role.mentionable or may_everyone:
                    roles.add(role_id)
        replied_user = replied is not None and reply_ok and replied.author.id != author.id
        return Pings(
            everyone=everyone, users=users, roles=frozenset(roles), replied_user=replied_user
        )

    def _store(self, message: SentMessage) -> None:
        self._messages[message.id] = message
        self._channel_messages.setdefault(message.channel_id, []).append(message)
        channel = self.world.channels.get(message.channel_id)
        if channel is not None:
            channel.last_message_id = message.id
        if message.source != "user":
            self.stats.message_times.setdefault(message.channel_id, []).append(time.monotonic())
        for observer in self.observers:
            observer(message)
        self._notifier.notify()

    async def _echo(self, event: str, message: SentMessage) -> None:
        """MESSAGE_CREATE/UPDATE/DELETE to the sessions that subscribed to them."""
        if message.ephemeral or (not self.echo_messages and message.source != "user"):
            return
        guild_id = message.guild_id
        intent = INTENTS["GUILD_MESSAGES"] if guild_id is not None else INTENTS["DIRECT_MESSAGES"]
        sessions = [
            s for s in self.gateway.live_sessions() if s.covers(guild_id) and s.intents & intent
        ]
        if not sessions:
            return
        if event == "MESSAGE_DELETE":
            data: JSON = {"id": str(message.id), "channel_id": str(message.channel_id)}
            if guild_id is not None:
                data["guild_id"] = str(guild_id)
        else:
            data = message.to_json()
            data["mentions"] = [
                self.world.users[uid].to_json()
                for uid in sorted(message.pings.users)
                if uid in self.world.users
            ]
            guild = None if guild_id is None else self.world.guilds.get(guild_id)
            if guild is not None and message.author.id in guild.members:
                data["member"] = guild.members[message.author.id].to_json(with_user=False)
        hidden = {**data, "content": "", "embeds": [], "attachments": [], "components": []}
        for session in sessions:
            payload = data
            if (
                event != "MESSAGE_DELETE"
                and guild_id is not None
                and message.author.id != self.world.bot.id
                and not session.intents & INTENTS["MESSAGE_CONTENT"]
                and self.world.bot.id not in message.pings.users
            ):
                payload = hidden
            await self.gateway.dispatch_to(session, event, payload)
        self._notifier.notify()

    def _components_with_ids(self, components: list[Any]) -> list[JSON]:
        copied: list[JSON] = json.loads(dumps(components))
        counter = 0

        def walk(items: Iterable[Any]) -> None:
            nonlocal counter
            for item in items:
                if not isinstance(item, dict):
                    continue
                counter += 1
                item.setdefault("id", counter)
                walk(item.get("components") or [])
                if isinstance(item.get("component"), dict):
                    walk([item["component"]])
                if isinstance(item.get("accessory"), dict):
                    walk([item["accessory"]])

        walk(copied)
        return copied

    @staticmethod
    def _normalized_embeds(data: JSON) -> list[JSON]:
        raw = data.get("embeds")
        if raw is None and data.get("embed") is not None:
            raw = [data["embed"]]
        embeds: list[JSON] = []
        for embed in raw or []:
            item = dict(embed)
            item.setdefault("type", "rich")
            if "fields" in item:
                item["fields"] = [
                    {"name": f["name"], "value": f["value"], "inline": bool(f.get("inline", False))}
                    for f in item["fields"]
                ]
            item.setdefault("content_scan_version", 0)
            embeds.append(item)
        return embeds

    def _attachments(self, data: JSON, files: list[JSON], errors: FormErrors) -> list[JSON]:
        described = {
            int(a["id"]): a
            for a in data.get("attachments") or []
            if isinstance(a, dict) and str(a.get("id", "")).isdigit()
        }
        errors.max_length(["files"], files, 10)
        attachments: list[JSON] = []
        for upload in files:
            if upload["size"] > 10 * 1024 * 1024:
                raise ApiError(413, 40005, "Request entity too large")
            meta = described.get(upload["index"], {})
            attachment_id = self.snowflake()
            filename = str(meta.get("filename") or upload["filename"])
            url = f"{self.base_url}/attachments/{attachment_id}/{filename}"
            item: JSON = {
                "id": str(attachment_id),
                "filename": filename,
                "size": upload["size"],
                "url": url,
                "proxy_url": url,
            }
            if upload.get("content_type"):
                item["content_type"] = upload["content_type"]
            if meta.get("description"):
                item["description"] = meta["description"]
            attachments.append(item)
        return attachments

    def _new_message(
        self,
        body: _Body,
        channel: FakeChannel,
        *,
        source: str,
        flags_allowed: int,
        handle: InteractionHandle | None = None,
        message_type: int = 0,
        errors: FormErrors | None = None,
    ) -> SentMessage:
        data = body.data
        if data is None:
            data = {}
        if not isinstance(data, dict):
            errors = errors or FormErrors()
            errors.add([], "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
            errors.raise_if_any()
        errors = errors or FormErrors()
        self._validate_message(data, errors, flags_allowed=flags_allowed)
        attachments = self._attachments(data, body.files, errors)
        replied: SentMessage | None = None
        reference = data.get("message_reference")
        if isinstance(reference, dict) and reference.get("message_id") is not None:
            replied = self._messages.get(int(str(reference["message_id"])))
            if (replied is None or replied.channel_id != channel.id) and reference.get(
                "fail_if_not_exists", True
            ):
                errors.add(
                    ["message_reference"],
                    "MESSAGE_REFERENCE_UNKNOWN_MESSAGE",
                    "Unknown message",
                )
        errors.raise_if_any()
        content = str(data.get("content") or "")
        embeds = self._normalized_embeds(data)
        components = data.get("components") or []
        if (
            not content.strip()
            and not embeds
            and not components
            and not attachments
            and not data.get("sticker_ids")
            and not data.get("poll")
        ):
            raise ApiError(400, 50006, "Cannot send an empty message")
        if channel.guild_id is not None and not (
            self.world.bot_permissions(channel) & PERMISSIONS["EMBED_LINKS"]
        ):
            embeds = []  # Discord drops the embeds of a bot without EMBED_LINKS
        message = SentMessage(
            id=self.snowflake(),
            channel_id=channel.id,
            guild_id=channel.guild_id,
            author=self.world.bot,
            content=content,
            embeds=embeds,
            components=self._components_with_ids(components),
            flags=int(data.get("flags") or 0),
            allowed_mentions=data.get("allowed_mentions"),
            pings=self._pings(
                content, data.get("allowed_mentions"), channel, self.world.bot, replied
            ),
            source=source,
            attachments=attachments,
            tts=bool(data.get("tts")),
            type=19 if replied is not None else message_type,
            payload=data,
        )
        if replied is not None:
            message.message_reference = {
                "type": 0,
                "message_id": str(replied.id),
                "channel_id": str(channel.id),
            }
            if channel.guild_id is not None:
                message.message_reference["guild_id"] = str(channel.guild_id)
        if handle is not None:
            message.interaction_id = handle.id
            message.webhook_id = self.world.application_id
            metadata: JSON = {
                "id": str(handle.id),
                "type": handle.type,
                "user": handle.user.to_json(),
                "authorizing_integration_owners": handle.payload.get(
                    "authorizing_integration_owners", {}
                ),
            }
            if handle.type == 2:
                metadata["name"] = handle.payload["data"]["name"]
                metadata["command_type"] = 1
            if handle.message is not None:
                metadata["interacted_message_id"] = str(handle.message.id)
            if source == "followup" and handle.original is not None:
                metadata["original_response_message_id"] = str(handle.original.id)
            message.interaction_metadata = metadata
        return message

    def _apply_edit(self, message: SentMessage, body: _Body, *, flags_allowed: int) -> None:
        data = body.data if isinstance(body.data, dict) else {}
        errors = FormErrors()
        self._validate_message(data, errors, flags_allowed=flags_allowed, edit=True)
        attachments = self._attachments(data, body.files, errors)
        errors.raise_if_any()
        channel = self.world.channels[message.channel_id]
        if "content" in data:
            message.content = str(data.get("content") or "")
        if "embeds" in data or "embed" in data:
            message.embeds = self._normalized_embeds(data)
            if channel.guild_id is not None and not (
                self.world.bot_permissions(channel) & PERMISSIONS["EMBED_LINKS"]
            ):
                message.embeds = []
        if "components" in data:
            message.components = self._components_with_ids(data.get("components") or [])
        if "flags" in data and data["flags"] is not None:
            keep = message.flags & (EPHEMERAL | IS_COMPONENTS_V2)
            message.flags = keep | (int(data["flags"]) & (SUPPRESS_EMBEDS | IS_COMPONENTS_V2))
        if "allowed_mentions" in data:
            message.allowed_mentions = data.get("allowed_mentions")
        if "attachments" in data or attachments:
            kept_ids = {
                str(a.get("id")) for a in data.get("attachments") or [] if isinstance(a, dict)
            }
            message.attachments = [a for a in message.attachments if a["id"] in kept_ids]
            message.attachments.extend(attachments)
        message.flags &= ~LOADING
        if (
            not message.content.strip()
            and not message.embeds
            and not message.components
            and not message.attachments
        ):
            raise ApiError(400, 50006, "Cannot send an empty message")
        message.pings = self._pings(
            message.content, message.allowed_mentions, channel, message.author, None
        )
        message.edited_at = time.time()
        message.edits.append(data)
        self._notifier.notify()

    # -- application commands ------------------------------------------------------------------

    @staticmethod
    def _check_name(
        name: Any, path: list[str | int], errors: FormErrors, *, chat_input: bool
    ) -> None:
        if not isinstance(name, str) or not 1 <= len(name) <= 32:
            errors.add(path, "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 32 in length.")
            return
        if not chat_input:
            return
        valid = all(c in "-_'" or unicodedata.category(c)[0] in "LNM" for c in name)
        if not valid or name != name.lower():
            errors.add(path, "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")

    def _check_localizations(
        self, value: Any, path: list[str | int], errors: FormErrors, *, kind: str, chat_input: bool
    ) -> None:
        if value is None:
            return
        if not isinstance(value, dict):
            errors.add(path, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
            return
        for locale, text in value.items():
            if locale not in VALID_LOCALES:
                errors.add(
                    [*path, locale], "BASE_TYPE_CHOICES", f"{locale!r} is not a valid locale."
                )
            elif kind == "name":
                self._check_name(text, [*path, locale], errors, chat_input=chat_input)
            else:
                errors.length([*path, locale], text, 1, 100)

    def _validate_choices(
        self, choices: Any, option_type: int, path: list[str | int], errors: FormErrors
    ) -> None:
        if not isinstance(choices, list):
            errors.add(path, "BASE_TYPE_LIST", "Must be an array.")
            return
        errors.max_length(path, choices, 25)
        for index, choice in enumerate(choices):
            choice_path = [*path, index]
            if not isinstance(choice, dict):
                errors.add(choice_path, "DICT_TYPE_CONVERT", "Only dictionaries may be used")
                continue
            errors.length([*choice_path, "name"], choice.get("name"), 1, 100)
            self._check_localizations(
                choice.get("name_localizations"),
                [*choice_path, "name_localizations"],
                errors,
                kind="choice",
                chat_input=False,
            )
            value = choice.get("value")
            if option_type == 3:
                if not isinstance(value, str):
                    errors.add([*choice_path, "value"], "BASE_TYPE_STRING", "Must be a string.")
                else:
                    errors.max_length([*choice_path, "value"], value, 100)
            elif option_type == 4 and (not isinstance(value, int) or isinstance(value, bool)):
                errors.add([*choice_path, "value"], "NUMBER_TYPE_COERCE", f'"{value}" is not int.')
            elif option_type == 10 and (
                not isinstance(value, int | float) or isinstance(value, bool)
            ):
                errors.add(
                    [*choice_path, "value"], "NUMBER_TYPE_COERCE", f'"{value}" is not a number.'
                )

    def _validate_options(
        self, options: Any, path: list[str | int], errors: FormErrors, *, parent: int | None
    ) -> None:
        if not isinstance(options, list):
            errors.add(path, "BASE_TYPE_LIST", "Must be an array.")
            return
        errors.max_length(path, options, 25)
        names: set[str] = set()
        optional_seen = False
        kinds: list[int] = []
        for index, option in enumerate(options):
            option_path = [*path, index]
            if not isinstance(option, dict):
                errors.add(option_path, "DICT_TYPE_CONVERT", "Only dictionaries may be used")
                continue
            kind = option.get("type")
            if not isinstance(kind, int) or not 1 <= kind <= 11:
                errors.add(
                    [*option_path, "type"], "BASE_TYPE_CHOICES", "Value must be one of 1..11."
                )
                continue
            kinds.append(kind)
            name = option.get("name")
            self._check_name(name, [*option_path, "name"], errors, chat_input=True)
            errors.length([*option_path, "description"], option.get("description"), 1, 100)
            for key, what in (("name_localizations", "name"), ("description_localizations", "d")):
                self._check_localizations(
                    option.get(key), [*option_path, key], errors, kind=what, chat_input=True
                )
            if isinstance(name, str):
                if name in names:
                    errors.add(
                        [*option_path, "name"],
                        "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS",
                        "Option names must be unique",
                    )
                names.add(name)
            if kind in (1, 2):
                if parent == 1 or (parent == 2 and kind == 2):
                    errors.add(
                        [*option_path, "type"],
                        "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                        "Sub-command options cannot be nested this way",
                    )
                if option.get("required"):
                    errors.add(
                        [*option_path, "required"],
                        "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                        "Sub-commands cannot be required",
                    )
                self._validate_options(
                    option.get("options") or [], [*option_path, "options"], errors, parent=kind
                )
                continue
            if parent == 2:
                errors.add(
                    [*option_path, "type"],
                    "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                    "Sub-command groups can only contain sub-commands",
                )
            if option.get("required"):
                if optional_seen:
                    errors.add(
                        [*option_path, "required"],
                        "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                        "Required options must be placed before non-required options",
                    )
            else:
                optional_seen = True
            if option.get("options"):
                errors.add([*option_path, "options"], "BASE_TYPE_MAX_LENGTH", "Must be empty.")
            choices = option.get("choices")
            if choices is not None:
                if kind not in (3, 4, 10):
                    errors.add(
                        [*option_path, "choices"],
                        "APPLICATION_COMMAND_OPTION_CHOICES_INVALID",
                        "Only string, integer and number options have choices",
                    )
                elif choices and option.get("autocomplete"):
                    errors.add(
                        [*option_path, "autocomplete"],
                        "APPLICATION_COMMAND_AUTOCOMPLETE_CHOICES_INVALID",
                        "Autocomplete cannot be used with choices",
                    )
                self._validate_choices(choices, kind, [*option_path, "choices"], errors)
            if option.get("autocomplete") and kind not in (3, 4, 10):
                errors.add(
                    [*option_path, "autocomplete"],
                    "APPLICATION_COMMAND_AUTOCOMPLETE_INVALID",
                    "Only string, integer and number options have autocomplete",
                )
            for key, low in (("min_length", 0), ("max_length", 1)):
                value = option.get(key)
                if value is not None and (
                    kind != 3 or not isinstance(value, int) or not low <= value <= 6000
                ):
                    errors.add(
                        [*option_path, key], "NUMBER_TYPE_MAX", f"Must be between {low} and 6000."
                    )
            for key in ("min_value", "max_value"):
                value = option.get(key)
                if value is not None and (
                    kind not in (4, 10) or not isinstance(value, int | float)
                ):
                    errors.add([*option_path, key], "NUMBER_TYPE_COERCE", "Must be a number.")
        if any(k in (1, 2) for k in kinds) and any(k not in (1, 2) for k in kinds):
            errors.add(
                path,
                "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                "Sub-command and sub-command group option types are mutually exclusive to all "
                "other types",
            )

    def _validate_command(self, raw: Any, path: list[str | int], errors: FormErrors) -> None:
        if not isinstance(raw, dict):
            errors.add(path, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
            return
        kind = raw.get("type", 1)
        if kind not in (1, 2, 3, 4):
            errors.add([*path, "type"], "BASE_TYPE_CHOICES", "Value must be one of {1, 2, 3, 4}.")
            return
        chat_input = kind == 1
        self._check_name(raw.get("name"), [*path, "name"], errors, chat_input=chat_input)
        description = raw.get("description", "")
        if chat_input:
            errors.length([*path, "description"], description, 1, 100)
        elif description:
            errors.add(
                [*path, "description"],
                "APPLICATION_COMMAND_CONTEXT_MENU_DESCRIPTION_INVALID",
                "Context menu commands cannot have a description",
            )
        self._check_localizations(
            raw.get("name_localizations"),
            [*path, "name_localizations"],
            errors,
            kind="name",
            chat_input=chat_input,
        )
        self._check_localizations(
            raw.get("description_localizations"),
            [*path, "description_localizations"],
            errors,
            kind="description",
            chat_input=chat_input,
        )
        options = raw.get("options")
        if options:
            if not chat_input:
                errors.add([*path, "options"], "BASE_TYPE_MAX_LENGTH", "Must be empty.")
            else:
                self._validate_options(options, [*path, "options"], errors, parent=None)
        permissions = raw.get("default_member_permissions")
        if permissions is not None and not str(permissions).isdigit():
            errors.add(
                [*path, "default_member_permissions"], "NUMBER_TYPE_COERCE", "Must be a number."
            )
        contexts = raw.get("contexts")
        if contexts is not None and (
            not isinstance(contexts, list) or any(c not in (0, 1, 2) for c in contexts)
        ):
            errors.add([*path, "contexts"], "BASE_TYPE_CHOICES", "Value must be one of {0, 1, 2}.")
        installs = raw.get("integration_types")
        if installs is not None and (
            not isinstance(installs, list) or any(c not in (0, 1) for c in installs)
        ):
            errors.add(
                [*path, "integration_types"], "BASE_TYPE_CHOICES", "Value must be one of {0, 1}."
            )

    def _normalize_command(self, raw: JSON, guild_id: int | None, existing: JSON | None) -> JSON:
        permissions = raw.get("default_member_permissions")
        command: JSON = {
            "id": existing["id"] if existing is not None else str(self.snowflake()),
            "application_id": str(self.world.application_id),
            "version": "",
            "default_member_permissions": None if permissions is None else str(permissions),
            "type": raw.get("type", 1),
            "name": raw["name"],
            "name_localizations": raw.get("name_localizations"),
            "description": raw.get("description", ""),
            "description_localizations": raw.get("description_localizations"),
            "nsfw": bool(raw.get("nsfw", False)),
            "contexts": raw.get("contexts"),
            "integration_types": raw.get("integration_types") or [0],
        }
        if guild_id is not None:
            command["guild_id"] = str(guild_id)
        else:
            command["dm_permission"] = raw.get("dm_permission", True) is not False
        if raw.get("options"):
            command["options"] = json.loads(dumps(raw["options"]))
        unchanged = existing is not None and all(
            existing.get(k) == v for k, v in command.items() if k != "version"
        )
        command["version"] = (
            existing["version"] if unchanged and existing else str(self.snowflake())
        )
        return command

    @staticmethod
    def _public_command(command: JSON, with_localizations: bool) -> JSON:
        if with_localizations:
            return command
        drop = ("name_localizations", "description_localizations")

        def strip(value: Any) -> Any:
            if isinstance(value, dict):
                return {k: strip(v) for k, v in value.items() if k not in drop}
            if isinstance(value, list):
                return [strip(v) for v in value]
            return value

        stripped: JSON = strip(command)
        return stripped

    def _app_scope(self, request: web.Request) -> int | None:
        if request.match_info["application_id"] != str(self.world.application_id):
            raise _forbidden(20012)
        raw = request.match_info.get("guild_id")
        if raw is None:
            return None
        guild = self.world.guilds.get(int(raw)) if raw.isdigit() else None
        if guild is None or self.world.bot.id not in guild.members:
            raise _forbidden(MISSING_ACCESS)
        return guild.id

    def _find_command_by_id(self, scope: int | None, raw_id: str) -> JSON:
        for command in self._commands.get(scope, []):
            if command["id"] == raw_id:
                return command
        raise ApiError(404, 10063, "Unknown application command")

    async def _h_commands_get(self, request: web.Request, body: _Body) -> Reply:
        scope = self._app_scope(request)
        full = request.query.get("with_localizations", "").lower() in ("1", "true")
        return 200, [self._public_command(c, full) for c in self._commands.get(scope, [])]

    async def _h_commands_put(self, request: web.Request, body: _Body) -> Reply:
        scope = self._app_scope(request)
        data = body.data
        if not isinstance(data, list):
            raise ApiError(
                400,
                50035,
                "Invalid Form Body",
                {"_errors": [{"code": "BASE_TYPE_LIST", "message": "Must be an array."}]},
            )
        errors = FormErrors()
        seen: set[tuple[Any, Any]] = set()
        per_type: Counter[Any] = Counter()
        for index, raw in enumerate(data):
            self._validate_command(raw, [index], errors)
            if isinstance(raw, dict):
                key = (raw.get("type", 1), raw.get("name"))
                if key in seen:
                    errors.add(
                        [index, "name"],
                        "APPLICATION_COMMANDS_DUPLICATE_NAME",
                        f"Application command names must be unique ({raw.get('name')})",
                    )
                seen.add(key)
                per_type[raw.get("type", 1)] += 1
        for kind, count in per_type.items():
            if count > (100 if kind == 1 else 15):
                errors.add([], "APPLICATION_COMMANDS_TOO_MANY", f"Too many commands of type {kind}")
        errors.raise_if_any()
        old = {(c["type"], c["name"]): c for c in self._commands.get(scope, [])}
        commands = [
            self._normalize_command(raw, scope, old.get((raw.get("type", 1), raw["name"])))
            for raw in data
        ]
        self._commands[scope] = commands
        return 200, commands

    async def _h_commands_post(self, request: web.Request, body: _Body) -> Reply:
        scope = self._app_scope(request)
        errors = FormErrors()
        self._validate_command(body.data, [], errors)
        errors.raise_if_any()
        raw: JSON = body.data
        pool = self._commands.setdefault(scope, [])
        kind = raw.get("type", 1)
        for index, command in enumerate(pool):
            if command["type"] == kind and command["name"] == raw["name"]:
                pool[index] = self._normalize_command(raw, scope, command)
                return 200, pool[index]
        command = self._normalize_command(raw, scope, None)
        pool.append(command)
        return 201, command

    async def _h_command_get(self, request: web.Request, body: _Body) -> Reply:
        scope = self._app_scope(request)
        return 200, self._find_command_by_id(scope, request.match_info["command_id"])

    async def _h_command_patch(self, request: web.Request, body: _Body) -> Reply:
        scope = self._app_scope(request)
        command = self._find_command_by_id(scope, request.match_info["command_id"])
        update = body.data if isinstance(body.data, dict) else {}
        merged = {**command, **update}
        errors = FormErrors()
        self._validate_command(merged, [], errors)
        errors.raise_if_any()
        pool = self._commands[scope]
        index = pool.index(command)
        pool[index] = self._normalize_command(merged, scope, command)
        return 200, pool[index]

    async def _h_command_delete(self, request: web.Request, body: _Body) -> Reply:
        scope = self._app_scope(request)
        command = self._find_command_by_id(scope, request.match_info["command_id"])
        self._commands[scope].remove(command)
        return 204, None

    # -- users, gateway, application -----------------------------------------------------------

    async def _h_gateway(self, request: web.Request, body: _Body) -> Reply:
        return 200, {"url": self.gateway.url}

    async def _h_gateway_bot(self, request: web.Request, body: _Body) -> Reply:
        return 200, {
            "url": self.gateway.url,
            "shards": self.world.shard_count,
            "session_start_limit": {
                "total": 1000,
                "remaining": self.gateway.session_starts_remaining,
                "reset_after": 86_400_000,
                "max_concurrency": 1,
            },
        }

    async def _h_me(self, request: web.Request, body: _Body) -> Reply:
        data = self.world.bot.to_json()
        data.update({"verified": True, "mfa_enabled": False, "email": None, "locale": "en-US"})
        return 200, data

    async def _h_user(self, request: web.Request, body: _Body) -> Reply:
        raw = request.match_info["user_id"]
        user = self.world.users.get(int(raw)) if raw.isdigit() else None
        if user is None:
            raise _unknown(10013, "User")
        return 200, user.to_json()

    async def _h_create_dm(self, request: web.Request, body: _Body) -> Reply:
        data = body.data if isinstance(body.data, dict) else {}
        raw = str(data.get("recipient_id", ""))
        user = self.world.users.get(int(raw)) if raw.isdigit() else None
        if user is None:
            errors = FormErrors()
            errors.add(["recipient_id"], "BASE_TYPE_REQUIRED", "A known user id is required")
            errors.raise_if_any()
            raise AssertionError("unreachable")
        return 200, self.dm_channel(user).to_json()

    async def _h_application(self, request: web.Request, body: _Body) -> Reply:
        return 200, self.world.application_json()

    # -- interactions --------------------------------------------------------------------------

    def _reject(self, handle: InteractionHandle, error: ApiError) -> ApiError:
        handle.rejected.append(error)
        self._notifier.notify()
        return error

    async def _h_callback(self, request: web.Request, body: _Body) -> Reply:
        raw_id = request.match_info["interaction_id"]
        handle = self._interactions.get(int(raw_id)) if raw_id.isdigit() else None
        if handle is None or handle.token != request.match_info["interaction_token"]:
            raise _unknown(10062, "interaction")
        now = time.monotonic()
        if handle.callbacks:
            raise self._reject(
                handle, ApiError(400, 40060, "Interaction has already been acknowledged.")
            )
        if now - handle.created_at > self.interaction_deadline:
            raise self._reject(handle, _unknown(10062, "interaction"))
        data_in = body.data if isinstance(body.data, dict) else {}
        kind = data_in.get("type")
        data = data_in.get("data") or {}
        allowed = {
            2: (4, 5, 9),
            3: (4, 5, 6, 7, 9),
            4: (8,),
            5: (4, 5, 6, 7),
        }.get(handle.type, ())
        errors = FormErrors()
        if kind not in allowed:
            errors.add(
                ["type"],
                "INTERACTION_RESPONSE_TYPE_INVALID",
                f"Interaction response type {kind} is not valid for interaction type {handle.type}",
            )
        if not isinstance(data, dict):
            errors.add(["data"], "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
        try:
            errors.raise_if_any()
        except ApiError as error:
            raise self._reject(handle, error) from None
        channel = self.world.channels[handle.channel_id]
        message: SentMessage | None = None
        try:
            if kind == 4:
                message = self._new_message(
                    _Body(data, body.files),
                    channel,
                    source="interaction",
                    flags_allowed=EPHEMERAL
                    | SUPPRESS_EMBEDS
                    | SUPPRESS_NOTIFICATIONS
                    | IS_COMPONENTS_V2,
                    handle=handle,
                    message_type=20 if handle.type == 2 else 0,
                    errors=FormErrors(("data",)),
                )
            elif kind == 5:
                message = SentMessage(
                    id=self.snowflake(),
                    channel_id=channel.id,
                    guild_id=channel.guild_id,
                    author=self.world.bot,
                    flags=LOADING | (int(data.get("flags") or 0) & EPHEMERAL),
                    source="interaction",
                    interaction_id=handle.id,
                    type=20 if handle.type == 2 else 0,
                    webhook_id=self.world.application_id,
                    payload=data,
                )
            elif kind == 7:
                if handle.message is None:
                    raise ApiError(400, 50035, "Invalid Form Body")
                self._apply_edit(
                    handle.message,
                    _Body(data, body.files),
                    flags_allowed=SUPPRESS_EMBEDS | IS_COMPONENTS_V2 | EPHEMERAL,
                )
                message = handle.message
            elif kind == 8:
                errors = FormErrors(("data",))
                self._validate_choices(data.get("choices", []), 3, ["choices"], errors)
                if isinstance(data.get("choices"), list):
                    for index, choice in enumerate(data["choices"]):
                        value = choice.get("value") if isinstance(choice, dict) else None
                        if isinstance(value, int | float) and not isinstance(value, bool):
                            errors.problems = [
                                p for p in errors.problems if p[0][2:4] != (index, "value")
                            ]
                errors.raise_if_any()
            elif kind == 9:
                errors = FormErrors(("data",))
                errors.length(["custom_id"], data.get("custom_id"), 1, 100)
                errors.length(["title"], data.get("title"), 1, 45)
                components = data.get("components")
                if not isinstance(components, list) or not 1 <= len(components) <= 5:
                    errors.add(["components"], "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5.")
                else:
                    self._validate_components(components, errors, v2=False, modal=True)
                errors.raise_if_any()
        except ApiError as error:
            raise self._reject(handle, error) from None
        callback = InteractionCallback(
            type=int(str(kind)),
            data=data,
            at=time.time(),
            delay=now - handle.created_at,
            message=message,
        )
        handle.callbacks.append(callback)
        self.stats.interaction_callbacks += 1
        if kind in (4, 5) and message is not None:
            handle.original = message
            self._store(message)
            if kind == 4:
                await self._echo("MESSAGE_CREATE", message)
        elif kind in (6, 7):
            handle.original = handle.message
            if kind == 7 and message is not None:
                await self._echo("MESSAGE_UPDATE", message)
        self._notifier.notify()
        if request.query.get("with_response", "").lower() not in ("1", "true"):
            return 204, None
        info: JSON = {"id": str(handle.id), "type": handle.type}
        resource: JSON = {"type": kind}
        if message is not None:
            info["response_message_id"] = str(message.id)
            info["response_message_loading"] = message.loading
            info["response_message_ephemeral"] = message.ephemeral
            resource["message"] = message.to_json()
        return 200, {"interaction": info, "resource": resource}

    def _webhook_handle(self, request: web.Request) -> InteractionHandle:
        if request.match_info["webhook_id"] != str(self.world.application_id):
            raise _unknown(10015, "Webhook")
        handle = self._interactions_by_token.get(request.match_info["webhook_token"])
        if handle is None:
            raise _unknown(10015, "Webhook")
        if time.monotonic() - handle.created_at > INTERACTION_TOKEN_LIFETIME:
            raise ApiError(401, 50027, "Invalid Webhook Token")
        return handle

    def _webhook_message(self, request: web.Request, handle: InteractionHandle) -> SentMessage:
        raw = request.match_info.get("message_id", "@original")
        if raw == "@original":
            if handle.original is None or handle.original.deleted:
                raise _unknown(10008, "Message")
            return handle.original
        for message in handle.followups:
            if str(message.id) == raw and not message.deleted:
                return message
        if handle.original is not None and str(handle.original.id) == raw:
            return handle.original
        raise _unknown(10008, "Message")

    async def _h_followup(self, request: web.Request, body: _Body) -> Reply:
        handle = self._webhook_handle(request)
        if not handle.callbacks or handle.type == 4:
            raise _unknown(10015, "Webhook")
        wait = request.query.get("wait", "").lower() in ("1", "true")
        original = handle.original
        first = handle.callbacks[0]
        if first.type == 5 and original is not None and original.loading:
            # Discord: the first followup after a deferral edits the loading message.
            self._apply_edit(
                original, body, flags_allowed=EPHEMERAL | SUPPRESS_EMBEDS | IS_COMPONENTS_V2
            )
            await self._echo("MESSAGE_CREATE", original)
            return (200, original.to_json()) if wait else (204, None)
        channel = self.world.channels[handle.channel_id]
        message = self._new_message(
            body,
            channel,
            source="followup",
            flags_allowed=EPHEMERAL | SUPPRESS_EMBEDS | SUPPRESS_NOTIFICATIONS | IS_COMPONENTS_V2,
            handle=handle,
        )
        handle.followups.append(message)
        self._store(message)
        await self._echo("MESSAGE_CREATE", message)
        return (200, message.to_json()) if wait else (204, None)

    async def _h_webhook_message_get(self, request: web.Request, body: _Body) -> Reply:
        handle = self._webhook_handle(request)
        return 200, self._webhook_message(request, handle).to_json()

    async def _h_webhook_message_edit(self, request: web.Request, body: _Body) -> Reply:
        handle = self._webhook_handle(request)
        message = self._webhook_message(request, handle)
        was_loading = message.loading
        self._apply_edit(
            message, body, flags_allowed=EPHEMERAL | SUPPRESS_EMBEDS | IS_COMPONENTS_V2
        )
        await self._echo("MESSAGE_CREATE" if was_loading else "MESSAGE_UPDATE", message)
        return 200, message.to_json()

    async def _h_webhook_message_delete(self, request: web.Request, body: _Body) -> Reply:
        handle = self._webhook_handle(request)
        message = self._webhook_message(request, handle)
        message.deleted = True
        await self._echo("MESSAGE_DELETE", message)
        return 204, None

    # -- channels and messages -----------------------------------------------------------------

    def _bot_channel(self, raw: str, need: int = 0, *, sending: bool = False) -> FakeChannel:
        channel = self.world.channels.get(int(raw)) if raw.isdigit() else None
        if channel is None:
            raise _unknown(10003, "Channel")
        if channel.forbidden_code is not None:
            raise _forbidden(channel.forbidden_code)
        if channel.guild_id is not None:
            guild = self.world.guilds.get(channel.guild_id)
            if guild is None or self.world.bot.id not in guild.members:
                raise _forbidden(MISSING_ACCESS)
            permissions = self.world.bot_permissions(channel)
            if not permissions & PERMISSIONS["VIEW_CHANNEL"]:
                raise _forbidden(MISSING_ACCESS)
            if need & ~permissions:
                raise _forbidden(MISSING_PERMISSIONS)
        elif sending and any(user.id in self._blocked_dms for user in channel.recipients):
            raise _forbidden(50007)
        return channel

    def _channel_message(self, channel: FakeChannel, raw: str) -> SentMessage:
        message = self._messages.get(int(raw)) if raw.isdigit() else None
        if message is None or message.deleted or message.channel_id != channel.id:
            raise _unknown(10008, "Message")
        if message.ephemeral:
            raise _unknown(10008, "Message")
        return message

    async def _h_channel_get(self, request: web.Request, body: _Body) -> Reply:
        channel = self._bot_channel(request.match_info["channel_id"])
        return 200, channel.to_json()

    async def _h_messages_list(self, request: web.Request, body: _Body) -> Reply:
        read = PERMISSIONS["READ_MESSAGE_HISTORY"]
        channel = self._bot_channel(request.match_info["channel_id"], read)
        raw_limit = request.query.get("limit", "50")
        limit = int(raw_limit) if raw_limit.isdigit() else 50
        if not 1 <= limit <= 100:
            errors = FormErrors()
            errors.add(["limit"], "NUMBER_TYPE_MAX", "int value should be between 1 and 100.")
            errors.raise_if_any()
        found = [
            m
            for m in self._channel_messages.get(channel.id, [])
            if not m.deleted and not m.ephemeral
        ]
        before = request.query.get("before")
        after = request.query.get("after")
        if before and before.isdigit():
            found = [m for m in found if m.id < int(before)]
        if after and after.isdigit():
            found = [m for m in found if m.id > int(after)][:limit]
        return 200, [m.to_json() for m in reversed(found[-limit:])]

    async def _h_message_create(self, request: web.Request, body: _Body) -> Reply:
        channel = self._bot_channel(
            request.match_info["channel_id"], PERMISSIONS["SEND_MESSAGES"], sending=True
        )
        if not channel.is_text and channel.type not in (2, 13):
            raise ApiError(400, 50008, "Cannot send messages in a non-text channel")
        message = self._new_message(
            body,
            channel,
            source="channel",
            flags_allowed=SUPPRESS_EMBEDS | SUPPRESS_NOTIFICATIONS | IS_COMPONENTS_V2,
        )
        data = body.data if isinstance(body.data, dict) else {}
        nonce = data.get("nonce")
        if nonce is not None:
            message.nonce = nonce
            if data.get("enforce_nonce") is True:
                key = (message.author.id, str(nonce))
                now = time.monotonic()
                earlier = self._nonces.get(key)
                if earlier is not None and now - earlier[1] < self.nonce_window:
                    self.stats.nonce_repeats += 1
                    return 200, earlier[0].to_json()
                if len(self._nonces) >= 10_000:  # forget what is outside the window
                    self._nonces = {
                        k: v for k, v in self._nonces.items() if now - v[1] < self.nonce_window
                    }
                self._nonces[key] = (message, now)
        self._store(message)
        await self._echo("MESSAGE_CREATE", message)
        return 200, message.to_json()

    async def _h_typing(self, request: web.Request, body: _Body) -> Reply:
        self._bot_channel(request.match_info["channel_id"], PERMISSIONS["SEND_MESSAGES"])
        return 204, None

    async def _h_message_get(self, request: web.Request, body: _Body) -> Reply:
        read = PERMISSIONS["READ_MESSAGE_HISTORY"]
        channel = self._bot_channel(request.match_info["channel_id"], read)
        return 200, self._channel_message(channel, request.match_info["message_id"]).to_json()

    async def _h_message_edit(self, request: web.Request, body: _Body) -> Reply:
        channel = self._bot_channel(request.match_info["channel_id"])
        message = self._channel_message(channel, request.match_info["message_id"])
        if message.author.id != self.world.bot.id:
            raise _forbidden(50005)
        self._apply_edit(message, body, flags_allowed=SUPPRESS_EMBEDS | IS_COMPONENTS_V2)
        await self._echo("MESSAGE_UPDATE", message)
        return 200, message.to_json()

    async def _h_message_delete(self, request: web.Request, body: _Body) -> Reply:
        channel = self._bot_channel(request.match_info["channel_id"])
        message = self._channel_message(channel, request.match_info["message_id"])
        if message.author.id != self.world.bot.id and not (
            self.world.bot_permissions(channel) & PERMISSIONS["MANAGE_MESSAGES"]
        ):
            raise _forbidden(MISSING_PERMISSIONS)
        message.deleted = True
        await self._echo("MESSAGE_DELETE", message)
        return 204, None

    # -- guilds --------------------------------------------------------------------------------

    def _bot_guild(self, raw: str) -> FakeGuild:
        guild = self.world.guilds.get(int(raw)) if raw.isdigit() else None
        if guild is None:
            raise _unknown(10004, "Guild")
        if self.world.bot.id not in guild.members:
            raise _forbidden(MISSING_ACCESS)
        return guild

    async def _h_guild_get(self, request: web.Request, body: _Body) -> Reply:
        guild = self._bot_guild(request.match_info["guild_id"])
        counts = request.query.get("with_counts", "").lower() in ("1", "true")
        return 200, guild.to_json(counts=counts)

    async def _h_guild_channels(self, request: web.Request, body: _Body) -> Reply:
        guild = self._bot_guild(request.match_info["guild_id"])
        return 200, [channel.to_json() for channel in guild.channels.values()]

    def guild_events(self, guild: FakeGuild) -> list[JSON]:
        """The scheduled events of a guild, as Discord stores them."""
        return list(self._scheduled.get(guild.id, {}).values())

    def _scheduled_guild(self, raw: str) -> FakeGuild:
        guild = self._bot_guild(raw)
        if not guild.base_permissions(self.world.bot.id) & PERMISSIONS["MANAGE_EVENTS"]:
            raise _forbidden(MISSING_PERMISSIONS)
        return guild

    @staticmethod
    def _check_external(event: JSON) -> None:
        errors = []
        name = event.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            errors.append("name")
        location = (event.get("entity_metadata") or {}).get("location")
        if event.get("entity_type") == 3:
            if not isinstance(location, str) or not 1 <= len(location) <= 100:
                errors.append("entity_metadata.location")
            if not event.get("scheduled_end_time"):
                errors.append("scheduled_end_time")
        if event.get("privacy_level") != 2:
            errors.append("privacy_level")
        for key in ("scheduled_start_time", "scheduled_end_time"):
            value = event.get(key)
            if value is not None:
                try:
                    dt.datetime.fromisoformat(str(value))
                except ValueError:
                    errors.append(key)
        if errors:
            raise ApiError(400, 50035, f"Invalid Form Body: {', '.join(errors)}")

    async def _h_scheduled_create(self, request: web.Request, body: _Body) -> Reply:
        guild = self._scheduled_guild(request.match_info["guild_id"])
        data = dict(body.data or {})
        self._check_external(data)
        event_id = self.snowflake()
        stored = dict(data, id=str(event_id), guild_id=str(guild.id), status=1)
        self._scheduled.setdefault(guild.id, {})[event_id] = stored
        return 200, stored

    async def _h_scheduled_edit(self, request: web.Request, body: _Body) -> Reply:
        guild = self._scheduled_guild(request.match_info["guild_id"])
        raw = request.match_info["event_id"]
        stored = self._scheduled.get(guild.id, {}).get(int(raw)) if raw.isdigit() else None
        if stored is None:
            raise _unknown(10070, "Guild Scheduled Event")
        changed = dict(stored, **dict(body.data or {}))
        self._check_external(changed)
        if stored["status"] == 3 or (stored["status"] == 4 and changed.get("status") != 4):
            raise ApiError(400, 180000, "Cannot update an event that has ended or was canceled")
        stored.update(changed)
        return 200, stored

    async def _h_guild_roles(self, request: web.Request, body: _Body) -> Reply:
        guild = self._bot_guild(request.match_info["guild_id"])
        return 200, [role.to_json() for role in guild.roles.values()]

    async def _h_member_get(self, request: web.Request, body: _Body) -> Reply:
        guild = self._bot_guild(request.match_info["guild_id"])
        raw = request.match_info["user_id"]
        member = guild.members.get(int(raw)) if raw.isdigit() else None
        if member is None:
            raise _unknown(10007, "Member")
        return 200, member.to_json()
