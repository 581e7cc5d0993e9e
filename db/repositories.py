"""Repositories that implement the core's ports with SQLAlchemy and return core types."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from bot.core import domain
from bot.core.records import Dataset
from bot.core.search import fold, memorial_terms
from db import models

Sessions = async_sessionmaker[AsyncSession]


def _sources(rows: list[Any]) -> tuple[domain.Source, ...]:
    return tuple(
        domain.Source(seed=row.get("seed"), ref=row.get("ref"), url=row.get("url"))
        for row in rows
    )


def _source_rows(sources: Sequence[domain.Source]) -> list[dict[str, str]]:
    rows = []
    for source in sources:
        row = {"seed": source.seed, "ref": source.ref, "url": source.url}
        rows.append({key: value for key, value in row.items() if value})
    return rows


def to_memorial(row: models.Memorial) -> domain.Memorial:
    """A memorial row (people loaded) as a core type."""
    return domain.Memorial(
        id=row.id,
        slug=row.slug,
        kind=domain.MemorialKind(row.kind),
        names=dict(row.names),
        aliases=tuple(row.aliases),
        description=dict(row.description),
        address=row.address,
        city=dict(row.city),
        region=dict(row.region),
        country=row.country,
        lat=row.lat,
        lon=row.lon,
        precision=domain.Precision(row.precision),
        inscription=dict(row.inscription),
        year=row.year,
        people=tuple(domain.PersonRef(p.slug, dict(p.names)) for p in row.people),
        sources=_sources(row.sources),
    )


def to_person(row: models.Person, burial: str | None) -> domain.Person:
    """A person row as a core type."""
    return domain.Person(
        id=row.id,
        slug=row.slug,
        names=dict(row.names),
        aliases=tuple(row.aliases),
        born=row.born,
        died=row.died,
        rank=dict(row.rank),
        unit=dict(row.unit),
        fate=dict(row.fate),
        burial_memorial=burial,
        sources=_sources(row.sources),
    )


def to_anniversary(row: models.Anniversary) -> domain.Anniversary:
    """An anniversary row as a core type."""
    return domain.Anniversary(
        id=row.id,
        slug=row.slug,
        month=row.month,
        day=row.day,
        year=row.year,
        kind=domain.AnniversaryKind(row.kind),
        memorial=row.memorial.slug if row.memorial else None,
        observed_in=tuple(row.observed_in),
        title=dict(row.title),
        text=dict(row.text),
        sources=_sources(row.sources),
    )


def to_event(row: models.Event) -> domain.Event:
    """An event row as a core type."""
    return domain.Event(
        id=row.id,
        slug=row.slug,
        starts_at=row.starts_at,
        timezone=row.timezone,
        memorial=row.memorial.slug if row.memorial else None,
        place=dict(row.place),
        organizer=row.organizer,
        status=domain.EventStatus(row.status),
        title=dict(row.title),
        description=dict(row.description),
        sources=_sources(row.sources),
    )


def to_subscription(row: models.Subscription) -> domain.Subscription:
    """A subscription row as a core type."""
    return domain.Subscription(
        id=row.id,
        platform=row.platform,
        chat_id=row.chat_id,
        thread_id=row.thread_id,
        language=row.language,
        timezone=row.timezone,
        delivery_time=row.delivery_time,
        topics=tuple(row.topics),
        active=row.active,
    )


class SqlMemorialRepository:
    """Memorials and people in SQL."""

    def __init__(self, sessions: Sessions) -> None:
        self.sessions = sessions

    async def all_memorials(self) -> list[domain.Memorial]:
        """Every memorial with its people, by slug."""
        async with self.sessions() as session:
            rows = await session.scalars(
                select(models.Memorial)
                .options(selectinload(models.Memorial.people))
                .order_by(models.Memorial.slug)
            )
            return [to_memorial(row) for row in rows]

    async def get_memorial(self, slug: str) -> domain.Memorial | None:
        """One memorial by slug."""
        async with self.sessions() as session:
            row = await session.scalar(
                select(models.Memorial)
                .options(selectinload(models.Memorial.people))
                .where(models.Memorial.slug == slug)
            )
            return to_memorial(row) if row else None

    async def all_people(self) -> list[domain.Person]:
        """Every person, by slug."""
        async with self.sessions() as session:
            burial = models.Memorial
            rows = await session.execute(
                select(models.Person, burial.slug)
                .outerjoin(burial, burial.id == models.Person.burial_memorial_id)
                .order_by(models.Person.slug)
            )
            return [to_person(person, slug) for person, slug in rows]


class SqlAnniversaryRepository:
    """Anniversaries in SQL."""

    def __init__(self, sessions: Sessions) -> None:
        self.sessions = sessions

    async def on_day(self, month: int, day: int) -> list[domain.Anniversary]:
        """Anniversaries of a month and day: dated ones oldest first, then undated."""
        async with self.sessions() as session:
            rows = await session.scalars(
                select(models.Anniversary)
                .where(models.Anniversary.month == month, models.Anniversary.day == day)
                .order_by(models.Anniversary.year.is_(None), models.Anniversary.year,
                          models.Anniversary.slug)
            )
            return [to_anniversary(row) for row in rows]

    async def all_anniversaries(self) -> list[domain.Anniversary]:
        """Every anniversary by date."""
        async with self.sessions() as session:
            rows = await session.scalars(
                select(models.Anniversary).order_by(
                    models.Anniversary.month, models.Anniversary.day, models.Anniversary.slug
                )
            )
            return [to_anniversary(row) for row in rows]


class SqlEventRepository:
    """Events in SQL."""

    def __init__(self, sessions: Sessions) -> None:
        self.sessions = sessions

    async def upcoming(self, after: dt.datetime, limit: int) -> list[domain.Event]:
        """Events starting at or after ``after``, soonest first."""
        async with self.sessions() as session:
            rows = await session.scalars(
                select(models.Event)
                .where(models.Event.starts_at >= after)
                .order_by(models.Event.starts_at, models.Event.slug)
                .limit(limit)
            )
            return [to_event(row) for row in rows]

    async def all_events(self) -> list[domain.Event]:
        """Every event, soonest first."""
        async with self.sessions() as session:
            rows = await session.scalars(
                select(models.Event).order_by(models.Event.starts_at, models.Event.slug)
            )
            return [to_event(row) for row in rows]


class SqlChatRepository:
    """Chat settings and subscriptions in SQL."""

    def __init__(self, sessions: Sessions) -> None:
        self.sessions = sessions

    async def get_settings(self, platform: str, chat_id: str) -> domain.ChatSettings | None:
        """The chat's stored settings."""
        async with self.sessions() as session:
            row = await session.scalar(
                select(models.Chat).where(
                    models.Chat.platform == platform, models.Chat.chat_id == chat_id
                )
            )
            if row is None:
                return None
            return domain.ChatSettings(platform, chat_id, row.language, row.timezone)

    async def save_settings(self, settings: domain.ChatSettings) -> None:
        """Store the chat's settings; its subscriptions follow its language and zone."""
        async with self.sessions.begin() as session:
            row = await session.scalar(
                select(models.Chat).where(
                    models.Chat.platform == settings.platform,
                    models.Chat.chat_id == settings.chat_id,
                )
            )
            if row is None:
                row = models.Chat(platform=settings.platform, chat_id=settings.chat_id)
                session.add(row)
            row.language = settings.language
            row.timezone = settings.timezone
            row.updated_at = dt.datetime.now(dt.UTC)
            subscriptions = await session.scalars(
                select(models.Subscription).where(
                    models.Subscription.platform == settings.platform,
                    models.Subscription.chat_id == settings.chat_id,
                )
            )
            for subscription in subscriptions:
                if settings.language:
                    subscription.language = settings.language
                if settings.timezone:
                    subscription.timezone = settings.timezone
                subscription.next_run_at = None
                subscription.updated_at = dt.datetime.now(dt.UTC)

    async def get_subscription(
        self, platform: str, chat_id: str, thread_id: str = ""
    ) -> domain.Subscription | None:
        """The chat's (or topic's) subscription."""
        async with self.sessions() as session:
            row = await session.scalar(
                select(models.Subscription).where(
                    models.Subscription.platform == platform,
                    models.Subscription.chat_id == chat_id,
                    models.Subscription.thread_id == thread_id,
                )
            )
            return to_subscription(row) if row else None

    async def save_subscription(self, subscription: domain.Subscription) -> domain.Subscription:
        """Create or update a subscription; its next run is recomputed by the scheduler."""
        async with self.sessions.begin() as session:
            row = await session.scalar(
                select(models.Subscription).where(
                    models.Subscription.platform == subscription.platform,
                    models.Subscription.chat_id == subscription.chat_id,
                    models.Subscription.thread_id == subscription.thread_id,
                )
            )
            if row is None:
                row = models.Subscription(
                    platform=subscription.platform,
                    chat_id=subscription.chat_id,
                    thread_id=subscription.thread_id,
                )
                session.add(row)
            row.language = subscription.language
            row.timezone = subscription.timezone
            row.delivery_time = subscription.delivery_time
            row.topics = list(subscription.topics)
            row.active = subscription.active
            row.next_run_at = None
            row.updated_at = dt.datetime.now(dt.UTC)
            await session.flush()
            return to_subscription(row)

    async def migrate_chat(self, platform: str, old_chat_id: str, new_chat_id: str) -> None:
        """Move settings and subscriptions to the new id; the new id's own rows give way."""
        async with self.sessions.begin() as session:
            old_chat = await session.scalar(
                select(models.Chat).where(
                    models.Chat.platform == platform, models.Chat.chat_id == old_chat_id
                )
            )
            if old_chat is not None:
                await session.execute(
                    delete(models.Chat).where(
                        models.Chat.platform == platform, models.Chat.chat_id == new_chat_id
                    )
                )
                await session.flush()
                old_chat.chat_id = new_chat_id
            moving = list(
                await session.scalars(
                    select(models.Subscription).where(
                        models.Subscription.platform == platform,
                        models.Subscription.chat_id == old_chat_id,
                    )
                )
            )
            if moving:
                threads = [row.thread_id for row in moving]
                await session.execute(
                    delete(models.Subscription).where(
                        models.Subscription.platform == platform,
                        models.Subscription.chat_id == new_chat_id,
                        models.Subscription.thread_id.in_(threads),
                    )
                )
                await session.flush()
                for row in moving:
                    row.chat_id = new_chat_id
                    row.updated_at = dt.datetime.now(dt.UTC)

    async def deactivate_chat(self, platform: str, chat_id: str) -> int:
        """Deactivate every active subscription of a chat; returns how many."""
        async with self.sessions.begin() as session:
            rows = list(
                await session.scalars(
                    select(models.Subscription).where(
                        models.Subscription.platform == platform,
                        models.Subscription.chat_id == chat_id,
                        models.Subscription.active.is_(True),
                    )
                )
            )
            for row in rows:
                row.active = False
                row.updated_at = dt.datetime.now(dt.UTC)
            return len(rows)

    async def active_subscriptions(self) -> list[domain.Subscription]:
        """Every active subscription."""
        async with self.sessions() as session:
            rows = await session.scalars(
                select(models.Subscription)
                .where(models.Subscription.active.is_(True))
                .order_by(models.Subscription.id)
            )
            return [to_subscription(row) for row in rows]


