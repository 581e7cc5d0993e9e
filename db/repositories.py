"""Repositories that implement the core's ports with SQLAlchemy and return core types."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from bot.core import domain
from bot.core.records import Dataset, ImportReport, KindCounts
from bot.core.search import SearchDocument, is_search_text, memorial_search_text, search_text
from bot.scheduling.planner import DAILY_ITEM
from db import models
from db.unit_of_work import Sessions, reading, writing

CHUNK = 500
"""Rows per statement when reading or writing many: well under SQLite's and PostgreSQL's
limits on bound parameters."""

Progress = Callable[[int, int], None]
"""Called as ``progress(done, total)`` while a dataset is written."""


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def _one_or_new(session: AsyncSession, model: Any, **keys: Any) -> Any:
    """The row of ``model`` with these key values, or a new one added to the session."""
    row = await session.scalar(select(model).filter_by(**keys))
    if row is None:
        row = model(**keys)
        session.add(row)
    return row


def _sources(rows: list[Any]) -> tuple[domain.Source, ...]:
    return tuple(domain.Source.from_row(row) for row in rows)


def _source_rows(sources: Sequence[domain.Source]) -> list[dict[str, str]]:
    return [source.as_row() for source in sources]


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
        recurrence=domain.Recurrence(row.recurrence) if row.recurrence else None,
        confirmed=row.confirmed,
        languages=tuple(row.languages or ()),
        country=row.country,
        city=row.city,
        lat=row.lat,
        lon=row.lon,
        ends_at=row.ends_at,
        reminders=tuple(int(m) for m in row.reminders)
        if row.reminders is not None
        else domain.DEFAULT_REMINDERS,
        sequence=row.sequence or 0,
        announced_at=row.announced_at,
        created_by=row.created_by,
        origin=row.origin,
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
        follow=row.follow or "all",
    )


async def _plan_again(session: AsyncSession, rows: Sequence[models.Subscription]) -> None:
    """Subscriptions whose settings changed are planned again by the next tick.

    Their daily posts queued ahead of time (``DELIVERY_PLAN_AHEAD``: still queued, never
    claimed, so ``not_before`` is still their due time) are withdrawn, and the next run of
    each is set to the earliest of them: the planner then plans that day again under the new
    settings (a new time, zone or topics), and a post whose time has come is still sent. A
    subscription with nothing queued ahead gets a NULL next run ("recompute")."""
    ids = [row.id for row in rows if row.id is not None]
    earliest: dict[int, dt.datetime] = {}
    if ids:
        D = models.Delivery  # noqa: N806
        withdrawn = await session.execute(
            delete(D)
            .where(
                D.subscription_id.in_(ids),
                D.item_key == DAILY_ITEM,
                D.status == domain.DeliveryStatus.QUEUED.value,
                D.not_before == D.due_at,
            )
            .returning(D.subscription_id, D.due_at)
            .execution_options(synchronize_session=False)
        )
        for subscription_id, due_at in withdrawn:
            if subscription_id not in earliest or due_at < earliest[subscription_id]:
                earliest[subscription_id] = due_at
    for row in rows:
        row.next_run_at = earliest.get(row.id) if row.id is not None else None


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

    async def search_documents(self) -> list[SearchDocument]:
        """Every memorial's slug, position and stored search text, by slug.

        Rows whose ``search_text`` predates the current format get it computed here (in
        memory; the next import of the memorial stores it).
        """
        memorial = models.Memorial
        async with self.sessions() as session:
            rows = (
                await session.execute(
                    select(
                        memorial.slug, memorial.lat, memorial.lon, memorial.search_text
                    ).order_by(memorial.slug)
                )
            ).all()
        stale = [slug for slug, _, _, text in rows if not is_search_text(text)]
        computed: dict[str, str] = {}
        if stale:
            people = {person.slug: person for person in await self.all_people()}
            for item in await self.memorials_by_slugs(stale):
                commemorated = [people[ref.slug] for ref in item.people if ref.slug in people]
                computed[item.slug] = memorial_search_text(item, commemorated)
        return [
            SearchDocument(slug, lat, lon, computed.get(slug, text))
            for slug, lat, lon, text in rows
        ]

    async def memorials_by_slugs(self, slugs: Sequence[str]) -> list[domain.Memorial]:
        """The memorials with these slugs, with their people (unknown slugs are left out)."""
        found: list[domain.Memorial] = []
        async with self.sessions() as session:
            # PostgreSQL: one round trip, the people joined. SQLite materializes the joined
            # people of every memorial for that, so there the people come in a second query.
            joined = session.get_bind().dialect.name == "postgresql"
            people = (joinedload if joined else selectinload)(models.Memorial.people)
            for chunk in _chunks(list(dict.fromkeys(slugs))):
                rows = await session.scalars(
                    select(models.Memorial).options(people).where(models.Memorial.slug.in_(chunk))
                )
                found.extend(to_memorial(row) for row in rows.unique())
        return found

    async def search_version(self) -> str:
        """Changes whenever a memorial is added, removed or updated (its search text too)."""
        memorial = models.Memorial
        async with self.sessions() as session:
            count, last_id, last_update = (
                await session.execute(
                    select(func.count(), func.max(memorial.id), func.max(memorial.updated_at))
                )
            ).one()
        return f"{count}:{last_id}:{last_update}"


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
                .order_by(
                    models.Anniversary.year.is_(None),
                    models.Anniversary.year,
                    models.Anniversary.slug,
                )
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
        """Events starting at or after ``after``, soonest first; a yearly ceremony whose
        stored date has passed comes back at its next occurrence."""
        async with self.sessions() as session:
            rows = await session.scalars(
                select(models.Event)
                .where(
                    models.Event.starts_at >= after,
                    models.Event.status != domain.EventStatus.DRAFT.value,
                )
                .order_by(models.Event.starts_at, models.Event.slug)
                .limit(limit)
            )
            events = [to_event(row) for row in rows]
            recurring = await session.scalars(
                select(models.Event).where(
                    models.Event.starts_at < after, models.Event.recurrence.is_not(None)
                )
            )
            for row in recurring:
                moved = to_event(row).next_occurrence(after)
                if moved is not None:
                    events.append(moved)
        events.sort(key=lambda event: (event.starts_at, event.slug))
        return events[:limit]

    async def all_events(self) -> list[domain.Event]:
        """Every event, soonest first, drafts and past ones included."""
        async with reading(self.sessions) as session:
            rows = await session.scalars(
                select(models.Event).order_by(models.Event.starts_at, models.Event.slug)
            )
            return [to_event(row) for row in rows]

    async def get_event(self, event_id: int) -> domain.Event | None:
        """One event by id."""
        async with reading(self.sessions) as session:
            row = await session.get(models.Event, event_id)
            return to_event(row) if row else None

    async def save_event(self, event: domain.Event) -> domain.Event:
        """Create the event (no id) or replace the stored one; its memorial by slug."""
        async with writing(self.sessions) as session:
            memorial_ids: dict[str, int] = {}
            if event.memorial:
                found = await session.scalar(
                    select(models.Memorial.id).where(models.Memorial.slug == event.memorial)
                )
                if found is None:
                    raise ValueError(f"unknown memorial {event.memorial!r}")
                memorial_ids[event.memorial] = found
            values = _event_values(event, memorial_ids) | _organized_values(event)
            row: models.Event
            if event.id is None:
                row = models.Event(slug=event.slug, **values)
                session.add(row)
            else:
                stored = await session.get(models.Event, event.id)
                if stored is None:
                    raise LookupError(f"no event {event.id}")
                row = stored
                for name, value in values.items():
                    setattr(row, name, value)
            row.updated_at = dt.datetime.now(dt.UTC)
            await session.flush()
            await session.refresh(row, ["memorial"])
            return to_event(row)


class SqlChatRepository:
    """Chat settings and subscriptions in SQL."""

    def __init__(self, sessions: Sessions) -> None:
        self.sessions = sessions

    async def get_settings(self, platform: str, chat_id: str) -> domain.ChatSettings | None:
        """The chat's stored settings."""
        async with reading(self.sessions) as session:
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
        async with writing(self.sessions) as session:
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
            changed = list(subscriptions)
            for subscription in changed:
                if settings.language:
                    subscription.language = settings.language
                if settings.timezone:
                    subscription.timezone = settings.timezone
                subscription.updated_at = dt.datetime.now(dt.UTC)
            await _plan_again(session, changed)

    async def get_subscription(
        self, platform: str, chat_id: str, thread_id: str = ""
    ) -> domain.Subscription | None:
        """The chat's (or topic's) subscription."""
        async with reading(self.sessions) as session:
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
        async with writing(self.sessions) as session:
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
            row.follow = subscription.follow
            row.updated_at = dt.datetime.now(dt.UTC)
            await session.flush()
            await _plan_again(session, [row])
            return to_subscription(row)

    async def migrate_chat(self, platform: str, old_chat_id: str, new_chat_id: str) -> None:
        """Move settings and subscriptions to the new id; the new id's own rows give way."""
        async with writing(self.sessions) as session:
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
        async with writing(self.sessions) as session:
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
        async with reading(self.sessions) as session:
            rows = await session.scalars(
                select(models.Subscription)
                .where(models.Subscription.active.is_(True))
                .order_by(models.Subscription.id)
            )
            return [to_subscription(row) for row in rows]


