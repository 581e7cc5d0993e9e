"""Records as they are written in the dataset files and import files, checked field by field.

``parse_*`` turn one mapping (a YAML/JSON object or a CSV row already unflattened) into a core
type, collecting every problem as a ``RecordError`` naming the file, row and field, so that an
import can report all of them at once. ``check_references`` and ``check_duplicates`` then look
across records (and, for an import, at the slugs already in the database).

What is checked: slugs (lowercase ASCII, digits and ``-``, at most 120 characters, unique per
kind), no unknown field, required fields present, text where text is expected, language codes
among ``LANGUAGES`` with ``en`` and ``ru`` present in required localized fields, real dates
(29 February only when the year is unknown or a leap year), whole numbers in range,
coordinates in range, ISO 3166-1 country codes, IANA time zones, ISO-8601 instants with an
offset, enumerations (kind, precision, status, recurrence), booleans, and sources (``seed``,
``ref`` or ``url``, a ``url`` being http or https).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from bot.core.domain import (
    LANGUAGES,
    SOURCE_FIELDS,
    Anniversary,
    AnniversaryKind,
    Event,
    EventStatus,
    Memorial,
    MemorialKind,
    Person,
    PersonRef,
    Precision,
    Recurrence,
    Source,
)
from bot.core.timeutil import LEAP_YEAR, zone

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SLUG_MAX = 120
COUNTRY = re.compile(r"^[A-Z]{2}$")
REQUIRED_LANGUAGES = ("en", "ru")
KINDS: tuple[str, ...] = ("memorials", "people", "anniversaries", "events")
"""The four kinds of record, in the order they are written (references point backwards)."""

FIELDS: dict[str, tuple[str, ...]] = {
    "memorials": (
        "slug",
        "kind",
        "names",
        "aliases",
        "description",
        "address",
        "city",
        "region",
        "country",
        "lat",
        "lon",
        "precision",
        "inscription",
        "year",
        "people",
        "sources",
    ),
    "people": (
        "slug",
        "names",
        "aliases",
        "born",
        "died",
        "rank",
        "unit",
        "fate",
        "burial_memorial",
        "sources",
    ),
    "anniversaries": (
        "slug",
        "month",
        "day",
        "year",
        "kind",
        "memorial",
        "observed_in",
        "title",
        "text",
        "sources",
    ),
    "events": (
        "slug",
        "starts_at",
        "timezone",
        "memorial",
        "place",
        "organizer",
        "status",
        "title",
        "description",
        "recurrence",
        "confirmed",
        "languages",
        "country",
        "city",
        "lat",
        "lon",
        "ends_at",
        "sources",
    ),
}
"""Every field of each kind, in the order files are written."""

LOCALIZED_FIELDS: dict[str, tuple[str, ...]] = {
    "memorials": ("names", "description", "city", "region", "inscription"),
    "people": ("names", "rank", "unit", "fate"),
    "anniversaries": ("title", "text"),
    "events": ("place", "title", "description"),
}
"""The fields of each kind that map language codes to text."""

LIST_FIELDS: dict[str, tuple[str, ...]] = {
    "memorials": ("aliases", "people"),
    "people": ("aliases",),
    "anniversaries": ("observed_in",),
    "events": ("languages",),
}
"""The fields of each kind that hold a list of text."""

SOURCE_KEYS = SOURCE_FIELDS
_NOT_COUNTRIES = frozenset({"EU", "EZ", "QO", "UN", "XA", "XB", "ZZ"})


def _country_codes() -> frozenset[str]:
    from babel import Locale

    territories = Locale("en").territories
    return (
        frozenset(
            code
            for code in territories
            if isinstance(code, str) and len(code) == 2 and code.isalpha()
        )
        - _NOT_COUNTRIES
    )


COUNTRIES = _country_codes()
"""ISO 3166-1 alpha-2 codes, as CLDR knows them."""

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RecordError:
    """One problem in one field of one row of one file."""

    file: str
    row: int
    """1-based; 0 for a problem with the file as a whole (its syntax, its header)."""
    field: str
    message: str
    line: int | None = None
    """The line of the file where the row starts, when the format tells (YAML)."""

    def __str__(self) -> str:
        if self.row <= 0:
            where = "" if self.line is None else f"line {self.line}: "
            subject = "" if self.field in ("", "-") else f"{self.field}: "
            return f"{self.file}: {where}{subject}{self.message}"
        where = f"row {self.row}" if self.line is None else f"row {self.row} (line {self.line})"
        return f"{self.file}: {where}: {self.field}: {self.message}"


@dataclass(slots=True)
class Dataset:
    """Memorials, people, anniversaries and events, as loaded from files."""

    memorials: list[Memorial] = field(default_factory=list)
    people: list[Person] = field(default_factory=list)
    anniversaries: list[Anniversary] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    origins: dict[str, list[Origin]] = field(default_factory=dict)
    """Per kind, where each record came from (parallel to its list); empty when built in code."""

    def __len__(self) -> int:
        return len(self.memorials) + len(self.people) + len(self.anniversaries) + len(self.events)

    def records(self, kind: str) -> list[Any]:
        """The records of one kind (``memorials``, ``people``, ``anniversaries``, ``events``)."""
        if kind not in KINDS:
            raise ValueError(f"unknown kind of record {kind!r}")
        records: list[Any] = getattr(self, kind)
        return records

    def origin(self, kind: str, index: int) -> Origin:
        """Where the ``index``-th record of a kind came from (its kind and number if unknown)."""
        origins = self.origins.get(kind, [])
        return origins[index] if index < len(origins) else Origin(kind, index + 1)

    def add(self, kind: str, record: Any, origin: Origin) -> None:
        """Append a record of a kind, remembering where it came from."""
        records = self.records(kind)
        origins = self.origins.setdefault(kind, [])
        while len(origins) < len(records):
            origins.append(Origin(kind, len(origins) + 1))
        records.append(record)
        origins.append(origin)


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a record was read: file, row and, when known, line."""

    file: str
    row: int
    line: int | None = None

    def error(self, name: str, message: str) -> RecordError:
        """An error about a field of the record read here."""
        return RecordError(self.file, self.row, name, message, self.line)


