"""Import and export on SQLite and PostgreSQL: all or nothing, every error at once, idempotent,
and an export that imports back unchanged, in JSON, YAML and CSV."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import delete, select

from bot.app import App
from bot.core.records import Dataset
from bot.core.transfer import FORMATS, documents, dump, import_path, write_directory
from db import models
from tests.unit.test_search import SEED_YAML, seed_dataset


async def export_text(app: App, fmt: str = "json") -> str:
    return dump(await app.store.load_dataset(), fmt)


def by_slug(dataset: Dataset) -> dict[str, list[dict[str, Any]]]:
    """The records as written in files (no ids), each kind sorted by slug."""
    return {
        kind: sorted(rows, key=lambda row: str(row["slug"]))
        for kind, rows in documents(dataset).items()
    }


async def wipe(app: App) -> None:
    async with app.sessions.begin() as session:
        for model in (
            models.MemorialPerson,
            models.Event,
            models.Anniversary,
            models.Person,
            models.Memorial,
        ):
            await session.execute(delete(model))
    app.core.invalidate_index()


@pytest.fixture
def seed_file(tmp_path: Path) -> Path:
    path = tmp_path / "seeds.yaml"
    path.write_text(SEED_YAML, encoding="utf-8")
    return path


async def test_a_good_file_imports(empty_app: App, seed_file: Path) -> None:
    result = await import_path(empty_app.store, seed_file)
    assert result.errors == [] and result.report is not None
    assert result.report.summary() == (
        "memorials: 6 created, 0 updated, 0 unchanged; people: 2 created, 0 updated, "
        "0 unchanged; anniversaries: 2 created, 0 updated, 0 unchanged; events: 1 created, "
        "0 updated, 0 unchanged"
    )
    stored = await empty_app.store.load_dataset()
    expected = seed_dataset()
    assert [m.slug for m in stored.memorials] == sorted(m.slug for m in expected.memorials)
    manhay = next(m for m in stored.memorials if m.slug == "manhay-monument")
    assert [p.slug for p in manhay.people] == ["alexei-gvozdarev", "vil-kapustin"]
    assert stored.events[0].memorial == "liege-citadel-memorial"
    assert stored.anniversaries[0].memorial is None  # victory day, 9 May, comes first
    assert stored.anniversaries[1].memorial == "rebecq-national-memorial"


async def test_importing_twice_changes_nothing(empty_app: App, seed_file: Path) -> None:
    await import_path(empty_app.store, seed_file)
    async with empty_app.sessions() as session:
        before = (
            await session.execute(
                select(
                    models.Memorial.slug, models.Memorial.updated_at, models.Memorial.search_text
                ).order_by(models.Memorial.slug)
            )
        ).all()
    version = await empty_app.core.memorials.search_version()  # type: ignore[attr-defined]
    result = await import_path(empty_app.store, seed_file)
    assert result.report is not None and result.report.changed == 0
    counts = result.report.counts
    assert [counts[k].unchanged for k in counts] == [6, 2, 2, 1]
    async with empty_app.sessions() as session:
        after = (
            await session.execute(
                select(
                    models.Memorial.slug, models.Memorial.updated_at, models.Memorial.search_text
                ).order_by(models.Memorial.slug)
            )
        ).all()
    assert after == before
    assert await empty_app.core.memorials.search_version() == version  # type: ignore[attr-defined]


async def test_a_changed_record_is_updated_and_counted(
    empty_app: App, tmp_path: Path, seed_file: Path
) -> None:
    await import_path(empty_app.store, seed_file)
    data = yaml.safe_load(SEED_YAML)
    data["memorials"][2]["people"] = ["vil-kapustin"]  # Manhay: one person fewer
    data["memorials"][0]["aliases"] = ["Rebeck"]
    data["events"][0]["status"] = "moved"
    path = tmp_path / "changed.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = await import_path(empty_app.store, path)
    assert result.report is not None
    counts = result.report.counts
    assert (counts["memorials"].updated, counts["memorials"].unchanged) == (2, 4)
    assert (counts["events"].updated, counts["people"].updated) == (1, 0)
    empty_app.core.invalidate_index()
    hits = await empty_app.core.search_memorials("Rebeck", 1)
    assert hits[0].memorial.slug == "rebecq-national-memorial" and hits[0].score == 100
    assert await empty_app.core.search_memorials("Gvozdarev", 1) == []


@pytest.mark.parametrize("fmt", FORMATS)
async def test_an_export_imports_back_unchanged(
    empty_app: App, seed_file: Path, tmp_path: Path, fmt: str
) -> None:
    await import_path(empty_app.store, seed_file)
    exported = await export_text(empty_app, fmt)
    path = tmp_path / f"export.{fmt}"
    path.write_text(exported, encoding="utf-8", newline="")
    # Into the same database: nothing changes.
    result = await import_path(empty_app.store, path)
    assert result.errors == [] and result.report is not None and result.report.changed == 0
    # Into an empty one: the same data, exported to the same text.
    await wipe(empty_app)
    result = await import_path(empty_app.store, path)
    assert result.report is not None and result.report.counts["memorials"].created == 6
    assert await export_text(empty_app, fmt) == exported
    assert by_slug(await empty_app.store.load_dataset()) == by_slug(seed_dataset())


@pytest.mark.parametrize("fmt", FORMATS)
async def test_a_directory_export_imports_back_unchanged(
    app: App, tmp_path: Path, fmt: str
) -> None:
    before = await export_text(app)
    write_directory(await app.store.load_dataset(), fmt, tmp_path / "out")
    result = await import_path(app.store, tmp_path / "out")
    assert result.errors == [] and result.report is not None and result.report.changed == 0
    await wipe(app)
    result = await import_path(app.store, tmp_path / "out")
    assert result.errors == [] and result.report is not None
    assert await export_text(app) == before


BROKEN_CSV = """\
type,slug,kind,names.en,names.ru,city.en,city.ru,country,lat,lon,precision,people,month,day,\
title.en,title.ru,memorial,sources.1.seed
memorial,waremme-memorial,monument,Memorial in Waremme,Памятник в Варемме,Waremme,Варемме,BE,\
50.69,5.25,town,,,,,,,001.txt
memorial,Bad Slug,monument,Memorial,,Huy,Юи,BE,95,5.24,town,,,,,,,001.txt
memorial,spa-memorial,statue,Memorial in Spa,Памятник в Спа,Spa,Спа,XX,50.49,5.86,town,\
nobody,,,,,,001.txt
anniversary,feb-30,,,,,,,,,,,2,30,A day,День,nowhere,001.txt
anniversary,waremme-day,,,,,,,,,,,9,8,Liberation of Waremme,Освобождение,\
waremme-memorial,
person,,,,,,,,,,,,,,,,,
"""


async def test_a_broken_file_is_rejected_whole_with_every_error(app: App, tmp_path: Path) -> None:
    before = await export_text(app)
    path = tmp_path / "upload.csv"
    path.write_text(BROKEN_CSV, encoding="utf-8")
    result = await import_path(app.store, path)
    assert result.report is None
    found = {(e.row, e.field) for e in result.errors}
    assert {
        (3, "slug"),
        (3, "names.ru"),
        (3, "lat"),
        (4, "kind"),
        (4, "country"),
        (4, "people"),
        (5, "day"),
        (5, "kind"),
        (5, "memorial"),
        (6, "kind"),
        (6, "sources"),
        (7, "slug"),
        (7, "names"),
    } <= found, sorted(found)
    assert not any(e.row == 2 for e in result.errors)
    assert all(e.file == str(path) for e in result.errors)
    assert [e.row for e in result.errors] == sorted(e.row for e in result.errors)
    assert "unknown person 'nobody'" in {e.message for e in result.errors}
    # Nothing was written, not even the good rows.
    assert await export_text(app) == before
    assert await app.core.search_memorials("Waremme", 1) == []


async def test_references_may_point_into_the_database(app: App, tmp_path: Path) -> None:
    data = {
        "anniversaries": [
            {
                "slug": "manhay-ceremony",
                "month": 12,
                "day": 20,
                "kind": "ceremony",
                "memorial": "manhay-monument",
                "title": {"en": "Ceremony", "ru": "Церемония"},
                "sources": [{"seed": "000_fa9671f599f18303.txt"}],
            }
        ],
        "memorials": [
            {
                **yaml.safe_load(SEED_YAML)["memorials"][0],
                "slug": "rebecq-second",
                "people": ["alexei-gvozdarev"],
            }
        ],
    }
    path = tmp_path / "more.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = await import_path(app.store, path)
    assert result.errors == [], [str(e) for e in result.errors]
    assert result.report is not None and result.report.changed == 2


async def test_a_failure_while_writing_rolls_everything_back(empty_app: App) -> None:
    calls: list[int] = []

    def progress(done: int, total: int) -> None:
        calls.append(done)
        if done >= 3:
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        await empty_app.store.import_dataset(seed_dataset(), progress)
    assert calls and await empty_app.store.is_empty()


async def test_a_large_import_is_chunked_and_reports_progress(empty_app: App) -> None:
    base = seed_dataset().memorials[0]
    memorials = [
        replace(base, slug=f"synthetic-memorial-{n:05d}", lat=50 + n / 10000) for n in range(1234)
    ]
    seen: list[tuple[int, int]] = []
    report = await empty_app.store.import_dataset(
        Dataset(memorials=memorials), lambda done, total: seen.append((done, total))
    )
    assert report.counts["memorials"].created == 1234
    assert seen[-1] == (1234, 1234) and len(seen) == 3
    slugs = [f"synthetic-memorial-{n:05d}" for n in range(0, 1234, 2)]
    found = await empty_app.core.memorials.memorials_by_slugs(slugs)  # type: ignore[attr-defined]
    assert len(found) == len(slugs)
    report = await empty_app.store.import_dataset(Dataset(memorials=memorials))
    assert report.counts["memorials"].unchanged == 1234
