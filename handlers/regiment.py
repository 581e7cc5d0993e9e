"""``/regiment``: families bring a relative to the Immortal Regiment; organizers moderate and
march the portraits; anyone searches the people's chronicle.

In a private chat with the bot: ``/regiment new`` (a guided form: names, years, rank and unit,
relation, story, portrait, signature), ``/regiment mine`` (the status of one's entries, with
edit and withdraw), ``/regiment edit ID``, ``/regiment withdraw ID``, ``/regiment delete``
(everything one submitted). In a group it points to the private chat.

Organizers (the bot's organizers: the console's operator, ``ORGANIZER_IDS`` and ``/organizer
add``): ``/regiment queue`` (each entry as it would be published, with approve, reject with a
reason, ask for changes), ``/regiment takedown ID [reason]``; ``/regiment march`` (a form:
date, start time, spacing, caption languages, where, fixed or rolling) also for a group's
administrators, into their own chat. Permission is checked when the command starts and again
when the decision is saved.

Anyone: ``/regiment search NAME`` and ``/regiment ID`` (approved entries; a deep link
``/start rg_<ID>`` opens one).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Any

from bot.core.context import RequestContext
from bot.core.conversation import Answer, Answers, Choice, Flow, Invalid, Step, within
from bot.core.domain import LANGUAGES, ChatKind, parse_number
from bot.core.i18n import Translator, translator
from bot.core.regiment import (
    MARCH_PREFIX,
    Action,
    Entry,
    EntryStatus,
    LimitReached,
    March,
    MarchChat,
    Regiment,
    Submitter,
    parse_item,
)
from bot.core.reply import AnswerKind, Button, Photo, Reply, ReplyBuilder
from bot.core.timeutil import zone
from bot.media import PortraitRefused
from bot.scheduling.render import ItemRenderer, Rendered
from handlers.base import N_, NotAllowed, UsageError
from handlers.event_forms import future_day, language_choices, local_start, parse_languages

NEW, EDIT, WITHDRAW, DELETE = (
    "regiment-new",
    "regiment-edit",
    "regiment-withdraw",
    "regiment-delete",
)
REJECT, CHANGES, MARCH = "regiment-reject", "regiment-changes", "regiment-march"
MAX_NAME = 120
MAX_UNIT = 200
MAX_RELATION = 100
EARLIEST_YEAR = 1850
ACTION = "rg"

REASONS: dict[str, str] = {
    "photo": N_("The photo is unclear, or it does not show the person."),
    "war": N_("The story is not about a person who fought in the war or lived through it."),
    "duplicate": N_("This person is already in the chronicle."),
    "content": N_("The text breaks the rules of the chronicle (insults, advertising, politics)."),
    "details": N_("The name or the years could not be checked; please add details."),
}
"""Common reasons to refuse or send back an entry; stored by key and shown to the submitter in
their own language."""

REFUSALS: dict[str, str] = {
    "not_image": N_("This file is not an image. Please send a JPEG, PNG or WebP photo."),
    "unsupported_type": N_("This image format is not accepted. Please send a JPEG, PNG or WebP."),
    "too_large": N_("This photo is too large. Please send one under {size} MB."),
    "too_small": N_("This photo is too small to be shown. Please send a larger one."),
    "damaged": N_("This photo could not be read; it may be damaged. Please send it again."),
}


def regiment_of(ctx: RequestContext) -> Regiment:
    """The Immortal Regiment's service, or a clear refusal where it is not set up."""
    regiment = ctx.core.regiment
    if regiment is None:
        raise UsageError(ctx.t.gettext("The Immortal Regiment is not available on this bot."))
    return regiment


async def require_moderator(ctx: RequestContext) -> None:
    """Only the bot's organizers moderate the chronicle (it is shared by every community)."""
    if not await ctx.is_bot_organizer():
        raise NotAllowed(
            ctx.t.gettext("Only the bot's organizers moderate the Immortal Regiment's chronicle.")
        )


def _submitter(ctx: RequestContext) -> Submitter:
    return Submitter(
        platform=ctx.platform,
        user_id=ctx.user.id,
        chat_id=ctx.chat.id,
        name=ctx.user.name,
        language=ctx.language,
        timezone=ctx.timezone,
    )


# -- what an entry looks like ----------------------------------------------------------------


def entry_card(out: ReplyBuilder, t: Translator, entry: Entry, *, private: bool = False) -> None:
    """An entry as it is published (``private``: with what only its submitter and the
    moderators see: the relation and the submitter when not signed)."""
    out.bold(entry.full_name)
    if entry.other_spelling:
        out.text(f" ({entry.other_spelling})")
    out.line()
    if entry.years:
        out.line(entry.years)
    if entry.rank_unit:
        out.italic(entry.rank_unit).line()
    if entry.story:
        out.line().line(entry.story)
    if entry.signed and entry.submitter.name:
        out.line()
        if entry.relation:
            out.line(
                t.gettext(
                    "Remembered by {name} ({relation})",
                    name=entry.submitter.name,
                    relation=entry.relation,
                )
            )
        else:
            out.line(t.gettext("Remembered by {name}", name=entry.submitter.name))
    elif private:
        out.line()
        if entry.relation:
            out.line(t.gettext("Relation: {relation}", relation=entry.relation))
        out.italic(t.gettext("Not signed: the submitter's name is not published.")).line()


def entry_photo(regiment: Regiment, entry: Entry) -> Photo | None:
    """The portrait to send with an entry, if its file is there."""
    path = regiment.photo_path(entry)
    if path is None:
        return None
    name = "portrait" + path.suffix
    return Photo(key=entry.photo_key, path=path, name=name, refs=dict(entry.photo_refs))


STATUS_LABELS: dict[EntryStatus, str] = {
    EntryStatus.PENDING: N_("waiting for moderation"),
    EntryStatus.APPROVED: N_("published in the chronicle"),
    EntryStatus.REJECTED: N_("not published"),
    EntryStatus.CHANGES: N_("changes asked"),
    EntryStatus.WITHDRAWN: N_("withdrawn"),
    EntryStatus.TAKEN_DOWN: N_("taken down"),
}


