"""The Immortal Regiment: relatives' portraits and stories, moderated, and marched in chats.

A family member submits a relative in a private chat with the bot (``handlers.regiment``):
names in any script, years of life, rank and unit, relation, a short story and a portrait. The
portrait is cleaned (real type from its bytes, metadata stripped, re-encoded: ``bot.media``)
and kept in the media store under a name that cannot be guessed. Nothing is published before
an organizer approves it; every step (submitted, edited, approved, rejected with a reason,
sent back for changes, withdrawn, taken down) is a ``Decision`` with who and when.

A ``March`` posts the approved portraits into chosen chats, one per slot: slot ``n`` is at
``start + n x spacing`` on its day, in the march's zone or, rolling, in each chat's own zone.
Every post and every notice to a submitter is a row of the delivery ledger (item keys
``rgm:<march>:<entry>`` and ``rgn:<entry>:<what>:<id>``), so it is sent once, within the rate
limits, and survives a restart; what a row says is decided when it is sent, so an entry
withdrawn or taken down before its slot is not posted.

The people's chronicle is searched with the memorials' engine (``bot.core.search``), over
the approved entries only.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import enum
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from bot.core.ports import Clock
from bot.core.search import MemorialIndex, SearchDocument
from bot.core.timeutil import zone
from bot.media import CleanPortrait, MediaStore, clean_portrait


class EntryStatus(enum.StrEnum):
    """Where an entry stands."""

    PENDING = "pending"
    """Waiting for moderation (new or edited)."""
    APPROVED = "approved"
    """In the chronicle; marches in the next march."""
    REJECTED = "rejected"
    CHANGES = "changes"
    """Sent back to its submitter with a request for changes."""
    WITHDRAWN = "withdrawn"
    TAKEN_DOWN = "taken_down"


class Action(enum.StrEnum):
    """A recorded decision on an entry."""

    SUBMITTED = "submitted"
    EDITED = "edited"
    APPROVED = "approved"
    REJECTED = "rejected"
    CHANGES = "changes"
    WITHDRAWN = "withdrawn"
    TAKEN_DOWN = "taken_down"


STATUS_AFTER: dict[Action, EntryStatus] = {
    Action.SUBMITTED: EntryStatus.PENDING,
    Action.EDITED: EntryStatus.PENDING,
    Action.APPROVED: EntryStatus.APPROVED,
    Action.REJECTED: EntryStatus.REJECTED,
    Action.CHANGES: EntryStatus.CHANGES,
    Action.WITHDRAWN: EntryStatus.WITHDRAWN,
    Action.TAKEN_DOWN: EntryStatus.TAKEN_DOWN,
}

MODERATOR_ACTIONS = frozenset({Action.APPROVED, Action.REJECTED, Action.CHANGES})
"""Decisions an organizer takes on a pending entry (a take-down is on a published one)."""

NOTIFIED = frozenset({Action.APPROVED, Action.REJECTED, Action.CHANGES, Action.TAKEN_DOWN})
"""Decisions the submitter is told of."""


@dataclass(frozen=True, slots=True)
class Submitter:
    """Who brought the entry: their platform, user id, private chat, name (published only
    when they sign), language and zone (for what the bot tells them)."""

    platform: str
    user_id: str
    chat_id: str
    name: str = ""
    language: str = "en"
    timezone: str = "UTC"

    @property
    def key(self) -> str:
        """``platform:user_id``."""
        return f"{self.platform}:{self.user_id}"


@dataclass(frozen=True, slots=True)
class Entry:
    """A relative in the Immortal Regiment."""

    full_name: str
    submitter: Submitter
    other_spelling: str | None = None
    born: int | None = None
    died: int | None = None
    rank_unit: str | None = None
    relation: str | None = None
    story: str = ""
    photo_key: str = ""
    photo_mime: str = ""
    photo_refs: Mapping[str, str] = field(default_factory=dict)
    signed: bool = False
    status: EntryStatus = EntryStatus.PENDING
    public_id: str = ""
    id: int | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None

    @property
    def published(self) -> bool:
        """Whether it is in the chronicle (and may march)."""
        return self.status is EntryStatus.APPROVED

    @property
    def years(self) -> str:
        """ "1915–1943", "1915–?", "?–1943" or ""."""
        if self.born is None and self.died is None:
            return ""
        born = str(self.born) if self.born is not None else "?"
        died = str(self.died) if self.died is not None else "?"
        return f"{born}–{died}"


@dataclass(frozen=True, slots=True)
class Decision:
    """One recorded step in an entry's life."""

    entry_id: int
    action: Action
    actor: str
    """``platform:user_id``."""
    at: dt.datetime
    reason: str = ""
    actor_name: str = ""
    id: int | None = None