class SqlDatasetStore:
    """Writes whole datasets: every record matched by slug, in one transaction."""

    def __init__(self, sessions: Sessions) -> None:
        self.sessions = sessions

    async def is_empty(self) -> bool:
        """Whether no memorial, person, anniversary or event is stored yet."""
        async with self.sessions() as session:
            for model in (models.Memorial, models.Person, models.Anniversary, models.Event):
                if await session.scalar(select(func.count()).select_from(model)):
                    return False
            return True

    async def upsert(self, dataset: Dataset) -> int:
        """Insert or update every record of ``dataset``; returns how many rows changed."""
        async with self.sessions.begin() as session:
            return await upsert_dataset(session, dataset)


def _assign(row: Any, values: dict[str, Any]) -> bool:
    changed = False
    for key, value in values.items():
        if getattr(row, key) != value:
            setattr(row, key, value)
            changed = True
    return changed


async def _by_slug(session: AsyncSession, model: Any, slugs: list[str]) -> dict[str, Any]:
    if not slugs:
        return {}
    rows = await session.scalars(select(model).where(model.slug.in_(slugs)))
    return {row.slug: row for row in rows}


async def _slug_ids(session: AsyncSession, model: Any) -> dict[str, int]:
    rows = await session.execute(select(model.slug, model.id))
    return {slug: row_id for slug, row_id in rows}