def reason_text(t: Translator, reason: str) -> str:
    """A stored reason in ``t``'s language: a common one by its key, else as typed."""
    if reason.startswith("reason:") and reason[7:] in REASONS:
        return t.gettext(REASONS[reason[7:]])
    return reason


# -- the submission form ---------------------------------------------------------------------


def _current(answers: Answers, name: str) -> Any:
    return (answers.get("current") or {}).get(name)


def _ask(name: str, question: str) -> Any:
    def prompt(ctx: RequestContext, answers: Answers) -> str:
        text = ctx.t.gettext(question)
        now = _current(answers, name)
        if now not in (None, ""):
            text += "\n" + ctx.t.gettext("Skip keeps what is there now: {current}", current=now)
        return text

    return prompt


def _editing(answers: Answers) -> bool:
    return "entry_id" in answers


async def _parse_name(ctx: RequestContext, answers: Answers, answer: Answer) -> str:
    text = " ".join(answer.given.split())
    if not any(character.isalpha() for character in text):
        raise Invalid(ctx.t.gettext("Please send your relative's full name."))
    return within(ctx.t, text, MAX_NAME)


async def _parse_other(ctx: RequestContext, answers: Answers, answer: Answer) -> str:
    return within(ctx.t, " ".join(answer.given.split()), MAX_NAME)


_YEARS = re.compile(r"^\s*(\d{4}|\?)\s*(?:[-–—/]|\.\.)?\s*(\d{4}|\?)?\s*$")


async def _parse_years(ctx: RequestContext, answers: Answers, answer: Answer) -> dict[str, Any]:
    t = ctx.t
    found = _YEARS.match(answer.given.replace("г.", "").replace("гг.", ""))
    if found is None:
        raise Invalid(
            t.gettext("Send the years of life as 1915–1943; write ? for a year you do not know.")
        )
    born = int(found.group(1)) if found.group(1).isdigit() else None
    second = found.group(2) or ""
    died = int(second) if second.isdigit() else None
    this_year = ctx.local_now.year
    for year in (born, died):
        if year is not None and not EARLIEST_YEAR <= year <= this_year:
            raise Invalid(
                t.gettext(
                    "{year} is not a possible year here: give a year from {first} to {last}.",
                    year=str(year),
                    first=str(EARLIEST_YEAR),
                    last=str(this_year),
                )
            )
    if born is not None and died is not None and died < born:
        raise Invalid(t.gettext("The year of death comes before the year of birth."))
    return {"born": born, "died": died}


async def _parse_unit(ctx: RequestContext, answers: Answers, answer: Answer) -> str:
    return within(ctx.t, " ".join(answer.given.split()), MAX_UNIT)


async def _parse_relation(ctx: RequestContext, answers: Answers, answer: Answer) -> str:
    return within(ctx.t, " ".join(answer.given.split()), MAX_RELATION)


async def _parse_story(ctx: RequestContext, answers: Answers, answer: Answer) -> str:
    text = answer.given.strip()
    if not text:
        raise Invalid(ctx.t.gettext("Please write a few words about your relative."))
    return within(ctx.t, text, regiment_of(ctx).settings.max_story)


async def _parse_photo(ctx: RequestContext, answers: Answers, answer: Answer) -> dict[str, Any]:
    t = ctx.t
    regiment = regiment_of(ctx)
    attachment = answer.attachment
    if attachment is None or attachment.fetch is None:
        raise Invalid(t.gettext("Please send a photo."))
    limit = regiment.settings.max_photo_bytes
    if attachment.size is not None and attachment.size > limit:
        too_large = REFUSALS["too_large"]
        raise Invalid(t.gettext(too_large, size=t.number(limit / 1_048_576)))
    data = await attachment.fetch()
    try:
        portrait = await regiment.keep_portrait(data)
    except PortraitRefused as refused:
        message = REFUSALS.get(refused.reason, REFUSALS["damaged"])
        raise Invalid(t.gettext(message, size=t.number(limit / 1_048_576))) from None
    key = await regiment.store(portrait)
    return {"key": key, "mime": portrait.mime_type}


SIGN, ANONYMOUS = "sign", "anonymous"


async def _sign_choices(ctx: RequestContext, answers: Answers) -> list[Choice]:
    t = ctx.t
    return [
        Choice(ANONYMOUS, t.gettext("Publish without my name")),
        Choice(SIGN, t.gettext("Sign with my name: {name}", name=ctx.user.name or "?")),
    ]


async def _parse_sign(ctx: RequestContext, answers: Answers, answer: Answer) -> bool:
    if answer.given not in (SIGN, ANONYMOUS):
        raise Invalid(ctx.t.gettext("Please choose one of the buttons."))
    return answer.given == SIGN


async def _confirm_choices(ctx: RequestContext, answers: Answers) -> list[Choice]:
    return [Choice("yes", "✔ " + ctx.t.gettext("Send to the moderators"))]


async def _existing(ctx: RequestContext, answers: Answers) -> Entry | None:
    if not _editing(answers):
        return None
    return await regiment_of(ctx).repository.get_entry(int(answers["entry_id"]))


def _build(ctx: RequestContext, answers: Answers, existing: Entry | None) -> Entry:
    def value(name: str) -> Any:
        given = answers.get(name)
        return given if given is not None else _current(answers, name)

    years = answers.get("years") or {}
    photo = answers.get("photo") or {}
    base = existing or Entry(full_name="", submitter=_submitter(ctx))
    return dataclasses.replace(
        base,
        full_name=str(value("name") or base.full_name),
        other_spelling=value("other") or None,
        born=years.get("born", base.born) if years else base.born,
        died=years.get("died", base.died) if years else base.died,
        rank_unit=value("unit") or None,
        relation=value("relation") or None,
        story=str(value("story") or ""),
        photo_key=str(photo.get("key") or base.photo_key),
        photo_mime=str(photo.get("mime") or base.photo_mime),
        photo_refs=base.photo_refs if not photo else {},
        signed=bool(answers["signed"]) if answers.get("signed") is not None else base.signed,
        submitter=dataclasses.replace(
            base.submitter, name=ctx.user.name, language=ctx.language, timezone=ctx.timezone
        ),
    )


