"""Sources as users see them, and the catalogue of the seed articles.

A source is shown as its publisher, its title and its publication date in the reader's
language ("Russkiy Mir Foundation, “Memory of Soviet partisans honored in Belgium”, 11 May
2021"), with a link where there is one. A ``seed`` source names a file of ``shared/seeds/``:
that name is provenance only and is never shown; what the seed says about itself (publisher,
title, date, address) is kept in a catalogue (``db/dataset/seeds.yaml``) and copied into the
source when the dataset is loaded or imported (``enrich``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from babel.dates import format_skeleton

from bot.core.domain import Anniversary, Event, Memorial, Person, Source
from bot.core.i18n import Translator
from bot.core.records import Dataset
from bot.core.reply import ReplyBuilder

SeedCatalogue = Mapping[str, Source]
"""Seed file name -> what the seed states about itself (``ref`` is its title)."""

SEED_FILE = re.compile(r"\b\d{3}_[0-9a-f]{16}\.txt\b")
"""The shape of a seed's file name: it must never reach a user."""

QUOTES: dict[str, tuple[str, str]] = {
    "en": ("“", "”"),
    "ru": ("«", "»"),
    "fr": ("«\u00a0", "\u00a0»"),
    "nl": ("‘", "’"),
    "de": ("„", "“"),
}
"""Each language's quotation marks around a title."""

GENERIC_REFS = re.compile(r"^\s*(wikip[eé]dia|википедия|wikipedia\s*\([a-z]{2}\))\s*$", re.I)
"""A bare encyclopedia name, which does not say which article."""


def enrich(source: Source, catalogue: SeedCatalogue) -> Source:
    """``source`` with the empty fields filled from its seed's catalogue entry, if any."""
    if not source.seed:
        return source
    entry = catalogue.get(source.seed)
    if entry is None:
        return source
    return replace(
        source,
        ref=source.ref or entry.ref,
        publisher=source.publisher or entry.publisher,
        date=source.date or entry.date,
        url=source.url or entry.url,
    )


def enrich_all(sources: Iterable[Source], catalogue: SeedCatalogue) -> tuple[Source, ...]:
    """Every source enriched from the catalogue (see ``enrich``)."""
    return tuple(enrich(source, catalogue) for source in sources)


def enrich_dataset(dataset: Dataset, catalogue: SeedCatalogue) -> Dataset:
    """The dataset with every seed source enriched from the catalogue, origins kept."""
    if not catalogue:
        return dataset

    def fix(record: Any) -> Any:
        sources = enrich_all(record.sources, catalogue)
        return record if sources == record.sources else replace(record, sources=sources)

    memorials: list[Memorial] = [fix(m) for m in dataset.memorials]
    people: list[Person] = [fix(p) for p in dataset.people]
    anniversaries: list[Anniversary] = [fix(a) for a in dataset.anniversaries]
    events: list[Event] = [fix(e) for e in dataset.events]
    return Dataset(
        memorials=memorials,
        people=people,
        anniversaries=anniversaries,
        events=events,
        origins=dataset.origins,
    )


def is_specific(source: Source) -> bool:
    """Whether a reader can find the source: it has an address, or a title and its publisher
    (a seed has them once the catalogue has told them). A bare "Wikipedia" does not count."""
    if source.ref and GENERIC_REFS.match(source.ref) and not source.url:
        return False
    return bool(source.url or (source.ref and source.publisher))


def source_date(t: Translator, value: str | None) -> str:
    """A source's date (``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``) in the reader's language."""
    if not value:
        return ""
    parts = value.split("-")
    try:
        if len(parts) == 3:
            return t.full_date(dt.date(int(parts[0]), int(parts[1]), int(parts[2])))
        if len(parts) == 2:
            month = dt.date(int(parts[0]), int(parts[1]), 1)
            return format_skeleton("yMMMM", month, locale=t.locale)
    except ValueError:
        return value
    return value


def source_parts(t: Translator, source: Source) -> tuple[str, str, str]:
    """``(before, title, after)``: the title (quoted when a publisher is named, so that it
    stands apart) and the text around it; the title is the part that links."""
    title = (source.ref or "").strip()
    publisher = (source.publisher or "").strip()
    date = source_date(t, source.date)
    if title and publisher and title.lower().startswith(publisher.lower()):
        publisher = ""
    if title and publisher:
        opening, closing = QUOTES.get(t.language, QUOTES["en"])
        title = f"{opening}{title}{closing}"
    if not title:
        title, publisher = publisher, ""
    if not title and source.url:
        title = source.url
    before = f"{publisher}, " if publisher and title else publisher
    after = f", {date}" if date and title else date
    return before, title, after


def format_source(t: Translator, source: Source) -> str:
    """A source as one line of plain text ("" when there is nothing a reader could use)."""
    before, title, after = source_parts(t, source)
    return f"{before}{title}{after}"


def write_sources(
    out: ReplyBuilder,
    t: Translator,
    sources: Sequence[Source],
    *,
    limit: int | None = None,
) -> ReplyBuilder:
    """Append a "Source: …" / "Sources: …" line, each source linked where it has an address;
    at most ``limit`` sources (the first ones), nothing when none can be shown."""
    shown = [s for s in sources if format_source(t, s)]
    if limit is not None:
        shown = shown[:limit]
    if not shown:
        return out
    if len(shown) == 1:
        pattern = t.gettext("Source: {sources}", sources="\0")
    else:
        pattern = t.gettext("Sources: {sources}", sources="\0")
    head, _, tail = pattern.partition("\0")
    out.text(head)
    for number, source in enumerate(shown):
        if number:
            out.text("; ")
        before, title, after = source_parts(t, source)
        out.text(before)
        if source.url:
            out.link(title, source.url)
        else:
            out.text(title)
        out.text(after)
    return out.text(tail).line()


def catalogue_from(rows: Mapping[str, Mapping[str, Any]]) -> dict[str, Source]:
    """A seed catalogue from ``{file: {publisher, title, date, url}}`` mappings."""
    catalogue: dict[str, Source] = {}
    for name, row in rows.items():
        date = row.get("date")
        catalogue[str(name)] = Source(
            seed=str(name),
            ref=_text(row.get("title")),
            publisher=_text(row.get("publisher")),
            date=str(date) if date else None,
            url=_text(row.get("url")),
        )
    return catalogue


def _text(value: object) -> str | None:
    return str(value).strip() or None if value else None


__all__ = [
    "SEED_FILE",
    "SeedCatalogue",
    "catalogue_from",
    "enrich",
    "enrich_all",
    "enrich_dataset",
    "format_source",
    "is_specific",
    "source_date",
    "source_parts",
    "write_sources",
]