@dataclass(frozen=True, slots=True)
class March:
    """A march: from ``start_time`` on ``day``, one portrait every ``spacing``."""

    day: dt.date
    start_time: dt.time
    timezone: str
    spacing: dt.timedelta
    languages: tuple[str, ...]
    created_by: str
    rolling: bool = False
    status: str = "scheduled"
    id: int | None = None

    def slot_at(self, position: int, chat_zone: str) -> dt.datetime:
        """The UTC instant of slot ``position`` in a chat whose zone is ``chat_zone``."""
        name = chat_zone if self.rolling else self.timezone
        local = dt.datetime.combine(self.day, self.start_time, tzinfo=zone(name))
        start = local.astimezone(dt.UTC)
        return start + position * self.spacing

    def caption_language(self, language: str) -> str:
        """The caption language for a chat: its own when the march speaks it."""
        if not self.languages or language in self.languages:
            return language
        return self.languages[0]


@dataclass(frozen=True, slots=True)
class MarchChat:
    """A chat a march posts in: its subscription row in the ledger, and where it is."""

    subscription_id: int
    platform: str
    chat_id: str
    timezone: str
    title: str = ""


@dataclass(frozen=True, slots=True)
class Slot:
    """An entry's place in a march."""

    march_id: int
    entry_id: int
    position: int


@dataclass(frozen=True, slots=True)
class LedgerRow:
    """A row for the delivery ledger: to a subscription, an item, due at an instant."""

    subscription_id: int
    item_key: str
    day: dt.date
    due_at: dt.datetime


def new_public_id() -> str:
    """An entry's id in links: short, and not guessable from its neighbours'."""
    return secrets.token_urlsafe(9)


# -- item keys in the ledger ----------------------------------------------------------------

MARCH_PREFIX = "rgm"
NOTICE_PREFIX = "rgn"


def march_item(march_id: int, entry_id: int) -> str:
    """The ledger item of an entry's portrait in a march."""
    return f"{MARCH_PREFIX}:{march_id}:{entry_id}"


def notice_item(entry_id: int, what: str, ref: int) -> str:
    """The ledger item of a notice to a submitter: ``what`` (a decision, or ``slot``) and
    the decision's or march's id."""
    return f"{NOTICE_PREFIX}:{entry_id}:{what}:{ref}"


def parse_item(item_key: str) -> tuple[str, int, str, int] | None:
    """``(prefix, first id, what, second id)`` of a regiment item; None otherwise. For a
    march post, ``what`` is "" and the ids are the march's and the entry's."""
    parts = item_key.split(":")
    if len(parts) == 3 and parts[0] == MARCH_PREFIX and parts[1].isdigit() and parts[2].isdigit():
        return MARCH_PREFIX, int(parts[1]), "", int(parts[2])
    if len(parts) == 4 and parts[0] == NOTICE_PREFIX and parts[1].isdigit() and parts[3].isdigit():
        return NOTICE_PREFIX, int(parts[1]), parts[2], int(parts[3])
    return None


def is_personal(item_key: str) -> bool:
    """Whether an item is a notice to one person (sent even when they stopped the daily post:
    it is about their own submission)."""
    return item_key.startswith(NOTICE_PREFIX + ":")