class SqlDatasetStore:
    """Writes whole datasets (every record matched by slug, in one transaction) and reads them
    back for export."""

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
        """Insert or update every record of ``dataset``; returns how many records changed."""
        return (await self.import_dataset(dataset)).changed

    async def import_dataset(
        self, dataset: Dataset, progress: Progress | None = None
    ) -> ImportReport:
        """Insert or update every record of ``dataset`` in one transaction; what it did.

        The dataset must be valid, references included (``records.check_references`` against
        ``known_slugs``): a failure rolls everything back and raises.
        """
        async with self.sessions.begin() as session:
            return await upsert_dataset(session, dataset, progress)

    async def known_slugs(self) -> dict[str, set[str]]:
        """The slugs stored, per kind (``memorials``, ``people``, ``anniversaries``, ``events``)."""
        kinds: dict[str, Any] = {
            "memorials": models.Memorial,
            "people": models.Person,
            "anniversaries": models.Anniversary,
            "events": models.Event,
        }
        async with self.sessions() as session:
            return {
                kind: set(await session.scalars(select(model.slug)))
                for kind, model in kinds.items()
            }

    async def load_dataset(self) -> Dataset:
        """Everything stored, as core records: memorials and people by slug, anniversaries by
        date, events by start."""
        async with self.sessions() as session:
            memorials = await session.scalars(
                select(models.Memorial)
                .options(selectinload(models.Memorial.people))
                .order_by(models.Memorial.slug)
            )
            dataset = Dataset(memorials=[to_memorial(row) for row in memorials])
            burial = models.Memorial
            people = await session.execute(
                select(models.Person, burial.slug)
                .outerjoin(burial, burial.id == models.Person.burial_memorial_id)
                .order_by(models.Person.slug)
            )
            dataset.people = [to_person(person, slug) for person, slug in people]
            anniversaries = await session.scalars(
                select(models.Anniversary).order_by(
                    models.Anniversary.month, models.Anniversary.day, models.Anniversary.slug
                )
            )
            dataset.anniversaries = [to_anniversary(row) for row in anniversaries]
            events = await session.scalars(
                select(models.Event).order_by(models.Event.starts_at, models.Event.slug)
            )
            dataset.events = [to_event(row) for row in events]
        return dataset


