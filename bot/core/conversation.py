"""Conversations: a flow is declared once as steps, and driven the same way on every platform.

A ``Flow`` is a named list of ``Step``s and a ``finish`` that does what the flow is for. A step
has a prompt, the kind of answer it expects (``AnswerKind``: free text, a choice, a date, a
time, a zone, a location, a memorial, a photo or file, a confirmation), optional choices
offered as buttons, and a ``parse`` that validates the answer (raising ``Invalid`` with a
message in the user's language, and possibly new answers to offer, such as the zones that
match a city). Every question carries a "Back" button (to the previous question) and a
"Cancel" one; ``/cancel`` ends any conversation.

``FlowEngine`` keeps one conversation per platform, chat, forum topic and user
(``ConversationKey``) in the ``ConversationRepository``: it survives a restart and expires
after ``idle`` without an answer. Nothing a flow builds is saved until its last step is
answered: ``finish`` then runs in one unit of work, together with the end of the
conversation.

Button actions are ``cv:<turn>:<verb>[:<argument>]``: the turn is the question's number, so a
button of an earlier question is refused rather than taken as an answer to the current one.
Verbs: ``c`` (the choice with that index), ``back``, ``skip``, ``cancel`` and ``open`` (a
platform opening its own form for a typed answer, a Discord modal).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.core.context import Attachment, AttachmentKind, RequestContext
from bot.core.domain import ConversationKey, ConversationState, GeoPoint
from bot.core.geo import parse_coordinates
from bot.core.i18n import Translator
from bot.core.ports import ConversationRepository, UnitOfWork
from bot.core.reply import AnswerKind, Ask, Button, Reply, ReplyBuilder, Span, Style
from bot.core.timeutil import find_zone, parse_day, parse_hhmm

log = logging.getLogger(__name__)

Answers = dict[str, Any]
ACTION_PREFIX = "cv"
MAX_TEXT_ANSWER = 2000
"""No typed answer is longer than this, whatever the step says."""
CHOICE_LABEL_CHARS = 60


class Invalid(Exception):
    """The answer does not fit the step. ``message`` (translated) says why; ``update`` holds
    answers to store before the question is asked again (new choices to offer)."""

    def __init__(
        self, message: str, update: Mapping[str, Any] | None = None, *, hint: bool = False
    ) -> None:
        super().__init__(message)
        self.message = message
        self.update = dict(update or {})
        self.hint = hint
        """A hint rather than an error (shown without the warning sign)."""


@dataclass(frozen=True, slots=True)
class Choice:
    """A choice offered as a button: the value stored, the label shown."""

    value: str
    label: str


@dataclass(frozen=True, slots=True)
class Answer:
    """What the user gave: typed text, a pressed choice's value, a location or a file."""

    text: str | None = None
    choice: str | None = None
    location: GeoPoint | None = None
    attachment: Attachment | None = None

    @property
    def given(self) -> str:
        """The choice's value, else the typed text, stripped ("" when neither)."""
        return (self.choice if self.choice is not None else self.text or "").strip()


Prompt = Callable[[RequestContext, Answers], str]
Parse = Callable[[RequestContext, Answers, Answer], Awaitable[Any]]
Choices = Callable[[RequestContext, Answers], Awaitable[Sequence[Choice]]]
Card = Callable[[RequestContext, Answers], Awaitable[Reply]]
Finish = Callable[[RequestContext, Answers], Awaitable[Reply]]


@dataclass(frozen=True, slots=True)
class Step:
    """One question of a flow.

    ``prompt`` returns the question in the context's language; ``label`` is a short msgid
    naming the answer (a Discord modal's field). ``parse`` turns an answer into the JSON
    value stored under ``name`` (default: by ``kind``). ``choices`` are offered as buttons;
    ``card`` is shown above the question (the confirmation shows what will be saved).
    ``needed`` skips the step when it returns False.
    """

    name: str
    kind: AnswerKind
    prompt: Prompt
    label: str
    parse: Parse | None = None
    choices: Choices | None = None
    optional: bool = False
    placeholder: str = ""
    max_length: int | None = None
    multiline: bool = False
    card: Card | None = None
    needed: Callable[[Answers], bool] | None = None


