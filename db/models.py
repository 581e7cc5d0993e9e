"""Typed SQLAlchemy 2.0 models. Classes are singular, tables plural; platform ids are strings;
timestamps are aware UTC (stored as naive UTC on SQLite, ``timestamptz`` on PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    Time,
    TypeDecorator,
    UniqueConstraint,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JsonType = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[dt.datetime]):
    """An aware UTC timestamp on every database."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware UTC instant is required")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    """The declarative base with a stable constraint naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JsonType, list[Any]: JsonType}  # noqa: RUF012


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class MemorialPerson(Base):
    """Which people a memorial commemorates."""

    __tablename__ = "memorial_people"

    memorial_id: Mapped[int] = mapped_column(
        ForeignKey("memorials.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)


class Memorial(Base):
    """A grave, monument, plaque, cemetery or museum."""

    __tablename__ = "memorials"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    names: Mapped[dict[str, Any]]
    aliases: Mapped[list[Any]]
    description: Mapped[dict[str, Any]]
    address: Mapped[str | None] = mapped_column(Text)
    city: Mapped[dict[str, Any]]
    region: Mapped[dict[str, Any]]
    country: Mapped[str] = mapped_column(String(2))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    precision: Mapped[str] = mapped_column(String(10))
    inscription: Mapped[dict[str, Any]]
    year: Mapped[int | None] = mapped_column(Integer)
    sources: Mapped[list[Any]]
    search_text: Mapped[str] = mapped_column(Text, default="")
    """Every searchable string, folded (see ``bot.core.search.fold``), for SQL prefiltering."""
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=_utcnow)

    people: Mapped[list[Person]] = relationship(
        secondary="memorial_people", order_by="MemorialPerson.position", viewonly=True
    )


class Person(Base):
    """Someone commemorated."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    names: Mapped[dict[str, Any]]
    aliases: Mapped[list[Any]]
    born: Mapped[int | None] = mapped_column(Integer)
    died: Mapped[int | None] = mapped_column(Integer)
    rank: Mapped[dict[str, Any]]
    unit: Mapped[dict[str, Any]]
    fate: Mapped[dict[str, Any]]
    burial_memorial_id: Mapped[int | None] = mapped_column(
        ForeignKey("memorials.id", ondelete="SET NULL")
    )
    sources: Mapped[list[Any]]


