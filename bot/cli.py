"""The operator interface (``../shared/interface.md``): ``commemoration-bot COMMAND``.

Exit status: 0 on success, 1 on bad input or a failed operation (one line on stderr), 2 on a
usage error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, NoReturn

from bot import __version__
from bot.app import App, migrate, open_app
from bot.config import ConfigError, RedactingFilter, Settings, load_environment, settings_from
from bot.core.domain import LANGUAGES, Event, Precision, ScoredMemorial, pick
from bot.core.geo import NEAR_RADIUS_KM, parse_point
from bot.core.i18n import CatalogError, Translator, check_catalogs
from bot.core.timeutil import ImpossibleDate, parse_day, zone

log = logging.getLogger("bot")


class CliError(Exception):
    """A failed operation: printed as one line, exit status 1."""


def english() -> Translator:
    """The operator interface's translator. The CLI speaks English by design (its words are
    the vocabulary of logs, scripts and bug reports), but its counts go through the same
    gettext catalogs and plural rules as the bot: ``english().ngettext("{count} error",
    "{count} errors", n)`` says "1 error", "2 errors"."""
    from bot.core.i18n import translator

    return translator("en")


def impossible_date(error: ImpossibleDate) -> str:
    """What is wrong with a date that does not exist: "30 February is not a date"."""
    import calendar

    if not 1 <= error.month <= 12:
        return f"there is no month {error.month}"
    year = f" {error.year}" if error.year is not None else ""
    return f"{error.day} {calendar.month_name[error.month]}{year} is not a date"


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= 1000:
        raise argparse.ArgumentTypeError("must be from 1 to 1000")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    parser = argparse.ArgumentParser(
        prog="commemoration-bot",
        description="A Telegram and Discord bot that keeps the memory of the Second World War.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run the bot and its scheduler")
    run.add_argument(
        "--platform",
        choices=("telegram", "discord", "console", "all"),
        help="which adapters to run (default: those whose token is set, else the console)",
    )

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_commands.add_parser("upgrade", help="migrate the database to the latest schema")

    today = commands.add_parser("today", help='the "on this day" digest')
    today.add_argument("--date", help="MM-DD or YYYY-MM-DD (default: today in DEFAULT_TIMEZONE)")
    today.add_argument("--lang", choices=LANGUAGES, help="language (default: DEFAULT_LANGUAGE)")
    today.add_argument("--json", action="store_true", help="print JSON")

    memorial = commands.add_parser("memorial", help="search memorials, best match first")
    memorial.add_argument("query", nargs="+", help="a name, place or person, in any script")
    memorial.add_argument("--lang", choices=LANGUAGES, help="language (default: DEFAULT_LANGUAGE)")
    memorial.add_argument(
        "--limit", type=_positive, default=5, help="how many results, 1 to 1000 (default: 5)"
    )
    memorial.add_argument("--json", action="store_true", help="print JSON")

    near = commands.add_parser("near", help="nearest memorials")
    near.add_argument("lat", help="latitude in decimal degrees, -90 to 90 (50.63 or 50,63)")
    near.add_argument("lon", help="longitude in decimal degrees, -180 to 180 (5.57 or 5,57)")
    near.add_argument("--lang", choices=LANGUAGES, help="language (default: DEFAULT_LANGUAGE)")
    near.add_argument(
        "--limit", type=_positive, default=5, help="how many results, 1 to 1000 (default: 5)"
    )
    near.add_argument("--json", action="store_true", help="print JSON")

    events = commands.add_parser("events", help="upcoming ceremonies and actions")
    events.add_argument("--lang", choices=LANGUAGES, help="language (default: DEFAULT_LANGUAGE)")
    events.add_argument("--json", action="store_true", help="print JSON")
    events.add_argument(
        "--all", action="store_true", help="past events and drafts too, with their ids"
    )

    event = commands.add_parser("event", help="what an organizer does in chat, by event id")
    event.add_argument("action", choices=("show", "publish", "cancel"), help="what to do")
    event.add_argument("id", type=_positive, help="the event's number (events --all lists them)")
    event.add_argument("--lang", choices=LANGUAGES, help="language (default: DEFAULT_LANGUAGE)")
    event.add_argument("--json", action="store_true", help="print JSON")

    importer = commands.add_parser("import", help="import records from CSV, JSON or YAML")
    importer.add_argument(
        "path", help="a file, or a folder of .json, .yaml, .yml and .csv files (db/dataset)"
    )

    exporter = commands.add_parser("export", help="export records")
    exporter.add_argument(
        "--format",
        choices=("json", "csv", "yaml"),
        help="default: from PATH's extension, else json",
    )
    exporter.add_argument(
        "path", nargs="?", help="a file, or a directory (one file per kind); default: stdout"
    )

    dataset = commands.add_parser(
        "dataset", help='the "on this day" calendar: coverage of the year, languages, sources'
    )
    dataset_commands = dataset.add_subparsers(
        dest="dataset_command", required=True, metavar="ACTION"
    )
    check = dataset_commands.add_parser(
        "check",
        help="days of the year covered, records per language, records without a specific "
        "source, dates that do not exist; exit 1 when something is missing",
    )
    check.add_argument(
        "--db", action="store_true", help="check the live database instead of the curated files"
    )
    check.add_argument("--json", action="store_true", help="print JSON")
    check.add_argument(
        "--dir", help="a directory laid out like the curated dataset (default: db/dataset)"
    )
    tick = commands.add_parser(
        "tick",
        help="one scheduler pass at an instant: queue what is due, deliver it, exit",
        description="One scheduler pass at an instant: queue what is due, deliver it, exit "
        "when the queue is drained. An instant in the future is refused unless --force: the "
        "pass would send that day's posts now and move every next post past it.",
    )
    tick.add_argument(
        "--at",
        metavar="INSTANT",
        help="ISO-8601 instant with a time and an offset, e.g. 2026-05-09T09:00+02:00 "
        "(default: now)",
    )
    tick.add_argument(
        "--dry-run",
        action="store_true",
        help="print what would be queued, sent and skipped, to whom; change nothing",
    )
    tick.add_argument(
        "--force",
        action="store_true",
        help="run at an instant in the future anyway: its posts go out now, and the real "
        "ones before it are recorded as skipped and lost",
    )

    status = commands.add_parser(
        "status",
        help="health: the database, the running bot's platforms and last tick, the queue",
        description="Health from the command line: the database reachable and at the "
        "latest schema, queue depth, deliveries by status; the running bot's platforms and "
        "last tick when HTTP_LISTEN is set (asked at its /healthz). Changes nothing. Exit 0 "
        "when healthy, 1 otherwise.",
    )
    status.add_argument("--json", action="store_true", help="print JSON")

    regiment = commands.add_parser(
        "regiment", help="the Immortal Regiment's people's chronicle: export and import"
    )
    regiment_commands = regiment.add_subparsers(dest="regiment_command", required=True)
    regiment_export = regiment_commands.add_parser(
        "export", help="write every entry to a JSON file, the portraits to <file>-photos/"
    )
    regiment_export.add_argument("path", help="the JSON file to write")
    regiment_import = regiment_commands.add_parser(
        "import", help="read a chronicle written by 'regiment export' (twice changes nothing)"
    )
    regiment_import.add_argument("path", help="the JSON file to read")
    return parser


# -- output ---------------------------------------------------------------------------------


def _print_json(data: object) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


def memorial_json(hit: ScoredMemorial, language: str) -> dict[str, Any]:
    """A search or nearest hit in the JSON shape of the interface."""
    memorial = hit.memorial
    result: dict[str, Any] = {
        "id": memorial.id,
        "slug": memorial.slug,
        "name": pick(memorial.names, language),
        "names": {code: pick(memorial.names, code) for code in LANGUAGES},
        "city": pick(memorial.city, language),
        "country": memorial.country,
        "lat": memorial.lat,
        "lon": memorial.lon,
        "score": hit.score,
    }
    if hit.distance_km is not None:
        # a nearest hit's score is its proximity (100 at the point, 50 at NEAR_RADIUS_KM)
        result["distance_km"] = hit.distance_km
        result["precision"] = memorial.precision.value
        result["near"] = hit.distance_km <= NEAR_RADIUS_KM
    return result


async def rsvp_json(app: App, event: Event) -> dict[str, int]:
    """The answers to an event over every platform (``{"yes": 3, "no": 1}``)."""
    count = await app.core.rsvps.count(event.id) if event.id is not None else None
    return {"yes": count.yes if count else 0, "no": count.no if count else 0}


def event_json(event: Event, language: str, rsvp: dict[str, int] | None = None) -> dict[str, Any]:
    """An event in the JSON shape of the interface."""
    return {
        "id": event.id,
        "slug": event.slug,
        "title": pick(event.title, language),
        "starts_at": event.starts_at.astimezone(zone(event.timezone)).isoformat(),
        "timezone": event.timezone,
        "place": pick(event.place, language) or None,
        "memorial_slug": event.memorial,
        "status": event.status.value,
        "recurrence": event.recurrence.value if event.recurrence else None,
        "confirmed": event.confirmed,
        "announced_at": event.announced_at.isoformat() if event.announced_at else None,
        "sequence": event.sequence,
        "languages": list(event.languages),
        "country": event.country,
        "city": event.city,
        "rsvp": rsvp if rsvp is not None else {"yes": 0, "no": 0},
    }


# -- commands -------------------------------------------------------------------------------


async def cmd_today(app: App, args: argparse.Namespace) -> None:
    language = args.lang or app.settings.default_language
    local_today = app.core.local_today()
    try:
        day = parse_day(args.date, local_today) if args.date else local_today
    except ImpossibleDate as error:
        raise CliError(f"--date {args.date}: {impossible_date(error)}") from None
    except ValueError:
        raise CliError(f"--date {args.date!r}: expected MM-DD or YYYY-MM-DD") from None
    from handlers.today import year_range

    first, last = year_range(local_today)
    if not first <= day.year <= last:
        raise CliError(f"--date {args.date}: the dataset speaks of the years {first} to {last}")
    items = await app.core.on_this_day(day)
    if args.json:
        _print_json(
            {
                "date": day.strftime("%m-%d"),
                "language": language,
                "items": [
                    {
                        "id": item.id,
                        "slug": item.slug,
                        "kind": item.kind.value,
                        "year": item.year,
                        "years_ago": item.years_ago(day),
                        "title": pick(item.title, language),
                        "text": pick(item.text, language),
                    }
                    for item in items
                ],
            }
        )
        return
    from bot.adapters.console import render_plain
    from bot.core.i18n import translator
    from handlers.today import digest

    content = await app.core.day_content(day)
    reply = digest(
        translator(language),
        day,
        content.anniversaries,
        memorial=content.memorial,
        events=content.events,
        current_year=local_today.year,
    )
    print(render_plain(reply))


async def cmd_memorial(app: App, args: argparse.Namespace) -> None:
    language = args.lang or app.settings.default_language
    query = " ".join(args.query).strip()
    if not query:
        raise CliError("memorial: the query is empty")
    hits = await app.core.search_memorials(query, args.limit)
    if args.json:
        _print_json({"query": query, "results": [memorial_json(h, language) for h in hits]})
        return
    if not hits:
        print(f"no memorial matches {query!r}")
    for hit in hits:
        m = hit.memorial
        print(
            f"{hit.score:5.1f}  {pick(m.names, language)} — {pick(m.city, language)}, "
            f"{m.country}  [{m.slug}]"
        )


async def cmd_near(app: App, args: argparse.Namespace) -> None:
    language = args.lang or app.settings.default_language
    try:
        point = parse_point(args.lat, args.lon)
    except ValueError as error:  # NotAPosition, OutOfRange: the operator's own words
        raise CliError(f"near: {error}") from None
    hits = await app.core.nearest_memorials(point, args.limit)
    if args.json:
        _print_json(
            {
                "query": {"lat": point.lat, "lon": point.lon},
                "results": [memorial_json(h, language) for h in hits],
            }
        )
        return
    for hit in hits:
        m = hit.memorial
        km = hit.distance_km or 0.0
        town = m.precision is Precision.TOWN
        distance = f"{'~' if town else ' '}{km:7.1f} km"
        notes = [
            note
            for note, wanted in (("town centre", town), ("far away", km > NEAR_RADIUS_KM))
            if wanted
        ]
        noted = f"  ({', '.join(notes)})" if notes else ""
        print(
            f"{distance}  {pick(m.names, language)} — "
            f"{pick(m.city, language)}, {m.country}  [{m.slug}]{noted}"
        )


async def cmd_events(app: App, args: argparse.Namespace) -> None:
    language = args.lang or app.settings.default_language
    if args.all:
        events = list(await app.core.events.all_events())
    else:
        events = await app.core.upcoming_events(limit=100)
    if args.json:
        _print_json({"events": [event_json(e, language, await rsvp_json(app, e)) for e in events]})
        return
    if not events:
        print("no upcoming events")
    for event in events:
        when = event.starts_at.astimezone(zone(event.timezone)).isoformat(timespec="minutes")
        usual = ""
        if not event.confirmed:
            when = when[:10]
            usual = "  (usually held on this day; an organizer confirms each year)"
        number = f"#{event.id}  " if args.all else ""
        print(f"{number}{when}  {pick(event.title, language)}  [{event.status.value}]{usual}")


async def cmd_event(app: App, args: argparse.Namespace) -> None:
    language = args.lang or app.settings.default_language
    event = await app.core.events.get_event(args.id)
    if event is None:
        raise CliError(f"event {args.id}: there is no such event (events --all lists them)")
    try:
        if args.action == "publish":
            event = await app.core.publish_event(event)
        elif args.action == "cancel":
            event = await app.core.cancel_event(event)
    except ValueError as error:
        raise CliError(str(error)) from None
    if args.json:
        _print_json(event_json(event, language, await rsvp_json(app, event)))
        return
    when = event.starts_at.astimezone(zone(event.timezone)).isoformat(timespec="minutes")
    print(f"#{event.id}  {when} ({event.timezone})  {pick(event.title, language)}")
    print(f"status: {event.status.value}, version {event.sequence}")
    if pick(event.place, language):
        print(f"place: {pick(event.place, language)}")


class _Progress:
    """A one-line progress counter on a terminal: ``importing 1,200/100,000 records (1%)``."""

    def __init__(self, stream: Any, label: str) -> None:
        self.stream = stream
        self.label = label
        self.shown = 0.0
        self.started = False

    def __call__(self, done: int, total: int) -> None:
        import time

        now = time.monotonic()
        if done < total and now - self.shown < 0.1:
            return
        self.shown = now
        self.started = True
        percent = 100 * done // total if total else 100
        self.stream.write(f"\r{self.label} {done:,}/{total:,} records ({percent}%)")
        self.stream.flush()

    def finish(self) -> None:
        """End the progress line."""
        if self.started:
            self.stream.write("\n")
            self.stream.flush()


async def cmd_import(app: App, args: argparse.Namespace) -> None:
    """Import a file or a directory of files: every error reported, or everything written in
    one transaction (layouts: ``bot.core.transfer``)."""
    from pathlib import Path

    from bot.core.transfer import TransferError, import_path

    path = Path(args.path)
    progress = None
    if sys.stderr.isatty():
        progress = _Progress(sys.stderr, "importing")
        print(f"reading and checking {path} …", file=sys.stderr, flush=True)
    try:
        from db.dataset import seed_catalogue

        result = await import_path(app.store, path, progress, catalogue=seed_catalogue())
    except TransferError as error:
        raise CliError(f"import: {error}") from None
    finally:
        if progress is not None:
            progress.finish()
    if result.report is None:
        for problem in result.errors:
            print(f"commemoration-bot: error: {problem}", file=sys.stderr)
        rows = len({(e.file, e.row) for e in result.errors})
        errors = english().ngettext("{count} error", "{count} errors", len(result.errors))
        where = english().ngettext("in {count} row", "in {count} rows", rows)
        raise CliError(f"import {path}: {errors} {where}; nothing was imported")
    report = result.report
    app.core.invalidate_index()
    log.info("imported %s: %s", path, report.summary())
    print(f"imported {path}: {report.summary()}")


async def cmd_export(app: App, args: argparse.Namespace) -> None:
    """Export every record to a file, a directory (one file per kind) or standard output."""
    from pathlib import Path

    from bot.core.transfer import dump, format_of, write_directory

    path = Path(args.path) if args.path else None
    fmt = args.format or (format_of(path) if path else None) or "json"
    dataset = await app.store.load_dataset()
    if path is None:
        sys.stdout.write(dump(dataset, fmt))
        return
    counts = ", ".join(
        (
            english().ngettext("{count} memorial", "{count} memorials", len(dataset.memorials)),
            english().ngettext("{count} person", "{count} people", len(dataset.people)),
            english().ngettext(
                "{count} anniversary", "{count} anniversaries", len(dataset.anniversaries)
            ),
            english().ngettext("{count} event", "{count} events", len(dataset.events)),
        )
    )
    try:
        if path.is_dir() or args.path.endswith(("/", "\\")):
            written = write_directory(dataset, fmt, path)
            where = ", ".join(str(p) for p in written)
        else:
            path.write_text(dump(dataset, fmt), encoding="utf-8", newline="")
            where = str(path)
    except OSError as error:
        raise CliError(f"export: cannot write {path}: {error.strerror}") from None
    print(f"exported {counts} to {where}")


async def cmd_regiment(app: App, args: argparse.Namespace) -> None:
    """``regiment export PATH`` and ``regiment import PATH`` (``bot.core.chronicle``)."""
    from pathlib import Path

    from bot.core.chronicle import ChronicleFileError, export_chronicle, import_chronicle

    regiment = app.core.regiment
    if regiment is None:  # pragma: no cover - the app always has it
        raise CliError("the Immortal Regiment is not set up")
    path = Path(args.path)
    if args.regiment_command == "export":
        try:
            count = await export_chronicle(regiment, path)
        except OSError as error:
            raise CliError(f"regiment export: cannot write {path}: {error.strerror}") from None
        print(f"exported {count} chronicle entries to {path}")
        return
    try:
        report = await import_chronicle(regiment, path)
    except ChronicleFileError as error:
        raise CliError(f"regiment import: {error}") from None
    for problem in report.errors:
        print(f"commemoration-bot: error: {problem}", file=sys.stderr)
    print(
        f"imported {path}: {report.added} added, {report.kept} already there, "
        f"{len(report.errors)} refused"
    )
    if report.errors:
        raise CliError(f"regiment import {path}: {len(report.errors)} entries refused")


async def cmd_tick(app: App, args: argparse.Namespace) -> None:
    """One scheduler pass at ``--at`` (default: now): queue what is due, deliver, summarize."""
    from bot.runner import parse_instant, run_tick

    at = None
    if args.at:
        try:
            at = parse_instant(args.at)
        except ValueError as error:
            raise CliError(f"--at: {error}") from None
    if args.dry_run:
        from bot.runner import preview_tick

        await preview_tick(app, at)
        return
    if at is not None and at > app.core.clock.now() and not args.force:
        raise CliError(
            f"--at {at.isoformat(timespec='seconds')} is in the future: a tick there sends "
            "that day's posts now and moves every subscription's next post past it, so the "
            "real ones in between are lost; --dry-run shows what it would do, --force does "
            "it anyway"
        )
    await run_tick(app, at)


def cmd_dataset_check(dataset: Any, args: argparse.Namespace) -> None:
    """``dataset check``: the calendar's coverage, printed as text or JSON; exit 1 when a day
    is uncovered, a record lacks a language or a specific source, or a date does not exist.

    ``dataset`` is what the database holds (``--db``); None reads the curated files.
    """
    from pathlib import Path

    from bot.core.coverage import check_dataset
    from db.dataset import DATASET_DIR, read_curated

    if dataset is None:
        directory = Path(args.dir) if args.dir else DATASET_DIR
        if not directory.is_dir():
            raise CliError(f"dataset check: {directory}: no such directory")
        records, errors = read_curated(directory)
        report = check_dataset(records, f"curated dataset ({directory})", errors)
    else:
        report = check_dataset(dataset, "database")
    if args.json:
        _print_json(report.as_json())
    else:
        print("\n".join(report.lines()))
    if not report.ok:
        raise SystemExit(1)


async def cmd_dataset_check_db(app: App, args: argparse.Namespace) -> None:
    """``dataset check --db``: the same check over everything the database holds."""
    cmd_dataset_check(await app.store.load_dataset(), args)


COMMANDS: dict[str, Callable[[App, argparse.Namespace], Awaitable[None]]] = {
    "today": cmd_today,
    "memorial": cmd_memorial,
    "near": cmd_near,
    "events": cmd_events,
    "import": cmd_import,
    "export": cmd_export,
    "tick": cmd_tick,
    "regiment": cmd_regiment,
    "dataset": cmd_dataset_check_db,
    "event": cmd_event,
}


READ_ONLY_COMMANDS = frozenset({"today", "memorial", "near", "events", "export"})
"""Commands that only read: they work on a database the user may not write, never migrating
it (``bot.app.prepare_for_reading``)."""


async def _with_app(settings: Settings, args: argparse.Namespace) -> None:
    dry_run = args.command == "tick" and args.dry_run  # changes nothing, migrations included
    app = await open_app(settings, read_only=args.command in READ_ONLY_COMMANDS or dry_run)
    try:
        await COMMANDS[args.command](app, args)
    finally:
        await app.close()


async def _db_upgrade(settings: Settings) -> None:
    urls = await migrate(settings)
    print(f"database {urls.safe()} is at the latest schema")


def configure_logging(settings: Settings, *, service: bool) -> None:
    """Log to stderr at ``LOG_LEVEL`` in ``LOG_FORMAT`` (text or JSON lines), with tokens
    removed from every record.

    One-shot commands (everything but ``run``) keep stderr for their one error line: they log
    warnings and errors only, unless ``LOG_LEVEL=DEBUG``.
    """
    from bot.logformat import formatter_for

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter_for(settings))
    handler.addFilter(RedactingFilter(settings))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    level = logging.getLevelName(settings.log_level)
    if not service and level != logging.DEBUG:
        level = max(level, logging.WARNING)
    root.setLevel(level)
    for noisy in ("httpx", "aiosqlite", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


async def cmd_status(settings: Settings, args: argparse.Namespace) -> int:
    """``status [--json]``: print the health; 0 when healthy, 1 otherwise."""
    from bot.status import gather_status

    report = await gather_status(settings)
    if args.json:
        _print_json(report.as_json())
    else:
        print("\n".join(report.lines()))
    return 0 if report.ok else 1


def fail(message: str) -> NoReturn:
    """Print one line on stderr and exit 1."""
    print(f"commemoration-bot: error: {message}", file=sys.stderr)
    raise SystemExit(1)


def main(argv: Sequence[str] | None = None) -> None:
    """The console script."""
    args = build_parser().parse_args(argv)
    try:
        settings = settings_from(load_environment())
    except ConfigError as error:
        fail(str(error))
    configure_logging(settings, service=args.command == "run")
    try:
        if args.command == "db":
            asyncio.run(_db_upgrade(settings))
        elif args.command == "status":
            code = asyncio.run(cmd_status(settings, args))
            if code:
                raise SystemExit(code)
        elif args.command == "dataset" and not args.db:
            cmd_dataset_check(None, args)
        elif args.command == "run":
            check_catalogs()
            from bot.runner import PlatformLost, run_bot

            try:
                asyncio.run(run_bot(settings, args.platform))
            except PlatformLost as error:
                fail(str(error))
        else:
            check_catalogs()
            asyncio.run(_with_app(settings, args))
    except (ConfigError, CliError, CatalogError) as error:
        fail(str(error))
    except KeyboardInterrupt:
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