@dataclass(frozen=True, slots=True)
class Flow:
    """A conversation: its steps, and what to do with the answers."""

    name: str
    command: str
    """The command that starts it (named in messages: "send /timezone to start again")."""
    steps: tuple[Step, ...]
    finish: Finish

    def step(self, name: str) -> Step | None:
        """The step called ``name``."""
        return next((step for step in self.steps if step.name == name), None)

    def following(self, name: str | None, answers: Answers) -> Step | None:
        """The first needed step after ``name`` (from the start when None)."""
        names = [step.name for step in self.steps]
        start = 0 if name is None else names.index(name) + 1
        for step in self.steps[start:]:
            if step.needed is None or step.needed(answers):
                return step
        return None

    def preceding(self, name: str, answers: Answers) -> Step | None:
        """The last needed step before ``name``."""
        names = [step.name for step in self.steps]
        for step in reversed(self.steps[: names.index(name)]):
            if step.needed is None or step.needed(answers):
                return step
        return None


# -- default answer parsers ------------------------------------------------------------------

_NUMBER = re.compile(r"^\d{1,2}$")


async def parse_by_kind(ctx: RequestContext, step: Step, answers: Answers, answer: Answer) -> Any:
    """The stored value of an answer to ``step`` by its kind; raise ``Invalid``."""
    t = ctx.t
    kind = step.kind
    if kind in (AnswerKind.CHOICE, AnswerKind.CONFIRM):
        if answer.choice is not None:
            return answer.choice
        raise Invalid(t.gettext("Please choose one of the buttons."))
    if kind in (AnswerKind.PHOTO, AnswerKind.FILE):
        return parse_attachment(t, kind, answer)
    if kind is AnswerKind.LOCATION:
        if answer.location is not None:
            return [answer.location.lat, answer.location.lon]
        try:
            point = parse_coordinates(answer.given)
        except ValueError:
            raise Invalid(
                t.gettext(
                    "“{text}” is not a position. Send coordinates such as 50.63, 5.57 "
                    "or share a location.",
                    text=answer.given[:60],
                )
            ) from None
        return [point.lat, point.lon]
    text = answer.given
    if not text:
        raise Invalid(t.gettext("Please answer with text."))
    if kind is AnswerKind.DATE:
        try:
            return parse_day(text, ctx.local_now.date()).isoformat()
        except ValueError:
            raise Invalid(
                t.gettext(
                    "“{text}” is not a date. Send it as DD.MM.YYYY or YYYY-MM-DD.", text=text[:40]
                )
            ) from None
    if kind is AnswerKind.TIME:
        return time_of_day(t, text).strftime("%H:%M")
    if kind is AnswerKind.ZONE:
        name = find_zone(text)
        if name is None:
            raise Invalid(t.gettext("“{text}” is not a known time zone.", text=text[:60]))
        return name
    return within(t, text, min(step.max_length or MAX_TEXT_ANSWER, MAX_TEXT_ANSWER))


def time_of_day(t: Translator, text: str) -> dt.time:
    """``HH:MM`` as typed; raise ``Invalid`` saying how to write it."""
    try:
        return parse_hhmm(text)
    except ValueError:
        raise Invalid(
            t.gettext("“{text}” is not a time of day. Send it as HH:MM.", text=text[:20])
        ) from None


def within(t: Translator, text: str, limit: int) -> str:
    """``text`` when it is at most ``limit`` characters; raise ``Invalid`` otherwise."""
    if len(text) > limit:
        raise Invalid(
            t.ngettext(
                "Please keep it to {count} character (this is {length}).",
                "Please keep it to {count} characters (this is {length}).",
                limit,
                length=t.number(len(text)),
            )
        )
    return text


def parse_attachment(t: Translator, kind: AnswerKind, answer: Answer) -> dict[str, Any]:
    """A photo or file answer as stored (its platform reference and description)."""
    attachment = answer.attachment
    if attachment is None:
        if kind is AnswerKind.PHOTO:
            raise Invalid(t.gettext("Please send a photo."))
        raise Invalid(t.gettext("Please send a file."))
    if kind is AnswerKind.PHOTO and not (
        attachment.kind is AttachmentKind.PHOTO or attachment.mime_type.startswith("image/")
    ):
        raise Invalid(t.gettext("This is not a photo. Please send a JPEG, PNG or WebP image."))
    return {
        "kind": attachment.kind.value,
        "file_ref": attachment.file_ref,
        "mime_type": attachment.mime_type,
        "size": attachment.size,
        "file_name": attachment.file_name,
    }


def question(t: Translator, step: Step, turn: int) -> Ask:
    """How a platform asks ``step``: the kind of answer, its label, limits and hints."""
    return Ask(
        kind=step.kind,
        label=t.gettext(step.label),
        turn=turn,
        placeholder=t.gettext(step.placeholder) if step.placeholder else "",
        max_length=step.max_length,
        multiline=step.multiline,
        location=step.kind is AnswerKind.LOCATION,
    )