# -- the repository --------------------------------------------------------------------------


class RegimentRepository(Protocol):
    """Entries, decisions, marches and their rows in the delivery ledger."""

    async def add_entry(self, entry: Entry) -> Entry:
        """Store a new entry; returns it with its id."""
        ...

    async def save_entry(self, entry: Entry) -> Entry:
        """Store a changed entry."""
        ...

    async def get_entry(self, entry_id: int) -> Entry | None:
        """An entry by id."""
        ...

    async def entry_by_public_id(self, public_id: str) -> Entry | None:
        """An entry by its public id."""
        ...

    async def entries_of(self, platform: str, user_id: str) -> list[Entry]:
        """A submitter's entries, newest first."""
        ...

    async def delete_entries_of(self, platform: str, user_id: str) -> list[Entry]:
        """Delete a submitter's entries and their history; returns what was deleted."""
        ...

    async def submitted_since(self, platform: str, user_id: str, since: dt.datetime) -> int:
        """How many entries (new or edited) a submitter sent since ``since``."""
        ...

    async def with_status(
        self, status: EntryStatus, limit: int = 100, offset: int = 0
    ) -> list[Entry]:
        """Entries of a status, oldest first."""
        ...

    async def count_with_status(self, status: EntryStatus) -> int:
        """How many entries have a status."""
        ...

    async def add_decision(self, decision: Decision) -> Decision:
        """Record a decision; returns it with its id."""
        ...

    async def decisions(self, entry_id: int) -> list[Decision]:
        """An entry's decisions, oldest first."""
        ...

    async def get_decision(self, decision_id: int) -> Decision | None:
        """A decision by id."""
        ...

    async def chronicle_version(self) -> str:
        """Changes whenever the approved entries change (for the search index)."""
        ...

    async def add_march(self, march: March, chats: Sequence[tuple[int, str]]) -> March:
        """Store a march and its chats (subscription id, title)."""
        ...

    async def get_march(self, march_id: int) -> March | None:
        """A march by id."""
        ...

    async def marches_after(self, instant: dt.datetime) -> list[March]:
        """Scheduled marches whose day is not over at ``instant``, soonest first."""
        ...

    async def cancel_march(self, march_id: int) -> None:
        """Cancel a march (its rows are skipped when they come due)."""
        ...

    async def march_chats(self, march_id: int) -> list[MarchChat]:
        """The chats a march posts in."""
        ...

    async def slots(self, march_id: int) -> list[Slot]:
        """A march's slots in order."""
        ...

    async def slots_of(self, entry_id: int) -> list[Slot]:
        """An entry's slots in every march."""
        ...

    async def add_slots(self, march_id: int, entry_ids: Sequence[int]) -> list[Slot]:
        """Append entries to a march (those already in it are left where they are)."""
        ...

    async def queue_rows(self, rows: Sequence[LedgerRow]) -> int:
        """Put rows in the delivery ledger (a row already there is kept); how many were new."""
        ...

    async def personal_subscription(
        self, platform: str, chat_id: str, language: str, timezone: str
    ) -> int:
        """The ledger address of a private chat: its subscription row, created without any
        topic (no daily post) when the chat has none."""
        ...

    async def event_chats(self) -> list[MarchChat]:
        """Every active chat that hears of announcements."""
        ...

    async def set_photo_ref(self, photo_key: str, platform: str, ref: str) -> None:
        """Remember a platform's reference to a posted portrait (reposted by reference)."""
        ...

    async def chronicle(self) -> list[tuple[str, str]]:
        """``(public id, search text)`` of every approved entry."""
        ...

    async def all_entries(self) -> list[Entry]:
        """Every entry, oldest first."""
        ...


# -- the service -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RegimentSettings:
    """Limits and places of the Immortal Regiment."""

    media_dir: Path = Path("data/media")
    max_photo_bytes: int = 10 * 1024 * 1024
    daily_limit: int = 5
    """Submissions (new or edited) per person per day."""
    max_story: int = 1500