# -- writing a dataset ----------------------------------------------------------------------


def _memorial_values(memorial: domain.Memorial) -> dict[str, Any]:
    return {
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
    }


def _person_values(person: domain.Person, memorial_ids: Mapping[str, int]) -> dict[str, Any]:
    return {
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


def _anniversary_values(
    anniversary: domain.Anniversary, memorial_ids: Mapping[str, int]
) -> dict[str, Any]:
    return {
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


def _event_values(event: domain.Event, memorial_ids: Mapping[str, int]) -> dict[str, Any]:
    return {
        "starts_at": event.starts_at,
        "timezone": event.timezone,
        "memorial_id": memorial_ids.get(event.memorial or ""),
        "place": dict(event.place),
        "organizer": event.organizer,
        "status": event.status.value,
        "title": dict(event.title),
        "description": dict(event.description),
        "sources": _source_rows(event.sources),
        "recurrence": event.recurrence.value if event.recurrence else None,
        "confirmed": event.confirmed,
        "languages": list(event.languages) or None,
        "country": event.country,
        "city": event.city,
        "lat": event.lat,
        "lon": event.lon,
        "ends_at": event.ends_at,
    }


def _organized_values(event: domain.Event) -> dict[str, Any]:
    """What only organizers set (imports leave it as it is)."""
    return {
        "reminders": None if event.reminders == domain.DEFAULT_REMINDERS else list(event.reminders),
        "sequence": event.sequence,
        "announced_at": event.announced_at,
        "created_by": event.created_by,
        "origin": event.origin,
    }


class _Writer:
    """One dataset write: syncs rows kind by kind, counting and reporting progress."""

    def __init__(self, session: AsyncSession, total: int, progress: Progress | None) -> None:
        self.session = session
        self.total = total
        self.done = 0
        self.progress = progress
        self.now = dt.datetime.now(dt.UTC)

    def advance(self, count: int) -> None:
        self.done += count
        if self.progress is not None:
            self.progress(self.done, self.total)

    async def ids(self, model: Any, slugs: Iterable[str]) -> dict[str, int]:
        """The ids of the stored rows with these slugs."""
        found: dict[str, int] = {}
        for chunk in _chunks(sorted(set(slugs))):
            rows = await self.session.execute(
                select(model.slug, model.id).where(model.slug.in_(chunk))
            )
            found.update({slug: row_id for slug, row_id in rows})
        return found

    async def sync(
        self,
        model: Any,
        items: Sequence[tuple[str, dict[str, Any], dict[str, Any]]],
        counts: KindCounts,
        statuses: dict[str, str] | None = None,
    ) -> dict[str, int]:
        """Insert or update ``(slug, values, derived)`` rows; returns every slug's id.

        ``values`` are the record's own fields (a difference counts as an update); ``derived``
        ones (the search text) are written when they differ but do not count. ``updated_at``
        is set on rows that change, when the model has it.
        """
        touch = hasattr(model, "updated_at")
        columns = list(
            dict.fromkeys(name for _, values, derived in items[:1] for name in [*values, *derived])
        )
        ids: dict[str, int] = {}
        for chunk in _chunks(items):
            stored = {
                row.slug: row
                for row in await self.session.execute(
                    select(model.id, model.slug, *(getattr(model, c) for c in columns)).where(
                        model.slug.in_([slug for slug, _, _ in chunk])
                    )
                )
            }
            inserts: list[dict[str, Any]] = []
            updates: list[dict[str, Any]] = []
            derived_updates: list[dict[str, Any]] = []
            stamp = {"updated_at": self.now} if touch else {}
            for slug, values, derived in chunk:
                row = stored.get(slug)
                if row is None:
                    inserts.append({"slug": slug, **values, **derived, **stamp})
                    counts.created += 1
                    status = "created"
                elif any(getattr(row, key) != value for key, value in values.items()):
                    updates.append({"id": row.id, **values, **derived, **stamp})
                    ids[slug] = row.id
                    counts.updated += 1
                    status = "updated"
                else:
                    if any(getattr(row, key) != value for key, value in derived.items()):
                        derived_updates.append({"id": row.id, **derived, **stamp})
                    ids[slug] = row.id
                    counts.unchanged += 1
                    status = "unchanged"
                if statuses is not None:
                    statuses[slug] = status
            for batch in (updates, derived_updates):
                if batch:
                    await self.session.execute(update(model), batch)
            if inserts:
                await self.session.execute(insert(model), inserts)
                ids.update(await self.ids(model, [row["slug"] for row in inserts]))
            self.advance(len(chunk))
        return ids


async def upsert_dataset(
    session: AsyncSession, dataset: Dataset, progress: Progress | None = None
) -> ImportReport:
    """Write ``dataset`` inside an open transaction, every record matched by slug.

    A record replaces the stored one field by field (a field left out is emptied); records
    not in the dataset are kept. Memorials' search text is kept up to date, also for stored
    memorials whose people were renamed. Returns the counts per kind.
    """
    report = ImportReport()
    writer = _Writer(session, len(dataset), progress)

    # The names and aliases of every person a memorial of the dataset refers to.
    people_terms: dict[str, tuple[dict[str, str], list[str]]] = {
        p.slug: (dict(p.names), list(p.aliases)) for p in dataset.people
    }
    referenced = {ref.slug for m in dataset.memorials for ref in m.people} - set(people_terms)
    for chunk in _chunks(sorted(referenced)):
        rows = await session.execute(
            select(models.Person.slug, models.Person.names, models.Person.aliases).where(
                models.Person.slug.in_(chunk)
            )
        )
        people_terms.update({slug: (names, aliases) for slug, names, aliases in rows})

    def memorial_item(memorial: domain.Memorial) -> tuple[str, dict[str, Any], dict[str, Any]]:
        values = _memorial_values(memorial)
        commemorated = [people_terms[r.slug] for r in memorial.people if r.slug in people_terms]
        text = search_text(
            memorial.names, memorial.aliases, memorial.city, memorial.address, commemorated
        )
        return memorial.slug, values, {"search_text": text}

    memorial_status: dict[str, str] = {}
    memorial_counts = KindCounts()
    memorial_ids = await writer.sync(
        models.Memorial,
        [memorial_item(m) for m in dataset.memorials],
        memorial_counts,
        memorial_status,
    )
    wanted_memorials = (
        {p.burial_memorial for p in dataset.people if p.burial_memorial}
        | {a.memorial for a in dataset.anniversaries if a.memorial}
        | {e.memorial for e in dataset.events if e.memorial}
    ) - set(memorial_ids)
    memorial_ids.update(await writer.ids(models.Memorial, wanted_memorials))

    person_status: dict[str, str] = {}
    person_ids = await writer.sync(
        models.Person,
        [(p.slug, _person_values(p, memorial_ids), {}) for p in dataset.people],
        report.counts["people"],
        person_status,
    )
    linked = {ref.slug for m in dataset.memorials for ref in m.people} - set(person_ids)
    person_ids.update(await writer.ids(models.Person, linked))

    relinked = await _sync_links(session, dataset, memorial_ids, person_ids)
    for slug in relinked:
        if memorial_status.get(slug) == "unchanged":
            memorial_status[slug] = "updated"
            memorial_counts.unchanged -= 1
            memorial_counts.updated += 1
    report.counts["memorials"] = memorial_counts

    renamed = [person_ids[slug] for slug, status in person_status.items() if status == "updated"]
    await _refresh_search_text(
        session, renamed, {memorial_ids[m.slug] for m in dataset.memorials}, writer.now
    )

    await writer.sync(
        models.Anniversary,
        [(a.slug, _anniversary_values(a, memorial_ids), {}) for a in dataset.anniversaries],
        report.counts["anniversaries"],
    )
    await writer.sync(
        models.Event,
        [(e.slug, _event_values(e, memorial_ids), {}) for e in dataset.events],
        report.counts["events"],
    )
    await session.flush()
    return report


async def _sync_links(
    session: AsyncSession,
    dataset: Dataset,
    memorial_ids: Mapping[str, int],
    person_ids: Mapping[str, int],
) -> list[str]:
    """Make each memorial of the dataset commemorate its people, in order; the slugs of the
    memorials whose people changed."""
    link = models.MemorialPerson
    wanted = {
        memorial_ids[m.slug]: [
            (person_ids[ref.slug], position)
            for position, ref in enumerate(m.people)
            if ref.slug in person_ids
        ]
        for m in dataset.memorials
    }
    slugs = {memorial_ids[m.slug]: m.slug for m in dataset.memorials}
    changed: list[int] = []
    for chunk in _chunks(sorted(wanted)):
        current: dict[int, list[tuple[int, int]]] = {memorial_id: [] for memorial_id in chunk}
        rows = await session.execute(
            select(link.memorial_id, link.person_id, link.position)
            .where(link.memorial_id.in_(chunk))
            .order_by(link.memorial_id, link.position)
        )
        for memorial_id, person_id, position in rows:
            current[memorial_id].append((person_id, position))
        changed.extend(m for m in chunk if current[m] != wanted[m])
    for chunk in _chunks(changed):
        await session.execute(delete(link).where(link.memorial_id.in_(chunk)))
    new_links = [
        {"memorial_id": memorial_id, "person_id": person_id, "position": position}
        for memorial_id in changed
        for person_id, position in wanted[memorial_id]
    ]
    for chunk in _chunks(new_links):
        await session.execute(insert(link), list(chunk))
    return [slugs[memorial_id] for memorial_id in changed]


async def _refresh_search_text(
    session: AsyncSession, person_ids: Sequence[int], done: set[int], now: dt.datetime
) -> None:
    """Recompute the search text of stored memorials that commemorate renamed people."""
    link = models.MemorialPerson
    memorial_ids: set[int] = set()
    for chunk in _chunks(sorted(person_ids)):
        memorial_ids.update(
            await session.scalars(select(link.memorial_id).where(link.person_id.in_(chunk)))
        )
    memorial_ids -= done
    memorial = models.Memorial
    for chunk in _chunks(sorted(memorial_ids)):
        links = (
            await session.execute(
                select(link.memorial_id, models.Person.names, models.Person.aliases)
                .join(models.Person, models.Person.id == link.person_id)
                .where(link.memorial_id.in_(chunk))
                .order_by(link.memorial_id, link.position)
            )
        ).all()
        people: dict[int, list[tuple[dict[str, str], list[str]]]] = {}
        for memorial_id, names, aliases in links:
            people.setdefault(memorial_id, []).append((names, aliases))
        rows = await session.execute(
            select(
                memorial.id,
                memorial.names,
                memorial.aliases,
                memorial.city,
                memorial.address,
                memorial.search_text,
            ).where(memorial.id.in_(chunk))
        )
        updates = []
        for row_id, names, aliases, city, address, stored in rows:
            text = search_text(names, aliases, city, address, people.get(row_id, []))
            if text != stored:
                updates.append({"id": row_id, "search_text": text, "updated_at": now})
        if updates:
            await session.execute(update(memorial), updates)


def _choice(item: Any) -> tuple[str, str | None]:
    """An offered choice as stored: ``[value, label]``, or a bare value (no label kept)."""
    if isinstance(item, list) and len(item) == 2:
        return str(item[0]), str(item[1])
    return str(item), None


class SqlConversationRepository:
    """Conversations in progress, in SQL (they survive a restart)."""

    def __init__(self, sessions: Sessions) -> None:
        self.sessions = sessions

    @staticmethod
    def _where(key: domain.ConversationKey) -> tuple[Any, ...]:
        return (
            models.Conversation.platform == key.platform,
            models.Conversation.chat_id == key.chat_id,
            models.Conversation.thread_id == key.thread_id,
            models.Conversation.user_id == key.user_id,
        )

    async def get_conversation(
        self, key: domain.ConversationKey
    ) -> domain.ConversationState | None:
        """The conversation of this key, if one is in progress."""
        async with reading(self.sessions) as session:
            row = await session.scalar(select(models.Conversation).where(*self._where(key)))
            if row is None:
                return None
            choices = [_choice(item) for item in row.offered or ()]
            return domain.ConversationState(
                key=key,
                flow=row.flow,
                step=row.step,
                answers=dict(row.answers or {}),
                updated_at=row.updated_at,
                turn=row.turn,
                offered=tuple(value for value, _ in choices),
                labels=tuple(label or "" for _, label in choices)
                if all(label is not None for _, label in choices)
                else (),
                language=row.language,
            )

    async def save_conversation(self, state: domain.ConversationState) -> None:
        """Create or replace the conversation of ``state.key``."""
        async with writing(self.sessions) as session:
            row = await session.scalar(select(models.Conversation).where(*self._where(state.key)))
            if row is None:
                row = models.Conversation(
                    platform=state.key.platform,
                    chat_id=state.key.chat_id,
                    thread_id=state.key.thread_id,
                    user_id=state.key.user_id,
                    created_at=state.updated_at,
                )
                session.add(row)
            row.flow = state.flow
            row.step = state.step
            row.turn = state.turn
            row.language = state.language
            row.answers = dict(state.answers)
            if state.labels:
                pairs = zip(state.offered, state.labels, strict=True)
                row.offered = [[value, label] for value, label in pairs]
            else:
                row.offered = list(state.offered)
            row.updated_at = state.updated_at

    async def delete_conversation(self, key: domain.ConversationKey) -> bool:
        """End the conversation of this key; whether there was one."""
        async with writing(self.sessions) as session:
            result = await session.execute(delete(models.Conversation).where(*self._where(key)))
            return bool(getattr(result, "rowcount", 0))

    async def delete_idle_conversations(self, before: dt.datetime) -> int:
        """End every conversation not touched since ``before``; how many."""
        async with writing(self.sessions) as session:
            result = await session.execute(
                delete(models.Conversation).where(models.Conversation.updated_at < before)
            )
            return int(getattr(result, "rowcount", 0) or 0)


class SqlOrganizerRepository:
    """Bot-wide organizers added in chat, in SQL."""

    def __init__(self, sessions: Sessions) -> None:
        self.sessions = sessions

    async def list_organizers(self) -> list[domain.Organizer]:
        """Every stored organizer, by platform and id."""
        async with reading(self.sessions) as session:
            rows = await session.scalars(
                select(models.Organizer).order_by(
                    models.Organizer.platform, models.Organizer.user_id
                )
            )
            return [
                domain.Organizer(row.platform, row.user_id, row.name, row.added_by, row.added_at)
                for row in rows
            ]

    async def add_organizer(self, organizer: domain.Organizer) -> bool:
        """Store an organizer; False when they were one already (their name is updated)."""
        async with writing(self.sessions) as session:
            row = await session.scalar(
                select(models.Organizer).where(
                    models.Organizer.platform == organizer.platform,
                    models.Organizer.user_id == organizer.user_id,
                )
            )
            if row is not None:
                row.name = organizer.name or row.name
                return False
            session.add(
                models.Organizer(
                    platform=organizer.platform,
                    user_id=organizer.user_id,
                    name=organizer.name,
                    added_by=organizer.added_by,
                    added_at=organizer.added_at or dt.datetime.now(dt.UTC),
                )
            )
            return True

    async def remove_organizer(self, platform: str, user_id: str) -> bool:
        """Remove an organizer; whether they were one."""
        async with writing(self.sessions) as session:
            result = await session.execute(
                delete(models.Organizer).where(
                    models.Organizer.platform == platform, models.Organizer.user_id == user_id
                )
            )
            return bool(getattr(result, "rowcount", 0))

    async def is_organizer(self, platform: str, user_id: str) -> bool:
        """Whether a user is a stored organizer."""
        async with reading(self.sessions) as session:
            found = await session.scalar(
                select(models.Organizer.id).where(
                    models.Organizer.platform == platform, models.Organizer.user_id == user_id
                )
            )
            return found is not None


class SqlRsvpRepository:
    """Answers to events, in SQL."""

    def __init__(self, sessions: Sessions) -> None:
        self.sessions = sessions

    async def answer(self, rsvp: domain.Rsvp) -> domain.Rsvp | None:
        """Record an answer; the same answer again takes it back. The answer now stored."""
        async with writing(self.sessions) as session:
            row = await session.scalar(
                select(models.Rsvp).where(
                    models.Rsvp.event_id == rsvp.event_id,
                    models.Rsvp.platform == rsvp.platform,
                    models.Rsvp.user_id == rsvp.user_id,
                )
            )
            if row is not None and row.answer == rsvp.answer.value:
                await session.delete(row)
                return None
            if row is None:
                row = models.Rsvp(
                    event_id=rsvp.event_id, platform=rsvp.platform, user_id=rsvp.user_id
                )
                session.add(row)
            row.answer = rsvp.answer.value
            row.name = rsvp.name[:200]
            row.updated_at = dt.datetime.now(dt.UTC)
            return rsvp

    async def count(self, event_id: int) -> domain.RsvpCount:
        """The answers to an event, over every platform."""
        async with reading(self.sessions) as session:
            rows = await session.execute(
                select(models.Rsvp.answer, func.count())
                .where(models.Rsvp.event_id == event_id)
                .group_by(models.Rsvp.answer)
            )
            found = {answer: int(number) for answer, number in rows}
            return domain.RsvpCount(
                yes=found.get(domain.RsvpAnswer.YES.value, 0),
                no=found.get(domain.RsvpAnswer.NO.value, 0),
            )

    async def answers(self, event_id: int) -> list[domain.Rsvp]:
        """Who answered, by platform and name."""
        async with reading(self.sessions) as session:
            rows = await session.scalars(
                select(models.Rsvp)
                .where(models.Rsvp.event_id == event_id)
                .order_by(models.Rsvp.platform, models.Rsvp.name, models.Rsvp.user_id)
            )
            return [
                domain.Rsvp(
                    row.event_id,
                    row.platform,
                    row.user_id,
                    domain.RsvpAnswer(row.answer),
                    row.name,
                )
                for row in rows
            ]


class SqlPinRepository:
    """Pinned messages, in SQL."""

    def __init__(self, sessions: Sessions) -> None:
        self.sessions = sessions

    async def add_pin(self, pin: domain.Pin) -> None:
        """Remember a pinned message (again: its time is updated)."""
        async with writing(self.sessions) as session:
            row = await _one_or_new(
                session,
                models.Pin,
                platform=pin.platform,
                chat_id=pin.chat_id,
                message_id=pin.message_id,
            )
            row.until = pin.until

    async def due_pins(self, platform: str, now: dt.datetime) -> list[domain.Pin]:
        """The platform's pins whose time is over, oldest first."""
        async with reading(self.sessions) as session:
            rows = await session.scalars(
                select(models.Pin)
                .where(models.Pin.platform == platform, models.Pin.until <= now)
                .order_by(models.Pin.until, models.Pin.id)
            )
            return [domain.Pin(r.platform, r.chat_id, r.message_id, r.until) for r in rows]

    async def remove_pin(self, pin: domain.Pin) -> None:
        """Forget a pin."""
        async with writing(self.sessions) as session:
            await session.execute(
                delete(models.Pin).where(
                    models.Pin.platform == pin.platform,
                    models.Pin.chat_id == pin.chat_id,
                    models.Pin.message_id == pin.message_id,
                )
            )


class SqlCalendarRepository:
    """Spaces with their own calendar, and the copies of events made there, in SQL."""

    def __init__(self, sessions: Sessions) -> None:
        self.sessions = sessions

    async def set_calendar(self, platform: str, space_id: str, enabled: bool) -> None:
        """Switch a space's own calendar on or off."""
        async with writing(self.sessions) as session:
            row = await _one_or_new(
                session, models.CalendarSpace, platform=platform, space_id=space_id
            )
            row.enabled = enabled

    async def calendar_spaces(self, platform: str) -> list[str]:
        """The spaces of a platform that switched it on."""
        async with reading(self.sessions) as session:
            rows = await session.scalars(
                select(models.CalendarSpace.space_id).where(
                    models.CalendarSpace.platform == platform,
                    models.CalendarSpace.enabled.is_(True),
                )
            )
            return sorted(rows)

    @staticmethod
    def _link(row: models.CalendarLink) -> domain.CalendarLink:
        return domain.CalendarLink(
            row.platform, row.space_id, row.event_id, row.external_id, row.sequence, row.error
        )

    async def links(self, platform: str, space_id: str) -> list[domain.CalendarLink]:
        """What was copied into a space's calendar."""
        async with reading(self.sessions) as session:
            rows = await session.scalars(
                select(models.CalendarLink).where(
                    models.CalendarLink.platform == platform,
                    models.CalendarLink.space_id == space_id,
                )
            )
            return [self._link(row) for row in rows]

    async def links_of(self, event_id: int) -> list[domain.CalendarLink]:
        """Every copy of one event, failures included."""
        async with reading(self.sessions) as session:
            rows = await session.scalars(
                select(models.CalendarLink).where(models.CalendarLink.event_id == event_id)
            )
            return [self._link(row) for row in rows]

    async def save_link(self, link: domain.CalendarLink) -> None:
        """Remember a copy (or its failure)."""
        async with writing(self.sessions) as session:
            row = await _one_or_new(
                session,
                models.CalendarLink,
                platform=link.platform,
                space_id=link.space_id,
                event_id=link.event_id,
            )
            row.external_id = link.external_id
            row.sequence = link.sequence
            row.error = link.error