async def _preview(ctx: RequestContext, answers: Answers) -> Reply:
    entry = _build(ctx, answers, await _existing(ctx, answers))
    out = ReplyBuilder().italic(ctx.t.gettext("After moderation, it will read:")).line().line()
    entry_card(out, ctx.t, entry)
    return out.build(photo=entry_photo(regiment_of(ctx), entry))


def _form_steps(*, editing: bool) -> tuple[Step, ...]:
    return (
        Step(
            "name",
            AnswerKind.TEXT,
            _ask(
                "name",
                N_("Your relative's full name, in any script (such as Иван Петрович Гвоздарев)."),
            ),
            N_("Full name"),
            parse=_parse_name,
            max_length=MAX_NAME,
            optional=editing,
        ),
        Step(
            "other",
            AnswerKind.TEXT,
            _ask(
                "other",
                N_("The name in another spelling or script, if you like (such as Ivan Gvozdarev)."),
            ),
            N_("Other spelling"),
            parse=_parse_other,
            max_length=MAX_NAME,
            optional=True,
        ),
        Step(
            "years",
            AnswerKind.TEXT,
            _ask("years", N_("Years of life, such as 1915–1943 (? for a year you do not know).")),
            N_("Years of life"),
            parse=_parse_years,
            placeholder="1915–1943",
            max_length=20,
            optional=editing,
        ),
        Step(
            "unit",
            AnswerKind.TEXT,
            _ask(
                "unit",
                N_("Rank and unit, if you know them (such as Sergeant, 3rd Guards Cavalry Corps)."),
            ),
            N_("Rank and unit"),
            parse=_parse_unit,
            max_length=MAX_UNIT,
            optional=True,
        ),
        Step(
            "relation",
            AnswerKind.TEXT,
            _ask(
                "relation", N_("Who was this person to you (such as great-grandfather)? Optional.")
            ),
            N_("Relation"),
            parse=_parse_relation,
            max_length=MAX_RELATION,
            optional=True,
        ),
        Step(
            "story",
            AnswerKind.TEXT,
            _ask(
                "story",
                N_("A short story: where they fought or worked, what the family remembers."),
            ),
            N_("Story"),
            parse=_parse_story,
            max_length=1500,
            multiline=True,
            optional=editing,
        ),
        Step(
            "photo",
            AnswerKind.PHOTO,
            _ask(
                "photo",
                N_(
                    "A portrait photo (JPEG, PNG or WebP). Location and camera details are removed."
                ),
            ),
            N_("Portrait"),
            parse=_parse_photo,
            optional=editing,
        ),
        Step(
            "signed",
            AnswerKind.CHOICE,
            lambda ctx, answers: ctx.t.gettext(
                "Should your name appear with the entry? Without it, nobody sees who sent it."
            ),
            N_("Signature"),
            parse=_parse_sign,
            choices=_sign_choices,
        ),
        Step(
            "confirm",
            AnswerKind.CONFIRM,
            lambda ctx, answers: ctx.t.gettext(
                "Send it to the moderators? You will be told here when it is published."
            ),
            N_("Confirm"),
            choices=_confirm_choices,
            card=_preview,
        ),
    )


async def _finish_new(ctx: RequestContext, answers: Answers) -> Reply:
    regiment = regiment_of(ctx)
    entry = _build(ctx, answers, None)
    try:
        saved = await regiment.submit(entry)
    except LimitReached:
        return _limit_reply(ctx, regiment)
    return _saved_reply(ctx, saved)


async def _finish_edit(ctx: RequestContext, answers: Answers) -> Reply:
    regiment = regiment_of(ctx)
    existing = await _existing(ctx, answers)
    if existing is None or existing.submitter.key != f"{ctx.platform}:{ctx.user.id}":
        return ReplyBuilder().text(ctx.t.gettext("There is no such entry of yours.")).build()
    try:
        saved = await regiment.edit(_build(ctx, answers, existing))
    except LimitReached:
        return _limit_reply(ctx, regiment)
    return _saved_reply(ctx, saved)


def _limit_reply(ctx: RequestContext, regiment: Regiment) -> Reply:
    return (
        ReplyBuilder()
        .text(
            ctx.t.ngettext(
                "You can send {count} entry a day; please come back tomorrow.",
                "You can send {count} entries a day; please come back tomorrow.",
                regiment.settings.daily_limit,
            )
        )
        .build()
    )


def _saved_reply(ctx: RequestContext, entry: Entry) -> Reply:
    t = ctx.t
    out = ReplyBuilder()
    out.line(
        t.gettext(
            "Thank you. {name} is waiting for moderation (entry {id}). You will be told here "
            "when it is published, and when its portrait marches.",
            name=entry.full_name,
            id=entry.public_id,
        )
    )
    out.text(t.gettext("Send /regiment mine to see your entries."))
    return out.build()


# -- withdrawing and deleting ----------------------------------------------------------------


async def _own_entry(ctx: RequestContext, public_id: str) -> Entry:
    regiment = regiment_of(ctx)
    entry = await regiment.repository.entry_by_public_id(public_id.strip())
    if entry is None or entry.submitter.key != f"{ctx.platform}:{ctx.user.id}":
        raise UsageError(ctx.t.gettext("There is no entry {id} of yours.", id=public_id[:24]))
    return entry


