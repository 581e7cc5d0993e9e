"""Memorial search: one query box over names in every language, aliases, cities, addresses and
the people commemorated, across scripts, diacritics, case and small typos.

Every searchable string is folded to a Latin skeleton (``anyascii`` transliterates any script,
then case, diacritics and punctuation are dropped); RapidFuzz scores the query against each
memorial's folded strings and the best score wins.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from anyascii import anyascii
from rapidfuzz import fuzz

from bot.core.domain import LANGUAGES, Memorial, ScoredMemorial

_NON_ALNUM = re.compile(r"[^a-z0-9]+")

MIN_SCORE = 60.0


def fold(text: str) -> str:
    """Fold text to a lowercase ASCII skeleton: any script, no diacritics, no punctuation."""
    return _NON_ALNUM.sub(" ", anyascii(text).lower()).strip()


def memorial_terms(memorial: Memorial) -> list[str]:
    """Every string a user may type to find this memorial."""
    terms: list[str] = []
    terms.extend(memorial.names.values())
    terms.extend(memorial.aliases)
    terms.extend(memorial.city.values())
    if memorial.address:
        terms.append(memorial.address)
    for person in memorial.people:
        terms.extend(person.names.values())
    return [term for term in terms if term]


@dataclass(frozen=True, slots=True)
class _Entry:
    memorial: Memorial
    terms: tuple[str, ...]


class MemorialIndex:
    """An in-memory search index over memorials; rebuild it when the data changes."""

    def __init__(self, memorials: Iterable[Memorial], extra_terms: dict[str, list[str]]) -> None:
        entries = []
        for memorial in memorials:
            raw = memorial_terms(memorial) + extra_terms.get(memorial.slug, [])
            folded = tuple(dict.fromkeys(f for f in map(fold, raw) if f))
            entries.append(_Entry(memorial, folded))
        self._entries = entries

    def __len__(self) -> int:
        return len(self._entries)

    def search(self, query: str, limit: int) -> list[ScoredMemorial]:
        """Memorials matching ``query``, best first, each with a score from 0 to 100."""
        q = fold(query)
        if not q:
            return []
        hits: list[ScoredMemorial] = []
        for entry in self._entries:
            best = max((_score(q, term) for term in entry.terms), default=0.0)
            if best >= MIN_SCORE:
                hits.append(ScoredMemorial(entry.memorial, round(best, 1)))
        hits.sort(key=lambda hit: (-hit.score, hit.memorial.slug))
        return hits[:limit]


def _score(query: str, term: str) -> float:
    if query == term:
        return 100.0
    if len(query) >= 3 and term.startswith(query):
        return 95.0
    words = term.split()
    if query in words:
        return 92.0
    return max(fuzz.ratio(query, term), fuzz.partial_ratio(query, term) - 8.0 if len(query) >= 4 else 0.0)


def person_terms(names: Sequence[str]) -> list[str]:
    """Search terms for a person's names and aliases."""
    return [name for name in names if name]


__all__ = ["LANGUAGES", "MemorialIndex", "fold", "memorial_terms"]
