"""Import and export files: memorials, people, anniversaries and events in JSON, YAML or CSV.

A record is written as in ``db/dataset/SCHEMA.md`` (slug, localized fields as mappings from
language code to text, lists, sources), whatever the format. The layouts:

JSON and YAML
    One document: an object ``{"memorials": [...], "people": [...], "anniversaries": [...],
    "events": [...]}`` (any of the keys may be left out). A bare list of records is read too
    when the file's name says their kind: ``memorials.yaml``, ``people.json``,
    ``2026-events.yml`` (the name, or its last part after ``-``, ``_`` or ``.``). The curated
    files under ``db/dataset/`` are in that form.

CSV (UTF-8, comma-separated; a BOM and ``;`` or tab separators are accepted on import)
    One row per record, a header row first. Columns:

    - plain fields by name: ``slug``, ``kind``, ``country``, ``lat``, ``year``, ``starts_at``…;
    - localized fields flattened one column per language: ``names.en``, ``names.ru``,
      ``names.fr``, ``names.nl``, ``names.de``, ``city.en``…;
    - lists (``aliases``, ``people``, ``observed_in``) in one cell, items joined with ``|``
      (a ``|`` or ``\\`` inside an item is written ``\\|`` or ``\\\\``);
    - sources numbered from 1: ``sources.1.seed``, ``sources.1.ref``, ``sources.1.publisher``,
      ``sources.1.date``, ``sources.1.url``, ``sources.2.ref``…

    A file holds one kind when its name says which (``memorials.csv``); otherwise its first
    column is ``type`` (``memorial``, ``person``, ``anniversary`` or ``event``) and a row leaves
    the columns of other kinds empty. An empty cell is an absent value.

A directory is read file by file: every ``*.json``, ``*.yaml``, ``*.yml`` and ``*.csv`` in it.
An export to a directory writes one file per kind (``memorials.csv`` …, ``memorials.yaml`` …);
an export to a file or to standard output writes one document (for CSV: the ``type`` layout).

Errors name the file, the row (the 1-based position in its list; for CSV the spreadsheet row,
the header being row 1) and, for YAML, the line, and the field.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.core.domain import (
    LANGUAGES,
    SOURCE_FIELDS,
    Anniversary,
    Event,
    Memorial,
    Person,
    Source,
)
from bot.core.ports import DatasetStore
from bot.core.records import (
    FIELDS,
    KINDS,
    LIST_FIELDS,
    LOCALIZED_FIELDS,
    Dataset,
    ImportReport,
    RecordError,
    check_duplicates,
    check_references,
    parse_rows,
)
from bot.core.sources import SeedCatalogue, enrich_dataset
from bot.core.timeutil import zone

FORMATS: tuple[str, ...] = ("json", "yaml", "csv")
SUFFIXES: dict[str, str] = {".json": "json", ".yaml": "yaml", ".yml": "yaml", ".csv": "csv"}
EXTENSIONS: dict[str, str] = {"json": ".json", "yaml": ".yaml", "csv": ".csv"}
ROW_TYPES: dict[str, str] = {
    "memorial": "memorials",
    "person": "people",
    "anniversary": "anniversaries",
    "event": "events",
}
"""The ``type`` column of a mixed CSV file, and the kind each value names."""
TYPE_OF_KIND = {kind: row_type for row_type, kind in ROW_TYPES.items()}
LIST_SEPARATOR = "|"

_SOURCE_COLUMN = re.compile(rf"^sources\.([1-9][0-9]*)\.({'|'.join(SOURCE_FIELDS)})$")


_FORMULA_START = re.compile(r"^'*[=+\-@\t\r]")
_PLAIN_NUMBER = re.compile(r"^-?\d+(\.\d+)?([eE][+-]?\d+)?$")
_DEFUSED = re.compile(r"^'+[=+\-@\t\r]")


def defuse_cell(cell: str) -> str:
    """A CSV cell a spreadsheet shows as text instead of running it as a formula: one that
    starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return (after any
    apostrophes) gets an apostrophe in front, the spreadsheets' mark of text; a plain
    number (``-3.5``) stays as it is. ``restore_cell`` undoes it, so nothing is lost."""
    if _FORMULA_START.match(cell) and not _PLAIN_NUMBER.match(cell):
        return "'" + cell
    return cell


def restore_cell(cell: str) -> str:
    """The value of a cell written by ``defuse_cell`` (an apostrophe before a formula's
    first character is dropped; ``'s-Hertogenbosch`` is left alone)."""
    return cell[1:] if _DEFUSED.match(cell) else cell


class TransferError(ValueError):
    """A file that cannot be read at all (not found, wrong format)."""


def format_of(path: Path) -> str | None:
    """The format a file name implies (``json``, ``yaml`` or ``csv``), if any."""
    return SUFFIXES.get(path.suffix.lower())


def kind_of(path: Path) -> str | None:
    """The kind of record a file name implies: ``memorials.csv``, ``2026_events.yaml``."""
    stem = path.stem.lower()
    for kind in KINDS:
        if stem == kind or any(stem.endswith(sep + kind) for sep in "-_."):
            return kind
    return None


# -- importing ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImportResult:
    """An import's outcome: what it wrote, or every error (and then nothing was written)."""

    report: ImportReport | None
    errors: list[RecordError]
    records: int


async def import_path(
    store: DatasetStore,
    path: Path,
    progress: Callable[[int, int], None] | None = None,
    *,
    catalogue: SeedCatalogue | None = None,
) -> ImportResult:
    """Read, check and write a file or a directory of files: all or nothing.

    With a seed ``catalogue``, every ``seed:`` source is completed from it (publisher,
    title, date, address), as the curated dataset is when it is loaded.

    Every problem is collected first (fields, repeated slugs, references that resolve neither
    in the files nor in the database); with none, the records are written in one transaction.
    Raises ``TransferError`` when the path cannot be read at all.
    """
    dataset, errors = await asyncio.to_thread(read_path, path)
    if catalogue:
        dataset = enrich_dataset(dataset, catalogue)
    known = await store.known_slugs()
    errors.extend(check_references(dataset, known["memorials"], known["people"]))
    if errors:
        return ImportResult(None, sorted(errors, key=_error_order), len(dataset))
    report = await store.import_dataset(dataset, progress)
    return ImportResult(report, [], len(dataset))


def _error_order(error: RecordError) -> tuple[str, int, int]:
    """By file, then kind in write order (``data.json: memorials``), then row."""
    base, _, kind = error.file.partition(": ")
    return base, KINDS.index(kind) if kind in KINDS else -1, error.row


# -- reading --------------------------------------------------------------------------------


def read_path(path: Path) -> tuple[Dataset, list[RecordError]]:
    """Read and check a file or every data file of a directory; every problem is returned.

    References between records are not resolved here: see ``records.check_references``,
    which also needs the slugs already stored.
    """
    dataset = Dataset()
    errors: list[RecordError] = []
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and format_of(p))
        if not files:
            raise TransferError(f"{path}: no .json, .yaml, .yml or .csv file in this directory")
    elif path.is_file():
        files = [path]
    else:
        raise TransferError(f"{path}: no such file or directory")
    for file in files:
        fmt = format_of(file)
        if fmt is None:
            raise TransferError(f"{file}: unknown format (name it .json, .yaml, .yml or .csv)")
        try:
            text = file.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as error:
            errors.append(RecordError(str(file), 0, "-", f"is not UTF-8 text ({error.reason})"))
            continue
        except OSError as error:
            raise TransferError(f"{file}: cannot read it: {error.strerror}") from None
        errors.extend(read_text(text, fmt, str(file), into=dataset))
    errors.extend(check_duplicates(dataset))
    return dataset, errors