class Anniversary(Base):
    """A dated fact remembered on its month and day."""

    __tablename__ = "anniversaries"
    __table_args__ = (Index("ix_anniversaries_month_day", "month", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    month: Mapped[int] = mapped_column(Integer)
    day: Mapped[int] = mapped_column(Integer)
    year: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(30))
    memorial_id: Mapped[int | None] = mapped_column(ForeignKey("memorials.id", ondelete="SET NULL"))
    observed_in: Mapped[list[Any]]
    title: Mapped[dict[str, Any]]
    text: Mapped[dict[str, Any]]
    sources: Mapped[list[Any]]

    memorial: Mapped[Memorial | None] = relationship(lazy="joined")


class Event(Base):
    """A ceremony or action announced for an instant in a place's zone."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_starts_at", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    timezone: Mapped[str] = mapped_column(String(64))
    memorial_id: Mapped[int | None] = mapped_column(ForeignKey("memorials.id", ondelete="SET NULL"))
    place: Mapped[dict[str, Any]]
    organizer: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="scheduled")
    title: Mapped[dict[str, Any]]
    description: Mapped[dict[str, Any]]
    sources: Mapped[list[Any]]
    recurrence: Mapped[str | None] = mapped_column(String(10))
    """``yearly`` for a ceremony held every year around ``starts_at``; NULL: once."""
    confirmed: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    """False while no organizer has confirmed this occurrence of a recurring ceremony."""
    languages: Mapped[list[Any] | None] = mapped_column(JsonType)
    country: Mapped[str | None] = mapped_column(String(2))
    city: Mapped[str | None] = mapped_column(String(120))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    ends_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reminders: Mapped[list[Any] | None] = mapped_column(JsonType)
    """Minutes before the start; NULL: the default reminders."""
    sequence: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    announced_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    """When the current version was published; NULL for a draft (never announced)."""
    created_by: Mapped[str | None] = mapped_column(String(100))
    origin: Mapped[str | None] = mapped_column(String(100))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=_utcnow)

    memorial: Mapped[Memorial | None] = relationship(lazy="joined")


class Chat(Base):
    """A chat's stored language and zone."""

    __tablename__ = "chats"
    __table_args__ = (UniqueConstraint("platform", "chat_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(64))
    language: Mapped[str | None] = mapped_column(String(8))
    timezone: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=_utcnow)


class Subscription(Base):
    """A chat (or forum topic) that receives the daily post at a local time."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        UniqueConstraint("platform", "chat_id", "thread_id"),
        Index("ix_subscriptions_active_next_run_at", "active", "next_run_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(64))
    thread_id: Mapped[str] = mapped_column(String(64), default="")
    language: Mapped[str] = mapped_column(String(8))
    timezone: Mapped[str] = mapped_column(String(64))
    delivery_time: Mapped[dt.time] = mapped_column(Time)
    topics: Mapped[list[Any]]
    follow: Mapped[str] = mapped_column(String(160), default="all", server_default="all")
    """Which announcements it hears of: ``all``, ``none``, ``country:BE``, ``city:Liège``,
    ``memorial:<slug>``."""
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    next_run_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    """The next instant the daily post is due, kept by the scheduler."""
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=_utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=_utcnow)


class Delivery(Base):
    """The delivery ledger: one row per subscription, item and occurrence date, ever."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("subscription_id", "item_key", "occurrence_date"),
        Index("ix_deliveries_status_due_at", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"))
    item_key: Mapped[str] = mapped_column(String(120))
    """``today`` for the daily post, ``event:<id>:<kind>`` for event items."""
    occurrence_date: Mapped[dt.date] = mapped_column(Date)
    """The subscriber's local date (daily posts) or the event's local start date."""
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(10), default="queued")
    """queued → sending → sent | failed | skipped; sending → queued to retry later."""
    reason: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    """A queued row is not claimed before this instant (a retry's backoff or a 429)."""
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    """When the row was claimed; a ``sending`` row whose lease ran out is claimed again."""
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=_utcnow)


class DeliveryWorker(Base):
    """A process that claims ledger rows, and when it last said it was alive.

    ``seen_at`` is the database's own clock in seconds since the epoch (no process clock
    takes part): a ``sending`` row whose holder has not been seen for a few seconds is
    claimed again at once, without waiting for the lease.
    """

    __tablename__ = "delivery_workers"

    worker: Mapped[str] = mapped_column(String(64), primary_key=True)
    platforms: Mapped[str] = mapped_column(String(200), default="")
    """The platforms it sends to, comma-separated: live workers of a platform share its
    token's ceiling."""
    seen_at: Mapped[float] = mapped_column(Float)
    started_at: Mapped[float] = mapped_column(Float)
    lock_key: Mapped[int | None] = mapped_column(BigInteger)
    """The key of the lock it holds while it runs (``db.locks.worker_lock``): once that lock is
    free, the process is gone, whatever ``seen_at`` says. ``NULL``: a worker that holds no such
    lock (a version before it), known dead only by ``seen_at``."""


class DeliveryFanOut(Base):
    """One row per event item and date: the item was fanned out to subscribers (or skipped)."""

    __tablename__ = "delivery_fanouts"
    __table_args__ = (UniqueConstraint("item_key", "occurrence_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_key: Mapped[str] = mapped_column(String(120))
    occurrence_date: Mapped[dt.date] = mapped_column(Date)
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(10))
    """``queued`` when fanned out, ``skipped`` (with ``reason``) when it fell due too long ago."""
    reason: Mapped[str | None] = mapped_column(Text)
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=_utcnow)


class Conversation(Base):
    """A conversation in progress (a form being filled), one per platform, chat, topic and
    user: the flow, the step awaiting an answer and the answers so far."""

    __tablename__ = "conversations"
    __table_args__ = (
        UniqueConstraint("platform", "chat_id", "thread_id", "user_id"),
        Index("ix_conversations_updated_at", "updated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(64))
    thread_id: Mapped[str] = mapped_column(String(64), default="")
    user_id: Mapped[str] = mapped_column(String(64))
    flow: Mapped[str] = mapped_column(String(40))
    step: Mapped[str] = mapped_column(String(40))
    turn: Mapped[int] = mapped_column(Integer, default=1)
    language: Mapped[str] = mapped_column(String(8), default="")
    answers: Mapped[dict[str, Any]] = mapped_column(JsonType)
    offered: Mapped[list[Any]] = mapped_column(JsonType)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=_utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=_utcnow)


class Organizer(Base):
    """A bot-wide organizer added in chat (``/organizer add``)."""

    __tablename__ = "organizers"
    __table_args__ = (UniqueConstraint("platform", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200), default="")
    added_by: Mapped[str] = mapped_column(String(100), default="")
    added_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=_utcnow)


class Rsvp(Base):
    """One person's answer to an event ("I'll be there", "Not this time")."""

    __tablename__ = "rsvps"
    __table_args__ = (UniqueConstraint("event_id", "platform", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200), default="")
    answer: Mapped[str] = mapped_column(String(10))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=_utcnow)