async def upsert_dataset(session: AsyncSession, dataset: Dataset) -> int:
    """Upsert ``dataset`` inside an open transaction; returns how many rows changed."""
    changed = 0
    now = dt.datetime.now(dt.UTC)
    people_by_slug = {p.slug: p for p in dataset.people}
    memorial_rows = await _by_slug(session, models.Memorial, [m.slug for m in dataset.memorials])
    for memorial in dataset.memorials:
        row = memorial_rows.get(memorial.slug)
        if row is None:
            row = models.Memorial(slug=memorial.slug)
            session.add(row)
            changed += 1
        search_terms = memorial_terms(memorial)
        for ref in memorial.people:
            person = people_by_slug.get(ref.slug)
            if person is not None:
                search_terms.extend([*person.names.values(), *person.aliases])
        values: dict[str, Any] = {
            "kind": memorial.kind.value,
            "names": dict(memorial.names),
            "aliases": list(memorial.aliases),
            "description": dict(memorial.description),
            "address": memorial.address,
            "city": dict(memorial.city),
            "region": dict(memorial.region),
            "country": memorial.country,
            "lat": memorial.lat,
            "lon": memorial.lon,
            "precision": memorial.precision.value,
            "inscription": dict(memorial.inscription),
            "year": memorial.year,
            "sources": _source_rows(memorial.sources),
            "search_text": " ".join(dict.fromkeys(fold(term) for term in search_terms)),
        }
        if _assign(row, values) and row.id is not None:
            row.updated_at = now
            changed += 1
    await session.flush()
    memorial_ids = await _slug_ids(session, models.Memorial)

    person_rows = await _by_slug(session, models.Person, [p.slug for p in dataset.people])
    for person in dataset.people:
        row = person_rows.get(person.slug)
        if row is None:
            row = models.Person(slug=person.slug)
            session.add(row)
            changed += 1
        values = {
            "names": dict(person.names),
            "aliases": list(person.aliases),
            "born": person.born,
            "died": person.died,
            "rank": dict(person.rank),
            "unit": dict(person.unit),
            "fate": dict(person.fate),
            "burial_memorial_id": memorial_ids.get(person.burial_memorial or ""),
            "sources": _source_rows(person.sources),
        }
        if _assign(row, values) and row.id is not None:
            changed += 1
    await session.flush()
    person_ids = await _slug_ids(session, models.Person)

    for memorial in dataset.memorials:
        memorial_id = memorial_ids[memorial.slug]
        wanted = [(person_ids[ref.slug], pos) for pos, ref in enumerate(memorial.people)
                  if ref.slug in person_ids]
        current = (await session.execute(
            select(models.MemorialPerson.person_id, models.MemorialPerson.position)
            .where(models.MemorialPerson.memorial_id == memorial_id)
            .order_by(models.MemorialPerson.position)
        )).all()
        if [tuple(link) for link in current] != wanted:
            await session.execute(
                delete(models.MemorialPerson).where(
                    models.MemorialPerson.memorial_id == memorial_id
                )
            )
            session.add_all(
                models.MemorialPerson(memorial_id=memorial_id, person_id=pid, position=pos)
                for pid, pos in wanted
            )
            changed += 1

    anniversary_rows = await _by_slug(
        session, models.Anniversary, [a.slug for a in dataset.anniversaries]
    )
    for anniversary in dataset.anniversaries:
        row = anniversary_rows.get(anniversary.slug)
        if row is None:
            row = models.Anniversary(slug=anniversary.slug)
            session.add(row)
            changed += 1
        values = {
            "month": anniversary.month,
            "day": anniversary.day,
            "year": anniversary.year,
            "kind": anniversary.kind.value,
            "memorial_id": memorial_ids.get(anniversary.memorial or ""),
            "observed_in": list(anniversary.observed_in),
            "title": dict(anniversary.title),
            "text": dict(anniversary.text),
            "sources": _source_rows(anniversary.sources),
        }
        if _assign(row, values) and row.id is not None:
            changed += 1

    event_rows = await _by_slug(session, models.Event, [e.slug for e in dataset.events])
    for event in dataset.events:
        row = event_rows.get(event.slug)
        if row is None:
            row = models.Event(slug=event.slug)
            session.add(row)
            changed += 1
        values = {
            "starts_at": event.starts_at,
            "timezone": event.timezone,
            "memorial_id": memorial_ids.get(event.memorial or ""),
            "place": dict(event.place),
            "organizer": event.organizer,
            "status": event.status.value,
            "title": dict(event.title),
            "description": dict(event.description),
            "sources": _source_rows(event.sources),
        }
        if _assign(row, values) and row.id is not None:
            row.updated_at = now
            changed += 1
    await session.flush()
    return changed