@dataclass(slots=True)
class KindCounts:
    """How many records of one kind an import created, updated or left unchanged."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        """Every record of the kind in the import."""
        return self.created + self.updated + self.unchanged


@dataclass(slots=True)
class ImportReport:
    """What an import did, per kind of record."""

    counts: dict[str, KindCounts] = field(
        default_factory=lambda: {kind: KindCounts() for kind in KINDS}
    )

    @property
    def changed(self) -> int:
        """How many records were created or updated."""
        return sum(c.created + c.updated for c in self.counts.values())

    def summary(self) -> str:
        """One line: ``memorials: 2 created, 1 updated, 20 unchanged; people: …``."""
        parts = [
            f"{kind}: {c.created} created, {c.updated} updated, {c.unchanged} unchanged"
            for kind, c in self.counts.items()
            if c.total
        ]
        return "; ".join(parts) or "no records"


class _Row:
    """Reads fields of one record, remembering what was wrong."""

    def __init__(
        self,
        data: Mapping[str, Any],
        file: str,
        row: int,
        line: int | None = None,
        kind: str | None = None,
    ) -> None:
        self.data = data
        self.file = file
        self.row = row
        self.line = line
        self.errors: list[RecordError] = []
        if kind is not None:
            known = FIELDS[kind]
            for name in data:
                if name not in known:
                    self.error(str(name), f"unknown field (known: {', '.join(known)})")

    def error(self, name: str, message: str) -> None:
        self.errors.append(RecordError(self.file, self.row, name, message, self.line))

    def text(self, name: str, *, required: bool = False) -> str | None:
        value = self.data.get(name)
        if value is None or value == "":
            if required:
                self.error(name, "is required")
            return None
        if not isinstance(value, str):
            self.error(name, f"must be text, not {type(value).__name__}")
            return None
        return value.strip()

    def slug(self, name: str = "slug", *, required: bool = True) -> str:
        value = self.text(name, required=required)
        if value is not None:
            check_slug(value, lambda message: self.error(name, message))
        return value or ""

    def slugs(self, name: str) -> tuple[str, ...]:
        values = self.strings(name)
        for value in values:
            check_slug(value, lambda message: self.error(name, message))
        return values

    def country(self, name: str) -> str:
        value = (self.text(name, required=True) or "").upper()
        if value and value not in COUNTRIES:
            self.error(name, f"{value!r} is not an ISO 3166-1 alpha-2 country code")
        return value

    def integer(
        self, name: str, *, required: bool = False, low: int = 0, high: int = 9999
    ) -> int | None:
        value = self.data.get(name)
        if value is None or value == "":
            if required:
                self.error(name, "is required")
            return None
        if isinstance(value, bool):
            self.error(name, "must be a whole number")
            return None
        try:
            number = int(value)
        except (TypeError, ValueError):
            self.error(name, f"{value!r} is not a whole number")
            return None
        if isinstance(value, float) and value != number:
            self.error(name, f"{value!r} is not a whole number")
            return None
        if not low <= number <= high:
            self.error(name, f"{number} is outside {low}..{high}")
            return None
        return number

    def number(self, name: str, low: float, high: float) -> float:
        value = self.data.get(name)
        if value is None or value == "":
            self.error(name, "is required")
            return 0.0
        if isinstance(value, bool):
            self.error(name, "must be a number")
            return 0.0
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.error(name, f"{value!r} is not a number")
            return 0.0
        if not low <= number <= high:
            self.error(name, f"{value} is outside {low:g}..{high:g}")
        return number

    def localized(self, name: str, *, required: bool = False) -> dict[str, str]:
        value = self.data.get(name)
        if value is None or value == {}:
            if required:
                self.error(name, "is required")
            return {}
        if not isinstance(value, Mapping):
            self.error(name, "must map language codes to text")
            return {}
        result: dict[str, str] = {}
        for code, text in value.items():
            if not isinstance(code, str) or code not in LANGUAGES:
                self.error(
                    f"{name}.{code}",
                    f"unknown language code {code!r} (known: {', '.join(LANGUAGES)})",
                )
            elif text is None or text == "":
                continue
            elif not isinstance(text, str):
                self.error(f"{name}.{code}", "must be text")
            else:
                result[code] = text.strip()
        if required:
            for code in REQUIRED_LANGUAGES:
                if code not in result:
                    self.error(f"{name}.{code}", "is required")
        return result

    def strings(self, name: str) -> tuple[str, ...]:
        value = self.data.get(name)
        if value is None or value == "":
            return ()
        if isinstance(value, str) or not isinstance(value, Iterable):
            self.error(name, "must be a list of text")
            return ()
        items = []
        for item in value:
            if not isinstance(item, str):
                self.error(name, f"{item!r} is not text")
            elif item.strip():
                items.append(item.strip())
        return tuple(dict.fromkeys(items))

    def boolean(self, name: str, default: bool) -> bool:
        value = self.data.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "yes", "1"):
            return True
        if text in ("false", "no", "0"):
            return False
        self.error(name, f"{value!r} is not true or false")
        return default

    def choice(self, name: str, enum: Callable[[str], T], default: T | None = None) -> T:
        value = self.text(name, required=default is None)
        if value is None:
            return default  # type: ignore[return-value]
        try:
            return enum(value)
        except ValueError:
            self.error(name, f"unknown value {value!r}")
            return default if default is not None else enum(_first(enum))

    def sources(self) -> tuple[Source, ...]:
        value = self.data.get("sources")
        if not value:
            self.error("sources", "at least one source is required")
            return ()
        if not isinstance(value, Sequence) or isinstance(value, str):
            self.error("sources", "must be a list")
            return ()
        result = []
        for index, item in enumerate(value):
            name = f"sources[{index}]"
            if not isinstance(item, Mapping) or not (
                item.get("seed") or item.get("ref") or item.get("url")
            ):
                self.error(name, "needs a seed, a ref or a url")
                continue
            problems = False
            for key, text in item.items():
                if key not in SOURCE_KEYS:
                    self.error(f"{name}.{key}", f"unknown field (known: {', '.join(SOURCE_KEYS)})")
                    problems = True
                elif key != "date" and text is not None and not isinstance(text, str):
                    self.error(f"{name}.{key}", "must be text")
                    problems = True
            url = item.get("url")
            if isinstance(url, str) and url.strip() and not URL.match(url.strip()):
                self.error(f"{name}.url", f"{url!r} is not an http or https URL")
                problems = True
            date = item.get("date")
            if isinstance(date, (dt.date, int)):
                date = str(date)
            if date is not None and not (isinstance(date, str) and SOURCE_DATE.match(date)):
                self.error(f"{name}.date", f"{date!r} is not a date (YYYY, YYYY-MM or YYYY-MM-DD)")
                problems = True
            if not problems:
                fields = {key: _opt(item.get(key)) for key in SOURCE_KEYS}
                result.append(Source.from_row(fields | {"date": date}))
        return tuple(result)


SOURCE_DATE = re.compile(r"^[12][0-9]{3}(-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01]))?)?$")
URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)


def check_slug(value: str, report: Callable[[str], None]) -> None:
    """Report what is wrong with a slug, if anything."""
    if not SLUG.match(value):
        report(f"{value!r} is not a slug (lowercase a-z, 0-9 and '-')")
    elif len(value) > SLUG_MAX:
        report(f"is longer than {SLUG_MAX} characters")


def _first(enum: Callable[[str], Any]) -> str:
    return next(iter(enum)).value  # type: ignore[call-overload, no-any-return]


def _opt(value: object) -> str | None:
    return str(value).strip() if value not in (None, "") else None


def parse_memorial(
    data: Mapping[str, Any], file: str, row: int, line: int | None = None
) -> tuple[Memorial, list[RecordError]]:
    """A memorial record; people are references, resolved by ``check_references``."""
    r = _Row(data, file, row, line, "memorials")
    memorial = Memorial(
        slug=r.slug(),
        kind=r.choice("kind", MemorialKind),
        names=r.localized("names", required=True),
        aliases=r.strings("aliases"),
        description=r.localized("description"),
        address=r.text("address"),
        city=r.localized("city", required=True),
        region=r.localized("region"),
        country=r.country("country"),
        lat=r.number("lat", -90.0, 90.0),
        lon=r.number("lon", -180.0, 180.0),
        precision=r.choice("precision", Precision),
        inscription=r.localized("inscription"),
        year=r.integer("year", low=1000, high=2100),
        people=tuple(PersonRef(slug, {}) for slug in r.slugs("people")),
        sources=r.sources(),
    )
    return memorial, r.errors


def parse_person(
    data: Mapping[str, Any], file: str, row: int, line: int | None = None
) -> tuple[Person, list[RecordError]]:
    """A person record."""
    r = _Row(data, file, row, line, "people")
    person = Person(
        slug=r.slug(),
        names=r.localized("names", required=True),
        aliases=r.strings("aliases"),
        born=r.integer("born", low=1800, high=2100),
        died=r.integer("died", low=1800, high=2100),
        rank=r.localized("rank"),
        unit=r.localized("unit"),
        fate=r.localized("fate"),
        burial_memorial=r.slug("burial_memorial", required=False) or None,
        sources=r.sources(),
    )
    if person.born and person.died and person.died < person.born:
        r.error("died", "is before born")
    return person, r.errors


def parse_anniversary(
    data: Mapping[str, Any], file: str, row: int, line: int | None = None
) -> tuple[Anniversary, list[RecordError]]:
    """An anniversary record; month and day must form a real date (29 February is allowed)."""
    r = _Row(data, file, row, line, "anniversaries")
    month = r.integer("month", required=True, low=1, high=12)
    day = r.integer("day", required=True, low=1, high=31)
    year = r.integer("year", low=1000, high=2100)
    if month and day:
        try:
            dt.date(year or LEAP_YEAR, month, day)
        except ValueError:
            r.error("day", f"{year or ''}-{month:02d}-{day:02d} is not a real date".lstrip("-"))
    observed = tuple(code.upper() for code in r.strings("observed_in"))
    for code in observed:
        if code not in COUNTRIES:
            r.error("observed_in", f"{code!r} is not an ISO 3166-1 alpha-2 country code")
    anniversary = Anniversary(
        slug=r.slug(),
        month=month or 1,
        day=day or 1,
        year=year,
        kind=r.choice("kind", AnniversaryKind),
        memorial=r.slug("memorial", required=False) or None,
        observed_in=observed,
        title=r.localized("title", required=True),
        text=r.localized("text"),
        sources=r.sources(),
    )
    return anniversary, r.errors


def parse_event(
    data: Mapping[str, Any], file: str, row: int, line: int | None = None
) -> tuple[Event, list[RecordError]]:
    """An event record: an ISO-8601 start with its offset, and the place's IANA zone.

    ``recurrence: yearly`` marks a ceremony held every year; such an event is unconfirmed
    unless ``confirmed: true`` says otherwise, any other event confirmed unless
    ``confirmed: false``.
    """
    r = _Row(data, file, row, line, "events")
    starts_at = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    raw = data.get("starts_at")
    if isinstance(raw, dt.datetime):
        raw = raw.isoformat()
    if not raw:
        r.error("starts_at", "is required")
    else:
        try:
            parsed = dt.datetime.fromisoformat(str(raw))
        except ValueError:
            r.error("starts_at", f"{raw!r} is not an ISO-8601 date and time")
        else:
            if parsed.tzinfo is None:
                r.error("starts_at", "needs a UTC offset, e.g. 2027-05-05T14:00:00+02:00")
            else:
                starts_at = parsed.astimezone(dt.UTC)
    timezone = r.text("timezone", required=True) or "UTC"
    try:
        zone(timezone)
    except ValueError:
        r.error("timezone", f"{timezone!r} is not an IANA time zone")
    event = Event(
        slug=r.slug(),
        starts_at=starts_at,
        timezone=timezone,
        title=r.localized("title", required=True),
        status=r.choice("status", EventStatus, EventStatus.SCHEDULED),
        description=r.localized("description"),
        place=r.localized("place"),
        memorial=r.slug("memorial", required=False) or None,
        organizer=r.text("organizer"),
        sources=tuple(r.sources()) if data.get("sources") else (),
    )
    recurrence = r.choice("recurrence", Recurrence, None) if data.get("recurrence") else None
    confirmed = r.boolean("confirmed", recurrence is None)
    if recurrence is not None or not confirmed:
        event = replace(event, recurrence=recurrence, confirmed=confirmed)
    languages = r.strings("languages")
    for code in languages:
        if code not in LANGUAGES:
            r.error("languages", f"unknown language code {code!r} (known: {', '.join(LANGUAGES)})")
    country = r.country("country") if data.get("country") else None
    lat = r.number("lat", -90, 90) if data.get("lat") not in (None, "") else None
    lon = r.number("lon", -180, 180) if data.get("lon") not in (None, "") else None
    if (lat is None) != (lon is None):
        r.error("lat" if lat is None else "lon", "give both lat and lon, or neither")
    ends_at = None
    raw_end = data.get("ends_at")
    if raw_end:
        try:
            ends_at = dt.datetime.fromisoformat(str(raw_end))
        except ValueError:
            r.error("ends_at", f"{raw_end!r} is not an ISO-8601 date and time")
        else:
            if ends_at.tzinfo is None:
                r.error("ends_at", "needs a UTC offset")
                ends_at = None
            elif ends_at <= starts_at:
                r.error("ends_at", "must be after starts_at")
    event = replace(
        event,
        languages=languages,
        country=country,
        city=r.text("city"),
        lat=lat,
        lon=lon,
        ends_at=ends_at.astimezone(dt.UTC) if ends_at else None,
    )
    return event, r.errors


Parser = Callable[..., tuple[Any, list[RecordError]]]

PARSERS: dict[str, Parser] = {
    "memorials": parse_memorial,
    "people": parse_person,
    "anniversaries": parse_anniversary,
    "events": parse_event,
}


def parse_rows(
    kind: str,
    rows: Sequence[Any],
    file: str,
    first_row: int = 1,
    *,
    numbers: Sequence[int] = (),
    lines: Sequence[int | None] = (),
    into: Dataset | None = None,
) -> tuple[list[Any], list[RecordError]]:
    """Parse every row of one kind; duplicate slugs in one file are errors.

    Rows are numbered from ``first_row`` unless ``numbers`` gives each row's number; ``lines``
    gives the line each row starts on, when known. With ``into``, the records are also added
    to that dataset with their origins.
    """
    parser = PARSERS[kind]
    records: list[Any] = []
    errors: list[RecordError] = []
    seen: dict[str, int] = {}
    for offset, data in enumerate(rows):
        row = numbers[offset] if offset < len(numbers) else first_row + offset
        line = lines[offset] if offset < len(lines) else None
        if not isinstance(data, Mapping):
            errors.append(RecordError(file, row, "-", "must be a mapping of fields", line))
            continue
        record, row_errors = parser(data, file, row, line)
        errors.extend(row_errors)
        if record.slug in seen:
            errors.append(
                RecordError(
                    file, row, "slug", f"{record.slug!r} repeats row {seen[record.slug]}", line
                )
            )
        elif record.slug:
            seen[record.slug] = row
        records.append(record)
        if into is not None:
            into.add(kind, record, Origin(file, row, line))
    return records, errors


def check_duplicates(dataset: Dataset) -> list[RecordError]:
    """Slugs that repeat within a kind across files (repeats within one file are found when
    parsing)."""
    errors = []
    for kind in KINDS:
        first: dict[str, Origin] = {}
        for index, record in enumerate(dataset.records(kind)):
            origin = dataset.origin(kind, index)
            earlier = first.get(record.slug)
            if earlier is None:
                first[record.slug] = origin
            elif earlier.file != origin.file:
                errors.append(
                    origin.error(
                        "slug", f"{record.slug!r} is also in {earlier.file}, row {earlier.row}"
                    )
                )
    return errors


def check_references(
    dataset: Dataset,
    known_memorials: Iterable[str] = (),
    known_people: Iterable[str] = (),
    file: str = "",
) -> list[RecordError]:
    """References between records that resolve neither in the dataset nor in ``known_*``.

    ``known_*`` are the slugs already stored (for an import into a database); each error names
    the record's file and row (``file`` overrides the file of records built in code).
    """
    memorials = {m.slug for m in dataset.memorials} | set(known_memorials)
    people = {p.slug for p in dataset.people} | set(known_people)
    errors: list[RecordError] = []

    def where(kind: str, index: int) -> Origin:
        origin = dataset.origin(kind, index)
        if file and kind not in dataset.origins:
            return Origin(file, origin.row, origin.line)
        return origin

    for index, memorial in enumerate(dataset.memorials):
        for ref in memorial.people:
            if ref.slug not in people:
                errors.append(
                    where("memorials", index).error("people", f"unknown person {ref.slug!r}")
                )
    for index, person in enumerate(dataset.people):
        if person.burial_memorial and person.burial_memorial not in memorials:
            errors.append(
                where("people", index).error(
                    "burial_memorial", f"unknown memorial {person.burial_memorial!r}"
                )
            )
    for index, anniversary in enumerate(dataset.anniversaries):
        if anniversary.memorial and anniversary.memorial not in memorials:
            errors.append(
                where("anniversaries", index).error(
                    "memorial", f"unknown memorial {anniversary.memorial!r}"
                )
            )
    for index, event in enumerate(dataset.events):
        if event.memorial and event.memorial not in memorials:
            errors.append(
                where("events", index).error("memorial", f"unknown memorial {event.memorial!r}")
            )
    return errors