class Pin(Base):
    """A message the bot pinned in a chat, to unpin when its event is over."""

    __tablename__ = "pins"
    __table_args__ = (
        UniqueConstraint("platform", "chat_id", "message_id"),
        Index("ix_pins_until", "until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[str] = mapped_column(String(64))
    until: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class CalendarSpace(Base):
    """A space (a Discord server) that lists events in its own calendar."""

    __tablename__ = "calendar_spaces"
    __table_args__ = (UniqueConstraint("platform", "space_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    space_id: Mapped[str] = mapped_column(String(64))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class CalendarLink(Base):
    """An event copied into a space's own calendar: the copy's id, its version, a failure."""

    __tablename__ = "calendar_links"
    __table_args__ = (UniqueConstraint("platform", "space_id", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    space_id: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(64), default="")
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")


class RegimentEntry(Base):
    """A relative brought to the Immortal Regiment: who they were, their story and portrait,
    who submitted them (never published unless ``signed``) and where moderation stands."""

    __tablename__ = "regiment_entries"
    __table_args__ = (
        UniqueConstraint("public_id"),
        Index("ix_regiment_entries_submitter", "submitter_platform", "submitter_id"),
        Index("ix_regiment_entries_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(12))
    full_name: Mapped[str] = mapped_column(String(200))
    other_spelling: Mapped[str | None] = mapped_column(String(200))
    born: Mapped[int | None] = mapped_column(Integer)
    died: Mapped[int | None] = mapped_column(Integer)
    rank_unit: Mapped[str | None] = mapped_column(String(200))
    relation: Mapped[str | None] = mapped_column(String(100))
    story: Mapped[str] = mapped_column(Text, default="")
    photo_key: Mapped[str] = mapped_column(String(120), default="")
    photo_mime: Mapped[str] = mapped_column(String(20), default="")
    photo_refs: Mapped[dict[str, Any]]
    """The platforms' references to the cleaned portrait once posted (Telegram's file_id)."""
    submitter_platform: Mapped[str] = mapped_column(String(20))
    submitter_id: Mapped[str] = mapped_column(String(64))
    submitter_chat_id: Mapped[str] = mapped_column(String(64))
    submitter_name: Mapped[str] = mapped_column(String(200), default="")
    signed: Mapped[bool] = mapped_column(Boolean, default=False)
    language: Mapped[str] = mapped_column(String(8))
    timezone: Mapped[str] = mapped_column(String(64))
    search_text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=_utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=_utcnow)


class RegimentDecision(Base):
    """What happened to an entry, by whom and when: submitted, edited, approved, rejected
    (with the reason), sent back for changes, withdrawn, taken down."""

    __tablename__ = "regiment_decisions"
    __table_args__ = (Index("ix_regiment_decisions_entry_id", "entry_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("regiment_entries.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(100))
    """``platform:user_id`` of who did it."""
    actor_name: Mapped[str] = mapped_column(String(200), default="")
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=_utcnow)


class RegimentMarch(Base):
    """A march: from ``start_time`` on ``day``, one approved portrait every ``spacing_seconds``
    into the chosen chats; ``rolling`` starts at that local time in each chat's own zone."""

    __tablename__ = "regiment_marches"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date)
    start_time: Mapped[dt.time] = mapped_column(Time)
    timezone: Mapped[str] = mapped_column(String(64))
    rolling: Mapped[bool] = mapped_column(Boolean, default=False)
    spacing_seconds: Mapped[int] = mapped_column(Integer)
    languages: Mapped[list[Any]]
    status: Mapped[str] = mapped_column(String(12), default="scheduled")
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=_utcnow)


class RegimentMarchChat(Base):
    """A chat a march is posted in (through its subscription row in the delivery ledger)."""

    __tablename__ = "regiment_march_chats"
    __table_args__ = (UniqueConstraint("march_id", "subscription_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    march_id: Mapped[int] = mapped_column(ForeignKey("regiment_marches.id", ondelete="CASCADE"))
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200), default="")


class RegimentSlot(Base):
    """An entry's place in a march: the ``position``-th portrait."""

    __tablename__ = "regiment_slots"
    __table_args__ = (
        UniqueConstraint("march_id", "entry_id"),
        UniqueConstraint("march_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    march_id: Mapped[int] = mapped_column(ForeignKey("regiment_marches.id", ondelete="CASCADE"))
    entry_id: Mapped[int] = mapped_column(ForeignKey("regiment_entries.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