def match_choice(text: str, offered: Sequence[str], labels: Sequence[str]) -> str | None:
    """The offered value a typed text names: its number, its value or its label."""
    wanted = text.strip().casefold()
    if not wanted:
        return None
    if _NUMBER.match(wanted) and 1 <= int(wanted) <= len(offered):
        return offered[int(wanted) - 1]
    for value, label in zip(offered, labels, strict=False):
        if wanted in (value.casefold(), label.casefold()):
            return value
    return None


# -- the engine ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Current:
    """A key's conversation as found: in progress, or just expired (and removed)."""

    state: ConversationState | None
    expired: ConversationState | None = None


@dataclass(slots=True)
class FlowEngine:
    """Starts, advances and ends conversations, whatever the platform."""

    flows: Mapping[str, Flow]
    repository: ConversationRepository
    unit_of_work: UnitOfWork
    idle: dt.timedelta = dt.timedelta(minutes=30)
    _unknown: set[str] = field(default_factory=set)

    # -- finding -------------------------------------------------------------------------

    @staticmethod
    def key(ctx: RequestContext) -> ConversationKey:
        """The conversation key of a request: platform, chat, topic, user."""
        return ConversationKey(ctx.platform, ctx.chat.id, ctx.chat.thread_id, ctx.user.id)

    async def current(self, ctx: RequestContext) -> Current:
        """The conversation in progress for this request's user; an idle one is ended here."""
        key = self.key(ctx)
        state = await self.repository.get_conversation(key)
        if state is None:
            return Current(None)
        if state.flow not in self.flows:
            if state.flow not in self._unknown:
                self._unknown.add(state.flow)
                log.warning("dropping a conversation of an unknown flow %r", state.flow)
            await self.repository.delete_conversation(key)
            return Current(None)
        if ctx.now - state.updated_at > self.idle:
            await self.repository.delete_conversation(key)
            return Current(None, expired=state)
        return Current(state)

    def flow_of(self, state: ConversationState) -> Flow:
        """The flow a conversation follows."""
        return self.flows[state.flow]

    # -- starting and answering ----------------------------------------------------------

    async def start(self, ctx: RequestContext, name: str, answers: dict[str, Any]) -> Reply:
        """Begin flow ``name`` (replacing any conversation of this user here). Prefilled
        ``answers`` of a step are raw texts, validated step by step as if the user had typed
        them; others (not a step's name) are context the flow carries as they are."""
        flow = self.flows[name]
        key = self.key(ctx)
        previous = await self.repository.get_conversation(key)
        carried = {k: v for k, v in answers.items() if flow.step(k) is None}
        first = flow.following(None, carried)
        if first is None:
            raise ValueError(f"flow {name!r} has no step")
        state = ConversationState(
            key=key,
            flow=name,
            step=first.name,
            answers=carried,
            updated_at=ctx.now,
            turn=(previous.turn + 1) if previous is not None else 1,
            language=ctx.language,
        )
        while True:
            step = flow.step(state.step)
            assert step is not None
            if step.name not in answers:
                return await self.ask(ctx, state)
            raw = answers.pop(step.name)
            outcome = await self._apply(ctx, flow, state, Answer(text=str(raw)))
            if isinstance(outcome, Reply):
                return outcome
            state = outcome

    async def answer(self, ctx: RequestContext, state: ConversationState, answer: Answer) -> Reply:
        """Take ``answer`` for the current step: ask it again with a message when it does
        not fit, else ask the next step, or finish the flow after the last one. The label
        of a Back, Skip or Cancel button sent as text (a platform's keyboard button sends
        its label) does what the button does."""
        if answer.text is not None and answer.choice is None:
            verb = navigation_verb(ctx.t, answer.text)
            if verb is not None:
                return await self.press(ctx, Current(state), f"{state.turn}:{verb}")
        flow = self.flow_of(state)
        outcome = await self._apply(ctx, flow, state, answer)
        if isinstance(outcome, Reply):
            return outcome
        return await self.ask(ctx, outcome)

    async def _apply(
        self, ctx: RequestContext, flow: Flow, state: ConversationState, answer: Answer
    ) -> Reply | ConversationState:
        """Validate an answer: a reply (asked again, or the flow's end) or the next state."""
        step = flow.step(state.step)
        if step is None:  # the flow changed since this conversation began
            await self.repository.delete_conversation(state.key)
            return self._ended(ctx, flow)
        if answer.choice is None and answer.text is not None and state.offered:
            answer = dataclasses.replace(
                answer, choice=match_choice(answer.text, state.offered, state.labels)
            )
        try:
            if step.parse is not None:
                value = await step.parse(ctx, dict(state.answers), answer)
            else:
                value = await parse_by_kind(ctx, step, state.answers, answer)
        except Invalid as error:
            answers = {**state.answers, **error.update}
            retry = dataclasses.replace(state, answers=answers, turn=state.turn + 1)
            return await self.ask(ctx, retry, error=error.message, hint=error.hint)
        answers = {**state.answers, step.name: value}
        following = flow.following(step.name, answers)
        if following is None:
            return await self._finish(ctx, flow, state, answers)
        return dataclasses.replace(
            state, step=following.name, answers=answers, turn=state.turn + 1, updated_at=ctx.now
        )

    async def _finish(
        self, ctx: RequestContext, flow: Flow, state: ConversationState, answers: Answers
    ) -> Reply:
        """The flow's work and the end of the conversation, in one unit of work."""
        async with self.unit_of_work():
            reply = await flow.finish(ctx, answers)
            await self.repository.delete_conversation(state.key)
        return reply

    async def ask(
        self, ctx: RequestContext, state: ConversationState, *, error: str = "", hint: bool = False
    ) -> Reply:
        """Store the conversation and return its current question (after ``error``)."""
        flow = self.flow_of(state)
        step = flow.step(state.step)
        assert step is not None
        t = ctx.t
        choices = list(await step.choices(ctx, state.answers)) if step.choices else []
        state = dataclasses.replace(
            state,
            offered=tuple(choice.value for choice in choices),
            labels=tuple(choice.label for choice in choices),
            updated_at=ctx.now,
        )
        await self.repository.save_conversation(state)
        out = ReplyBuilder()
        if error:
            out.line(error if hint else "⚠️ " + error).line()
        photo = None
        if step.card is not None:
            card = await step.card(ctx, state.answers)
            out.spans.extend(card.spans)
            out.line().line()
            photo = card.photo
        out.text(step.prompt(ctx, state.answers))
        turn = state.turn
        rows: list[tuple[Button, ...]] = []
        for index, choice in enumerate(choices):
            label = choice.label
            if len(label) > CHOICE_LABEL_CHARS:
                label = label[: CHOICE_LABEL_CHARS - 1].rstrip() + "…"
            rows.append((Button(label, action=action(turn, "c", str(index))),))
        navigation = []
        if flow.preceding(step.name, state.answers) is not None:
            navigation.append(Button(navigation_label(t, "back"), action=action(turn, "back")))
        if step.optional:
            navigation.append(Button(navigation_label(t, "skip"), action=action(turn, "skip")))
        navigation.append(Button(navigation_label(t, "cancel"), action=action(turn, "cancel")))
        rows.append(tuple(navigation))
        out.buttons.extend(rows)
        return out.build(ask=question(t, step, turn), ephemeral=True, photo=photo)

    # -- buttons -------------------------------------------------------------------------

    async def press(self, ctx: RequestContext, current: Current, argument: str) -> Reply:
        """A conversation button (``cv:<turn>:<verb>[:<argument>]``). What a button of the
        current question leads to takes that question's place; a stale or foreign button
        gets a notice of its own."""
        reply, valid = await self._press(ctx, current, argument)
        return dataclasses.replace(reply, replaces=True) if valid else reply

    async def _press(
        self, ctx: RequestContext, current: Current, argument: str
    ) -> tuple[Reply, bool]:
        t = ctx.t
        turn_text, _, rest = argument.partition(":")
        verb, _, value = rest.partition(":")
        state = current.state
        if state is None:
            if current.expired is not None:
                return self.expired_reply(ctx, current.expired), False
            return _notice(t.gettext("This question is closed; there is nothing to answer.")), False
        stale = _notice(
            t.gettext("That button belongs to an earlier question: please answer the last one.")
        )
        if not turn_text.isdigit() or int(turn_text) != state.turn:
            return stale, False
        flow = self.flow_of(state)
        step = flow.step(state.step)
        if step is None:
            await self.repository.delete_conversation(state.key)
            return self._ended(ctx, flow), False
        if verb == "cancel":
            return await self.cancel(ctx, current), True
        if verb == "back":
            previous = flow.preceding(step.name, state.answers)
            if previous is None:
                return await self.ask(ctx, dataclasses.replace(state, turn=state.turn + 1)), True
            moved = dataclasses.replace(state, step=previous.name, turn=state.turn + 1)
            return await self.ask(ctx, moved), True
        if verb == "skip" and step.optional:
            answers = {**state.answers, step.name: None}
            following = flow.following(step.name, answers)
            if following is None:
                return await self._finish(ctx, flow, state, answers), True
            moved = dataclasses.replace(
                state, step=following.name, answers=answers, turn=state.turn + 1
            )
            return await self.ask(ctx, moved), True
        if verb == "c" and value.isdigit() and int(value) < len(state.offered):
            return await self.answer(ctx, state, Answer(choice=state.offered[int(value)])), True
        if verb == "open":
            return await self.ask(ctx, dataclasses.replace(state, turn=state.turn + 1)), True
        return stale, False

    async def cancel(self, ctx: RequestContext, current: Current) -> Reply:
        """``/cancel`` or the Cancel button: end the conversation, saving nothing."""
        t = ctx.t
        state = current.state
        if state is None:
            return _notice(t.gettext("There is nothing to cancel."))
        await self.repository.delete_conversation(state.key)
        flow = self.flow_of(state)
        return _notice(
            t.gettext(
                "Cancelled: nothing was saved. Send /{command} to start again.",
                command=flow.command,
            )
        )

    async def cancel_current(self, ctx: RequestContext) -> Reply:
        """``/cancel``: end this user's conversation here, if there is one."""
        return await self.cancel(ctx, await self.current(ctx))

    async def pending_ask(self, ctx: RequestContext) -> Ask | None:
        """The question awaiting this user's answer, if any (for a platform's form)."""
        state = (await self.current(ctx)).state
        if state is None:
            return None
        step = self.flow_of(state).step(state.step)
        return question(ctx.t, step, state.turn) if step is not None else None

    # -- messages ------------------------------------------------------------------------

    def expired_reply(self, ctx: RequestContext, state: ConversationState) -> Reply:
        """The message for a user who comes back to a conversation that expired."""
        t = ctx.t
        flow = self.flows.get(state.flow)
        command = flow.command if flow is not None else state.flow
        minutes = max(1, int(self.idle.total_seconds() // 60))
        return _notice(
            t.ngettext(
                "Your /{command} form expired after {count} minute without an answer, and "
                "nothing was saved. Send /{command} to start again.",
                "Your /{command} form expired after {count} minutes without an answer, and "
                "nothing was saved. Send /{command} to start again.",
                minutes,
                command=command,
            )
        )

    def reminder(self, ctx: RequestContext, state: ConversationState) -> Span:
        """The note added to a command answered during a conversation."""
        flow = self.flow_of(state)
        return Span(
            ctx.t.gettext(
                "Your /{command} form is still open: answer its last question, or send /cancel.",
                command=flow.command,
            ),
            Style.ITALIC,
        )

    def _ended(self, ctx: RequestContext, flow: Flow) -> Reply:
        return _notice(
            ctx.t.gettext(
                "This form changed since you began it. Send /{command} to start again.",
                command=flow.command,
            )
        )


NAVIGATION = frozenset({"back", "skip", "cancel"})


def navigation_label(t: Translator, verb: str) -> str:
    """The label of a question's Back, Skip or Cancel button."""
    if verb == "back":
        return "◀ " + t.gettext("Back")
    if verb == "skip":
        return t.gettext("Skip") + " ▶"
    return "✖ " + t.gettext("Cancel")


def navigation_verb(t: Translator, text: str) -> str | None:
    """The verb whose button label is ``text`` (a keyboard button sends its label)."""
    wanted = text.strip()
    return next((verb for verb in NAVIGATION if navigation_label(t, verb) == wanted), None)


def navigation_of(action_id: str | None) -> str | None:
    """``back``, ``skip`` or ``cancel`` for a conversation's navigation button; else None."""
    parts = (action_id or "").split(":")
    if len(parts) >= 3 and parts[0] == ACTION_PREFIX and parts[2] in NAVIGATION:
        return parts[2]
    return None


def is_navigation(action_id: str | None) -> bool:
    """Whether an action id is a conversation's Back, Skip or Cancel button."""
    return navigation_of(action_id) is not None


def action(turn: int, verb: str, argument: str = "") -> str:
    """The action id of a conversation button."""
    return f"{ACTION_PREFIX}:{turn}:{verb}" + (f":{argument}" if argument else "")


def _notice(text: str) -> Reply:
    return ReplyBuilder().text(text).build(ephemeral=True)