async def _withdraw_card(ctx: RequestContext, answers: Answers) -> Reply:
    entry = await regiment_of(ctx).repository.get_entry(int(answers["entry_id"]))
    out = ReplyBuilder()
    if entry is not None:
        entry_card(out, ctx.t, entry, private=True)
    return out.build()


async def _confirm_withdraw(ctx: RequestContext, answers: Answers) -> list[Choice]:
    return [Choice("yes", "✔ " + ctx.t.gettext("Withdraw it"))]


async def _finish_withdraw(ctx: RequestContext, answers: Answers) -> Reply:
    regiment = regiment_of(ctx)
    entry = await regiment.repository.get_entry(int(answers["entry_id"]))
    if entry is None or entry.submitter.key != f"{ctx.platform}:{ctx.user.id}":
        return ReplyBuilder().text(ctx.t.gettext("There is no such entry of yours.")).build()
    await regiment.decide(entry, Action.WITHDRAWN, f"{ctx.platform}:{ctx.user.id}", ctx.user.name)
    return (
        ReplyBuilder()
        .text(
            ctx.t.gettext(
                "{name} is withdrawn: it is out of the chronicle and of every march to come.",
                name=entry.full_name,
            )
        )
        .build()
    )


async def _confirm_delete(ctx: RequestContext, answers: Answers) -> list[Choice]:
    return [Choice("yes", "✔ " + ctx.t.gettext("Delete everything"))]


async def _finish_delete(ctx: RequestContext, answers: Answers) -> Reply:
    count = await regiment_of(ctx).delete_all(ctx.platform, ctx.user.id)
    return (
        ReplyBuilder()
        .text(
            ctx.t.ngettext(
                "Deleted: {count} entry, its portrait and its history.",
                "Deleted: {count} entries, their portraits and their history.",
                count,
            )
        )
        .build()
    )


# -- moderation ------------------------------------------------------------------------------


MAX_QUEUE_OFFSET = 100_000
"""The farthest page of the moderation queue a button may ask for."""


async def _queue(ctx: RequestContext, offset: int = 0) -> Reply:
    await require_moderator(ctx)
    regiment = regiment_of(ctx)
    t = ctx.t
    waiting = await regiment.repository.count_with_status(EntryStatus.PENDING)
    found = await regiment.repository.with_status(EntryStatus.PENDING, 1, offset)
    if not found:
        if offset and waiting:
            return await _queue(ctx, 0)
        return ReplyBuilder().text(t.gettext("Nothing is waiting for moderation.")).build()
    entry = found[0]
    out = ReplyBuilder()
    out.italic(
        t.ngettext(
            "{count} entry is waiting for moderation. As it would be published:",
            "{count} entries are waiting for moderation. The first, as it would be published:",
            waiting,
        )
    )
    out.line().line()
    entry_card(out, t, entry)
    out.line()
    out.italic(
        t.gettext(
            "Sent by {who} on {date}; entry {id}.",
            who=entry.submitter.name or entry.submitter.key,
            date=t.full_date((entry.created_at or ctx.now).date()),
            id=entry.public_id,
        )
    )
    number = str(entry.id)
    out.row(
        Button("✅ " + t.gettext("Approve"), action=f"{ACTION}:ok:{number}"),
        Button("❌ " + t.gettext("Reject"), action=f"{ACTION}:no:{number}"),
    )
    out.row(
        Button("✏️ " + t.gettext("Ask for changes"), action=f"{ACTION}:ch:{number}"),
        Button("⏭ " + t.gettext("Next"), action=f"{ACTION}:q:{offset + 1}"),
    )
    return out.build(photo=entry_photo(regiment, entry))


async def _pending_entry(ctx: RequestContext, number: str) -> Entry:
    entry_id = parse_number(number)
    entry = await regiment_of(ctx).repository.get_entry(entry_id) if entry_id is not None else None
    if entry is None or entry.status is not EntryStatus.PENDING:
        raise UsageError(ctx.t.gettext("This entry is no longer waiting for moderation."))
    return entry


async def _reason_choices(ctx: RequestContext, answers: Answers) -> list[Choice]:
    return [Choice(f"reason:{key}", ctx.t.gettext(text)) for key, text in REASONS.items()]


async def _parse_reason(ctx: RequestContext, answers: Answers, answer: Answer) -> str:
    if answer.choice is not None and answer.choice.startswith("reason:"):
        return answer.choice
    text = " ".join(answer.given.split())
    if not text:
        raise Invalid(ctx.t.gettext("Choose a reason, or write one."))
    return within(ctx.t, text, 500)


async def _entry_card(ctx: RequestContext, answers: Answers) -> Reply:
    entry = await regiment_of(ctx).repository.get_entry(int(answers["entry_id"]))
    out = ReplyBuilder()
    if entry is not None:
        entry_card(out, ctx.t, entry)
    return out.build()


async def _finish_decision(ctx: RequestContext, answers: Answers) -> Reply:
    await require_moderator(ctx)
    action = Action(answers["action"])
    entry = await _pending_entry(ctx, str(answers["entry_id"]))
    await regiment_of(ctx).decide(
        entry,
        action,
        f"{ctx.platform}:{ctx.user.id}",
        ctx.user.name,
        str(answers.get("reason") or ""),
    )
    t = ctx.t
    done = (
        t.gettext("Rejected: {name}. The submitter will be told why.", name=entry.full_name)
        if action is Action.REJECTED
        else t.gettext(
            "Sent back: {name}. The submitter will be asked for the changes.",
            name=entry.full_name,
        )
    )
    following = await _queue(ctx)
    return dataclasses.replace(
        following, spans=(*ReplyBuilder().line(done).line().spans, *following.spans)
    )


