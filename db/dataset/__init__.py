"""The curated dataset: reading its YAML files into core types."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from bot.core.domain import Source
from bot.core.records import (
    Dataset,
    RecordError,
    check_duplicates,
    check_references,
    parse_rows,
)
from bot.core.sources import catalogue_from, enrich_dataset

DATASET_DIR = Path(__file__).resolve().parent
KINDS = ("memorials", "people", "anniversaries", "events")
SEEDS_FILE = "seeds.yaml"
SEED_FIELDS = frozenset({"publisher", "title", "date", "url", "note"})


class DatasetError(ValueError):
    """The dataset files do not validate; ``errors`` lists every problem."""

    def __init__(self, errors: list[RecordError]) -> None:
        super().__init__(f"{len(errors)} error(s) in the dataset, first: {errors[0]}")
        self.errors = errors


def dataset_files(directory: Path, kind: str) -> list[Path]:
    """The files that hold ``kind``: ``KIND.yaml``, then ``KIND/*.yaml`` in name order.

    The calendar of anniversaries is split by month (``anniversaries/01-january.yaml`` …) so
    that each month can be written and reviewed on its own.
    """
    return [directory / f"{kind}.yaml", *sorted((directory / kind).glob("*.yaml"))]


def seed_catalogue(directory: Path = DATASET_DIR) -> dict[str, Source]:
    """What each seed article states about itself (``seeds.yaml``): file name -> a source
    with its title (``ref``), publisher, date and address. Raises DatasetError when the
    file is malformed."""
    path = directory / SEEDS_FILE
    if not path.exists():
        return {}
    return dict(_seed_catalogue(path, path.stat().st_mtime_ns))


@lru_cache(maxsize=4)
def _seed_catalogue(path: Path, _stamp: int) -> dict[str, Source]:
    rows = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    errors: list[RecordError] = []
    if not isinstance(rows, dict):
        errors.append(RecordError(SEEDS_FILE, 0, "-", "must map seed file names to fields"))
        raise DatasetError(errors)
    for row, (name, fields) in enumerate(rows.items(), start=1):
        if not isinstance(fields, dict):
            errors.append(RecordError(SEEDS_FILE, row, str(name), "must be a mapping of fields"))
            continue
        unknown = set(fields) - SEED_FIELDS
        if unknown:
            errors.append(
                RecordError(SEEDS_FILE, row, str(name), f"unknown fields {sorted(unknown)}")
            )
        if not (fields.get("publisher") or fields.get("url")):
            errors.append(RecordError(SEEDS_FILE, row, str(name), "needs a publisher or a url"))
    if errors:
        raise DatasetError(errors)
    return catalogue_from(rows)


def load_curated(directory: Path = DATASET_DIR) -> Dataset:
    """Read and validate the curated dataset; raise DatasetError listing every problem.

    Every ``seed:`` source is completed from the seed catalogue (``seeds.yaml``): publisher,
    title, date and address, so that users see those and never a file name. The files are
    parsed once per process (and again when one changes); each call returns its own lists.
    """
    paths = [path for kind in KINDS for path in dataset_files(directory, kind)]
    stamps = tuple(
        (str(path), path.stat().st_mtime_ns if path.exists() else 0)
        for path in [*paths, directory / SEEDS_FILE]
    )
    cached = _load_curated(directory, stamps)
    return Dataset(
        memorials=list(cached.memorials),
        people=list(cached.people),
        anniversaries=list(cached.anniversaries),
        events=list(cached.events),
    )


def read_curated(directory: Path = DATASET_DIR) -> tuple[Dataset, list[RecordError]]:
    """Read the curated files without stopping at problems: every record that parses (seed
    sources completed from the catalogue) and every error, for ``dataset check``."""
    dataset = Dataset()
    errors: list[RecordError] = []
    for kind in KINDS:
        for path in dataset_files(directory, kind):
            if not path.exists():
                continue
            name = str(path.relative_to(directory))
            try:
                rows = yaml.safe_load(path.read_text(encoding="utf-8")) or []
            except yaml.YAMLError as error:
                errors.append(RecordError(name, 0, "-", f"is not valid YAML: {error}"))
                continue
            if not isinstance(rows, list):
                errors.append(RecordError(name, 0, "-", "must be a list of records"))
                continue
            _records, row_errors = parse_rows(kind, rows, name, into=dataset)
            errors.extend(row_errors)
    errors.extend(check_duplicates(dataset))
    errors.extend(check_references(dataset))
    try:
        catalogue = seed_catalogue(directory)
    except DatasetError as error:
        errors.extend(error.errors)
        catalogue = {}
    return enrich_dataset(dataset, catalogue), errors


@lru_cache(maxsize=4)
def _load_curated(directory: Path, _stamps: tuple[tuple[str, int], ...]) -> Dataset:
    dataset, errors = read_curated(directory)
    if errors:
        raise DatasetError(errors)
    return dataset
