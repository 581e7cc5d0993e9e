"""The composition root: builds the database, the repositories, the core and the one
dispatcher from ``Settings`` (read from the environment once, by the CLI), and hands each its
dependencies explicitly. Adapters are built by the runner from ``App.dispatcher``."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from bot.config import ConfigError, Settings, regiment_settings
from bot.core.ports import Clock
from bot.core.regiment import Regiment
from bot.core.services import Core
from bot.core.timeutil import SystemClock
from bot.health import LiveHealth
from db.dataset import load_curated
from db.engine import (
    AsyncEngine,
    DatabaseUnavailable,
    DatabaseUrlError,
    DatabaseUrls,
    create_engine_for,
    parse_database_url,
    reading_only,
    schema_state,
    sessionmaker_for,
    sqlite_writable,
    upgrade,
)
from db.regiment import SqlRegimentRepository
from db.repositories import (
    SqlAnniversaryRepository,
    SqlCalendarRepository,
    SqlChatRepository,
    SqlConversationRepository,
    SqlDatasetStore,
    SqlEventRepository,
    SqlMemorialRepository,
    SqlOrganizerRepository,
    SqlPinRepository,
    SqlRsvpRepository,
)
from db.unit_of_work import Sessions, SqlUnitOfWork
from handlers.dispatch import Dispatcher

log = logging.getLogger(__name__)


@dataclass(slots=True)
class App:
    """Everything wired together: close it when done."""

    settings: Settings
    urls: DatabaseUrls
    engine: AsyncEngine
    sessions: Sessions
    core: Core
    store: SqlDatasetStore
    chats: SqlChatRepository
    anniversaries: SqlAnniversaryRepository
    events: SqlEventRepository
    dispatcher: Dispatcher
    """The one dispatcher every adapter is handed."""
    live: LiveHealth = field(default_factory=LiveHealth)
    """The running bot's health (platforms, the scheduler's tick), filled by ``run``."""

    async def close(self) -> None:
        """Let a background search-index refresh finish, then release the connections."""
        await self.core.finish_refresh()
        await self.engine.dispose()


def database_urls(settings: Settings) -> DatabaseUrls:
    """The database URLs of the settings; raise ConfigError when malformed."""
    try:
        return parse_database_url(settings.database_url)
    except DatabaseUrlError as error:
        raise ConfigError(str(error)) from None


async def migrate(settings: Settings) -> DatabaseUrls:
    """Migrate the database to the latest schema; raise ConfigError when it is unreachable."""
    urls = database_urls(settings)
    try:
        await asyncio.to_thread(upgrade, urls)
    except DatabaseUnavailable as error:
        raise ConfigError(str(error)) from None
    return urls


class SchemaBehind(ConfigError):
    """A read-only command found the database behind the code's schema."""


async def prepare_for_reading(settings: Settings) -> DatabaseUrls:
    """The database of a read-only command (``today``, ``memorial``, ``near``, ``events``,
    ``export``): never migrated when it exists, so that a user who may not write it can read
    it; raise ``SchemaBehind`` (one line) when it is behind the code's schema. A database that
    does not exist yet is created and migrated, as on any first use."""
    urls = database_urls(settings)
    try:
        state = await asyncio.to_thread(schema_state, urls)
    except DatabaseUnavailable as error:
        raise ConfigError(str(error)) from None
    if state.current is None:
        return await migrate(settings)
    if not state.is_current:
        raise SchemaBehind(
            f"the database {urls.safe()} is at schema {state.current}, behind this version's "
            f"{state.head}: run commemoration-bot db upgrade (as a user who may write it)"
        )
    return urls if sqlite_writable(urls) else reading_only(urls)


async def open_app(
    settings: Settings, *, clock: Clock | None = None, seed: bool = True, read_only: bool = False
) -> App:
    """Migrate the database, wire the core, and load the curated dataset into an empty one.

    ``read_only``: a command that only reads: the database is not migrated (see
    ``prepare_for_reading``)."""
    urls = await prepare_for_reading(settings) if read_only else await migrate(settings)
    engine = create_engine_for(urls)
    sessions = sessionmaker_for(engine)
    memorials = SqlMemorialRepository(sessions)
    anniversaries = SqlAnniversaryRepository(sessions)
    events = SqlEventRepository(sessions)
    chats = SqlChatRepository(sessions)
    conversations = SqlConversationRepository(sessions)
    store = SqlDatasetStore(sessions)
    clock = clock or SystemClock()
    core = Core(
        memorials=memorials,
        anniversaries=anniversaries,
        events=events,
        chats=chats,
        clock=clock,
        settings=settings.core_settings(),
        conversations=conversations,
        unit_of_work=SqlUnitOfWork(sessions),
        organizers=SqlOrganizerRepository(sessions),
        rsvps=SqlRsvpRepository(sessions),
        pins=SqlPinRepository(sessions),
        calendars=SqlCalendarRepository(sessions),
        regiment=Regiment(SqlRegimentRepository(sessions), regiment_settings(settings), clock),
    )
    app = App(
        settings,
        urls,
        engine,
        sessions,
        core,
        store,
        chats,
        anniversaries,
        events,
        Dispatcher(core),
    )
    if seed and not urls.read_only and await store.is_empty():
        dataset = load_curated()
        await store.upsert(dataset)
        log.info("loaded the curated dataset: %d records", len(dataset))
    return app