async def answer_button(ctx: RequestContext) -> Reply:
    """The buttons ``rg:<verb>:<argument>``: moderation (``ok``, ``no``, ``ch``, ``q``),
    and opening an entry (``v``)."""
    verb, _, argument = ctx.arg_text.partition(":")
    if verb == "v":
        return await _show(ctx, argument)
    if verb == "w":
        entry = await _own_entry(ctx, argument)
        return await ctx.start_flow(WITHDRAW, {"entry_id": entry.id})
    if verb == "e":
        return await _start_edit(ctx, argument)
    await require_moderator(ctx)
    if verb == "q":
        return dataclasses.replace(
            await _queue(ctx, parse_number(argument, MAX_QUEUE_OFFSET) or 0), replaces=True
        )
    entry = await _pending_entry(ctx, argument)
    if verb == "ok":
        await regiment_of(ctx).decide(
            entry, Action.APPROVED, f"{ctx.platform}:{ctx.user.id}", ctx.user.name
        )
        following = await _queue(ctx)
        note = ReplyBuilder().line(
            ctx.t.gettext("Approved: {name}. It is in the chronicle.", name=entry.full_name)
        )
        note.line()
        return dataclasses.replace(following, spans=(*note.spans, *following.spans))
    if verb in ("no", "ch"):
        action = Action.REJECTED if verb == "no" else Action.CHANGES
        return await ctx.start_flow(
            REJECT if verb == "no" else CHANGES, {"entry_id": entry.id, "action": action.value}
        )
    raise UsageError()


# -- marches ---------------------------------------------------------------------------------


async def _parse_day(ctx: RequestContext, answers: Answers, answer: Answer) -> str:
    return future_day(ctx, answer.given, ctx.timezone).isoformat()


async def _parse_start(ctx: RequestContext, answers: Answers, answer: Answer) -> str:
    from bot.core.conversation import time_of_day

    t = ctx.t
    at = time_of_day(t, answer.given)
    day = dt.date.fromisoformat(str(answers["day"]))
    try:
        start = local_start(day, at, ctx.timezone)
    except ValueError:
        raise Invalid(
            t.gettext(
                "{time} does not exist once on that day here. Choose another time.", time=t.time(at)
            )
        ) from None
    if start <= ctx.now:
        raise Invalid(t.gettext("That moment has already passed."))
    return at.strftime("%H:%M")


_SPACING = re.compile(r"^(\d{1,4})\s*(s|sec|с|m|min|мин|м)?\w*$", re.IGNORECASE)


