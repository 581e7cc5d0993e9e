"""The one entry point of every adapter: a request in, a neutral reply out.

The dispatcher builds the ``RequestContext`` (the language resolved once, here: the chat's
stored choice, else the user's client language when it is one of ours, else
``DEFAULT_LANGUAGE``), then routes the request:

1. a conversation button (``cv:…``) goes to the user's conversation;
2. a command (typed, or a Discord slash command with typed options) is answered by its
   handler; ``/cancel`` ends the conversation; a command typed in the middle of a
   conversation is answered normally, leaves the conversation as it was and says so;
3. any other message of a user who is in a conversation (text, a location, a photo or
   file) answers its current question;
4. otherwise a shared location lists the nearest memorials, and free text in a private chat
   is understood (a date, coordinates, or a memorial's name); other buttons go to their
   handlers.

Bad arguments become a usage hint and any failure a short apology, logged with its traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace

from bot import metrics
from bot.core.context import Incoming, OptionValue, RequestContext
from bot.core.conversation import Answer, Current, Flow, FlowEngine
from bot.core.domain import ChatKind
from bot.core.i18n import translator
from bot.core.reply import Ask, Reply, ReplyBuilder, Span
from bot.core.services import Core
from handlers import free_text, memorials
from handlers.base import Handler, NotAllowed, UsageError
from handlers.flows import FLOWS
from handlers.registry import (
    ACTIONS,
    COMMANDS_BY_NAME,
    SUGGESTERS,
    Command,
    InlinePage,
    Suggestion,
    inline_memorials,
)

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


def text_options(command: Command, arg_text: str) -> dict[str, OptionValue]:
    """A typed command's words as its parameters, in order; the last takes the rest."""
    words = arg_text.split()
    options: dict[str, OptionValue] = {}
    for index, param in enumerate(command.params):
        if index >= len(words):
            break
        last = index == len(command.params) - 1
        options[param.name] = " ".join(words[index:]) if last else words[index]
    return options


def command_label(incoming: Incoming) -> str:
    """The metric label of a request: a known command's name, ``button`` for a pressed
    button, ``message`` for anything else (an answer, free text, a location, a file);
    ``unknown`` for a command the bot does not have. Never the user's own words."""
    if incoming.action is not None:
        return "button"
    name = incoming.command
    if name is None and incoming.text is not None and not incoming.is_answer:
        parsed = parse_command(incoming.text)
        name = parsed.name if parsed is not None else None
    if name is None:
        return "message"
    return name if name in COMMANDS_BY_NAME else "unknown"


