"""The curated dataset: reading its YAML files into core types."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from bot.core.records import (
    Dataset,
    RecordError,
    check_duplicates,
    check_references,
    parse_rows,
)

DATASET_DIR = Path(__file__).resolve().parent
KINDS = ("memorials", "people", "anniversaries", "events")


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


def load_curated(directory: Path = DATASET_DIR) -> Dataset:
    """Read and validate the curated dataset; raise DatasetError listing every problem.

    The files are parsed once per process (and again when one changes); each call returns
    its own lists.
    """
    stamps = tuple(
        (str(path), path.stat().st_mtime_ns if path.exists() else 0)
        for kind in KINDS
        for path in dataset_files(directory, kind)
    )
    cached = _load_curated(directory, stamps)
    return Dataset(
        memorials=list(cached.memorials),
        people=list(cached.people),
        anniversaries=list(cached.anniversaries),
        events=list(cached.events),
    )


@lru_cache(maxsize=4)
def _load_curated(directory: Path, _stamps: tuple[tuple[str, int], ...]) -> Dataset:
    dataset = Dataset()
    errors: list[RecordError] = []
    for kind in KINDS:
        for path in dataset_files(directory, kind):
            if not path.exists():
                continue
            rows = yaml.safe_load(path.read_text(encoding="utf-8")) or []
            name = str(path.relative_to(directory))
            _records, row_errors = parse_rows(kind, rows, name, into=dataset)
            errors.extend(row_errors)
    errors.extend(check_duplicates(dataset))
    errors.extend(check_references(dataset))
    if errors:
        raise DatasetError(errors)
    return dataset
