"""How well the "on this day" calendar covers the year: ``commemoration-bot dataset check``.

For a dataset (the curated files, or what the database holds): the days of the year that have
at least one anniversary (of 366, 29 February included), the median number of anniversaries a
day, how many records are written in each language, the records that lack a language, the
records without a specific source (``sources.is_specific``), the records with a single source,
and every date that does not exist (31 April, 30 February). The check fails when a day is
uncovered, a record lacks a language or a specific source, a date does not exist, or the
files do not read.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.core.domain import LANGUAGES, Source
from bot.core.records import KINDS, LOCALIZED_FIELDS, Dataset, RecordError
from bot.core.sources import is_specific
from bot.core.timeutil import LEAP_YEAR

UNTRANSLATED_FIELDS = frozenset({"inscription"})
"""Localized fields kept in their original language only (an inscription is quoted as is)."""

ALL_DAYS: tuple[str, ...] = tuple(
    (dt.date(LEAP_YEAR, 1, 1) + dt.timedelta(days=n)).strftime("%m-%d") for n in range(366)
)
"""Every ``MM-DD`` of a leap year: the 366 days a calendar must cover."""


@dataclass(frozen=True, slots=True)
class RecordRef:
    """A record named by kind and slug, with what is wrong or notable about it."""

    kind: str
    slug: str
    detail: str = ""

    def as_json(self) -> dict[str, str]:
        """``{"kind", "slug"}`` and ``detail`` when there is one."""
        data = {"kind": self.kind, "slug": self.slug}
        if self.detail:
            data["detail"] = self.detail
        return data


@dataclass(slots=True)
class CoverageReport:
    """The outcome of a dataset check."""

    origin: str
    days_covered: list[str] = field(default_factory=list)
    days_uncovered: list[str] = field(default_factory=list)
    per_day: dict[str, int] = field(default_factory=dict)
    records: dict[str, int] = field(default_factory=dict)
    per_language: dict[str, int] = field(default_factory=dict)
    missing_language: list[RecordRef] = field(default_factory=list)
    without_specific_source: list[RecordRef] = field(default_factory=list)
    single_source: list[RecordRef] = field(default_factory=list)
    impossible_dates: list[RecordRef] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def total_records(self) -> int:
        """Records of every kind."""
        return sum(self.records.values())

    @property
    def median_per_day(self) -> float:
        """The median number of anniversaries over the 366 days (uncovered days count 0)."""
        return float(statistics.median(self.per_day.get(day, 0) for day in ALL_DAYS))

    @property
    def ok(self) -> bool:
        """Every day covered, every record in every language with a specific source, every
        date real, and the files readable."""
        return not (
            self.days_uncovered
            or self.missing_language
            or self.without_specific_source
            or self.impossible_dates
            or self.errors
        )

    def as_json(self) -> dict[str, Any]:
        """The report in the JSON shape documented in the README."""
        return {
            "origin": self.origin,
            "ok": self.ok,
            "days": {
                "total": len(ALL_DAYS),
                "covered": len(self.days_covered),
                "uncovered": self.days_uncovered,
            },
            "anniversaries_per_day": {
                "median": self.median_per_day,
                "min": min((self.per_day.get(day, 0) for day in ALL_DAYS), default=0),
                "max": max((self.per_day.get(day, 0) for day in ALL_DAYS), default=0),
            },
            "records": {"total": self.total_records, "by_kind": self.records},
            "languages": {
                "expected": list(LANGUAGES),
                "records_per_language": self.per_language,
            },
            "missing_language": [ref.as_json() for ref in self.missing_language],
            "without_specific_source": [ref.as_json() for ref in self.without_specific_source],
            "single_source": [ref.as_json() for ref in self.single_source],
            "impossible_dates": [ref.as_json() for ref in self.impossible_dates],
            "errors": self.errors,
        }

    def lines(self) -> list[str]:
        """The report as text, one fact a line, each problem on its own line."""
        total = self.total_records
        languages = ", ".join(f"{code} {self.per_language.get(code, 0)}" for code in LANGUAGES)
        kinds = ", ".join(f"{kind} {count}" for kind, count in self.records.items())
        out = [
            f"dataset check: {self.origin}",
            f"days covered: {len(self.days_covered)} of {len(ALL_DAYS)}",
            f"anniversaries: {self.records.get('anniversaries', 0)};"
            f" median per day: {self.median_per_day:g}",
            f"records: {total} ({kinds})",
            f"records per language (of {total}): {languages}",
            f"records missing a language: {len(self.missing_language)}",
            f"records without a specific source: {len(self.without_specific_source)}",
            f"records with a single source: {len(self.single_source)}",
            f"dates that do not exist: {len(self.impossible_dates)}",
        ]
        if self.days_uncovered:
            out.append("uncovered days: " + ", ".join(self.days_uncovered))
        out.extend(
            f"missing language: {ref.kind} {ref.slug}: {ref.detail}"
            for ref in self.missing_language
        )
        out.extend(
            f"no specific source: {ref.kind} {ref.slug}" for ref in self.without_specific_source
        )
        out.extend(
            f"date does not exist: {ref.kind} {ref.slug}: {ref.detail}"
            for ref in self.impossible_dates
        )
        out.extend(f"error: {error}" for error in self.errors)
        out.append("result: " + ("ok" if self.ok else "FAILED"))
        return out


def day_exists(month: int, day: int) -> bool:
    """Whether ``MM-DD`` is a day of some year (29 February is)."""
    try:
        dt.date(LEAP_YEAR, month, day)
    except ValueError:
        return False
    return True


def missing_languages(kind: str, record: Any) -> list[str]:
    """``field: codes`` for each localized field of a record that lacks a language."""
    problems = []
    for name in LOCALIZED_FIELDS[kind]:
        if name in UNTRANSLATED_FIELDS:
            continue
        value: Mapping[str, str] = getattr(record, name, None) or {}
        if not value:
            continue
        absent = [code for code in LANGUAGES if not (value.get(code) or "").strip()]
        if absent:
            problems.append(f"{name}: {', '.join(absent)}")
    return problems


def check_dataset(
    dataset: Dataset, origin: str, errors: Sequence[RecordError | str] = ()
) -> CoverageReport:
    """Check a dataset's coverage; ``errors`` are problems met while reading it.

    Errors about a date that does not exist are reported as impossible dates (with the
    record's slug), the others as errors.
    """
    report = CoverageReport(origin)
    impossible_rows: set[tuple[str, int]] = set()
    for error in errors:
        if isinstance(error, RecordError) and "is not a real date" in error.message:
            impossible_rows.add((error.file, error.row))
        elif isinstance(error, RecordError) or error:
            report.errors.append(str(error))
    for kind in KINDS:
        records: list[Any] = dataset.records(kind)
        report.records[kind] = len(records)
        for index, record in enumerate(records):
            origin_of = dataset.origin(kind, index)
            _check_record(report, kind, record)
            if kind != "anniversaries":
                continue
            date = f"{record.month:02d}-{record.day:02d}"
            if (origin_of.file, origin_of.row) in impossible_rows or not day_exists(
                record.month, record.day
            ):
                where = f"{date} ({origin_of.file}, row {origin_of.row})"
                report.impossible_dates.append(RecordRef(kind, record.slug, where))
                continue
            report.per_day[date] = report.per_day.get(date, 0) + 1
    report.per_language = {
        code: report.total_records
        - sum(1 for ref in report.missing_language if _lacks(ref.detail, code))
        for code in LANGUAGES
    }
    report.days_covered = [day for day in ALL_DAYS if report.per_day.get(day)]
    report.days_uncovered = [day for day in ALL_DAYS if not report.per_day.get(day)]
    return report


def _lacks(detail: str, code: str) -> bool:
    return any(code in part.split(": ", 1)[1].split(", ") for part in detail.split("; "))


def _check_record(report: CoverageReport, kind: str, record: Any) -> None:
    absent = missing_languages(kind, record)
    if absent:
        report.missing_language.append(RecordRef(kind, record.slug, "; ".join(absent)))
    sources: list[Source] = list(record.sources)
    announced = kind == "events" and record.confirmed and record.recurrence is None
    if not sources and announced:
        return  # an organizer's announcement is its own source
    if not any(is_specific(source) for source in sources):
        report.without_specific_source.append(RecordRef(kind, record.slug))
    if len(sources) == 1:
        report.single_source.append(RecordRef(kind, record.slug))
