"""The search benchmark, small: both corpora (2,000 memorials, 2,000 chronicle entries) on
in-memory indexes. Hit rates are deterministic (fixed seeds); wall-clock time is never asserted."""

from __future__ import annotations

import pytest

from bench.search_bench import (
    CorpusResult,
    generate_chronicle,
    main,
    make_corpora,
    measure_indexes,
    spellings,
)
from bot.core.search import fold, skeleton

MEMORIAL_CLASSES = {
    "exact name",
    "exact town",
    "typo town",
    "cyrillic town",
    "prefix town",
    "prefix town (cyrillic)",
    "cyrillic person",
    "person (de spelling)",
    "person full (fr)",
    "typo person",
    "seed examples",
}
CHRONICLE_CLASSES = {
    "exact name",
    "prefix surname",
    "prefix surname (other spelling)",
    "typo person",
    "cyrillic person (stored latin)",
    "latin person (stored cyrillic)",
    "other transliteration",
}


@pytest.fixture(scope="module")
def results() -> dict[str, CorpusResult]:
    corpora = make_corpora(2000, 2000, per_kind=40)
    return {result.name: result for result in measure_indexes(corpora, rounds=1)}


def test_both_corpora_are_measured(results: dict[str, CorpusResult]) -> None:
    memorials, chronicle = results["memorials"], results["chronicle"]
    assert {c.kind for c in memorials.classes} == MEMORIAL_CLASSES
    assert {c.kind for c in chronicle.classes} == CHRONICLE_CLASSES
    assert memorials.documents > 2000  # with the curated dataset
    assert chronicle.documents == 2000
    for result in (memorials, chronicle):
        assert result.build_s > 0
        assert result.vocabulary > 0
        for c in result.classes:
            assert c.queries >= 20
            assert c.p50 <= c.p95 <= c.p99


@pytest.mark.parametrize("corpus", ["memorials", "chronicle"])
def test_every_class_finds_the_right_answer(results: dict[str, CorpusResult], corpus: str) -> None:
    rates = {c.kind: c.hit_rate for c in results[corpus].classes}
    low = {kind: rate for kind, rate in rates.items() if rate < 0.9}
    assert not low, (low, [c.misses for c in results[corpus].classes if c.kind in low])
    assert sum(rates.values()) / len(rates) >= 0.95, rates


def test_typo_classes_report_the_strict_rate_too(results: dict[str, CorpusResult]) -> None:
    for result in results.values():
        typo = next(c for c in result.classes if c.kind == "typo person")
        assert typo.strict_rate is not None
        assert typo.strict_rate <= typo.hit_rate


def test_chronicle_is_deterministic_and_varied() -> None:
    entries = generate_chronicle(500, seed=7)
    assert entries == generate_chronicle(500, seed=7)
    schemes = {entry.scheme for entry in entries}
    assert {"cyrillic", "en", "de", "fr", "nl"} <= schemes
    assert {entry.language for entry in entries} == {"ru", "uk", "be"}
    assert any(entry.other_spelling for entry in entries)
    assert any(entry.unit for entry in entries)
    assert len({entry.key for entry in entries}) == 500
    # Every spelling of a surname has the same skeleton or is a reading away from it.
    for entry in entries[:50]:
        keys = {skeleton(fold(s)) for s in spellings(entry.surname, entry.language)}
        assert keys


def test_command_line_runs_small(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--memorials", "300", "--chronicle", "300", "--per-kind", "5", "--rounds", "1"])
    out = capsys.readouterr().out
    assert "== memorials: in-memory index ==" in out
    assert "== chronicle: in-memory index ==" in out
    assert "prefix surname" in out
