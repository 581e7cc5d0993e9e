"""Records as they are written in the dataset files and import files, checked field by field.

``parse_*`` turn one mapping (a YAML/JSON object or a CSV row already unflattened) into a core
type, collecting every problem as a ``RecordError`` naming the file, row and field, so that an
import can report all of them at once.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from bot.core.domain import (
    LANGUAGES,
    Anniversary,
    AnniversaryKind,
    Event,
    EventStatus,
    Memorial,
    MemorialKind,
    Person,
    PersonRef,
    Precision,
    Source,
)
from bot.core.timeutil import LEAP_YEAR, zone

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
COUNTRY = re.compile(r"^[A-Z]{2}$")
REQUIRED_LANGUAGES = ("en", "ru")

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RecordError:
    """One problem in one field of one row of one file."""

    file: str
    row: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: row {self.row}: {self.field}: {self.message}"


@dataclass(slots=True)
class Dataset:
    """Memorials, people, anniversaries and events, as loaded from files."""

    memorials: list[Memorial] = field(default_factory=list)
    people: list[Person] = field(default_factory=list)
    anniversaries: list[Anniversary] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.memorials) + len(self.people) + len(self.anniversaries) + len(self.events)


class _Row:
    """Reads fields of one record, remembering what was wrong."""

    def __init__(self, data: Mapping[str, Any], file: str, row: int) -> None:
        self.data = data
        self.file = file
        self.row = row
        self.errors: list[RecordError] = []

    def error(self, name: str, message: str) -> None:
        self.errors.append(RecordError(self.file, self.row, name, message))

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
        if value is not None and not SLUG.match(value):
            self.error(name, f"{value!r} is not a slug (lowercase a-z, 0-9 and '-')")
        return value or ""

    def integer(self, name: str, *, required: bool = False, low: int = 0, high: int = 9999) -> (
        int | None
    ):
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
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.error(name, f"{value!r} is not a number")
            return 0.0
        if not low <= number <= high:
            self.error(name, f"{number} is outside {low:g}..{high:g}")
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
            if code not in LANGUAGES:
                self.error(f"{name}.{code}", f"unknown language code {code!r} "
                           f"(known: {', '.join(LANGUAGES)})")
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
        return tuple(items)

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
            if not isinstance(item, Mapping) or not (
                item.get("seed") or item.get("ref") or item.get("url")
            ):
                self.error(f"sources[{index}]", "needs a seed, a ref or a url")
                continue
            result.append(Source(seed=_opt(item.get("seed")), ref=_opt(item.get("ref")),
                                 url=_opt(item.get("url"))))
        return tuple(result)


def _first(enum: Callable[[str], Any]) -> str:
    return next(iter(enum)).value  # type: ignore[call-overload, no-any-return]


def _opt(value: object) -> str | None:
    return str(value).strip() if value not in (None, "") else None


def parse_memorial(data: Mapping[str, Any], file: str, row: int) -> tuple[Memorial, list[
        RecordError]]:
    """A memorial record; people are references, resolved by ``check_references``."""
    r = _Row(data, file, row)
    country = (r.text("country", required=True) or "").upper()
    if country and not COUNTRY.match(country):
        r.error("country", f"{country!r} is not an ISO 3166-1 alpha-2 code")
    memorial = Memorial(
        slug=r.slug(),
        kind=r.choice("kind", MemorialKind),
        names=r.localized("names", required=True),
        aliases=r.strings("aliases"),
        description=r.localized("description"),
        address=r.text("address"),
        city=r.localized("city", required=True),
        region=r.localized("region"),
        country=country,
        lat=r.number("lat", -90.0, 90.0),
        lon=r.number("lon", -180.0, 180.0),
        precision=r.choice("precision", Precision),
        inscription=r.localized("inscription"),
        year=r.integer("year", low=1000, high=2100),
        people=tuple(PersonRef(slug, {}) for slug in r.strings("people")),
        sources=r.sources(),
    )
    return memorial, r.errors


def parse_person(data: Mapping[str, Any], file: str, row: int) -> tuple[Person, list[
        RecordError]]:
    """A person record."""
    r = _Row(data, file, row)
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


def parse_anniversary(data: Mapping[str, Any], file: str, row: int) -> tuple[Anniversary, list[
        RecordError]]:
    """An anniversary record; month and day must form a real date (29 February is allowed)."""
    r = _Row(data, file, row)
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
        if not COUNTRY.match(code):
            r.error("observed_in", f"{code!r} is not an ISO 3166-1 alpha-2 code")
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


def parse_event(data: Mapping[str, Any], file: str, row: int) -> tuple[Event, list[
        RecordError]]:
    """An event record: an ISO-8601 start with its offset, and the place's IANA zone."""
    r = _Row(data, file, row)
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
    return event, r.errors


Parser = Callable[[Mapping[str, Any], str, int], tuple[Any, list[RecordError]]]

PARSERS: dict[str, Parser] = {
    "memorials": parse_memorial,
    "people": parse_person,
    "anniversaries": parse_anniversary,
    "events": parse_event,
}


def parse_rows(
    kind: str, rows: Sequence[Any], file: str, first_row: int = 1
) -> tuple[list[Any], list[RecordError]]:
    """Parse every row of one kind; duplicate slugs in one file are errors."""
    parser = PARSERS[kind]
    records: list[Any] = []
    errors: list[RecordError] = []
    seen: dict[str, int] = {}
    for offset, data in enumerate(rows):
        row = first_row + offset
        if not isinstance(data, Mapping):
            errors.append(RecordError(file, row, "-", "must be a mapping of fields"))
            continue
        record, row_errors = parser(data, file, row)
        errors.extend(row_errors)
        if record.slug in seen:
            errors.append(RecordError(file, row, "slug",
                                      f"{record.slug!r} repeats row {seen[record.slug]}"))
        seen[record.slug] = row
        records.append(record)
    return records, errors


def check_references(dataset: Dataset, known_memorials: Iterable[str] = (),
                     known_people: Iterable[str] = (), file: str = "") -> list[RecordError]:
    """References between records that resolve neither in the dataset nor in ``known_*``."""
    memorials = {m.slug for m in dataset.memorials} | set(known_memorials)
    people = {p.slug for p in dataset.people} | set(known_people)
    errors = []
    for row, memorial in enumerate(dataset.memorials, start=1):
        for ref in memorial.people:
            if ref.slug not in people:
                errors.append(RecordError(file or "memorials", row, "people",
                                          f"unknown person {ref.slug!r}"))
    for row, person in enumerate(dataset.people, start=1):
        if person.burial_memorial and person.burial_memorial not in memorials:
            errors.append(RecordError(file or "people", row, "burial_memorial",
                                      f"unknown memorial {person.burial_memorial!r}"))
    for row, anniversary in enumerate(dataset.anniversaries, start=1):
        if anniversary.memorial and anniversary.memorial not in memorials:
            errors.append(RecordError(file or "anniversaries", row, "memorial",
                                      f"unknown memorial {anniversary.memorial!r}"))
    for row, event in enumerate(dataset.events, start=1):
        if event.memorial and event.memorial not in memorials:
            errors.append(RecordError(file or "events", row, "memorial",
                                      f"unknown memorial {event.memorial!r}"))
    return errors
