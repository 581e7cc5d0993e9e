"""The Discord adapter: discord.py's ``AutoShardedBot`` inside the bot's own event loop.

``DiscordAdapter.start`` points discord.py at ``DISCORD_API_BASE_URL`` and
``DISCORD_GATEWAY_URL``, logs in (``setup_hook`` registers the slash commands built from the
registry, the ``ActionButton`` dynamic item and the command translator, and syncs the
tree), then runs ``connect()`` in a task of the caller's loop; ``stop`` closes it. Never
``bot.run()``.

Every request takes one path: an ``Incoming`` is built from the interaction (platform
``discord``, the channel id as chat id, ``CHANNEL`` in a server and ``PRIVATE`` in a DM, the
user's Discord locale as client language, Manage Server or an organizer role as
``is_admin``), ``Dispatcher.handle`` answers it, ``render`` turns the reply into embeds and
buttons. A handler slower than ``defer_after`` seconds is deferred first (Discord wants an
answer within 3 s). Two Discord-only views: ``/events`` (start times as ``<t:unix:F>``, so
every reader sees their own zone) and ``/setup`` (a server's daily post: channel, language,
time zone, time). Button presses of paging and choices (``ms``, ``ev``, ``today``,
``lang``) edit their message in place; others answer with a new message.

Errors: whatever fails in a command, a button or the tree is logged (never with the token)
and the user gets the short apology in their language, ephemeral. A channel that answers
Forbidden or Not Found when posted to, or is deleted, has its deliveries stopped
(``Core.chat_gone``) and the server's administrators are told at their next interaction.

Sharding: always an ``AutoShardedBot``; ``DISCORD_SHARD_COUNT`` (default: Discord's
recommendation from ``GET /gateway/bot``) and ``DISCORD_SHARD_IDS`` (default: all; for
splitting the shards across processes) configure it (``discord_options``).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import io
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import aiohttp
import discord
import discord.gateway
import discord.http
import yarl
from discord import app_commands
from discord.ext import commands
from discord.utils import MISSING

from bot.adapters.discord.calendar import sync_calendars
from bot.adapters.discord.commands import (
    SETUP,
    CommandTranslator,
    Completer,
    build_commands,
    choices,
    memorial_choice,
    typed_options,
)
from bot.adapters.discord.forms import AnswerModal
from bot.adapters.discord.notices import NoticeBoard
from bot.adapters.discord.render import (
    NO_MENTIONS,
    ActionButton,
    DiscordMessage,
    RenderedReply,
    render,
    text_message,
)
from bot.adapters.discord.sender import DiscordSender, api_host, describe
from bot.adapters.lifecycle import AdapterLifecycle
from bot.config import (
    DEFAULT_DISCORD_API_BASE_URL,
    ConfigError,
    RedactingFilter,
    Settings,
)
from bot.core.context import (
    Attachment,
    AttachmentKind,
    ChatRef,
    Incoming,
    OptionValue,
    UserRef,
)
from bot.core.domain import ChatKind, Platform
from bot.core.i18n import translator
from bot.core.reply import Reply, ReplyBuilder
from handlers.dispatch import Dispatcher
from handlers.registry import COMMANDS_BY_NAME

log = logging.getLogger(__name__)

PLATFORM = Platform.DISCORD.value
APOLOGY = "Sorry, something went wrong. Please try again later."
NOT_ALLOWED = "Only the administrators of this chat can change its settings."
POSTING_PERMISSIONS = ("view_channel", "send_messages", "embed_links")

LOGGERS = (
    __name__,
    "bot.adapters.discord.sender",
    "bot.adapters.discord.commands",
    "handlers.dispatch",
)
"""Loggers whose records the adapter redacts itself (the CLI's handler filter does it for
every logger; this keeps the token out of the adapter's records even without it)."""

Interaction = discord.Interaction[Any]
Produce = Callable[[], Awaitable[RenderedReply | None]]


class Deferral(enum.Enum):
    """How an interaction was deferred: a command's public or ephemeral "thinking" message,
    or a button's silent acknowledgement (the message is updated later)."""

    PUBLIC = "public"
    PRIVATE = "private"
    UPDATE = "update"


@dataclass(slots=True)
class AnswerState:
    """Where an interaction's answer stands: how it was deferred, and whether its first
    message is out (later messages are followups)."""

    deferred: Deferral | None = None
    resolved: bool = False


# -- configuration ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DiscordOptions:
    """How the adapter connects, beyond ``Settings``.

    ``shard_count`` None asks Discord (``GET /gateway/bot``); ``shard_ids`` None runs every
    shard in this process. ``defer_after``: seconds before a slow answer is deferred.
    ``identify_delay``: seconds between two shards' IDENTIFYs (Discord's 5 s).
    """

    shard_count: int | None = None
    shard_ids: tuple[int, ...] | None = None
    guild_ready_timeout: float = 2.0
    identify_delay: float = 5.0
    defer_after: float = 2.0
    ready_timeout: float = 30.0
    sync_commands: bool = True
    calendar_interval: float = 60.0
    """Seconds between two passes copying events into servers' own events (0: never)."""


def _shard_ids(raw: str) -> tuple[int, ...]:
    ids: list[int] = []
    for part in raw.split(","):
        item = part.strip()
        if not item:
            continue
        low, dash, high = item.partition("-")
        if dash:
            ids.extend(range(int(low), int(high) + 1))
        else:
            ids.append(int(item))
    return tuple(sorted(set(ids)))


def discord_options(env: Mapping[str, str]) -> DiscordOptions:
    """``DISCORD_SHARD_COUNT`` (a number, or empty/``auto`` for Discord's recommendation) and
    ``DISCORD_SHARD_IDS`` (``0,1`` or ``0-3``: the shards this process runs); raise
    ``ConfigError`` naming the variable."""
    raw_count = (env.get("DISCORD_SHARD_COUNT") or "").strip().lower()
    count: int | None = None
    if raw_count not in ("", "auto"):
        if not raw_count.isdigit() or int(raw_count) < 1:
            raise ConfigError(
                f"DISCORD_SHARD_COUNT={raw_count!r} must be a number of shards (1 or more) or auto"
            )
        count = int(raw_count)
    raw_ids = (env.get("DISCORD_SHARD_IDS") or "").strip()
    ids: tuple[int, ...] | None = None
    if raw_ids:
        try:
            ids = _shard_ids(raw_ids)
        except ValueError:
            raise ConfigError(
                f"DISCORD_SHARD_IDS={raw_ids!r} is not a list of shard numbers (e.g. 0,1 or 0-3)"
            ) from None
        if count is None:
            raise ConfigError("DISCORD_SHARD_IDS needs DISCORD_SHARD_COUNT")
        if not ids or any(shard >= count for shard in ids):
            raise ConfigError(
                f"DISCORD_SHARD_IDS={raw_ids!r} must be shards 0 to {count - 1} "
                f"(DISCORD_SHARD_COUNT={count})"
            )
    return DiscordOptions(shard_count=count, shard_ids=ids)


def point_discord_py_at(api_base: str, gateway_url: str | None) -> Callable[[], None]:
    """Send discord.py's REST requests (interaction callbacks and webhooks included) to
    ``api_base`` and its first gateway connection to ``gateway_url`` (process-wide class
    attributes); returns a function that restores the previous values."""
    route = discord.http.Route
    socket = discord.gateway.DiscordWebSocket
    previous_base, previous_gateway = route.BASE, socket.DEFAULT_GATEWAY
    route.BASE = api_base.rstrip("/")
    if gateway_url:
        socket.DEFAULT_GATEWAY = yarl.URL(gateway_url)

    def restore() -> None:
        route.BASE = previous_base
        socket.DEFAULT_GATEWAY = previous_gateway

    return restore


# -- the bot ------------------------------------------------------------------------------


class CommemorationTree(app_commands.CommandTree["CommemorationBot"]):
    """The command tree; any error a command did not catch reaches ``on_error``."""

    async def on_error(self, interaction: Interaction, error: app_commands.AppCommandError) -> None:
        """Log the error (never the token) and apologize to the user."""
        await self.client.adapter.on_tree_error(interaction, error)


def quiet_voice_support() -> None:
    """The bot never joins a voice channel: discord.py's start-up warnings about the voice
    libraries it lacks ("PyNaCl is not installed") concern nothing it does."""
    for flag in ("warn_nacl", "warn_dave"):
        if hasattr(discord.VoiceClient, flag):
            setattr(discord.VoiceClient, flag, False)


class CommemorationBot(commands.AutoShardedBot):
    """discord.py's bot, with its dependencies given in ``__init__``; slash commands only
    (intents: guilds, for channels, roles and permissions)."""

    def __init__(self, adapter: DiscordAdapter, options: DiscordOptions) -> None:
        intents = discord.Intents.none()
        intents.guilds = True
        sharding: dict[str, Any] = {"shard_count": options.shard_count}
        if options.shard_ids is not None:
            sharding["shard_ids"] = list(options.shard_ids)
        quiet_voice_support()
        super().__init__(
            command_prefix=commands.when_mentioned,
            help_command=None,
            intents=intents,
            tree_cls=CommemorationTree,
            allowed_mentions=NO_MENTIONS,
            **sharding,
            guild_ready_timeout=options.guild_ready_timeout,
            max_messages=None,
            member_cache_flags=discord.MemberCacheFlags.none(),
            chunk_guilds_at_startup=False,
        )
        self.adapter = adapter

    async def setup_hook(self) -> None:
        """After login: gateway and shards, commands, dynamic buttons, command sync."""
        await self.adapter.setup(self)

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """Space the shards' IDENTIFYs by ``identify_delay`` (Discord's 5 s by default)."""
        if not initial:
            await asyncio.sleep(self.adapter.options.identify_delay)

    async def handle_action(self, interaction: Interaction, action: str) -> None:
        """A pressed action button (``ActionButton``), this run's or an earlier one's."""
        await self.adapter.on_action(interaction, action)

    async def on_guild_channel_delete(self, channel: discord.abc.GuildChannel) -> None:
        """A deleted channel gets no more deliveries; its server's admins are told."""
        await self.adapter.on_channel_deleted(channel)

    async def on_guild_remove(self, guild: discord.Guild) -> None:
        """The bot left or was removed from a server: its channels get no more deliveries."""
        await self.adapter.on_guild_removed(guild)

    async def on_error(self, event_method: str, /, *args: Any, **kwargs: Any) -> None:
        """An exception in an event handler: logged without the token."""
        log.exception("Discord event %s failed", event_method)


# -- the adapter --------------------------------------------------------------------------


class DiscordAdapter(AdapterLifecycle):
    """The bot on Discord: ``await start()``, let it run beside the scheduler, ``await
    stop()`` (or ``async with``). ``sender`` is the scheduler's ``Sender`` for Discord."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        settings: Settings,
        *,
        options: DiscordOptions | None = None,
    ) -> None:
        if not settings.discord_token:
            raise ConfigError("the Discord adapter needs DISCORD_BOT_TOKEN")
        self.dispatcher = dispatcher
        self.core = dispatcher.core
        self.settings = settings
        self.options = options or discord_options(settings.environment)
        self.notices = NoticeBoard()
        self.command_ids: dict[str, int] = {}
        self.sender = DiscordSender(
            settings.discord_token,
            settings.discord_api_base_url,
            on_gone=self.channel_gone,
            commands=lambda: self.command_ids,
        )
        self.command_translator: app_commands.Translator = CommandTranslator()
        """Localizes the slash commands at sync time (replaceable before ``start``)."""
        self.bot = CommemorationBot(self, self.options)
        self._token = settings.discord_token
        self._log_filter = RedactingFilter(settings)
        self._task: asyncio.Task[None] | None = None
        self._calendar: asyncio.Task[None] | None = None
        self._restore: Callable[[], None] | None = None

    # -- lifecycle -----------------------------------------------------------------------

    def connected(self) -> bool:
        """Whether the bot is ready and every shard's gateway connection is open
        (``/healthz``)."""
        bot = self.bot
        shards = bot.shards
        return (
            bot.is_ready()
            and not bot.is_closed()
            and bool(shards)
            and not any(shard.is_closed() for shard in shards.values())
        )

    @property
    def host(self) -> str:
        """The Discord API server (for messages)."""
        return api_host(self.settings.discord_api_base_url)

    async def start(self) -> None:
        """Log in, sync the commands, connect the gateway in a task; return once ready (or
        after ``ready_timeout``, still connecting). Raise ``ConfigError`` (one line, no
        secrets) when the token is refused or the server cannot be reached."""
        for name in LOGGERS:
            logging.getLogger(name).addFilter(self._log_filter)
        self._restore = point_discord_py_at(
            self.settings.discord_api_base_url, self.settings.discord_gateway_url
        )
        try:
            await self.sender.open()
            try:
                await self.bot.login(self._token)
            except discord.LoginFailure:
                raise ConfigError(
                    f"DISCORD_BOT_TOKEN was rejected by the Discord API at {self.host}"
                ) from None
            except (aiohttp.ClientError, OSError, discord.DiscordException) as error:
                raise ConfigError(
                    f"cannot reach the Discord API at {self.host}: {self._describe(error)}"
                ) from None
            await self._warm_up()
            self._task = asyncio.create_task(self._connect(), name="discord-gateway")
            await self._wait_until_ready()
            if self.options.calendar_interval > 0:
                self._calendar = asyncio.create_task(self._calendar_loop(), name="discord-events")
        except BaseException:
            await self.stop()
            raise
        user = self.bot.user
        log.info("Discord: %s is running (%s shard(s))", user, self.bot.shard_count)

    async def _warm_up(self) -> None:
        """Build the memorial search index now: autocomplete must answer within 3 s and
        cannot be deferred."""
        try:
            await self.core.index()
        except Exception as error:
            log.warning("Discord: the search index is not ready yet: %s", self._describe(error))

    async def _connect(self) -> None:
        try:
            await self.bot.connect()
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.error("Discord: the gateway connection ended: %s", self._describe(error))
            raise

    async def _wait_until_ready(self) -> None:
        task = self._task
        if task is None:
            return
        ready = asyncio.create_task(self.bot.wait_until_ready())
        try:
            await asyncio.wait(
                {ready, task},
                timeout=self.options.ready_timeout,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            if not ready.done():
                ready.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await ready
        if task.done():
            error = task.exception() if not task.cancelled() else None
            if isinstance(error, discord.PrivilegedIntentsRequired):
                raise ConfigError("Discord refused the gateway intents the bot asked for")
            raise ConfigError(
                f"cannot connect to the Discord gateway: "
                f"{self._describe(error) if error else 'closed'}"
            )
        if not ready.done() or ready.cancelled():
            log.warning(
                "Discord: not ready after %s s; still connecting in the background",
                self.options.ready_timeout,
            )

    async def stop(self) -> None:
        """Close the gateway and the HTTP sessions; wait for the connection task."""
        calendar, self._calendar = self._calendar, None
        if calendar is not None:
            calendar.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await calendar
        try:
            if not self.bot.is_closed():
                await self.bot.close()
            task, self._task = self._task, None
            if task is not None:
                try:
                    await asyncio.wait_for(task, 10)
                except (asyncio.CancelledError, TimeoutError):
                    task.cancel()
                except Exception:  # already logged by _connect
                    pass
            await self.sender.close()
        finally:
            restore, self._restore = self._restore, None
            if restore is not None:
                restore()
            for name in LOGGERS:
                logging.getLogger(name).removeFilter(self._log_filter)

    async def sync_calendars(self) -> int:
        """Copy new, moved and cancelled events into the servers' own events (``/calendar``);
        a failure is stored for the organizers, never raised."""
        return await sync_calendars(self.core, self.bot.http, self._describe)

    async def _calendar_loop(self) -> None:
        while True:
            try:
                await self.sync_calendars()
            except Exception as error:
                log.error("Discord: listing events failed: %s", self._describe(error))
            await asyncio.sleep(self.options.calendar_interval)

    async def wait_until_ready(self, timeout: float = 30.0) -> None:  # noqa: ASYNC109
        """Wait until every shard has received its servers."""
        await asyncio.wait_for(self.bot.wait_until_ready(), timeout)

    async def wait_closed(self) -> None:
        """Return when the gateway connection has ended for good (``stop``, or a fatal error
        such as a revoked token, which is logged): for a runner that should then stop."""
        task = self._task
        if task is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.shield(task)

    async def setup(self, bot: CommemorationBot) -> None:
        """``setup_hook``: where the gateway is, how many shards, then the commands."""
        gateway_url = self.settings.discord_gateway_url
        custom_api = self.settings.discord_api_base_url.rstrip("/") != DEFAULT_DISCORD_API_BASE_URL
        if bot.shard_count is None or (not gateway_url and custom_api):
            count, url, _ = await bot.http.get_bot_gateway()
            if not gateway_url and custom_api:
                discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)
            if bot.shard_count is None:
                bot.shard_count = max(1, int(count))
        bot.add_dynamic_items(ActionButton)
        for command in build_commands(
            self.run_command, self.run_setup, self._completers(), self.run_answer
        ):
            bot.tree.add_command(command)
        await bot.tree.set_translator(self.command_translator)
        if self.options.sync_commands:
            await self.sync_commands()

    async def sync_commands(self) -> None:
        """Publish the slash commands with their localizations (``PUT`` global commands);
        a failure is logged, not fatal (the commands of the last sync stay)."""
        try:
            synced = await self.bot.tree.sync()
        except discord.HTTPException as error:
            log.warning("Discord: could not sync the slash commands: %s", self._describe(error))
            try:
                synced = await self.bot.tree.fetch_commands()
            except discord.HTTPException:
                return
        else:
            log.info("Discord: %s slash commands synced", len(synced))
        self.command_ids = {command.name: command.id for command in synced}

    # -- requests ------------------------------------------------------------------------

    def _is_admin(self, interaction: Interaction) -> bool:
        """Manage Server (or Administrator) in this channel, or an organizer role
        (``ORGANIZER_IDS=discord:role:<role id>``)."""
        if interaction.guild_id is None:
            return False
        permissions = interaction.permissions
        if permissions.manage_guild or permissions.administrator:
            return True
        user = interaction.user
        if isinstance(user, discord.Member):
            return any(self.core.is_organizer(PLATFORM, f"role:{role.id}") for role in user.roles)
        return False

    def incoming(
        self,
        interaction: Interaction,
        *,
        text: str | None = None,
        action: str | None = None,
        command: str | None = None,
        options: dict[str, OptionValue] | None = None,
        attachment: Attachment | None = None,
        is_answer: bool = False,
    ) -> Incoming:
        """The dispatcher's request for an interaction."""
        kind = ChatKind.PRIVATE if interaction.guild_id is None else ChatKind.CHANNEL
        title = getattr(interaction.channel, "name", None)
        chat = ChatRef(
            str(interaction.channel_id),
            kind,
            title=title if isinstance(title, str) else "",
            locale=interaction.guild_locale.value if interaction.guild_locale else "",
            space=str(interaction.guild_id) if interaction.guild_id else "",
        )
        user = interaction.user
        permissions = interaction.permissions
        who = UserRef(
            str(user.id),
            user.display_name,
            interaction.locale.value,
            is_admin=self._is_admin(interaction),
            can_manage_events=interaction.guild_id is not None
            and (permissions.manage_events or permissions.administrator),
        )
        return Incoming(
            PLATFORM,
            chat,
            who,
            text=text,
            action=action,
            command=command,
            options=options or {},
            attachment=attachment,
            is_answer=is_answer,
        )

    def may_configure_server(self, incoming: Incoming) -> bool:
        """Whether the user may run ``/setup``: Manage Server, an organizer role, or a
        bot-wide organizer."""
        return incoming.user.is_admin or self.core.is_organizer(PLATFORM, incoming.user.id)

    async def language(self, incoming: Incoming) -> str:
        """The chat's language: its choice, else the user's Discord language, else the
        default (the dispatcher's rule)."""
        stored = await self.core.stored_language(PLATFORM, incoming.chat.id)
        return self.core.resolve_language(stored, incoming.user.client_language)

    async def run_command(
        self, interaction: Interaction, name: str, values: dict[str, Any]
    ) -> None:
        """A registry slash command: its typed options straight to the dispatcher."""
        command = COMMANDS_BY_NAME[name]
        if name == "memorial":
            slug = memorial_choice(str(values.get("query") or ""))
            if slug is not None:
                incoming = self.incoming(interaction, action=f"m:{slug}")
                await self.answer(interaction, incoming, lambda: self._dispatch(incoming))
                return
        incoming = self.incoming(
            interaction, command=name, options=dict(typed_options(command, values))
        )
        await self.answer(interaction, incoming, lambda: self._dispatch(incoming))

    async def on_action(self, interaction: Interaction, action: str) -> None:
        """A pressed button: its action through the dispatcher (``ev:`` to the events view);
        the reply says whether it replaces the button's message. A question's "answer"
        button opens a modal for the typed answer."""
        incoming = self.incoming(interaction, action=action)
        prefix, _, argument = action.partition(":")
        if (
            prefix == "cv"
            and argument.endswith(":open")
            and await self.open_form(interaction, incoming, argument.partition(":")[0])
        ):
            return
        await self.answer(interaction, incoming, lambda: self._dispatch(incoming), component=True)

    async def open_form(self, interaction: Interaction, incoming: Incoming, turn: str) -> bool:
        """Open the modal of the question awaiting this user's answer; False when the
        button's question is not the open one (the dispatcher then says so)."""
        ask = await self.dispatcher.pending_ask(incoming)
        if ask is None or str(ask.turn) != turn or not ask.kind.typed:
            return False

        async def submit(submitted: Interaction, value: str) -> None:
            answer = self.incoming(submitted, text=value, is_answer=True)
            await self.answer(submitted, answer, lambda: self._dispatch(answer))

        await interaction.response.send_modal(AnswerModal(ask, submit))
        return True

    async def run_answer(
        self, interaction: Interaction, text: str | None, file: discord.Attachment | None
    ) -> None:
        """``/answer [text] [file]``: the open question's answer, a file included."""
        attachment = None
        if file is not None:
            mime = file.content_type or "application/octet-stream"
            attachment = Attachment(
                kind=AttachmentKind.PHOTO if mime.startswith("image/") else AttachmentKind.DOCUMENT,
                file_ref=file.url,
                mime_type=mime,
                size=file.size,
                file_name=file.filename,
                fetch=file.read,
            )
        incoming = self.incoming(interaction, text=text, attachment=attachment, is_answer=True)
        await self.answer(interaction, incoming, lambda: self._dispatch(incoming), private=True)

    async def _dispatch(self, incoming: Incoming) -> RenderedReply | None:
        reply = await self.dispatcher.handle(incoming)
        return None if reply is None else render(reply, commands=self.command_ids)

    # -- /setup --------------------------------------------------------------------------

    async def run_setup(
        self,
        interaction: Interaction,
        channel: app_commands.AppCommandChannel | None,
        language: str | None,
        zone: str | None,
        time: str | None,
    ) -> None:
        """``/setup``: the chat-settings handler, for this channel or another of the server
        (whether the bot may post there is the adapter's word); always ephemeral."""
        values = {"language": language, "zone": zone, "time": time}
        options: dict[str, OptionValue] = {
            k: v.strip() for k, v in values.items() if v and v.strip()
        }
        if channel is not None:
            options["channel"] = str(channel.id)
        incoming = replace(
            self.incoming(interaction, command=SETUP, options=options),
            can_post=lambda chat_id: self._can_post(interaction, int(chat_id)),
        )

        async def produce() -> RenderedReply | None:
            rendered = await self._dispatch(incoming)
            target = str(channel.id if channel is not None else interaction.channel_id)
            subscription = await self.core.chats.get_subscription(PLATFORM, target)
            if subscription is not None and subscription.active:
                self.notices.forget(target)
            return rendered

        await self.answer(interaction, incoming, produce, private=True)

    def _can_post(self, interaction: Interaction, channel_id: int) -> bool:
        """Whether the bot may post in a channel of this server, as far as the cache knows
        (unknown: yes; a failing post is handled when it happens)."""
        guild = interaction.guild
        if guild is None:
            return True
        channel = guild.get_channel(channel_id)
        me = guild.me
        if channel is None or me is None:
            return True
        permissions = channel.permissions_for(me)
        return all(getattr(permissions, name) for name in POSTING_PERMISSIONS)

    # -- autocomplete --------------------------------------------------------------------

    def _user_language(self, interaction: Interaction) -> str:
        """The user's own language, when a request could not even be built (an apology)."""
        return self.core.resolve_language(None, interaction.locale.value)

    def _completers(self) -> dict[str, Completer]:
        return {kind: self._completer(kind) for kind in ("memorial", "language", "timezone")}

    def _completer(self, kind: str) -> Completer:
        """Autocomplete of one kind of parameter: the handlers' suggestions (answered within
        Discord's 3 s; a failure is logged there and offers nothing)."""

        async def complete(
            interaction: Interaction, current: str
        ) -> list[app_commands.Choice[str]]:
            suggestions = await self.dispatcher.suggest(self.incoming(interaction), kind, current)
            return choices(suggestions)

        complete.__name__ = f"complete_{kind}"
        return complete

    # -- answering -----------------------------------------------------------------------

    async def answer(
        self,
        interaction: Interaction,
        incoming: Incoming,
        produce: Produce,
        *,
        component: bool = False,
        private: bool = False,
    ) -> None:
        """Produce a reply and send it as the interaction's answer; defer first when it
        takes longer than ``defer_after`` (a command's "thinking" message is ephemeral when
        ``private``: Discord fixes that choice at the deferral); apologize when anything
        fails; then tell an administrator about channels whose posts stopped."""
        state = AnswerState()
        task = asyncio.ensure_future(produce())
        try:
            done, _ = await asyncio.wait({task}, timeout=self.options.defer_after)
            if not done:
                if component:
                    await interaction.response.defer()
                    state.deferred = Deferral.UPDATE
                else:
                    await interaction.response.defer(thinking=True, ephemeral=private)
                    state.deferred = Deferral.PRIVATE if private else Deferral.PUBLIC
            rendered = await task
            if rendered is None:
                if not interaction.response.is_done():
                    await interaction.response.defer()
                elif state.deferred in (Deferral.PUBLIC, Deferral.PRIVATE):
                    await interaction.delete_original_response()
                return
            in_place = component and rendered.replaces and _may_replace(interaction, rendered)
            await self.deliver(interaction, rendered, state, in_place=in_place)
        except Exception as error:
            log.error(
                "Discord: answering %s in channel %s failed: %s",
                incoming.text or incoming.action,
                incoming.chat.id,
                self._describe(error),
                exc_info=error,
            )
            await self.apologize(interaction, incoming, state)
            return
        finally:
            if not task.done():
                task.cancel()
        await self.tell_admins(interaction, incoming)

    async def deliver(
        self,
        interaction: Interaction,
        rendered: RenderedReply,
        state: AnswerState | None = None,
        *,
        in_place: bool = False,
    ) -> None:
        """Send a rendered reply as the answer (and followups for its further parts).

        After a command's deferral the "thinking" message becomes the first part when its
        visibility matches the reply's; otherwise it is resolved, deleted, and the reply
        follows (Discord would apply the first followup to it, visibility unchanged).
        """
        state = state or AnswerState()
        deferred = state.deferred
        first, *rest = rendered.messages
        ephemeral = rendered.ephemeral
        if in_place and rendered.single:
            edit = _edit_arguments(first)
            if deferred is None:
                await interaction.response.edit_message(**edit)
            else:
                await interaction.edit_original_response(**edit)
            state.resolved = True
            return
        photo = _photo_file(rendered)
        sending = _send_arguments(first) | ({"file": photo} if photo is not None else {})
        editing = _edit_arguments(first) | ({"attachments": [photo]} if photo is not None else {})
        if state.resolved:
            await interaction.followup.send(**sending, ephemeral=ephemeral)
        elif deferred is None:
            await interaction.response.send_message(**sending, ephemeral=ephemeral)
        elif deferred is Deferral.UPDATE:
            await interaction.followup.send(**sending, ephemeral=ephemeral)
        elif (deferred is Deferral.PRIVATE) == ephemeral:
            await interaction.edit_original_response(**editing)
        else:
            await interaction.edit_original_response(content="…", embeds=[], view=None)
            await interaction.delete_original_response()
            await interaction.followup.send(**sending, ephemeral=ephemeral)
        state.resolved = True
        for message in rest:
            await interaction.followup.send(**_send_arguments(message), ephemeral=ephemeral)
        if rendered.file is not None:
            attached = discord.File(io.BytesIO(rendered.file.data), filename=rendered.file.name)
            await interaction.followup.send(file=attached, ephemeral=ephemeral)

    async def apologize(
        self,
        interaction: Interaction,
        incoming: Incoming | None,
        state: AnswerState | None = None,
    ) -> None:
        """The short apology, ephemeral, in the user's language (best effort)."""
        try:
            language = (
                await self.language(incoming)
                if incoming is not None
                else self._user_language(interaction)
            )
        except Exception:
            language = self._user_language(interaction)
        apology = text_message(translator(language).gettext(APOLOGY))
        state = state or AnswerState()
        if interaction.response.is_done() and state.deferred is None:
            state.resolved = True  # answered before the failure: the apology follows
        try:
            await self.deliver(interaction, apology, state)
        except Exception as error:
            log.warning("Discord: could not apologize: %s", self._describe(error))

    async def on_tree_error(
        self, interaction: Interaction, error: app_commands.AppCommandError
    ) -> None:
        """An error the commands did not catch (a stale command, a bad option value ...)."""
        if interaction.command is not None:
            name = interaction.command.name
        else:
            raw = interaction.data.get("name") if interaction.data else None
            name = str(raw or "?")
        log.error(
            "Discord: command /%s failed: %s",
            name,
            self._describe(error),
            exc_info=None if isinstance(error, app_commands.CommandNotFound) else error,
        )
        incoming = None
        with contextlib.suppress(Exception):
            incoming = self.incoming(interaction, text=f"/{name}")
        await self.apologize(interaction, incoming)

    # -- channels that cannot be posted to -----------------------------------------------

    async def channel_gone(self, channel_id: str, reason: str) -> None:
        """A post to a channel answered Forbidden or Not Found: stop its deliveries and
        note it for its server's administrators."""
        stopped = await self.core.chat_gone(PLATFORM, channel_id)
        guild_id: int | None = None
        if channel_id.isdigit():
            channel = self.bot.get_channel(int(channel_id))
            guild = getattr(channel, "guild", None)
            guild_id = guild.id if isinstance(guild, discord.Guild) else None
        self.notices.add(channel_id, guild_id)
        log.info(
            "Discord channel %s (server %s): %s subscription(s) stopped: %s",
            channel_id,
            guild_id,
            stopped,
            reason,
        )

    async def on_channel_deleted(self, channel: discord.abc.GuildChannel) -> None:
        """A deleted channel: deliveries stop; the server's administrators are told."""
        stopped = await self.core.chat_gone(PLATFORM, str(channel.id))
        if stopped:
            self.notices.add(str(channel.id), channel.guild.id)
            log.info(
                "Discord channel %s was deleted: %s subscription(s) stopped", channel.id, stopped
            )

    async def on_guild_removed(self, guild: discord.Guild) -> None:
        """The bot is no longer in a server: none of its channels gets deliveries."""
        stopped = 0
        for channel in guild.channels:
            stopped += await self.core.chat_gone(PLATFORM, str(channel.id))
        log.info("Discord: removed from server %s; %s subscription(s) stopped", guild.id, stopped)

    async def tell_admins(self, interaction: Interaction, incoming: Incoming) -> None:
        """After answering an administrator: the channels of their server whose posts
        stopped, once, ephemeral."""
        guild = interaction.guild
        if guild is None or not self.may_configure_server(incoming):
            return
        channels = self.notices.take(guild.id, lambda cid: guild.get_channel(cid) is not None)
        if not channels:
            return
        try:
            t = translator(await self.language(incoming))
            lines = [
                t.gettext(
                    "I can no longer post in {channel}, so its daily post is turned off.",
                    channel=f"<#{channel_id}>",
                )
                for channel_id in channels
            ]
            lines.append(
                t.gettext(
                    "Give me the View Channel, Send Messages and Embed Links permissions there "
                    "and run /setup again."
                )
            )
            rendered = render(_notice("\n".join(lines)), commands=self.command_ids)
            for message in rendered.messages:
                await interaction.followup.send(**_send_arguments(message), ephemeral=True)
        except Exception as error:
            for channel_id in channels:
                self.notices.add(channel_id, guild.id)
            log.warning(
                "Discord: could not tell the admins of %s: %s", guild.id, self._describe(error)
            )

    def _describe(self, error: BaseException) -> str:
        return describe(error, self._token)


def _may_replace(interaction: Interaction, rendered: RenderedReply) -> bool:
    """A reply may take the pressed button's message's place when it is one message and
    keeps its visibility (an ephemeral reply never replaces a public message)."""
    message = interaction.message
    pressed_ephemeral = bool(message is not None and message.flags.ephemeral)
    return rendered.single and (not rendered.ephemeral or pressed_ephemeral)


def _notice(text: str) -> Reply:
    """An ephemeral notice of plain text (escaped when rendered)."""
    return ReplyBuilder().text(text).build(ephemeral=True)


def _photo_file(rendered: RenderedReply) -> discord.File | None:
    """The reply's photo as an attachment of its first message (its embed shows it)."""
    photo = rendered.photo
    if photo is None:
        return None
    return discord.File(io.BytesIO(photo.read()), filename=photo.name)


def _send_arguments(message: DiscordMessage) -> dict[str, Any]:
    view = message.view()
    return {
        "content": message.content if message.content else MISSING,
        "embeds": list(message.embeds) if message.embeds else MISSING,
        "view": view if view is not None else MISSING,
        "allowed_mentions": NO_MENTIONS,
    }


def _edit_arguments(message: DiscordMessage) -> dict[str, Any]:
    return {
        "content": message.content,
        "embeds": list(message.embeds),
        "view": message.view(),
        "allowed_mentions": NO_MENTIONS,
    }
