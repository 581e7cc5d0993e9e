"""The Immortal Regiment in SQL: entries, decisions, marches, and their ledger rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.regiment import (
    Action,
    Decision,
    Entry,
    EntryStatus,
    LedgerRow,
    March,
    MarchChat,
    Slot,
    Submitter,
)
from bot.core.search import chronicle_search_text
from db import models
from db.unit_of_work import Sessions, reading, writing

E = models.RegimentEntry
D = models.RegimentDecision
M = models.RegimentMarch
MC = models.RegimentMarchChat
SL = models.RegimentSlot
S = models.Subscription


def to_entry(row: models.RegimentEntry) -> Entry:
    """The core entry of a row."""
    return Entry(
        id=row.id,
        public_id=row.public_id,
        status=EntryStatus(row.status),
        full_name=row.full_name,
        other_spelling=row.other_spelling,
        born=row.born,
        died=row.died,
        rank_unit=row.rank_unit,
        relation=row.relation,
        story=row.story,
        photo_key=row.photo_key,
        photo_mime=row.photo_mime,
        photo_refs=dict(row.photo_refs or {}),
        signed=row.signed,
        submitter=Submitter(
            platform=row.submitter_platform,
            user_id=row.submitter_id,
            chat_id=row.submitter_chat_id,
            name=row.submitter_name,
            language=row.language,
            timezone=row.timezone,
        ),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _fill(row: models.RegimentEntry, entry: Entry) -> None:
    row.public_id = entry.public_id
    row.status = entry.status.value
    row.full_name = entry.full_name
    row.other_spelling = entry.other_spelling
    row.born = entry.born
    row.died = entry.died
    row.rank_unit = entry.rank_unit
    row.relation = entry.relation
    row.story = entry.story
    row.photo_key = entry.photo_key
    row.photo_mime = entry.photo_mime
    row.photo_refs = dict(entry.photo_refs)
    row.signed = entry.signed
    row.submitter_platform = entry.submitter.platform
    row.submitter_id = entry.submitter.user_id
    row.submitter_chat_id = entry.submitter.chat_id
    row.submitter_name = entry.submitter.name
    row.language = entry.submitter.language
    row.timezone = entry.submitter.timezone
    row.search_text = chronicle_search_text(entry.full_name, entry.other_spelling, entry.rank_unit)
    row.updated_at = entry.updated_at or dt.datetime.now(dt.UTC)


def to_decision(row: models.RegimentDecision) -> Decision:
    """The core decision of a row."""
    return Decision(
        id=row.id,
        entry_id=row.entry_id,
        action=Action(row.action),
        actor=row.actor,
        actor_name=row.actor_name,
        reason=row.reason,
        at=row.at,
    )


def to_march(row: models.RegimentMarch) -> March:
    """The core march of a row."""
    return March(
        id=row.id,
        day=row.day,
        start_time=row.start_time,
        timezone=row.timezone,
        spacing=dt.timedelta(seconds=row.spacing_seconds),
        languages=tuple(row.languages or ()),
        created_by=row.created_by,
        rolling=row.rolling,
        status=row.status,
    )


class SqlRegimentRepository:
    """``RegimentRepository`` on SQLite and PostgreSQL."""

    def __init__(self, sessions: Sessions) -> None:
        self.sessions = sessions

    # -- entries -----------------------------------------------------------------------------

    async def add_entry(self, entry: Entry) -> Entry:
        async with writing(self.sessions) as session:
            row = models.RegimentEntry(created_at=entry.created_at or dt.datetime.now(dt.UTC))
            _fill(row, entry)
            session.add(row)
            await session.flush()
            return to_entry(row)

    async def save_entry(self, entry: Entry) -> Entry:
        async with writing(self.sessions) as session:
            row = await session.get(E, entry.id)
            if row is None:
                raise LookupError(f"no regiment entry {entry.id}")
            _fill(row, entry)
            await session.flush()
            return to_entry(row)

    async def get_entry(self, entry_id: int) -> Entry | None:
        async with reading(self.sessions) as session:
            row = await session.get(E, entry_id)
            return to_entry(row) if row is not None else None

    async def entry_by_public_id(self, public_id: str) -> Entry | None:
        async with reading(self.sessions) as session:
            row = await session.scalar(select(E).where(E.public_id == public_id))
            return to_entry(row) if row is not None else None

    async def entries_of(self, platform: str, user_id: str) -> list[Entry]:
        async with reading(self.sessions) as session:
            rows = await session.scalars(
                select(E)
                .where(E.submitter_platform == platform, E.submitter_id == user_id)
                .order_by(E.created_at.desc(), E.id.desc())
            )
            return [to_entry(row) for row in rows]

    async def delete_entries_of(self, platform: str, user_id: str) -> list[Entry]:
        async with writing(self.sessions) as session:
            rows = list(
                await session.scalars(
                    select(E).where(E.submitter_platform == platform, E.submitter_id == user_id)
                )
            )
            entries = [to_entry(row) for row in rows]
            ids = [row.id for row in rows]
            if ids:
                # explicit, not only ON DELETE CASCADE: SQLite enforces it only when asked
                await session.execute(delete(SL).where(SL.entry_id.in_(ids)))
                await session.execute(delete(D).where(D.entry_id.in_(ids)))
                await session.execute(delete(E).where(E.id.in_(ids)))
            return entries

    async def submitted_since(self, platform: str, user_id: str, since: dt.datetime) -> int:
        async with reading(self.sessions) as session:
            count = await session.scalar(
                select(func.count(D.id))
                .join(E, E.id == D.entry_id)
                .where(
                    E.submitter_platform == platform,
                    E.submitter_id == user_id,
                    D.action.in_([Action.SUBMITTED.value, Action.EDITED.value]),
                    D.at >= since,
                )
            )
            return int(count or 0)

    async def with_status(
        self, status: EntryStatus, limit: int = 100, offset: int = 0
    ) -> list[Entry]:
        async with reading(self.sessions) as session:
            rows = await session.scalars(
                select(E)
                .where(E.status == status.value)
                .order_by(E.updated_at, E.id)
                .limit(limit)
                .offset(offset)
            )
            return [to_entry(row) for row in rows]

    async def count_with_status(self, status: EntryStatus) -> int:
        async with reading(self.sessions) as session:
            count = await session.scalar(select(func.count(E.id)).where(E.status == status.value))
            return int(count or 0)

    async def chronicle_version(self) -> str:
        async with reading(self.sessions) as session:
            found = (
                await session.execute(
                    select(func.count(E.id), func.max(E.updated_at), func.sum(E.id)).where(
                        E.status == EntryStatus.APPROVED.value
                    )
                )
            ).one()
            return f"{found[0]}:{found[1]}:{found[2]}"

    async def chronicle(self) -> list[tuple[str, str]]:
        """``(public id, search text)`` of every approved entry (for the search index)."""
        async with reading(self.sessions) as session:
            rows = await session.execute(
                select(E.public_id, E.search_text).where(E.status == EntryStatus.APPROVED.value)
            )
            return [(public_id, text) for public_id, text in rows]

    async def all_entries(self) -> list[Entry]:
        async with reading(self.sessions) as session:
            rows = await session.scalars(select(E).order_by(E.created_at, E.id))
            return [to_entry(row) for row in rows]

    async def set_photo_ref(self, photo_key: str, platform: str, ref: str) -> None:
        async with writing(self.sessions) as session:
            rows = await session.scalars(select(E).where(E.photo_key == photo_key))
            for row in rows:
                if (row.photo_refs or {}).get(platform) != ref:
                    row.photo_refs = {**(row.photo_refs or {}), platform: ref}

    # -- decisions ---------------------------------------------------------------------------

    async def add_decision(self, decision: Decision) -> Decision:
        async with writing(self.sessions) as session:
            row = models.RegimentDecision(
                entry_id=decision.entry_id,
                action=decision.action.value,
                reason=decision.reason,
                actor=decision.actor,
                actor_name=decision.actor_name,
                at=decision.at,
            )
            session.add(row)
            await session.flush()
            return to_decision(row)

    async def decisions(self, entry_id: int) -> list[Decision]:
        async with reading(self.sessions) as session:
            rows = await session.scalars(
                select(D).where(D.entry_id == entry_id).order_by(D.at, D.id)
            )
            return [to_decision(row) for row in rows]

    async def get_decision(self, decision_id: int) -> Decision | None:
        async with reading(self.sessions) as session:
            row = await session.get(D, decision_id)
            return to_decision(row) if row is not None else None

    # -- marches -----------------------------------------------------------------------------

    async def add_march(self, march: March, chats: Sequence[tuple[int, str]]) -> March:
        async with writing(self.sessions) as session:
            row = models.RegimentMarch(
                day=march.day,
                start_time=march.start_time,
                timezone=march.timezone,
                rolling=march.rolling,
                spacing_seconds=int(march.spacing.total_seconds()),
                languages=list(march.languages),
                status=march.status,
                created_by=march.created_by,
            )
            session.add(row)
            await session.flush()
            for subscription_id, title in dict(chats).items():
                session.add(
                    models.RegimentMarchChat(
                        march_id=row.id, subscription_id=subscription_id, title=title[:200]
                    )
                )
            await session.flush()
            return to_march(row)

    async def get_march(self, march_id: int) -> March | None:
        async with reading(self.sessions) as session:
            row = await session.get(M, march_id)
            return to_march(row) if row is not None else None

    async def marches_after(self, instant: dt.datetime) -> list[March]:
        # a day ends at most 14 hours after it ends in UTC (UTC-12 is the westernmost zone)
        earliest = (instant - dt.timedelta(hours=14)).date()
        async with reading(self.sessions) as session:
            rows = await session.scalars(
                select(M)
                .where(M.status == "scheduled", M.day >= earliest)
                .order_by(M.day, M.start_time, M.id)
            )
            return [to_march(row) for row in rows]

    async def cancel_march(self, march_id: int) -> None:
        async with writing(self.sessions) as session:
            await session.execute(update(M).where(M.id == march_id).values(status="cancelled"))

    async def march_chats(self, march_id: int) -> list[MarchChat]:
        async with reading(self.sessions) as session:
            rows = await session.execute(
                select(MC.subscription_id, S.platform, S.chat_id, S.timezone, MC.title)
                .join(S, S.id == MC.subscription_id)
                .where(MC.march_id == march_id)
                .order_by(MC.id)
            )
            return [MarchChat(*row) for row in rows]

    async def slots(self, march_id: int) -> list[Slot]:
        async with reading(self.sessions) as session:
            rows = await session.scalars(
                select(SL).where(SL.march_id == march_id).order_by(SL.position)
            )
            return [Slot(row.march_id, row.entry_id, row.position) for row in rows]

    async def slots_of(self, entry_id: int) -> list[Slot]:
        async with reading(self.sessions) as session:
            rows = await session.scalars(
                select(SL).where(SL.entry_id == entry_id).order_by(SL.march_id)
            )
            return [Slot(row.march_id, row.entry_id, row.position) for row in rows]

    async def add_slots(self, march_id: int, entry_ids: Sequence[int]) -> list[Slot]:
        async with writing(self.sessions) as session:
            existing = dict(
                (
                    await session.execute(
                        select(SL.entry_id, SL.position).where(SL.march_id == march_id)
                    )
                ).all()
            )
            position = max(existing.values(), default=-1) + 1
            added: list[Slot] = []
            for entry_id in entry_ids:
                if entry_id in existing:
                    continue
                session.add(
                    models.RegimentSlot(march_id=march_id, entry_id=entry_id, position=position)
                )
                existing[entry_id] = position
                added.append(Slot(march_id, entry_id, position))
                position += 1
            await session.flush()
            return added

    # -- the ledger --------------------------------------------------------------------------

    async def queue_rows(self, rows: Sequence[LedgerRow]) -> int:
        if not rows:
            return 0
        async with writing(self.sessions) as session:
            insert = _insert(session, models.Delivery.__table__)
            now = dt.datetime.now(dt.UTC)
            values = [
                {
                    "subscription_id": row.subscription_id,
                    "item_key": row.item_key,
                    "occurrence_date": row.day,
                    "due_at": row.due_at,
                    "status": "queued",
                    "attempts": 0,
                    "not_before": row.due_at,
                    "created_at": now,
                }
                for row in rows
            ]
            statement = insert.on_conflict_do_nothing(
                index_elements=["subscription_id", "item_key", "occurrence_date"]
            ).returning(models.Delivery.id)
            added = 0
            for chunk in _chunks(values, 500):
                found = await session.execute(statement.values(chunk))
                added += len(found.all())
            return added

    async def personal_subscription(
        self, platform: str, chat_id: str, language: str, timezone: str
    ) -> int:
        async with writing(self.sessions) as session:
            row = await session.scalar(
                select(S).where(S.platform == platform, S.chat_id == chat_id, S.thread_id == "")
            )
            if row is None:
                row = models.Subscription(
                    platform=platform,
                    chat_id=chat_id,
                    thread_id="",
                    language=language,
                    timezone=timezone,
                    delivery_time=dt.time(9, 0),
                    topics=[],
                    follow="none",
                    active=True,
                )
                session.add(row)
                await session.flush()
            return row.id

    async def event_chats(self) -> list[MarchChat]:
        async with reading(self.sessions) as session:
            rows = await session.execute(
                select(S.id, S.platform, S.chat_id, S.timezone, S.topics)
                .where(S.active.is_(True), S.follow != "none")
                .order_by(S.id)
            )
            return [
                MarchChat(id_, platform, chat_id, timezone)
                for id_, platform, chat_id, timezone, topics in rows
                if "events" in (topics or [])
            ]


def _insert(session: AsyncSession, table: Any) -> Any:
    is_postgres = session.get_bind().dialect.name == "postgresql"
    return postgresql.insert(table) if is_postgres else sqlite.insert(table)


def _chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[start : start + size] for start in range(0, len(items), size)]
