"""The world model and the gateway half of the fake Discord server.

This module holds what the REST API and the gateway share: snowflakes, the guilds, channels,
roles, members and users of the fake (``FakeGuild`` ...) and their JSON as Discord sends it,
permission arithmetic, and the gateway: a websocket that speaks Discord's gateway protocol
v10 (https://discord.com/developers/docs/events/gateway) with JSON encoding and, when asked
in the query string, ``zlib-stream`` (one zlib context per connection, every message ending
in a ``Z_SYNC_FLUSH`` marker ``00 00 ff ff``) or ``zstd-stream`` transport compression.
See ``tests/fakes/discord_server.py`` for the full description and the public API; the
server there composes ``Gateway`` with the REST API.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import importlib
import itertools
import json
import secrets
import time
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, TypeAlias

from aiohttp import WSMsgType, web

JSON: TypeAlias = dict[str, Any]

__all__ = [
    "ALL_PERMISSIONS",
    "DEFAULT_EVERYONE_PERMISSIONS",
    "DISCORD_EPOCH",
    "INTENTS",
    "PERMISSIONS",
    "PRIVILEGED_INTENTS",
    "VALID_LOCALES",
    "FakeChannel",
    "FakeGuild",
    "FakeMember",
    "FakeRole",
    "FakeUser",
    "Gateway",
    "GatewayConnectionRecord",
    "GatewaySession",
    "SnowflakeFactory",
    "World",
    "dumps",
    "guild_shard",
    "iso_timestamp",
    "snowflake_time",
]

DISCORD_EPOCH = 1_420_070_400_000
"""Milliseconds of the Discord epoch (2015-01-01T00:00:00Z), the origin of snowflake times."""

VALID_LOCALES: frozenset[str] = frozenset(
    {
        "id", "da", "de", "en-GB", "en-US", "es-ES", "es-419", "fr", "hr", "it", "lt", "hu",
        "nl", "no", "pl", "pt-BR", "ro", "fi", "sv-SE", "vi", "tr", "cs", "el", "bg", "ru",
        "uk", "hi", "th", "zh-CN", "ja", "zh-TW", "ko",
    }
)  # fmt: skip
"""The locales Discord accepts (https://discord.com/developers/docs/reference#locales)."""

INTENTS: dict[str, int] = {
    "GUILDS": 1 << 0,
    "GUILD_MEMBERS": 1 << 1,
    "GUILD_MODERATION": 1 << 2,
    "GUILD_EXPRESSIONS": 1 << 3,
    "GUILD_INTEGRATIONS": 1 << 4,
    "GUILD_WEBHOOKS": 1 << 5,
    "GUILD_INVITES": 1 << 6,
    "GUILD_VOICE_STATES": 1 << 7,
    "GUILD_PRESENCES": 1 << 8,
    "GUILD_MESSAGES": 1 << 9,
    "GUILD_MESSAGE_REACTIONS": 1 << 10,
    "GUILD_MESSAGE_TYPING": 1 << 11,
    "DIRECT_MESSAGES": 1 << 12,
    "DIRECT_MESSAGE_REACTIONS": 1 << 13,
    "DIRECT_MESSAGE_TYPING": 1 << 14,
    "MESSAGE_CONTENT": 1 << 15,
    "GUILD_SCHEDULED_EVENTS": 1 << 16,
    "AUTO_MODERATION_CONFIGURATION": 1 << 20,
    "AUTO_MODERATION_EXECUTION": 1 << 21,
    "GUILD_MESSAGE_POLLS": 1 << 24,
    "DIRECT_MESSAGE_POLLS": 1 << 25,
}
_ALL_INTENTS = sum(INTENTS.values())
PRIVILEGED_INTENTS = (
    INTENTS["GUILD_MEMBERS"] | INTENTS["GUILD_PRESENCES"] | INTENTS["MESSAGE_CONTENT"]
)

PERMISSIONS: dict[str, int] = {
    "CREATE_INSTANT_INVITE": 1 << 0,
    "KICK_MEMBERS": 1 << 1,
    "BAN_MEMBERS": 1 << 2,
    "ADMINISTRATOR": 1 << 3,
    "MANAGE_CHANNELS": 1 << 4,
    "MANAGE_GUILD": 1 << 5,
    "ADD_REACTIONS": 1 << 6,
    "VIEW_AUDIT_LOG": 1 << 7,
    "PRIORITY_SPEAKER": 1 << 8,
    "STREAM": 1 << 9,
    "VIEW_CHANNEL": 1 << 10,
    "SEND_MESSAGES": 1 << 11,
    "SEND_TTS_MESSAGES": 1 << 12,
    "MANAGE_MESSAGES": 1 << 13,
    "EMBED_LINKS": 1 << 14,
    "ATTACH_FILES": 1 << 15,
    "READ_MESSAGE_HISTORY": 1 << 16,
    "MENTION_EVERYONE": 1 << 17,
    "USE_EXTERNAL_EMOJIS": 1 << 18,
    "CONNECT": 1 << 20,
    "SPEAK": 1 << 21,
    "CHANGE_NICKNAME": 1 << 26,
    "MANAGE_ROLES": 1 << 28,
    "MANAGE_WEBHOOKS": 1 << 29,
    "USE_APPLICATION_COMMANDS": 1 << 31,
    "MANAGE_EVENTS": 1 << 33,
    "MANAGE_THREADS": 1 << 34,
    "CREATE_PUBLIC_THREADS": 1 << 35,
    "SEND_MESSAGES_IN_THREADS": 1 << 38,
}
ALL_PERMISSIONS = (1 << 51) - 1
DEFAULT_EVERYONE_PERMISSIONS = sum(
    PERMISSIONS[name]
    for name in (
        "CREATE_INSTANT_INVITE",
        "ADD_REACTIONS",
        "STREAM",
        "VIEW_CHANNEL",
        "SEND_MESSAGES",
        "EMBED_LINKS",
        "ATTACH_FILES",
        "READ_MESSAGE_HISTORY",
        "USE_EXTERNAL_EMOJIS",
        "CONNECT",
        "SPEAK",
        "CHANGE_NICKNAME",
        "USE_APPLICATION_COMMANDS",
        "CREATE_PUBLIC_THREADS",
        "SEND_MESSAGES_IN_THREADS",
    )
)
"""What ``@everyone`` may do in a freshly created guild (roughly Discord's defaults)."""

TEXT_CHANNEL_TYPES = frozenset({0, 5, 10, 11, 12})  # text, announcement and thread types
DM_CHANNEL_TYPES = frozenset({1, 3})


def dumps(value: Any) -> str:
    """Compact JSON, as Discord sends it."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def iso_timestamp(when: float | None = None) -> str:
    """An ISO 8601 timestamp with microseconds and ``+00:00``, Discord's format."""
    moment = dt.datetime.fromtimestamp(time.time() if when is None else when, dt.UTC)
    return moment.isoformat(timespec="microseconds")


def snowflake_time(snowflake: int) -> float:
    """The Unix time (seconds) encoded in a snowflake."""
    return ((snowflake >> 22) + DISCORD_EPOCH) / 1000.0


def guild_shard(guild_id: int, shard_count: int) -> int:
    """The shard that receives a guild's events: ``(guild_id >> 22) % shard_count``."""
    return (guild_id >> 22) % max(shard_count, 1)


class SnowflakeFactory:
    """Strictly increasing snowflakes built from the current time, as Discord makes them."""

    def __init__(self, worker_id: int = 1, process_id: int = 0) -> None:
        self._prefix = ((worker_id & 0x1F) << 17) | ((process_id & 0x1F) << 12)
        self._last = 0

    def __call__(self) -> int:
        milliseconds = int(time.time() * 1000) - DISCORD_EPOCH
        candidate = (milliseconds << 22) | self._prefix
        if candidate <= self._last:
            candidate = self._last + 1
        self._last = candidate
        return candidate

    def for_shard(self, shard_id: int, shard_count: int) -> int:
        """A fresh snowflake whose guild events go to ``shard_id`` of ``shard_count``."""
        if not 0 <= shard_id < shard_count:
            raise ValueError(f"shard {shard_id} is not in 0..{shard_count - 1}")
        base = self()
        milliseconds = base >> 22
        milliseconds += (shard_id - milliseconds % shard_count) % shard_count
        candidate = (milliseconds << 22) | self._prefix
        self._last = max(self._last, candidate)
        return candidate


# --------------------------------------------------------------------------------------------
# The world: users, guilds, roles, channels, members
# --------------------------------------------------------------------------------------------


@dataclass(eq=False)
class FakeUser:
    """A Discord user; ``bot=True`` for bot accounts."""

    id: int
    username: str
    global_name: str | None = None
    bot: bool = False
    avatar: str | None = None
    locale: str = "en-US"
    """The language of this user's Discord client, sent as the interaction ``locale``."""

    @property
    def mention(self) -> str:
        return f"<@{self.id}>"

    def to_json(self) -> JSON:
        data: JSON = {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": self.avatar,
            "avatar_decoration_data": None,
            "public_flags": 0,
            "flags": 0,
            "banner": None,
            "accent_color": None,
            "collectibles": None,
            "display_name_styles": None,
            "primary_guild": None,
            "clan": None,
        }
        if self.bot:
            data["bot"] = True
        return data


@dataclass(eq=False)
class FakeRole:
    """A guild role. The ``@everyone`` role has the guild's id."""

    id: int
    guild_id: int
    name: str
    permissions: int = 0
    position: int = 0
    mentionable: bool = False
    managed: bool = False
    hoist: bool = False
    color: int = 0
    bot_id: int | None = None
    """For a bot's managed role: the bot's user id (``tags.bot_id``)."""

    @property
    def mention(self) -> str:
        return "@everyone" if self.id == self.guild_id else f"<@&{self.id}>"

    def to_json(self) -> JSON:
        data: JSON = {
            "id": str(self.id),
            "name": self.name,
            "description": None,
            "permissions": str(self.permissions),
            "position": self.position,
            "color": self.color,
            "colors": {
                "primary_color": self.color,
                "secondary_color": None,
                "tertiary_color": None,
            },
            "hoist": self.hoist,
            "managed": self.managed,
            "mentionable": self.mentionable,
            "icon": None,
            "unicode_emoji": None,
            "flags": 0,
        }
        if self.bot_id is not None:
            data["tags"] = {"bot_id": str(self.bot_id)}
        return data


@dataclass(eq=False)
class FakeChannel:
    """A channel: guild text (type 0), announcement (5), voice (2), category (4), DM (1) ...

    ``permission_overwrites`` is a list of ``{"id", "type" (0 role, 1 member), "allow",
    "deny"}`` as Discord stores them (integers are accepted for allow/deny).
    ``forbidden_code`` makes every bot request on the channel answer 403 with that code
    (50001 Missing Access or 50013 Missing Permissions) whatever the permissions say.
    """

    id: int
    name: str
    type: int = 0
    guild_id: int | None = None
    position: int = 0
    topic: str | None = None
    parent_id: int | None = None
    nsfw: bool = False
    rate_limit_per_user: int = 0
    permission_overwrites: list[JSON] = field(default_factory=list)
    recipients: list[FakeUser] = field(default_factory=list)
    forbidden_code: int | None = None
    last_message_id: int | None = None

    @property
    def mention(self) -> str:
        return f"<#{self.id}>"

    @property
    def is_text(self) -> bool:
        return self.type in TEXT_CHANNEL_TYPES or self.type in DM_CHANNEL_TYPES

    def to_json(self) -> JSON:
        data: JSON = {
            "id": str(self.id),
            "type": self.type,
            "last_message_id": None if self.last_message_id is None else str(self.last_message_id),
            "flags": 0,
        }
        if self.type in DM_CHANNEL_TYPES:
            data["recipients"] = [user.to_json() for user in self.recipients]
            return data
        data.update(
            {
                "guild_id": str(self.guild_id),
                "name": self.name,
                "position": self.position,
                "parent_id": None if self.parent_id is None else str(self.parent_id),
                "permission_overwrites": [
                    {
                        "id": str(overwrite["id"]),
                        "type": int(overwrite.get("type", 0)),
                        "allow": str(overwrite.get("allow", 0)),
                        "deny": str(overwrite.get("deny", 0)),
                    }
                    for overwrite in self.permission_overwrites
                ],
                "nsfw": self.nsfw,
            }
        )
        if self.type in (0, 5):
            data["topic"] = self.topic
            data["rate_limit_per_user"] = self.rate_limit_per_user
            data["default_auto_archive_duration"] = 1440
            data["default_thread_rate_limit_per_user"] = 0
        elif self.type in (2, 13):
            data.update({"bitrate": 64000, "user_limit": 0, "rtc_region": None})
            data["rate_limit_per_user"] = self.rate_limit_per_user
        return data


@dataclass(eq=False)
class FakeMember:
    """A user's membership of a guild."""

    user: FakeUser
    guild_id: int
    roles: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: str = field(default_factory=iso_timestamp)

    @property
    def id(self) -> int:
        return self.user.id

    def to_json(self, *, permissions: int | None = None, with_user: bool = True) -> JSON:
        data: JSON = {
            "avatar": None,
            "banner": None,
            "communication_disabled_until": None,
            "deaf": False,
            "flags": 0,
            "joined_at": self.joined_at,
            "mute": False,
            "nick": self.nick,
            "pending": False,
            "premium_since": None,
            "roles": [str(role) for role in self.roles],
            "unusual_dm_activity_until": None,
        }
        if with_user:
            data["user"] = self.user.to_json()
        if permissions is not None:
            data["permissions"] = str(permissions)
        return data


@dataclass(eq=False)
class FakeGuild:
    """A guild with its roles, channels and members (the bot included once it joined)."""

    id: int
    name: str
    owner_id: int
    preferred_locale: str = "en-US"
    roles: dict[int, FakeRole] = field(default_factory=dict)
    channels: dict[int, FakeChannel] = field(default_factory=dict)
    members: dict[int, FakeMember] = field(default_factory=dict)
    joined_at: str = field(default_factory=iso_timestamp)
    features: list[str] = field(default_factory=list)
    unavailable: bool = False
    """Set to make the guild an outage: READY lists it and no GUILD_CREATE follows."""

    @property
    def everyone(self) -> FakeRole:
        return self.roles[self.id]

    @property
    def text_channels(self) -> list[FakeChannel]:
        return [channel for channel in self.channels.values() if channel.type in (0, 5)]

    def channel(self, name: str) -> FakeChannel:
        """The channel called ``name``."""
        for channel in self.channels.values():
            if channel.name == name:
                return channel
        raise KeyError(f"guild {self.name!r} has no channel {name!r}")

    def role(self, name: str) -> FakeRole:
        """The role called ``name``."""
        for role in self.roles.values():
            if role.name == name:
                return role
        raise KeyError(f"guild {self.name!r} has no role {name!r}")

    def base_permissions(self, user_id: int) -> int:
        """Guild-level permissions of a member (owner and administrators: everything)."""
        if user_id == self.owner_id:
            return ALL_PERMISSIONS
        member = self.members.get(user_id)
        permissions = self.everyone.permissions
        if member is not None:
            for role_id in member.roles:
                role = self.roles.get(role_id)
                if role is not None:
                    permissions |= role.permissions
        if permissions & PERMISSIONS["ADMINISTRATOR"]:
            return ALL_PERMISSIONS
        return permissions

    def permissions_in(self, channel: FakeChannel, user_id: int) -> int:
        """Channel permissions of a member, overwrites applied in Discord's order."""
        permissions = self.base_permissions(user_id)
        if permissions == ALL_PERMISSIONS:
            return permissions
        overwrites = {int(o["id"]): o for o in channel.permission_overwrites}
        everyone = overwrites.get(self.id)
        if everyone is not None:
            permissions &= ~int(everyone.get("deny", 0))
            permissions |= int(everyone.get("allow", 0))
        member = self.members.get(user_id)
        role_ids = member.roles if member is not None else []
        allow = deny = 0
        for role_id in role_ids:
            overwrite = overwrites.get(role_id)
            if overwrite is not None and int(overwrite.get("type", 0)) == 0:
                allow |= int(overwrite.get("allow", 0))
                deny |= int(overwrite.get("deny", 0))
        permissions = (permissions & ~deny) | allow
        own = overwrites.get(user_id)
        if own is not None and int(own.get("type", 0)) == 1:
            permissions = (permissions & ~int(own.get("deny", 0))) | int(own.get("allow", 0))
        if not permissions & PERMISSIONS["VIEW_CHANNEL"]:
            return 0
        return permissions

    def to_json(self, *, counts: bool = False) -> JSON:
        """The guild object (GET /guilds/{id}): no channels and no members."""
        data: JSON = {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "description": None,
            "home_header": None,
            "splash": None,
            "discovery_splash": None,
            "features": list(self.features),
            "banner": None,
            "owner_id": str(self.owner_id),
            "application_id": None,
            "region": "deprecated",
            "afk_channel_id": None,
            "afk_timeout": 300,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "widget_enabled": False,
            "widget_channel_id": None,
            "verification_level": 0,
            "roles": [role.to_json() for role in self.roles.values()],
            "default_message_notifications": 0,
            "mfa_level": 0,
            "explicit_content_filter": 0,
            "max_presences": None,
            "max_members": 25_000_000,
            "max_stage_video_channel_users": 50,
            "max_video_channel_users": 25,
            "vanity_url_code": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": self.preferred_locale,
            "rules_channel_id": None,
            "safety_alerts_channel_id": None,
            "public_updates_channel_id": None,
            "hub_type": None,
            "premium_progress_bar_enabled": False,
            "latest_onboarding_question_id": None,
            "nsfw": False,
            "nsfw_level": 0,
            "emojis": [],
            "stickers": [],
            "incidents_data": None,
            "inventory_settings": None,
            "embed_enabled": False,
            "embed_channel_id": None,
        }
        if counts:
            data["approximate_member_count"] = len(self.members)
            data["approximate_presence_count"] = 0
        return data

    def create_payload(self, *, bot_id: int, include_members: bool, large_threshold: int) -> JSON:
        """The GUILD_CREATE payload: the guild plus channels, members, threads, voice states."""
        data = self.to_json()
        large = len(self.members) >= large_threshold
        if include_members and not large:
            members = list(self.members.values())
        else:
            members = [m for m in self.members.values() if m.id == bot_id]
        data.update(
            {
                "joined_at": self.joined_at,
                "large": large,
                "unavailable": False,
                "member_count": len(self.members),
                "lazy": True,
                "voice_states": [],
                "members": [member.to_json() for member in members],
                "channels": [
                    {k: v for k, v in channel.to_json().items() if k != "guild_id"}
                    for channel in self.channels.values()
                ],
                "threads": [],
                "presences": [],
                "stage_instances": [],
                "guild_scheduled_events": [],
                "soundboard_sounds": [],
                "embedded_activities": [],
                "activity_instances": [],
                "application_command_counts": {},
                "version": int(time.time() * 1000),
            }
        )
        return data


class World:
    """Everything the fake knows about: the bot, its application, users, guilds, channels."""

    def __init__(self, *, bot_name: str, application_name: str, shard_count: int) -> None:
        self.snowflake = SnowflakeFactory()
        self.application_id = self.snowflake()
        self.bot = FakeUser(id=self.application_id, username=bot_name, bot=True)
        self.owner = FakeUser(id=self.snowflake(), username="app_owner", global_name="App Owner")
        self.application_name = application_name
        secret = base64.urlsafe_b64encode(secrets.token_bytes(28)).decode().rstrip("=")
        user_part = base64.b64encode(str(self.bot.id).encode()).decode().rstrip("=")
        stamp = base64.urlsafe_b64encode(secrets.token_bytes(4)).decode().rstrip("=")
        self.token = f"{user_part}.{stamp}.{secret}"
        self.shard_count = shard_count
        self.users: dict[int, FakeUser] = {self.bot.id: self.bot, self.owner.id: self.owner}
        self.guilds: dict[int, FakeGuild] = {}
        self.channels: dict[int, FakeChannel] = {}
        self.dm_channels: dict[int, FakeChannel] = {}
        """Direct message channels by recipient user id."""

    def channel_guild(self, channel: FakeChannel) -> FakeGuild | None:
        return None if channel.guild_id is None else self.guilds.get(channel.guild_id)

    def bot_permissions(self, channel: FakeChannel) -> int:
        """What the bot may do in a channel (everything useful in a DM)."""
        guild = self.channel_guild(channel)
        if guild is None:
            return sum(
                PERMISSIONS[name]
                for name in (
                    "ADD_REACTIONS",
                    "VIEW_CHANNEL",
                    "SEND_MESSAGES",
                    "EMBED_LINKS",
                    "ATTACH_FILES",
                    "READ_MESSAGE_HISTORY",
                    "MENTION_EVERYONE",
                    "USE_EXTERNAL_EMOJIS",
                    "USE_APPLICATION_COMMANDS",
                )
            )
        return guild.permissions_in(channel, self.bot.id)

    def guilds_of_shard(self, shard: tuple[int, int] | None) -> list[FakeGuild]:
        guilds = [g for g in self.guilds.values() if self.bot.id in g.members]
        if shard is None:
            return guilds
        return [g for g in guilds if guild_shard(g.id, shard[1]) == shard[0]]

    def application_json(self) -> JSON:
        """GET /oauth2/applications/@me."""
        return {
            "id": str(self.application_id),
            "name": self.application_name,
            "icon": None,
            "description": "",
            "summary": "",
            "type": None,
            "is_monetized": False,
            "is_verified": False,
            "is_discoverable": False,
            "hook": True,
            "bot_public": True,
            "bot_require_code_grant": False,
            "verify_key": secrets.token_hex(32),
            "owner": self.owner.to_json(),
            "flags": (1 << 19)
            | (1 << 23),  # GATEWAY_GUILD_MEMBERS_LIMITED, APPLICATION_COMMAND_BADGE
            "team": None,
            "bot": self.bot.to_json(),
            "redirect_uris": [],
            "interactions_endpoint_url": None,
            "role_connections_verification_url": None,
            "tags": [],
            "install_params": None,
            "integration_types_config": {"0": {}},
            "approximate_guild_count": len(self.guilds),
            "approximate_user_install_count": 0,
        }


# --------------------------------------------------------------------------------------------
# Gateway
# --------------------------------------------------------------------------------------------

OP_DISPATCH = 0
OP_HEARTBEAT = 1
OP_IDENTIFY = 2
OP_PRESENCE_UPDATE = 3
OP_VOICE_STATE_UPDATE = 4
OP_RESUME = 6
OP_RECONNECT = 7
OP_REQUEST_GUILD_MEMBERS = 8
OP_INVALID_SESSION = 9
OP_HELLO = 10
OP_HEARTBEAT_ACK = 11
OP_REQUEST_SOUNDBOARD_SOUNDS = 31

CLOSE_UNKNOWN_ERROR = 4000
CLOSE_UNKNOWN_OPCODE = 4001
CLOSE_DECODE_ERROR = 4002
CLOSE_NOT_AUTHENTICATED = 4003
CLOSE_AUTHENTICATION_FAILED = 4004
CLOSE_ALREADY_AUTHENTICATED = 4005
CLOSE_INVALID_SEQ = 4007
CLOSE_SESSION_TIMED_OUT = 4009
CLOSE_INVALID_SHARD = 4010
CLOSE_INVALID_API_VERSION = 4012
CLOSE_INVALID_INTENTS = 4013
CLOSE_DISALLOWED_INTENTS = 4014


class _Compressor:
    """Transport compression of one connection: none, zlib-stream or zstd-stream."""

    def __init__(self, kind: str | None) -> None:
        self.kind = kind
        self._zlib: Any = None
        self._zstd: Any = None
        self._zstd_flush: Any = None
        if kind == "zlib-stream":
            self._zlib = zlib.compressobj()
        elif kind == "zstd-stream":
            module = _zstd_module()
            if module is None:
                raise ValueError("zstd-stream asked for but no zstd module is installed")
            if module.__name__ == "compression.zstd":
                self._zstd = module.ZstdCompressor()
                self._zstd_flush = module.ZstdCompressor.FLUSH_BLOCK
            else:
                self._zstd = module.ZstdCompressor().compressobj()
                self._zstd_flush = module.COMPRESSOBJ_FLUSH_BLOCK

    def encode(self, text: str) -> bytes | str:
        """One payload: text, or a compressed frame that ends a flushed block."""
        if self._zlib is not None:
            raw = text.encode()
            return bytes(self._zlib.compress(raw) + self._zlib.flush(zlib.Z_SYNC_FLUSH))
        if self._zstd is not None:
            # zstandard's compressobj and 3.14's ZstdCompressor both have compress + flush(mode)
            raw = text.encode()
            return bytes(self._zstd.compress(raw) + self._zstd.flush(self._zstd_flush))
        return text


def _zstd_module() -> ModuleType | None:
    """The zstd module discord.py would use (``zstandard`` or 3.14's ``compression.zstd``)."""
    for name in ("zstandard", "compression.zstd"):
        with contextlib.suppress(ImportError):
            return importlib.import_module(name)
    return None


@dataclass
class GatewayConnectionRecord:
    """One websocket connection to the gateway, kept for assertions."""

    number: int
    path: str
    query: dict[str, str]
    compress: str | None
    opened_at: float
    kind: str = "pending"
    """``identify``, ``resume``, ``resume-failed`` or ``pending`` (nothing sent yet)."""
    shard: tuple[int, int] | None = None
    intents: int | None = None
    session_id: str | None = None
    identify: JSON | None = None
    heartbeats: int = 0
    received: list[JSON] = field(default_factory=list)
    """Every payload the client sent (heartbeats included)."""
    closed_at: float | None = None
    close_code: int | None = None
    closed_by: str | None = None
    """``server`` (a control or a protocol error) or ``client``."""


class GatewaySession:
    """A gateway session: what a RESUME can pick up again."""

    def __init__(self, session_id: str, shard: tuple[int, int] | None, intents: int) -> None:
        self.session_id = session_id
        self.shard = shard
        self.intents = intents
        self.seq = 0
        self.backlog: deque[tuple[int, str]] = deque(maxlen=5000)
        self.connection: _Connection | None = None
        self.resumable = True
        self.ready_sent = asyncio.Event()
        self.events: list[tuple[int, str]] = []
        """(sequence number, event name) of every dispatch of the session."""

    @property
    def shard_id(self) -> int:
        return 0 if self.shard is None else self.shard[0]

    def covers(self, guild_id: int | None) -> bool:
        """Whether events of this guild (None: direct messages) go to this session."""
        if self.shard is None:
            return True
        if guild_id is None:
            return self.shard[0] == 0
        return guild_shard(guild_id, self.shard[1]) == self.shard[0]


class _Connection:
    def __init__(self, ws: web.WebSocketResponse, record: GatewayConnectionRecord) -> None:
        self.ws = ws
        self.record = record
        self.compressor = _Compressor(record.compress)
        self.lock = asyncio.Lock()
        self.session: GatewaySession | None = None
        self.closing = False
        self.transport: asyncio.BaseTransport | None = None

    async def send(self, text: str) -> None:
        async with self.lock:
            if self.ws.closed:
                return
            frame = self.compressor.encode(text)
            with contextlib.suppress(ConnectionError, RuntimeError):
                if isinstance(frame, bytes):
                    await self.ws.send_bytes(frame)
                else:
                    await self.ws.send_str(frame)

    async def close(self, code: int, message: str = "") -> None:
        if self.closing:
            return
        self.closing = True
        if self.record.closed_by is None:
            self.record.closed_by = "server"
            self.record.close_code = code
        async with self.lock:
            with contextlib.suppress(ConnectionError, RuntimeError, asyncio.TimeoutError):
                await self.ws.close(code=code, message=message.encode())


class Gateway:
    """The gateway websocket endpoint and its sessions.

    ``handle`` is the aiohttp handler of the websocket; ``dispatch`` sends an event to every
    session whose shard covers the guild (``(guild_id >> 22) % shard_count``; direct
    messages go to shard 0) and whose intents include ``intent``. Events dispatched while a
    session is disconnected are kept and replayed on RESUME, as Discord does.
    """

    def __init__(
        self,
        world: World,
        *,
        heartbeat_interval_ms: int,
        allowed_intents: int,
        notify: Callable[[], None],
    ) -> None:
        self.world = world
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.allowed_intents = allowed_intents
        """Privileged intents the application has been granted (others close with 4014)."""
        self.base_url = ""
        self.sessions: dict[str, GatewaySession] = {}
        self.connections: list[GatewayConnectionRecord] = []
        self.presence_updates: list[JSON] = []
        self.voice_state_updates: list[JSON] = []
        self.member_requests: list[JSON] = []
        self.session_starts_remaining = 1000
        self._live: set[_Connection] = set()
        self._numbers = itertools.count(1)
        self._notify = notify

    # -- URLs ----------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The URL GET /gateway/bot returns (discord.py adds ``?v=10&encoding=json&...``)."""
        return f"{self.base_url}/"

    @property
    def resume_url(self) -> str:
        """The ``resume_gateway_url`` READY hands out (same server, another path)."""
        return f"{self.base_url}/resume/"

    # -- sessions ------------------------------------------------------------------------------

    def live_sessions(self) -> list[GatewaySession]:
        """Sessions that receive events: identified, not ended (connected or resumable)."""
        return [s for s in self.sessions.values() if s.resumable]

    def connected_sessions(self) -> list[GatewaySession]:
        """Sessions with an open websocket that has received READY."""
        return [
            s
            for s in self.sessions.values()
            if s.connection is not None and not s.connection.closing and s.ready_sent.is_set()
        ]

    def _connections_of(self, shard_id: int | None) -> list[_Connection]:
        return [
            conn
            for conn in self._live
            if not conn.closing
            and (
                shard_id is None or (conn.session is not None and conn.session.shard_id == shard_id)
            )
        ]

    # -- the websocket -------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        query = dict(request.query)
        ws = web.WebSocketResponse(autoping=True, compress=False, max_msg_size=0, timeout=2.0)
        await ws.prepare(request)
        record = GatewayConnectionRecord(
            number=next(self._numbers),
            path=request.path,
            query=query,
            compress=query.get("compress"),
            opened_at=time.time(),
        )
        self.connections.append(record)
        problem: tuple[int, str] | None = None
        if query.get("v", "10") not in ("9", "10"):
            problem = (CLOSE_INVALID_API_VERSION, "Invalid API version.")
        elif query.get("encoding", "json") != "json":
            problem = (CLOSE_DECODE_ERROR, "The fake gateway speaks JSON only (no etf).")
        elif record.compress not in (None, "zlib-stream", "zstd-stream"):
            problem = (CLOSE_UNKNOWN_ERROR, f"Unknown compression {record.compress!r}.")
        try:
            conn = _Connection(ws, record)
        except ValueError as error:
            record.compress = None
            conn = _Connection(ws, record)
            problem = (CLOSE_UNKNOWN_ERROR, str(error))
        conn.transport = request.transport
        self._live.add(conn)
        self._notify()
        try:
            if problem is not None:
                await conn.close(*problem)
                return ws
            hello = {
                "op": OP_HELLO,
                "d": {
                    "heartbeat_interval": self.heartbeat_interval_ms,
                    "_trace": ['["gateway-fake-127-0-0-1",{"micros":0.0}]'],
                },
                "s": None,
                "t": None,
            }
            await conn.send(dumps(hello))
            async for message in ws:
                if message.type is WSMsgType.TEXT:
                    text = message.data
                elif message.type is WSMsgType.BINARY:
                    text = bytes(message.data).decode("utf-8", "replace")
                else:
                    break
                try:
                    payload = json.loads(text)
                except ValueError:
                    await conn.close(CLOSE_DECODE_ERROR, "Error while decoding payload.")
                    break
                if not isinstance(payload, dict):
                    await conn.close(CLOSE_DECODE_ERROR, "Error while decoding payload.")
                    break
                record.received.append(payload)
                await self._on_payload(conn, payload)
                if conn.closing:
                    break
        finally:
            self._live.discard(conn)
            session = conn.session
            if record.closed_by is None:
                record.closed_by = "client"
                record.close_code = ws.close_code
                if session is not None and ws.close_code in (1000, 1001):
                    # A client that closes with 1000/1001 ends its session: no RESUME.
                    session.resumable = False
            if session is not None and session.connection is conn:
                session.connection = None
            record.closed_at = time.time()
            self._notify()
        return ws

    async def _on_payload(self, conn: _Connection, payload: JSON) -> None:
        op = payload.get("op")
        data = payload.get("d")
        if op == OP_HEARTBEAT:
            conn.record.heartbeats += 1
            await conn.send(dumps({"op": OP_HEARTBEAT_ACK, "d": None, "s": None, "t": None}))
            self._notify()
            return
        if op == OP_IDENTIFY:
            if conn.session is not None:
                await conn.close(CLOSE_ALREADY_AUTHENTICATED, "Already authenticated.")
                return
            await self._identify(conn, data)
            return
        if op == OP_RESUME:
            if conn.session is not None:
                await conn.close(CLOSE_ALREADY_AUTHENTICATED, "Already authenticated.")
                return
            await self._resume(conn, data)
            return
        if conn.session is None:
            await conn.close(CLOSE_NOT_AUTHENTICATED, "Not authenticated.")
            return
        if op == OP_PRESENCE_UPDATE:
            self.presence_updates.append(data if isinstance(data, dict) else {"d": data})
        elif op == OP_VOICE_STATE_UPDATE:
            self.voice_state_updates.append(data if isinstance(data, dict) else {"d": data})
        elif op == OP_REQUEST_GUILD_MEMBERS:
            await self._request_members(conn.session, data)
        elif op == OP_REQUEST_SOUNDBOARD_SOUNDS:
            pass
        else:
            await conn.close(CLOSE_UNKNOWN_OPCODE, "Unknown opcode.")
        self._notify()

    async def _identify(self, conn: _Connection, data: Any) -> None:
        if not isinstance(data, dict) or not isinstance(data.get("properties"), dict):
            await conn.close(CLOSE_DECODE_ERROR, "Error while decoding payload.")
            return
        if data.get("token") != self.world.token:
            await conn.close(CLOSE_AUTHENTICATION_FAILED, "Authentication failed.")
            return
        intents = data.get("intents")
        if not isinstance(intents, int) or isinstance(intents, bool) or intents < 0:
            await conn.close(CLOSE_INVALID_INTENTS, "Invalid intent(s).")
            return
        if intents & ~_ALL_INTENTS:
            await conn.close(CLOSE_INVALID_INTENTS, "Invalid intent(s).")
            return
        if intents & PRIVILEGED_INTENTS & ~self.allowed_intents:
            await conn.close(CLOSE_DISALLOWED_INTENTS, "Disallowed intent(s).")
            return
        shard: tuple[int, int] | None = None
        raw_shard = data.get("shard")
        if raw_shard is not None:
            valid = (
                isinstance(raw_shard, list)
                and len(raw_shard) == 2
                and all(isinstance(x, int) and not isinstance(x, bool) for x in raw_shard)
                and raw_shard[1] >= 1
                and 0 <= raw_shard[0] < raw_shard[1]
            )
            if not valid:
                await conn.close(CLOSE_INVALID_SHARD, "Invalid shard.")
                return
            shard = (raw_shard[0], raw_shard[1])
        large_threshold = data.get("large_threshold", 50)
        if not isinstance(large_threshold, int) or not 50 <= large_threshold <= 250:
            await conn.close(CLOSE_DECODE_ERROR, "Error while decoding payload.")
            return
        self.session_starts_remaining = max(self.session_starts_remaining - 1, 0)
        session = GatewaySession(secrets.token_hex(16), shard, intents)
        self.sessions[session.session_id] = session
        record = conn.record
        record.kind = "identify"
        record.shard = shard
        record.intents = intents
        record.session_id = session.session_id
        record.identify = data
        conn.session = session
        session.connection = conn
        guilds = self.world.guilds_of_shard(shard)
        ready: JSON = {
            "v": 10,
            "user_settings": {},
            "user": {
                **self.world.bot.to_json(),
                "verified": True,
                "mfa_enabled": False,
                "email": None,
            },
            "guilds": [{"id": str(guild.id), "unavailable": True} for guild in guilds],
            "session_id": session.session_id,
            "session_type": "normal",
            "resume_gateway_url": self.resume_url,
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": ["rotterdam", "frankfurt", "london"],
            "auth": {},
            "application": {"id": str(self.world.application_id), "flags": (1 << 19) | (1 << 23)},
            "_trace": ['["gateway-fake-127-0-0-1",{"micros":0.0}]'],
        }
        if shard is not None:
            ready["shard"] = list(shard)
        await self.dispatch_to(session, "READY", ready)
        session.ready_sent.set()
        self._notify()
        if intents & INTENTS["GUILDS"]:
            include_members = bool(intents & INTENTS["GUILD_PRESENCES"])
            for guild in guilds:
                if guild.unavailable:
                    continue
                payload = guild.create_payload(
                    bot_id=self.world.bot.id,
                    include_members=include_members,
                    large_threshold=large_threshold,
                )
                await self.dispatch_to(session, "GUILD_CREATE", payload)
        self._notify()

    async def _resume(self, conn: _Connection, data: Any) -> None:
        if not isinstance(data, dict):
            await conn.close(CLOSE_DECODE_ERROR, "Error while decoding payload.")
            return
        if data.get("token") != self.world.token:
            await conn.close(CLOSE_AUTHENTICATION_FAILED, "Authentication failed.")
            return
        session = self.sessions.get(str(data.get("session_id")))
        seq = data.get("seq")
        record = conn.record
        backlog_start = session.backlog[0][0] if session is not None and session.backlog else 1
        if (
            session is None
            or not session.resumable
            or not isinstance(seq, int)
            or seq > session.seq
            or seq + 1 < backlog_start
        ):
            record.kind = "resume-failed"
            await conn.send(dumps({"op": OP_INVALID_SESSION, "d": False, "s": None, "t": None}))
            self._notify()
            return
        record.kind = "resume"
        record.shard = session.shard
        record.intents = session.intents
        record.session_id = session.session_id
        previous = session.connection
        session.connection = None
        if previous is not None and previous is not conn:
            previous.session = None
            await previous.close(CLOSE_UNKNOWN_ERROR, "Session resumed elsewhere.")
        conn.session = session
        last = seq
        while True:
            pending = [(s, text) for s, text in session.backlog if s > last]
            if not pending:
                break
            for s, text in pending:
                await conn.send(text)
                last = s
        session.connection = conn
        await self.dispatch_to(
            session, "RESUMED", {"_trace": ['["gateway-fake-127-0-0-1",{"micros":0.0}]']}
        )
        self._notify()

    async def _request_members(self, session: GatewaySession, data: Any) -> None:
        if not isinstance(data, dict):
            return
        self.member_requests.append(data)
        raw_ids = data.get("guild_id")
        guild_ids = raw_ids if isinstance(raw_ids, list) else [raw_ids]
        user_ids = data.get("user_ids")
        if user_ids is not None and not isinstance(user_ids, list):
            user_ids = [user_ids]
        query = data.get("query")
        raw_limit = data.get("limit")
        limit = raw_limit if isinstance(raw_limit, int) else 0
        for raw in guild_ids:
            guild = self.world.guilds.get(int(str(raw))) if str(raw).isdigit() else None
            if guild is None or self.world.bot.id not in guild.members:
                continue
            not_found: list[str] = []
            if user_ids is not None:
                wanted = [int(str(u)) for u in user_ids if str(u).isdigit()]
                members = [guild.members[u] for u in wanted if u in guild.members]
                not_found = [str(u) for u in wanted if u not in guild.members]
            elif query == "" and not session.intents & INTENTS["GUILD_MEMBERS"]:
                members = []
            else:
                prefix = str(query or "").lower()
                members = [
                    m
                    for m in guild.members.values()
                    if m.user.username.lower().startswith(prefix)
                    or (m.nick or "").lower().startswith(prefix)
                ]
                if limit:
                    members = members[:limit]
            chunks = [members[i : i + 1000] for i in range(0, len(members), 1000)] or [[]]
            for index, chunk in enumerate(chunks):
                payload: JSON = {
                    "guild_id": str(guild.id),
                    "members": [member.to_json() for member in chunk],
                    "chunk_index": index,
                    "chunk_count": len(chunks),
                }
                if not_found and index == 0:
                    payload["not_found"] = not_found
                if data.get("presences"):
                    payload["presences"] = []
                if data.get("nonce") is not None:
                    payload["nonce"] = data["nonce"]
                await self.dispatch_to(session, "GUILD_MEMBERS_CHUNK", payload)

    # -- sending -------------------------------------------------------------------------------

    async def dispatch_to(self, session: GatewaySession, event: str, data: JSON) -> int:
        """Send one event to one session (kept for RESUME if it is disconnected)."""
        session.seq += 1
        seq = session.seq
        text = dumps({"op": OP_DISPATCH, "t": event, "s": seq, "d": data})
        session.backlog.append((seq, text))
        session.events.append((seq, event))
        conn = session.connection
        if conn is not None:
            await conn.send(text)
        return seq

    async def dispatch(
        self, event: str, data: JSON, *, guild_id: int | None = None, intent: int | None = None
    ) -> list[GatewaySession]:
        """Send ``event`` to every live session of the guild's shard; returns those sessions."""
        targets = [
            session
            for session in self.live_sessions()
            if session.covers(guild_id) and (intent is None or session.intents & intent)
        ]
        for session in targets:
            await self.dispatch_to(session, event, data)
        self._notify()
        return targets

    # -- controls ------------------------------------------------------------------------------

    async def drop(
        self, shard_id: int | None = None, *, code: int = 4000, abrupt: bool = False
    ) -> int:
        """Close the websocket(s) of a shard (all when None); the sessions stay resumable.

        ``abrupt=True`` cuts the TCP connection without a close frame. Returns how many
        connections were dropped.
        """
        dropped = 0
        for conn in self._connections_of(shard_id):
            dropped += 1
            if abrupt:
                conn.closing = True
                conn.record.closed_by = "server"
                conn.record.close_code = 1006
                if isinstance(conn.transport, asyncio.Transport):
                    conn.transport.abort()
            else:
                await conn.close(code, "Dropped by the test.")
        self._notify()
        return dropped

    async def request_reconnect(self, shard_id: int | None = None) -> int:
        """Send op 7 RECONNECT; the client closes and resumes."""
        conns = self._connections_of(shard_id)
        for conn in conns:
            await conn.send(dumps({"op": OP_RECONNECT, "d": None, "s": None, "t": None}))
        return len(conns)

    async def invalidate_session(
        self, shard_id: int | None = None, *, resumable: bool = False
    ) -> int:
        """Send op 9 INVALID_SESSION; with ``resumable=False`` the session is ended."""
        conns = [c for c in self._connections_of(shard_id) if c.session is not None]
        for conn in conns:
            if conn.session is not None and not resumable:
                conn.session.resumable = False
            await conn.send(dumps({"op": OP_INVALID_SESSION, "d": resumable, "s": None, "t": None}))
        return len(conns)

    async def close_all(self) -> None:
        for conn in list(self._live):
            await conn.close(1001, "The fake Discord server is stopping.")