def read_text(text: str, fmt: str, name: str, *, into: Dataset | None = None) -> list[RecordError]:
    """Read one file's text in a format into ``into`` (a new dataset when None); the errors.

    ``name`` is the file name used in errors and to tell the kind of a bare list or of a CSV
    file without a ``type`` column.
    """
    dataset = into if into is not None else Dataset()
    if fmt == "json":
        return _read_json(text, name, dataset)
    if fmt == "yaml":
        return _read_yaml(text, name, dataset)
    if fmt == "csv":
        return _read_csv(text, name, dataset)
    raise TransferError(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")


TOO_DEEP = "is nested too deeply to be records (lists and maps inside each other, hundreds deep)"


def _read_json(text: str, name: str, dataset: Dataset) -> list[RecordError]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        return [RecordError(name, 0, "-", f"is not valid JSON: {error.msg}", error.lineno)]
    except RecursionError:
        return [RecordError(name, 0, "-", TOO_DEEP)]
    return _read_document(data, name, dataset, {})


MAX_YAML_DEPTH = 64
"""Lists and maps inside each other that a YAML file may hold (records need five): libyaml's
composer recurses once per level in C, and a few thousand levels crash the process."""


def _yaml_too_deep(text: str) -> bool:
    """Whether the YAML nests deeper than ``MAX_YAML_DEPTH``, told from the parser's events
    (the parser is a state machine and does not recurse); a malformed document is left for
    the loader to describe."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_YamlLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_YAML_DEPTH:
                    return True
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return False
    return False


def _read_yaml(text: str, name: str, dataset: Dataset) -> list[RecordError]:
    if _yaml_too_deep(text):
        return [RecordError(name, 0, "-", TOO_DEEP)]
    loader = _YamlLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or str(error)
        line = mark.line + 1 if mark is not None else None
        return [RecordError(name, 0, "-", f"is not valid YAML: {problem}", line)]
    except RecursionError:
        return [RecordError(name, 0, "-", TOO_DEEP)]
    finally:
        loader.dispose()
    return _read_document(data, name, dataset, _yaml_lines(node))


_YamlLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_YamlDumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _yaml_lines(node: yaml.Node | None) -> dict[str, list[int | None]]:
    """The line each record starts on: for a bare list under "", else per top-level key."""
    lines: dict[str, list[int | None]] = {}
    if isinstance(node, yaml.SequenceNode):
        lines[""] = [item.start_mark.line + 1 for item in node.value]
    elif isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(value, yaml.SequenceNode) and isinstance(key.value, str):
                lines[key.value] = [item.start_mark.line + 1 for item in value.value]
    return lines


def _read_document(
    data: object, name: str, dataset: Dataset, lines: Mapping[str, Sequence[int | None]]
) -> list[RecordError]:
    if data is None:
        return []
    if isinstance(data, list):
        kind = kind_of(Path(name))
        if kind is None:
            return [
                RecordError(
                    name,
                    0,
                    "-",
                    "is a bare list, and its name does not say which records it holds: name it "
                    "memorials, people, anniversaries or events (e.g. memorials.yaml), or write an "
                    'object {"memorials": [...], "people": [...], ...}',
                )
            ]
        return parse_rows(kind, data, name, lines=lines.get("", ()), into=dataset)[1]
    if not isinstance(data, dict):
        return [
            RecordError(
                name,
                0,
                "-",
                "must hold an object with lists of records under "
                '"memorials", "people", "anniversaries" or "events"',
            )
        ]
    errors: list[RecordError] = []
    for key, rows in data.items():
        if key not in KINDS:
            errors.append(
                RecordError(name, 0, str(key), f"unknown key (known: {', '.join(KINDS)})")
            )
            continue
        if rows is None:
            continue
        if not isinstance(rows, list):
            errors.append(RecordError(name, 0, key, "must be a list of records"))
            continue
        _, row_errors = parse_rows(
            key, rows, f"{name}: {key}", lines=lines.get(key, ()), into=dataset
        )
        errors.extend(row_errors)
    return errors


def _read_csv(text: str, name: str, dataset: Dataset) -> list[RecordError]:
    first_line = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=lambda d: (first_line.count(d), d == ","))
    reader = csv.reader(io.StringIO(text, newline=""), csv.excel, delimiter=delimiter)
    try:
        header = next(reader, None)
    except csv.Error as error:
        return [RecordError(name, 1, "-", f"is not valid CSV: {error}")]
    if header is None:
        return []
    header = [column.strip() for column in header]
    file_kind = kind_of(Path(name))
    typed = "type" in header
    errors: list[RecordError] = []
    if not typed and file_kind is None:
        return [
            RecordError(
                name,
                1,
                "type",
                "the file has no type column and its name does not say which records it holds: "
                "name it memorials.csv, people.csv, anniversaries.csv or events.csv, or add a "
                "first column type (memorial, person, anniversary or event)",
            )
        ]
    kinds = KINDS if typed else (file_kind or "",)
    columns: list[str | None] = []
    seen: set[str] = set()
    for column in header:
        problem = _column_problem(column, kinds)
        if problem is None and column in seen:
            problem = "repeats an earlier column"
        if problem is not None:
            errors.append(RecordError(name, 1, column or "-", problem))
            columns.append(None)
        else:
            columns.append(column)
            seen.add(column)
    by_kind: dict[str, tuple[list[dict[str, Any]], list[int], list[int | None]]] = {}
    row = 1
    try:
        while True:
            line = reader.line_num + 1
            cells = next(reader, None)
            if cells is None:
                break
            row += 1
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) > len(header):
                errors.append(
                    RecordError(
                        name,
                        row,
                        "-",
                        f"has {len(cells)} cells, the header {len(header)}",
                        _line(line, row),
                    )
                )
                continue
            values = {
                column: restore_cell(cell)
                for column, cell in zip(columns, cells, strict=False)
                if column is not None and cell != ""
            }
            kind = file_kind or ""
            if typed:
                row_type = values.pop("type", "").strip().lower()
                found = ROW_TYPES.get(row_type) or (row_type if row_type in KINDS else None)
                if found is None:
                    errors.append(
                        RecordError(
                            name,
                            row,
                            "type",
                            f"{row_type!r} is not memorial, person, anniversary or event"
                            if row_type
                            else "is required",
                            _line(line, row),
                        )
                    )
                    continue
                kind = found
            rows, numbers, lines = by_kind.setdefault(kind, ([], [], []))
            rows.append(unflatten(kind, values))
            numbers.append(row)
            lines.append(_line(line, row))
    except csv.Error as error:
        errors.append(RecordError(name, row + 1, "-", f"is not valid CSV: {error}"))
    for kind in KINDS:
        if kind in by_kind:
            rows, numbers, lines = by_kind[kind]
            _, row_errors = parse_rows(kind, rows, name, numbers=numbers, lines=lines, into=dataset)
            errors.extend(row_errors)
    return errors


def _line(line: int, row: int) -> int | None:
    """A CSV row's starting line, when it differs from its row number (multi-line cells)."""
    return line if line != row else None


def _column_problem(column: str, kinds: Sequence[str]) -> str | None:
    """Why a CSV column is not one of ``kinds``' columns, or None when it is."""
    if column == "type":
        return None
    if _SOURCE_COLUMN.match(column):
        return None
    base, dot, language = column.partition(".")
    for kind in kinds:
        if dot and base in LOCALIZED_FIELDS[kind]:
            if language in LANGUAGES:
                return None
            return f"unknown language code {language!r} (known: {', '.join(LANGUAGES)})"
        if (
            not dot
            and column in FIELDS[kind]
            and column not in LOCALIZED_FIELDS[kind]
            and (column != "sources")
        ):
            return None
    if not dot and any(column in LOCALIZED_FIELDS[kind] for kind in kinds):
        return f"is localized: write one column per language ({column}.en, {column}.ru, …)"
    if column == "sources":
        return (
            "write sources as sources.1.ref, sources.1.publisher, sources.1.date, sources.1.url,"
            " sources.2.…"
        )
    return "unknown column"


def unflatten(kind: str, cells: Mapping[str, str]) -> dict[str, Any]:
    """A CSV row's cells (non-empty, by column) as a record mapping of ``kind``."""
    record: dict[str, Any] = {}
    sources: dict[int, dict[str, str]] = {}
    for column, value in cells.items():
        match = _SOURCE_COLUMN.match(column)
        if match:
            sources.setdefault(int(match.group(1)), {})[match.group(2)] = value
            continue
        base, dot, language = column.partition(".")
        if dot:
            record.setdefault(base, {})[language] = value
        elif column in LIST_FIELDS.get(kind, ()):
            record[column] = split_list(value)
        else:
            record[column] = value
    if sources:
        record["sources"] = [sources[number] for number in sorted(sources)]
    return record


def split_list(cell: str) -> list[str]:
    """A CSV list cell's items: ``a|b\\|c`` -> ``["a", "b|c"]``."""
    items: list[str] = []
    current: list[str] = []
    chars = iter(cell)
    for char in chars:
        if char == "\\":
            current.append(next(chars, "\\"))
        elif char == LIST_SEPARATOR:
            items.append("".join(current))
            current = []
        else:
            current.append(char)
    items.append("".join(current))
    return [item for item in (i.strip() for i in items) if item]


def join_list(items: Iterable[str]) -> str:
    """A list as one CSV cell, items joined with ``|`` (``|`` and ``\\`` escaped)."""
    return LIST_SEPARATOR.join(
        item.replace("\\", "\\\\").replace(LIST_SEPARATOR, "\\" + LIST_SEPARATOR) for item in items
    )


# -- writing --------------------------------------------------------------------------------


def record_document(kind: str, record: Any) -> dict[str, Any]:
    """A record as written in files: fields in schema order, empty ones left out."""
    if kind == "memorials":
        assert isinstance(record, Memorial)
        values: dict[str, Any] = {
            "slug": record.slug,
            "kind": record.kind.value,
            "names": record.names,
            "aliases": list(record.aliases),
            "description": record.description,
            "address": record.address,
            "city": record.city,
            "region": record.region,
            "country": record.country,
            "lat": record.lat,
            "lon": record.lon,
            "precision": record.precision.value,
            "inscription": record.inscription,
            "year": record.year,
            "people": [ref.slug for ref in record.people],
            "sources": _sources(record.sources),
        }
    elif kind == "people":
        assert isinstance(record, Person)
        values = {
            "slug": record.slug,
            "names": record.names,
            "aliases": list(record.aliases),
            "born": record.born,
            "died": record.died,
            "rank": record.rank,
            "unit": record.unit,
            "fate": record.fate,
            "burial_memorial": record.burial_memorial,
            "sources": _sources(record.sources),
        }
    elif kind == "anniversaries":
        assert isinstance(record, Anniversary)
        values = {
            "slug": record.slug,
            "month": record.month,
            "day": record.day,
            "year": record.year,
            "kind": record.kind.value,
            "memorial": record.memorial,
            "observed_in": list(record.observed_in),
            "title": record.title,
            "text": record.text,
            "sources": _sources(record.sources),
        }
    elif kind == "events":
        assert isinstance(record, Event)
        values = {
            "slug": record.slug,
            "starts_at": record.starts_at.astimezone(zone(record.timezone)).isoformat(),
            "timezone": record.timezone,
            "memorial": record.memorial,
            "place": record.place,
            "organizer": record.organizer,
            "status": record.status.value,
            "title": record.title,
            "description": record.description,
            "recurrence": record.recurrence.value if record.recurrence else None,
            # written only when it is not what the recurrence implies (see parse_event)
            "confirmed": None
            if record.confirmed == (record.recurrence is None)
            else record.confirmed,
            "languages": list(record.languages),
            "country": record.country,
            "city": record.city,
            "lat": record.lat,
            "lon": record.lon,
            "ends_at": record.ends_at.astimezone(zone(record.timezone)).isoformat()
            if record.ends_at
            else None,
            "sources": _sources(record.sources),
        }
    else:
        raise ValueError(f"unknown kind of record {kind!r}")
    document: dict[str, Any] = {}
    for name in FIELDS[kind]:
        value = values[name]
        if name in LOCALIZED_FIELDS[kind]:
            value = {code: value[code] for code in LANGUAGES if value.get(code)}
        if value is None or value in ("", [], {}):
            continue
        document[name] = value
    return document


def _sources(sources: Sequence[Source]) -> list[dict[str, str]]:
    return [source.as_row() for source in sources]


def documents(dataset: Dataset) -> dict[str, list[dict[str, Any]]]:
    """The dataset as ``{"memorials": [...], "people": [...], ...}`` (every key present)."""
    return {
        kind: [record_document(kind, record) for record in dataset.records(kind)] for kind in KINDS
    }


def dump(dataset: Dataset, fmt: str) -> str:
    """The whole dataset as one document in a format (CSV: the ``type`` layout)."""
    data = documents(dataset)
    if fmt == "json":
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    if fmt == "yaml":
        return _dump_yaml(data)
    if fmt == "csv":
        return _dump_csv(data, typed=True)
    raise TransferError(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")


def dump_kind(dataset: Dataset, kind: str, fmt: str) -> str:
    """The records of one kind in a format, as a file named after the kind holds them."""
    rows = [record_document(kind, record) for record in dataset.records(kind)]
    if fmt == "json":
        return json.dumps(rows, ensure_ascii=False, indent=2) + "\n"
    if fmt == "yaml":
        return _dump_yaml(rows)
    if fmt == "csv":
        return _dump_csv({kind: rows}, typed=False)
    raise TransferError(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")


def write_directory(dataset: Dataset, fmt: str, directory: Path) -> list[Path]:
    """Write one file per kind (``memorials.csv``, ``people.csv``, …) into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for kind in KINDS:
        path = directory / f"{kind}{EXTENSIONS[fmt]}"
        path.write_text(dump_kind(dataset, kind, fmt), encoding="utf-8", newline="")
        written.append(path)
    return written


def _dump_yaml(data: object) -> str:
    text: str = yaml.dump(
        data,
        Dumper=_YamlDumper,
        allow_unicode=True,
        sort_keys=False,
        width=100,
        default_flow_style=False,
    )
    return text


def csv_columns(data: Mapping[str, Sequence[Mapping[str, Any]]], *, typed: bool) -> list[str]:
    """The CSV header for these record documents: every field of their kinds, flattened."""
    columns: list[str] = ["type"] if typed else []
    most_sources = 0
    for kind, rows in data.items():
        for name in FIELDS[kind]:
            if name == "sources":
                continue
            if name in LOCALIZED_FIELDS[kind]:
                names = [f"{name}.{code}" for code in LANGUAGES]
            else:
                names = [name]
            columns.extend(n for n in names if n not in columns)
        most_sources = max([most_sources, *(len(row.get("sources", ())) for row in rows)])
    for number in range(1, max(most_sources, 1) + 1):
        columns.extend(f"sources.{number}.{key}" for key in SOURCE_FIELDS)
    return columns


def flatten(kind: str, document: Mapping[str, Any]) -> dict[str, str]:
    """A record document as CSV cells by column."""
    cells: dict[str, str] = {}
    for name, value in document.items():
        if name == "sources":
            for number, source in enumerate(value, start=1):
                for key, text in source.items():
                    cells[f"sources.{number}.{key}"] = text
        elif name in LOCALIZED_FIELDS[kind]:
            for code, text in value.items():
                cells[f"{name}.{code}"] = text
        elif name in LIST_FIELDS[kind]:
            cells[name] = join_list(value)
        elif isinstance(value, bool):
            cells[name] = "true" if value else "false"
        elif isinstance(value, float):
            cells[name] = repr(value)
        else:
            cells[name] = str(value)
    return cells


class _RowsEndingInNewline(io.StringIO):
    """Rows written with ``\r\n`` (so that the csv module quotes a cell holding a lone
    ``\r``, which it leaves bare with ``\n`` alone, and every reader, spreadsheets included,
    then starts a new row in the middle of the cell) and stored ending in ``\n``."""

    def write(self, text: str) -> int:
        """One row (the csv writer writes a row at a time), its end made ``\n``."""
        if text.endswith("\r\n"):
            text = text[:-2] + "\n"
        return super().write(text)


def _dump_csv(data: Mapping[str, Sequence[Mapping[str, Any]]], *, typed: bool) -> str:
    kinds = [kind for kind in KINDS if kind in data and (data[kind] or not typed)]
    present = {kind: data[kind] for kind in kinds}
    columns = csv_columns(present or {"memorials": []}, typed=typed)
    out = _RowsEndingInNewline(newline="")
    writer = csv.DictWriter(out, columns, lineterminator="\r\n")
    writer.writeheader()
    for kind in kinds:
        for document in data[kind]:
            cells = flatten(kind, document)
            if typed:
                cells["type"] = TYPE_OF_KIND[kind]
            writer.writerow({column: defuse_cell(cell) for column, cell in cells.items()})
    return out.getvalue()


__all__ = [
    "FORMATS",
    "ImportResult",
    "TransferError",
    "documents",
    "dump",
    "dump_kind",
    "format_of",
    "import_path",
    "kind_of",
    "read_path",
    "read_text",
    "write_directory",
]