async def _spacing_choices(ctx: RequestContext, answers: Answers) -> list[Choice]:
    t = ctx.t
    return [
        Choice(str(seconds), t.ngettext("{count} minute", "{count} minutes", seconds // 60))
        for seconds in (60, 120, 300)
    ]


async def _parse_spacing(ctx: RequestContext, answers: Answers, answer: Answer) -> int:
    given = answer.given.strip().lower()
    if answer.choice is not None and given.isdigit():
        return int(given)
    found = _SPACING.match(given)
    if found is None:
        raise Invalid(
            ctx.t.gettext("Send the spacing as minutes (such as 2 min) or seconds (90 s).")
        )
    number = int(found.group(1))
    unit = (found.group(2) or "m").lower()
    seconds = number if unit in ("s", "sec", "с") else number * 60
    if not 10 <= seconds <= 3600:
        raise Invalid(ctx.t.gettext("The spacing must be between 10 seconds and one hour."))
    return seconds


HERE, EVERYWHERE = "here", "everywhere"
FIXED, ROLLING = "fixed", "rolling"


async def _where_choices(ctx: RequestContext, answers: Answers) -> list[Choice]:
    t = ctx.t
    choices = [Choice(HERE, t.gettext("In this chat"))]
    if await ctx.is_bot_organizer():
        choices.append(Choice(EVERYWHERE, t.gettext("In every chat that hears of announcements")))
    return choices


async def _parse_where(ctx: RequestContext, answers: Answers, answer: Answer) -> str:
    if answer.given == EVERYWHERE and await ctx.is_bot_organizer():
        return EVERYWHERE
    if answer.given == HERE:
        return HERE
    raise Invalid(ctx.t.gettext("Please choose one of the buttons."))


async def _mode_choices(ctx: RequestContext, answers: Answers) -> list[Choice]:
    t = ctx.t
    return [
        Choice(FIXED, t.gettext("At the same moment everywhere ({zone})", zone=ctx.timezone)),
        Choice(ROLLING, t.gettext("Rolling: at that local time in each chat's own zone")),
    ]


async def _parse_mode(ctx: RequestContext, answers: Answers, answer: Answer) -> str:
    if answer.given not in (FIXED, ROLLING):
        raise Invalid(ctx.t.gettext("Please choose one of the buttons."))
    return answer.given


def _march_of(ctx: RequestContext, answers: Answers) -> March:
    return March(
        day=dt.date.fromisoformat(str(answers["day"])),
        start_time=dt.time.fromisoformat(str(answers["start"])),
        timezone=ctx.timezone,
        spacing=dt.timedelta(seconds=int(answers["spacing"])),
        languages=tuple(answers.get("languages") or ()),
        created_by=f"{ctx.platform}:{ctx.user.id}",
        rolling=answers.get("mode") == ROLLING,
    )


async def _march_card(ctx: RequestContext, answers: Answers) -> Reply:
    t = ctx.t
    march = _march_of(ctx, answers)
    count = await regiment_of(ctx).repository.count_with_status(EntryStatus.APPROVED)
    start = march.slot_at(0, ctx.timezone)
    out = ReplyBuilder()
    out.bold(t.gettext("Immortal Regiment march")).line()
    out.line(t.date_time(start, zone(ctx.timezone)))
    out.line(
        t.ngettext(
            "{count} approved portrait so far, one every {seconds} s.",
            "{count} approved portraits so far, one every {seconds} s.",
            count,
            seconds=str(int(march.spacing.total_seconds())),
        )
    )
    languages = march.languages or LANGUAGES
    out.line(t.join([t.language_name(code) for code in languages]))
    return out.build()


async def _confirm_march(ctx: RequestContext, answers: Answers) -> list[Choice]:
    return [Choice("yes", "✔ " + ctx.t.gettext("Schedule the march"))]


async def _chat_address(ctx: RequestContext) -> MarchChat:
    regiment = regiment_of(ctx)
    subscription = await regiment.repository.personal_subscription(
        ctx.platform, ctx.chat.id, ctx.language, ctx.timezone
    )
    return MarchChat(subscription, ctx.platform, ctx.chat.id, ctx.timezone, ctx.chat.title)


async def _finish_march(ctx: RequestContext, answers: Answers) -> Reply:
    t = ctx.t
    if not await ctx.may_organize():
        raise NotAllowed(t.gettext("Only organizers can schedule a march."))
    regiment = regiment_of(ctx)
    chats: list[MarchChat]
    if answers.get("where") == EVERYWHERE:
        if not await ctx.is_bot_organizer():
            raise NotAllowed(t.gettext("Only the bot's organizers can march in every chat."))
        chats = await regiment.repository.event_chats()
    else:
        chats = [await _chat_address(ctx)]
    if not chats:
        return ReplyBuilder().text(t.gettext("No chat hears of announcements yet.")).build()
    march, count = await regiment.schedule_march(_march_of(ctx, answers), chats)
    out = ReplyBuilder()
    out.line(
        t.ngettext(
            "March #{id} is scheduled: {count} portrait from {start}; chats taking part: {chats}.",
            "March #{id} is scheduled: {count} portraits from {start}; chats taking part: {chats}.",
            count,
            id=str(march.id),
            chats=str(len(chats)),
            start=t.date_time(march.slot_at(0, ctx.timezone), zone(ctx.timezone)),
        )
    )
    out.text(
        t.gettext(
            "Each family is told when its portrait appears. Entries approved before the march "
            "ends join it at the end."
        )
    )
    return out.build()


# -- showing and searching -------------------------------------------------------------------


async def _show(ctx: RequestContext, public_id: str) -> Reply:
    regiment = regiment_of(ctx)
    t = ctx.t
    entry = await regiment.repository.entry_by_public_id(public_id.strip())
    own = entry is not None and entry.submitter.key == f"{ctx.platform}:{ctx.user.id}"
    if entry is None or not (entry.published or own or await ctx.is_bot_organizer()):
        raise UsageError(t.gettext("There is no entry {id} in the chronicle.", id=public_id[:24]))
    out = ReplyBuilder()
    entry_card(out, t, entry, private=own)
    if not entry.published:
        out.line().italic(t.gettext(STATUS_LABELS[entry.status]))
    link = _deep_link(ctx, entry)
    if link:
        out.row(Button(t.gettext("Link to this entry"), url=link))
    return out.build(photo=entry_photo(regiment, entry))


def _deep_link(ctx: RequestContext, entry: Entry) -> str:
    username = ctx.extras.get("bot_username", "")
    if ctx.platform == "telegram" and username:
        return f"https://t.me/{username}?start=rg_{entry.public_id}"
    return ""


async def _search(ctx: RequestContext, query: str) -> Reply:
    t = ctx.t
    query = query.strip()
    if not query:
        raise UsageError(t.gettext("Send a name to look for, such as /regiment search Gvozdarev."))
    found = await regiment_of(ctx).search(query[:100], 5)
    if not found:
        return (
            ReplyBuilder()
            .text(t.gettext("Nobody in the chronicle matches “{query}”.", query=query[:100]))
            .build()
        )
    out = ReplyBuilder().bold(t.gettext("The people's chronicle")).line()
    for entry in found:
        out.text("• ").text(entry.full_name)
        if entry.years:
            out.text(f", {entry.years}")
        out.line()
        out.row(Button(entry.full_name[:60], action=f"{ACTION}:v:{entry.public_id}"))
    return out.build()


async def _mine(ctx: RequestContext) -> Reply:
    t = ctx.t
    entries = await regiment_of(ctx).repository.entries_of(ctx.platform, ctx.user.id)
    if not entries:
        return (
            ReplyBuilder()
            .text(t.gettext("You have not submitted anyone yet. Send /regiment new to begin."))
            .build()
        )
    out = ReplyBuilder().bold(t.gettext("Your entries")).line()
    for entry in entries[:20]:
        out.text(f"{entry.public_id} · ").bold(entry.full_name)
        out.text(" — " + t.gettext(STATUS_LABELS[entry.status])).line()
        if entry.status not in (EntryStatus.WITHDRAWN, EntryStatus.TAKEN_DOWN):
            out.row(
                Button(
                    t.gettext("Edit") + " " + entry.full_name[:30],
                    action=f"{ACTION}:e:{entry.public_id}",
                ),
                Button(t.gettext("Withdraw"), action=f"{ACTION}:w:{entry.public_id}"),
            )
    out.line().text(t.gettext("To delete everything you submitted, send /regiment delete."))
    return out.build()


async def _start_edit(ctx: RequestContext, public_id: str) -> Reply:
    entry = await _own_entry(ctx, public_id)
    if entry.status in (EntryStatus.WITHDRAWN, EntryStatus.TAKEN_DOWN):
        raise UsageError(ctx.t.gettext("This entry was withdrawn or taken down; submit it anew."))
    current = {
        "name": entry.full_name,
        "other": entry.other_spelling,
        "years": entry.years,
        "unit": entry.rank_unit,
        "relation": entry.relation,
        "story": entry.story,
        "photo": ctx.t.gettext("the portrait sent before") if entry.photo_key else None,
    }
    return await ctx.start_flow(EDIT, {"entry_id": entry.id, "current": current})


async def _take_down(ctx: RequestContext, rest: str) -> Reply:
    await require_moderator(ctx)
    public_id, _, reason = rest.strip().partition(" ")
    regiment = regiment_of(ctx)
    entry = await regiment.repository.entry_by_public_id(public_id)
    if entry is None or not entry.published:
        raise UsageError(
            ctx.t.gettext("There is no entry {id} in the chronicle.", id=public_id[:24])
        )
    await regiment.decide(
        entry,
        Action.TAKEN_DOWN,
        f"{ctx.platform}:{ctx.user.id}",
        ctx.user.name,
        reason.strip()[:500],
    )
    return (
        ReplyBuilder()
        .text(
            ctx.t.gettext(
                "Taken down: {name}. It is out of the chronicle and of every march to come.",
                name=entry.full_name,
            )
        )
        .build()
    )


def _private_only(ctx: RequestContext) -> Reply | None:
    if ctx.chat.kind is ChatKind.PRIVATE or ctx.platform == "console":
        return None
    t = ctx.t
    out = ReplyBuilder().text(
        t.gettext(
            "Families submit relatives in a private chat with the bot, so that nothing is "
            "shown here before it is checked. Write to the bot directly and send /regiment."
        )
    )
    username = ctx.extras.get("bot_username", "")
    if ctx.platform == "telegram" and username:
        out.row(
            Button(t.gettext("Open a private chat"), url=f"https://t.me/{username}?start=regiment")
        )
    return out.build(ephemeral=True)


async def manage_regiment(ctx: RequestContext) -> Reply:
    """``/regiment [new | mine | edit ID | withdraw ID | delete | queue | march | search NAME
    | takedown ID | ID]``."""
    regiment_of(ctx)
    verb, _, rest = ctx.arg_text.strip().partition(" ")
    verb = verb.lower()
    if verb == "search":
        return await _search(ctx, rest)
    if verb == "queue":
        return await _queue(ctx)
    if verb == "takedown":
        return await _take_down(ctx, rest)
    if verb == "march":
        if not await ctx.may_organize():
            raise NotAllowed(ctx.t.gettext("Only organizers can schedule a march."))
        return await ctx.start_flow(MARCH, {})
    if verb in ("", "new", "mine", "edit", "withdraw", "delete"):
        elsewhere = _private_only(ctx)
        if elsewhere is not None:
            return elsewhere
    if verb == "":
        return _menu(ctx)
    if verb == "new":
        try:
            await regiment_of(ctx).check_limit(_submitter(ctx))
        except LimitReached:
            return _limit_reply(ctx, regiment_of(ctx))
        return await ctx.start_flow(NEW, {})
    if verb == "mine":
        return await _mine(ctx)
    if verb == "edit":
        return await _start_edit(ctx, rest)
    if verb == "withdraw":
        entry = await _own_entry(ctx, rest)
        return await ctx.start_flow(WITHDRAW, {"entry_id": entry.id})
    if verb == "delete":
        return await ctx.start_flow(DELETE, {})
    return await _show(ctx, verb)


def _menu(ctx: RequestContext) -> Reply:
    t = ctx.t
    out = ReplyBuilder()
    out.bold(t.gettext("The Immortal Regiment")).line()
    out.line(
        t.gettext(
            "Bring a relative who fought in the war or lived through it: their name, years, "
            "story and portrait. After moderation they join the people's chronicle and march "
            "with the portraits of other families in the communities' chats."
        )
    )
    out.line()
    out.line(t.gettext("/regiment new: submit a relative"))
    out.line(t.gettext("/regiment mine: your entries, to edit or withdraw"))
    out.line(t.gettext("/regiment search NAME: find someone in the chronicle"))
    out.line(t.gettext("/regiment delete: delete everything you submitted"))
    return out.build()


async def open_deep_link(ctx: RequestContext, payload: str) -> Reply:
    """``/start rg_<ID>`` opens an entry; ``/start regiment`` the menu."""
    if payload == "regiment":
        return _menu(ctx)
    return await _show(ctx, payload.removeprefix("rg_"))


def _reason_flow(name: str, question: str) -> Flow:
    return Flow(
        name,
        "regiment",
        (
            Step(
                "reason",
                AnswerKind.TEXT,
                lambda ctx, answers: ctx.t.gettext(question),
                N_("Reason"),
                parse=_parse_reason,
                choices=_reason_choices,
                max_length=500,
                multiline=True,
                card=_entry_card,
            ),
        ),
        _finish_decision,
    )


NEW_FLOW = Flow(NEW, "regiment", _form_steps(editing=False), _finish_new)
EDIT_FLOW = Flow(EDIT, "regiment", _form_steps(editing=True), _finish_edit)
WITHDRAW_FLOW = Flow(
    WITHDRAW,
    "regiment",
    (
        Step(
            "confirm",
            AnswerKind.CONFIRM,
            lambda ctx, answers: ctx.t.gettext(
                "Withdraw this entry? It leaves the chronicle and every march to come."
            ),
            N_("Confirm"),
            choices=_confirm_withdraw,
            card=_withdraw_card,
        ),
    ),
    _finish_withdraw,
)
DELETE_FLOW = Flow(
    DELETE,
    "regiment",
    (
        Step(
            "confirm",
            AnswerKind.CONFIRM,
            lambda ctx, answers: ctx.t.gettext(
                "Delete every entry you submitted, with its portrait and history? This cannot "
                "be undone."
            ),
            N_("Confirm"),
            choices=_confirm_delete,
        ),
    ),
    _finish_delete,
)
REJECT_FLOW = _reason_flow(REJECT, N_("Why is it rejected? Choose a reason or write one."))
CHANGES_FLOW = _reason_flow(CHANGES, N_("What should the submitter change? Choose or write it."))
MARCH_FLOW = Flow(
    MARCH,
    "regiment",
    (
        Step(
            "day",
            AnswerKind.DATE,
            lambda ctx, answers: ctx.t.gettext("On which day does the march take place?"),
            N_("Date"),
            parse=_parse_day,
            placeholder="2027-05-09",
        ),
        Step(
            "start",
            AnswerKind.TIME,
            lambda ctx, answers: ctx.t.gettext(
                "At what time does the first portrait appear (in {zone})?", zone=ctx.timezone
            ),
            N_("Start time"),
            parse=_parse_start,
            placeholder="11:00",
        ),
        Step(
            "spacing",
            AnswerKind.CHOICE,
            lambda ctx, answers: ctx.t.gettext(
                "How long between two portraits? Choose, or send minutes or seconds."
            ),
            N_("Spacing"),
            parse=_parse_spacing,
            choices=_spacing_choices,
        ),
        Step(
            "languages",
            AnswerKind.CHOICE,
            lambda ctx, answers: ctx.t.gettext(
                "In which languages are the captions? Each chat gets its own when it is one of "
                "them."
            ),
            N_("Languages"),
            parse=parse_languages,
            choices=language_choices,
        ),
        Step(
            "where",
            AnswerKind.CHOICE,
            lambda ctx, answers: ctx.t.gettext("Where does it march?"),
            N_("Where"),
            parse=_parse_where,
            choices=_where_choices,
        ),
        Step(
            "mode",
            AnswerKind.CHOICE,
            lambda ctx, answers: ctx.t.gettext("When, in chats in other time zones?"),
            N_("Mode"),
            parse=_parse_mode,
            choices=_mode_choices,
        ),
        Step(
            "confirm",
            AnswerKind.CONFIRM,
            lambda ctx, answers: ctx.t.gettext("Schedule this march?"),
            N_("Confirm"),
            choices=_confirm_march,
            card=_march_card,
        ),
    ),
    _finish_march,
)
FLOWS: tuple[Flow, ...] = (
    NEW_FLOW,
    EDIT_FLOW,
    WITHDRAW_FLOW,
    DELETE_FLOW,
    REJECT_FLOW,
    CHANGES_FLOW,
    MARCH_FLOW,
)


# -- what the ledger sends -------------------------------------------------------------------


def item_renderer(regiment: Regiment) -> ItemRenderer:
    """Renders the regiment's ledger items: a portrait in a march (``rgm:``) and a notice to
    a submitter (``rgn:``). What they say is decided now, at sending: an entry withdrawn or
    taken down since is not posted."""

    async def render(item_key: str, day: dt.date, language: str, timezone: str) -> Rendered:
        parsed = parse_item(item_key)
        if parsed is None:
            return Rendered(None, f"unknown item {item_key!r}")
        prefix, first, what, second = parsed
        if prefix == MARCH_PREFIX:
            return await _march_post(regiment, first, second, language)
        return await _notice(regiment, first, what, second)

    return render


async def _march_post(regiment: Regiment, march_id: int, entry_id: int, language: str) -> Rendered:
    march = await regiment.repository.get_march(march_id)
    if march is None or march.status != "scheduled":
        return Rendered(None, "the march was cancelled")
    entry = await regiment.repository.get_entry(entry_id)
    if entry is None:
        return Rendered(None, "the entry was deleted")
    if not entry.published:
        return Rendered(None, f"the entry is {entry.status.value}")
    if not any(slot.march_id == march_id for slot in await regiment.repository.slots_of(entry_id)):
        return Rendered(None, "the entry left the march")
    t = translator(march.caption_language(language if language in LANGUAGES else "en"))
    out = ReplyBuilder()
    out.italic("🎖 " + t.gettext("Immortal Regiment")).line()
    entry_card(out, t, entry)
    return Rendered(out.build(photo=entry_photo(regiment, entry)))


async def _notice(regiment: Regiment, entry_id: int, what: str, ref: int) -> Rendered:
    entry = await regiment.repository.get_entry(entry_id)
    if entry is None:
        return Rendered(None, "the entry was deleted")
    t = translator(entry.submitter.language)
    out = ReplyBuilder()
    name = entry.full_name
    if what == "slot":
        if not entry.published:
            return Rendered(None, f"the entry is {entry.status.value}")
        times = await regiment.slot_times(entry_id, ref)
        if not times:
            return Rendered(None, "the entry left the march")
        tz = zone(entry.submitter.timezone)
        out.bold(t.gettext("Immortal Regiment")).line()
        out.line(
            t.ngettext(
                "{name} marches: the portrait appears in {count} chat, at (your time, {zone}):",
                "{name} marches: the portrait appears in {count} chats, at (your time, {zone}):",
                len(times),
                name=name,
                zone=entry.submitter.timezone,
            )
        )
        for chat, moment in times[:10]:
            where = chat.title or (
                t.gettext("a Telegram chat")
                if chat.platform == "telegram"
                else t.gettext("a Discord channel")
            )
            out.text("• ").timestamp(t.date_time(moment, tz), moment).text(f" — {where}").line()
        if len(times) > 10:
            out.line(t.gettext("…and {count} more chats.", count=str(len(times) - 10)))
        return Rendered(out.build())
    decision = await regiment.repository.get_decision(ref)
    if decision is None:
        return Rendered(None, "the decision was deleted")
    reason = reason_text(t, decision.reason)
    out.bold(t.gettext("Immortal Regiment")).line()
    if decision.action is Action.APPROVED:
        out.text(
            t.gettext(
                "{name} is now in the people's chronicle. You will be told when the portrait "
                "marches.",
                name=name,
            )
        )
    elif decision.action is Action.REJECTED:
        out.line(t.gettext("{name} could not be published.", name=name))
        out.line(t.gettext("Reason: {reason}", reason=reason))
        out.text(t.gettext("You can send /regiment new to submit again."))
    elif decision.action is Action.CHANGES:
        out.line(t.gettext("The moderators ask you to change {name}:", name=name))
        out.line(reason)
        out.text(t.gettext("Send /regiment edit {id} to change it.", id=entry.public_id))
    elif decision.action is Action.TAKEN_DOWN:
        out.line(t.gettext("{name} was taken down from the chronicle.", name=name))
        if reason:
            out.text(t.gettext("Reason: {reason}", reason=reason))
    else:
        return Rendered(None, f"nothing to tell of {decision.action.value}")
    return Rendered(out.build())