class Dispatcher:
    """Routes requests to handlers and conversations; shared by all adapters."""

    def __init__(
        self,
        core: Core,
        *,
        bot_username: str = "",
        flows: Mapping[str, Flow] | None = None,
    ) -> None:
        self.core = core
        self.bot_username = bot_username
        """The bot's name where a platform has not said its own (``set_username``)."""
        self.usernames: dict[str, str] = {}
        self.flows = FlowEngine(
            flows if flows is not None else FLOWS,
            core.conversations,
            core.unit_of_work,
            core.settings.conversation_idle,
        )

    def set_username(self, platform: str, username: str) -> None:
        """The bot's user name on a platform (``/cmd@name`` is for this bot there)."""
        self.usernames[platform] = username

    def username(self, platform: str) -> str:
        """The bot's user name on a platform ("" when unknown)."""
        return self.usernames.get(platform, self.bot_username)

    async def handle(self, incoming: Incoming) -> Reply | None:
        """Answer one request; None when the request is not for this bot. Its time is
        observed in ``commemoration_command_duration_seconds`` (``bot.metrics``)."""
        with metrics.command_timer(incoming.platform, command_label(incoming)):
            return await self._handle(incoming)

    async def _handle(self, incoming: Incoming) -> Reply | None:
        context = await self.context(incoming)
        if incoming.action is not None:
            return await self._action(context, incoming.action)
        if incoming.command is not None and not incoming.is_answer:
            return await self._command(
                context, incoming.command, incoming.options, typed_options=True
            )
        parsed = (
            parse_command(incoming.text)
            if incoming.text is not None and not incoming.is_answer
            else None
        )
        if parsed is not None and incoming.attachment is None:
            username = self.username(incoming.platform)
            if parsed.addressee and username and parsed.addressee.lower() != username.lower():
                return None
            return await self._command(context, parsed.name, parsed.arg_text)
        current = await self.flows.current(context)
        if current.state is not None:
            answer = Answer(
                text=incoming.text, location=incoming.location, attachment=incoming.attachment
            )
            state = current.state
            return await self._guard(context, lambda: self.flows.answer(context, state, answer))
        if current.expired is not None:
            return self.flows.expired_reply(context, current.expired)
        if incoming.location is not None:
            return await self.run(memorials.show_nearest, _named(context, "near"))
        if context.chat.kind is not ChatKind.PRIVATE:
            return None
        if incoming.attachment is not None:
            return _text(
                context.t.gettext(
                    "I was not expecting a file here. Send /help to see what I can do."
                )
            )
        if incoming.text is not None and incoming.text.strip():
            return await self.run(free_text.understand, _with_args(context, incoming.text))
        return None

    async def suggest(self, incoming: Incoming, kind: str, current: str) -> list[Suggestion]:
        """Suggestions for a parameter being typed (``Param.autocomplete`` kinds); empty
        for an unknown kind, and when the suggester fails (logged)."""
        suggester = SUGGESTERS.get(kind)
        if suggester is None:
            return []
        context = await self.context(incoming)
        try:
            return await suggester(context, current)
        except Exception:
            log.exception("suggestions for %s failed", kind)
            return []

    async def inline(self, incoming: Incoming, query: str, offset: int) -> InlinePage:
        """Inline mode: memorials offered for ``query``, a page from ``offset``."""
        return await inline_memorials(await self.context(incoming), query, offset)

    async def pending_ask(self, incoming: Incoming) -> Ask | None:
        """The question awaiting this user's answer here (a platform's own form for it)."""
        return await self.flows.pending_ask(await self.context(incoming))

    # -- routes ----------------------------------------------------------------------------

    async def _action(self, context: RequestContext, action: str) -> Reply | None:
        prefix, _, argument = action.partition(":")
        if prefix == "cv":
            current = await self.flows.current(context)
            return await self._guard(context, lambda: self.flows.press(context, current, argument))
        handler = ACTIONS.get(prefix)
        if handler is None:
            log.warning("unknown action %r", action)
            return None
        reply = await self.run(handler, _with_args(context, argument))
        return await self._remind(context, reply)

    async def _command(
        self,
        context: RequestContext,
        name: str,
        arguments: str | Mapping[str, OptionValue],
        *,
        typed_options: bool = False,
    ) -> Reply:
        t = context.t
        command = COMMANDS_BY_NAME.get(name)
        if command is None:
            return _text(
                t.gettext(
                    "I don't know the command /{command}. Send /help to see the commands.",
                    command=name[:32],
                )
            )
        if typed_options:
            assert not isinstance(arguments, str)
            options = dict(arguments)
            arg_text = " ".join(
                str(options[param.name]) for param in command.params if param.name in options
            )
        else:
            assert isinstance(arguments, str)
            arg_text = arguments
            if len(arg_text) > MAX_MESSAGE_CHARS:
                return self._usage(context, command.name, t.gettext("The message is too long."))
            options = text_options(command, arg_text)
        context = replace(
            _with_args(context, arg_text, split=True), options=options, command=command.name
        )
        reply = await self.run(command.handler, context)
        return await self._remind(context, reply)

    async def _remind(self, context: RequestContext, reply: Reply) -> Reply:
        """A reply given during a conversation says that the conversation is still open."""
        if reply.ask is not None or context.command == "cancel":
            return reply
        current = await self.flows.current(context)
        if current.state is None:
            return reply
        note = self.flows.reminder(context, current.state)
        return replace(reply, spans=(*reply.spans, Span("\n\n"), note))

    async def _guard(
        self, context: RequestContext, answering: Callable[[], Awaitable[Reply]]
    ) -> Reply:
        """Run a conversation's step like a handler (usage errors, refusals, failures)."""

        async def step(_: RequestContext) -> Reply:
            return await answering()

        return await self.run(step, context)

    async def run(self, handler: Handler, context: RequestContext) -> Reply:
        """Call a handler, turning usage errors, refusals and failures into replies."""
        try:
            return await handler(context)
        except UsageError as error:
            return self._usage(context, context.command, error.reason)
        except NotAllowed as refusal:
            return _text(
                refusal.reason
                or context.t.gettext(
                    "Only the administrators of this chat can change its settings."
                ),
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

    async def context(self, incoming: Incoming) -> RequestContext:
        """The handler context of a request: language and zone resolved once, here."""
        core = self.core
        stored = await core.chats.get_settings(incoming.platform, incoming.chat.id)
        language = core.resolve_language(
            stored.language if stored else None, incoming.user.client_language
        )
        timezone = (stored.timezone if stored else None) or core.settings.default_timezone
        username = self.username(incoming.platform)
        extras = {"bot_username": username} if username else {}
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
            attachment=incoming.attachment,
            can_post=incoming.can_post,
            flows=self.flows,
        )


def _with_args(context: RequestContext, arg_text: str, *, split: bool = False) -> RequestContext:
    args = tuple(arg_text.split()) if split else ((arg_text,) if arg_text else ())
    return replace(context, args=args, arg_text=arg_text)


def _named(context: RequestContext, command_name: str) -> RequestContext:
    return replace(context, command=command_name)


def _text(text: str, *, ephemeral: bool = False) -> Reply:
    return ReplyBuilder().text(text).build(ephemeral=ephemeral)


__all__ = ["Current", "Dispatcher", "ParsedCommand", "parse_command", "text_options"]
