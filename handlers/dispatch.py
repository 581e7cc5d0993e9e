"""The one entry point of every adapter: a request in, a neutral reply out.

The dispatcher resolves the chat's language (the chat's stored choice, else the user's client
language when it is one of ours, else ``DEFAULT_LANGUAGE``) and zone, builds the
``RequestContext``, calls the handler, and turns bad arguments into a usage hint and any
failure into a short apology, logged with its traceback.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from bot.core.context import Incoming, RequestContext
from bot.core.domain import ChatKind
from bot.core.i18n import translator
from bot.core.reply import Reply, ReplyBuilder
from bot.core.services import Core
from handlers import memorials
from handlers.base import Handler, NotAllowed, UsageError
from handlers.registry import ACTIONS, COMMANDS_BY_NAME

log = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 1000


@dataclass(frozen=True, slots=True)
class ParsedCommand:
    """A message split into its command and arguments."""

    name: str
    addressee: str
    arg_text: str


def parse_command(text: str) -> ParsedCommand | None:
    """Split ``/name@bot args``; None when the text is not a command."""
    text = text.strip()
    if not text.startswith("/") or len(text) < 2:
        return None
    head, _, rest = text[1:].partition(" ")
    name, _, addressee = head.partition("@")
    return ParsedCommand(name.lower(), addressee, rest.strip())


class Dispatcher:
    """Routes requests to handlers; shared by all adapters."""

    def __init__(self, core: Core, *, bot_username: str = "") -> None:
        self.core = core
        self.bot_username = bot_username

    async def handle(self, incoming: Incoming) -> Reply | None:
        """Answer one request; None when the request is not for this bot."""
        context = await self._context(incoming)
        handler: Handler | None
        command_name = ""
        if incoming.location is not None:
            handler, command_name = memorials.show_nearest, "near"
        elif incoming.action is not None:
            prefix, _, argument = incoming.action.partition(":")
            handler = ACTIONS.get(prefix)
            context = _with_args(context, argument, split=False)
            if handler is None:
                log.warning("unknown action %r", incoming.action)
                return None
        elif incoming.text is not None:
            parsed = parse_command(incoming.text)
            if parsed is None:
                if incoming.chat.kind is ChatKind.PRIVATE:
                    return _text(context.t.gettext("Send /help to see what I can do."))
                return None
            if (
                parsed.addressee
                and self.bot_username
                and (parsed.addressee.lower() != self.bot_username.lower())
            ):
                return None
            command = COMMANDS_BY_NAME.get(parsed.name)
            if command is None:
                return _text(
                    context.t.gettext(
                        "I don't know the command /{command}. Send /help to see the commands.",
                        command=parsed.name[:32],
                    )
                )
            handler, command_name = command.handler, command.name
            if len(parsed.arg_text) > MAX_MESSAGE_CHARS:
                return self._usage(
                    context, command_name, context.t.gettext("The message is too long.")
                )
            context = _with_args(context, parsed.arg_text, split=True)
        else:
            return None
        return await self.run(handler, _named(context, command_name))

    async def run(self, handler: Handler, context: RequestContext) -> Reply:
        """Call a handler, turning usage errors, refusals and failures into replies."""
        try:
            return await handler(context)
        except UsageError as error:
            return self._usage(context, context.command, error.reason)
        except NotAllowed:
            return _text(
                context.t.gettext("Only the administrators of this chat can change its settings."),
                ephemeral=True,
            )
        except Exception:
            log.exception("handler for /%s failed in %s chat", context.command, context.platform)
            return _text(
                context.t.gettext("Sorry, something went wrong. Please try again later."),
                ephemeral=True,
            )

    def _usage(self, context: RequestContext, command_name: str, reason: str) -> Reply:
        t = context.t
        command = COMMANDS_BY_NAME.get(command_name)
        out = ReplyBuilder()
        if reason:
            out.line(reason)
        if command is not None:
            out.text(t.gettext("Usage: {usage}", usage=t.gettext(command.usage)))
        return out.build(ephemeral=True)

    async def _context(self, incoming: Incoming) -> RequestContext:
        core = self.core
        stored = await core.chats.get_settings(incoming.platform, incoming.chat.id)
        language = core.resolve_language(
            stored.language if stored else None, incoming.user.client_language
        )
        timezone = (stored.timezone if stored else None) or core.settings.default_timezone
        extras = {"bot_username": self.bot_username} if self.bot_username else {}
        return RequestContext(
            core=core,
            platform=incoming.platform,
            chat=incoming.chat,
            user=incoming.user,
            language=language,
            timezone=timezone,
            t=translator(language),
            now=core.clock.now(),
            location=incoming.location,
            extras=extras,
            check_admin=incoming.check_admin,
        )


def _with_args(context: RequestContext, arg_text: str, *, split: bool) -> RequestContext:
    args = tuple(arg_text.split()) if split else ((arg_text,) if arg_text else ())
    return replace(context, args=args, arg_text=arg_text)


def _named(context: RequestContext, command_name: str) -> RequestContext:
    return replace(context, command=command_name)


def _text(text: str, *, ephemeral: bool = False) -> Reply:
    return ReplyBuilder().text(text).build(ephemeral=ephemeral)