class LimitReached(Exception):
    """The submitter sent as many entries today as allowed."""


class Regiment:
    """The Immortal Regiment's use cases: submissions, moderation, marches, the chronicle."""

    def __init__(
        self,
        repository: RegimentRepository,
        settings: RegimentSettings,
        clock: Clock,
        media: MediaStore | None = None,
    ) -> None:
        self.repository = repository
        self.settings = settings
        self.clock = clock
        self.media = media or MediaStore(settings.media_dir)
        self._index: tuple[str, MemorialIndex] | None = None
        self._index_lock = asyncio.Lock()

    # -- portraits ----------------------------------------------------------------------------

    async def keep_portrait(self, data: bytes) -> CleanPortrait:
        """A portrait cleaned: its real type checked, metadata stripped, re-encoded (raises
        ``PortraitRefused``)."""
        return await asyncio.to_thread(
            clean_portrait, data, max_bytes=self.settings.max_photo_bytes
        )

    async def store(self, portrait: CleanPortrait) -> str:
        """Put a cleaned portrait in the media store; its key."""
        return await asyncio.to_thread(self.media.put, portrait)

    def photo_path(self, entry: Entry) -> Path | None:
        """Where an entry's portrait is, if it is there."""
        if not entry.photo_key:
            return None
        try:
            path = self.media.path(entry.photo_key)
        except ValueError:
            return None
        return path if path.exists() else None

    # -- submitting ---------------------------------------------------------------------------

    async def check_limit(self, submitter: Submitter) -> None:
        """Raise ``LimitReached`` when the submitter used up today's submissions."""
        since = self.clock.now() - dt.timedelta(days=1)
        count = await self.repository.submitted_since(submitter.platform, submitter.user_id, since)
        if count >= self.settings.daily_limit:
            raise LimitReached()

    async def submit(self, entry: Entry) -> Entry:
        """Store a new entry, pending moderation."""
        await self.check_limit(entry.submitter)
        now = self.clock.now()
        saved = await self.repository.add_entry(
            replace(
                entry,
                status=EntryStatus.PENDING,
                public_id=entry.public_id or new_public_id(),
                created_at=now,
                updated_at=now,
            )
        )
        assert saved.id is not None
        await self.repository.add_decision(
            Decision(saved.id, Action.SUBMITTED, entry.submitter.key, now, actor_name="")
        )
        return saved

    async def edit(self, entry: Entry) -> Entry:
        """Store an edited entry: it goes back to moderation (and out of the chronicle)."""
        await self.check_limit(entry.submitter)
        assert entry.id is not None
        now = self.clock.now()
        saved = await self.repository.save_entry(
            replace(entry, status=EntryStatus.PENDING, updated_at=now)
        )
        await self.repository.add_decision(
            Decision(entry.id, Action.EDITED, entry.submitter.key, now)
        )
        return saved

    async def delete_all(self, platform: str, user_id: str) -> int:
        """Delete everything a person submitted, portraits included; how many entries."""
        deleted = await self.repository.delete_entries_of(platform, user_id)
        for entry in deleted:
            if entry.photo_key:
                with contextlib.suppress(ValueError, OSError):
                    await asyncio.to_thread(self.media.delete, entry.photo_key)
        return len(deleted)

    # -- deciding -----------------------------------------------------------------------------

    async def decide(
        self, entry: Entry, action: Action, actor: str, actor_name: str = "", reason: str = ""
    ) -> Decision:
        """Record a decision, change the entry's status, tell its submitter where they are
        told, and march an approved entry in the marches still to come."""
        assert entry.id is not None
        now = self.clock.now()
        saved = await self.repository.save_entry(
            replace(entry, status=STATUS_AFTER[action], updated_at=now)
        )
        decision = await self.repository.add_decision(
            Decision(entry.id, action, actor, now, reason=reason, actor_name=actor_name)
        )
        assert decision.id is not None
        if action in NOTIFIED:
            await self._notify(saved, action.value, decision.id)
        if action is Action.APPROVED:
            for march in await self.repository.marches_after(now):
                await self._march(march, [saved])
        return decision

    async def _notify(self, entry: Entry, what: str, ref: int) -> None:
        assert entry.id is not None
        submitter = entry.submitter
        subscription = await self.repository.personal_subscription(
            submitter.platform, submitter.chat_id, submitter.language, submitter.timezone
        )
        now = self.clock.now()
        await self.repository.queue_rows(
            [LedgerRow(subscription, notice_item(entry.id, what, ref), now.date(), now)]
        )

    # -- marching -----------------------------------------------------------------------------

    async def schedule_march(self, march: March, chats: Sequence[MarchChat]) -> tuple[March, int]:
        """Store a march for ``chats`` and put every approved entry in it; returns the march
        and how many portraits it carries."""
        saved = await self.repository.add_march(
            march, [(chat.subscription_id, chat.title) for chat in chats]
        )
        entries: list[Entry] = []
        offset = 0
        while True:
            page = await self.repository.with_status(EntryStatus.APPROVED, 500, offset)
            entries.extend(page)
            if len(page) < 500:
                break
            offset += 500
        entries.sort(key=lambda entry: (entry.created_at or self.clock.now(), entry.id or 0))
        count = await self._march(saved, entries)
        return saved, count

    async def _march(self, march: March, entries: Sequence[Entry]) -> int:
        """Give entries the next slots of a march still to come (none that would already be
        past), queue their posts in every chat of the march and tell their submitters."""
        assert march.id is not None
        chats = await self.repository.march_chats(march.id)
        if not chats or not entries:
            return 0
        now = self.clock.now()
        taken = await self.repository.slots(march.id)
        next_position = (taken[-1].position + 1) if taken else 0
        latest_start = max(march.slot_at(next_position, chat.timezone) for chat in chats)
        if latest_start <= now:
            return 0
        slots = await self.repository.add_slots(
            march.id, [entry.id for entry in entries if entry.id is not None]
        )
        rows = [
            LedgerRow(
                chat.subscription_id,
                march_item(march.id, slot.entry_id),
                march.day,
                march.slot_at(slot.position, chat.timezone),
            )
            for slot in slots
            for chat in chats
        ]
        await self.repository.queue_rows(rows)
        by_id = {entry.id: entry for entry in entries}
        for slot in slots:
            await self._notify(by_id[slot.entry_id], "slot", march.id)
        return len(slots)

    async def slot_times(self, entry_id: int, march_id: int) -> list[tuple[MarchChat, dt.datetime]]:
        """When an entry's portrait appears in each chat of a march."""
        march = await self.repository.get_march(march_id)
        if march is None:
            return []
        slot = next(
            (s for s in await self.repository.slots_of(entry_id) if s.march_id == march_id), None
        )
        if slot is None:
            return []
        return [
            (chat, march.slot_at(slot.position, chat.timezone))
            for chat in await self.repository.march_chats(march_id)
        ]

    # -- the chronicle ------------------------------------------------------------------------

    async def search(self, query: str, limit: int = 5) -> list[Entry]:
        """Approved entries matching ``query`` in any script or spelling, best first."""
        index = await self._chronicle_index()
        found: list[Entry] = []
        for hit in index.search(query, limit):
            entry = await self.repository.entry_by_public_id(hit.slug)
            if entry is not None and entry.published:
                found.append(entry)
        return found

    async def _chronicle_index(self) -> MemorialIndex:
        version = await self.repository.chronicle_version()
        async with self._index_lock:
            if self._index is not None and self._index[0] == version:
                return self._index[1]
            documents = [
                SearchDocument(public_id, 0.0, 0.0, text)
                for public_id, text in await self.repository.chronicle()
            ]
            index = await asyncio.to_thread(MemorialIndex, documents)
            self._index = (version, index)
            return index
