"""Search (memorials, and the people's chronicle) and nearest-memorial lookup, in memory.

One query box matches memorial names in every language, aliases, cities, addresses and the
people a memorial commemorates -- and, in a second index of the same kind, the names of the
Immortal Regiment's chronicle (``chronicle_documents``) -- across scripts, diacritics, case,
transliteration schemes, typos of a letter or two, and words still being typed (Discord's
autocomplete sends every prefix).

How a string is made comparable:

1. ``fold``: ``anyascii`` transliterates any script to ASCII ("Льеж" -> "L'ezh",
   "Liège" -> "Liege"), then case, apostrophes (soft and hard signs) and punctuation go:
   "lezh", "liege". A folded word is a word *as written*.
2. ``skeleton``: each folded word is reduced to a key that is the same in the English, French,
   Dutch and German ways of writing a Russian name ("Gvozdarev", "Gvozdarew", "Gwosdarew" and
   "Гвоздарев" all give "gvosdarev"; ё written e, jo, io or yo is e: "Fjodor", "Fiodor",
   "Fedor"). Where the schemes read a letter differently (French ch is ш and j is ж, German z is
   ц, Dutch oe is у, Ukrainian h is г), ``readings`` gives the other keys.

The index holds every folded word once, filed under its skeleton and its other readings, and,
for every word, the documents that contain it (an inverted index), and each document's terms
(field and words). A query word matches index words

- as typed (100); by skeleton, another spelling of it (98; 95 when only one of the two is read
  another nation's way; 80 for a word of fewer than five typed letters, where skeletons
  collide; scored as a typo when the query word doubles a letter no spelling doubles, ``_DOUBLED``:
  "Chazeeeev" is a typo of Chazebeev before it is another spelling of Chaseiov);
- as the beginning of a longer word, from three letters (``PREFIX_SCORES``: 82 for three
  letters typed up to 93 for six, less 3 x the share of the word not typed; 4 less when only
  the skeletons match, "Gwos" for "Gvozdarev"; 12 less for a word in more than 1 % of the
  documents, so that "Mon" completes towns before "monument" and "Iva" surnames before "Ivan");
- as a Russian inflection (86: the words beginning with the Snowball stem of a Cyrillic query
  word, from four letters, about as long as the query word);
- within one edit for words of four to six letters or two edits when either word has seven
  letters or more, three between skeletons when either has ten (RapidFuzz's optimal string
  alignment distance, a transposition or a replacement being one edit as a letter dropped is),
  among the skeletons and among the words as written, of about the same length, that share
  the query word's first or second letter or have a letter more or less before it; scored 94
  less 4 for each edit after the first, less up to 5 as their Indel similarity falls, and 3.5
  per letter the query word has under seven.
  A common word found as typed, or any word found as typed in a query of three words or more,
  is not looked up as a typo.

The rarer query words (by the postings of their best matches) pick the candidates from their
postings; the others add to the candidates they share, so that a common given name and a
common surname together find the person. The best are then scored term by term:

    field weight x coverage x (0.9 + 0.1 x share)

where coverage is the part of the query the term matches (each query word by its best match,
weighted by length), share the part of the term the query matches, and the field weight 1.0
for names and aliases, 0.97 for the people commemorated, 0.9 for the city and 0.85 for the
address (a chronicle entry's unit). A query spread over several terms ("Gvozdarev Manhay")
scores 0.9 x its coverage across them. A document's score is its best; hits below
``MIN_SCORE`` are dropped, ties go by slug. Scoring stops as soon as no remaining candidate's
bound can enter the results. ``bench/search_bench.py`` measures all this at 100,000 memorials
and 100,000 chronicle entries (BENCHMARKS.md).

Nearest memorials come from nested grids of 10°, 1° and 0.1° cells searched best-first around
the point (``GRID_DEGREES``), ranked by great-circle (haversine) distance; the result is exact.
"""

from __future__ import annotations

import bisect
import heapq
import math
import re
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import snowballstemmer  # type: ignore[import-untyped]
from anyascii import anyascii
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from bot.core.domain import GeoPoint, Localized, Memorial, Person
from bot.core.geo import EARTH_RADIUS_KM, distance_km

MIN_SCORE = 60.0
"""Hits below this score (0-100) are not returned."""

FIELD_NAME = "n"
"""A memorial's name (any language) or alias."""
FIELD_PERSON = "p"
"""The name or alias of a person the memorial commemorates."""
FIELD_CITY = "c"
"""The memorial's city, in any language."""
FIELD_ADDRESS = "a"
"""The memorial's address."""

FIELDS: tuple[str, ...] = (FIELD_NAME, FIELD_PERSON, FIELD_CITY, FIELD_ADDRESS)
FIELD_WEIGHTS: dict[str, float] = {
    FIELD_NAME: 1.0,
    FIELD_PERSON: 0.97,
    FIELD_CITY: 0.9,
    FIELD_ADDRESS: 0.85,
}

MAX_QUERY_TOKENS = 8
LONG_QUERY = 3
"""In a query of this many words or more, a word found as typed is not looked up as a typo."""
PREFIX_MIN = 3
"""A query word of at least this many characters also matches longer words it begins."""
PREFIX_MAX_MATCHES = 200
COMMON_POSTINGS = 4000
"""A query word behind more memorials than this does not pick candidates when a rarer one can."""
DRIVER_SPREAD = 8.0
"""A query word is as rare as its matches scoring at most this much below its best one."""
MAX_SCAN = 10000
"""At most this many postings are read for a common query word."""
RESCORE = 120
"""At most this many of the cheaply ranked candidates are scored term by term (fewer when
the bound of the next one cannot beat the hits found)."""
FUZZY_THREE_EDITS = 10
"""Skeletons this long are looked up three edits away: two typing errors in a spelling the
index does not hold ("Dosejtsjaskij", Dutch, for Душчаский, stored "Dushchaskiy") break its
letter groups and put the skeletons three apart."""
FUZZY_TWO_EDITS = 7
"""Words this long tolerate two edits (from a query word or to an index word this long);
shorter ones (from four letters) one."""
GRID_DEGREES: tuple[float, ...] = (10.0, 1.0, 0.1)
"""Nearest memorials: the cell sizes of the nested grids, coarsest first."""

INFLECTION_SCORE = 86.0
"""A Russian query word matches the index words that begin with its Snowball stem this well."""
INFLECTION_STEM_MIN = 4
"""... when the stem has at least this many letters, and the index word is at most two letters
longer than the query word and four longer than the stem (an ending for an ending)."""
COMMON_SHARE = 0.01
"""A word in more than this share of the documents (and at least ``COMMON_MIN``) is common."""
COMMON_MIN = 50
COMMON_PENALTY = 12.0
"""A common word completing a prefix scores this much less."""
SAME_KEY = 98.0
"""A query word matches another spelling of it (a word with the same skeleton) this well..."""
READING_SCORE = 95.0
"""... and this well when only one of them is read another nation's way (``readings``)."""
SAME_KEY_MIN = 5
SAME_KEY_SHORT = 80.0
"""... and this well when shorter than ``SAME_KEY_MIN`` letters (short skeletons collide)."""
PREFIX_SCORES = (0.0, 0.0, 0.0, 82.0, 88.0, 91.0, 93.0)
"""A query word typed with 3, 4, 5, 6 or more letters matches the words it begins this well
(the more letters typed, the surer), ``PREFIX_REST`` x the share of the word not typed less."""
PREFIX_REST = 3.0
PREFIX_OTHER_SPELLING = 4.0
"""A prefix matches a word only through their skeletons this much less than as written."""
TYPO_SCORE = 94.0
"""A word one typing error away from the query word scores at most this..."""
TYPO_SPREAD = 5.0
"""... up to this much less as their Indel similarity falls (words as many errors away: the
closer in letters first)..."""
FUZZY_SHORT_PENALTY = 3.5
"""A typo match scores this much less for every letter the query word is shorter than
``FUZZY_TWO_EDITS`` (one edit in a short word is weak evidence)..."""
FUZZY_EXTRA_EDIT = 4.0
"""... and this much less when two edits away rather than one..."""
TYPO_OTHER_SPELLING = 4.0
"""... and this much less when only the skeletons are that close, not the words as written
(a typo in the spelling typed is likelier than a typo and another spelling at once)."""

_DOUBLED = re.compile(r"^(.)\1|(.)\2\2|([hjquwx])\3")
"""What no transliteration of a name writes: a doubled first letter, a letter tripled, or a
doubled h, j, q, u, w or x (a typing error, collapsed by the skeleton)."""
_APOSTROPHES = re.compile(r"['`´ʹʻʼ’‘]")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_WORD = re.compile(r"[^\W_]+")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_RUSSIAN = snowballstemmer.stemmer("russian")

_SKELETON_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"ph", "f"),
        # щ: shch (en), chtch (fr), sjtsj (nl), schtsch (de)
        (r"schtsch|shch|chtch|sjtsj|shtch", "sh"),
        # ч: ch (en), tch (fr), tsj (nl), tsch (de) -- and х: kh (en, fr), ch (nl, de)
        (r"tsch|tch|tsj", "ch"),
        (r"kh|ch", "h"),
        # ш and ж: sh, sch (de), sj (nl), zh, zj
        (r"sch|sj|zh|zj", "sh"),
        # ё inside a word: e (en), jo (de, nl), io (fr), yo -- not ю (iou, joe)
        (r"(?<=[a-z])[jyi]o(?![ue])", "e"),
        # у as French writes it, and ü as German does without umlauts (not Dutch "oe": it
        # would merge the о and е of Russian names, "Героев"; a typo away, it still matches)
        (r"ou|ue", "u"),
        # й, я, ю, ё: j (de, nl), y (en), i (fr): one letter
        (r"[jy]", "i"),
        (r"w", "v"),
        (r"z", "s"),
        (r"x", "ks"),
        (r"gu(?=[ei])", "g"),
        (r"ck|cq|q|c(?![eih])", "k"),
        (r"c", "s"),
        (r"(.)\1+", r"\1"),
        # -off, -eff (fr) for -ov, -ev
        (r"f$", "v"),
    )
)
# A word being typed has no end yet: its key keeps a final "f".
_PREFIX_RULES = _SKELETON_RULES[:-1]


def fold(text: str) -> str:
    """Fold text to lowercase ASCII words: any script, no diacritics, no punctuation."""
    ascii_text = _APOSTROPHES.sub("", anyascii(text).lower())
    return _NON_ALNUM.sub(" ", ascii_text).strip()


def skeleton(word: str) -> str:
    """The transliteration-independent key of one folded word ("gwosdarew" -> "gvosdarev")."""
    if not word.isalpha():
        return word
    for pattern, replacement in _SKELETON_RULES:
        word = pattern.sub(replacement, word)
    return word


def prefix_keys(folded: str) -> list[tuple[str, float]]:
    """The keys the words a folded word may be the beginning of begin with, each with the
    score it takes off.

    A word being typed may end inside a letter group ("Schtsch", "Chtch") or before the end
    its skeleton rules look for ("Raf..." is not "Rav"): its skeleton without the end-of-word
    rule and (for a less sure match) the skeleton of all but its last letter.
    """
    if len(folded) < PREFIX_MIN or not folded.isalpha():
        return [(skeleton(folded), 0.0)] if len(folded) >= PREFIX_MIN else []
    keys: dict[str, float] = {}
    typed = folded
    for pattern, replacement in _PREFIX_RULES:
        typed = pattern.sub(replacement, typed)
    for key, cost in ((typed, 0.0), (skeleton(folded[:-1]), 4.0)):
        if len(key) >= 2 and (len(folded) > PREFIX_MIN or cost == 0.0):
            keys.setdefault(key, cost)
    return list(keys.items())


@dataclass(frozen=True, slots=True)
class QueryWord:
    """One word of a query: its skeleton, its Russian stem's skeleton (or ""), its keys as the
    beginning of a longer word (``prefix_keys``), the word folded (as written), its other
    nations' readings (``readings``) and how many letters were typed."""

    key: str
    stem: str
    prefixes: tuple[tuple[str, float], ...]
    folded: str
    readings: tuple[str, ...] = ()
    typed: int = 0
    """How many letters were typed (in the query's script)."""


def parse_query(query: str) -> list[QueryWord]:
    """A query's distinct words (see ``query_words``)."""
    words: dict[str, QueryWord] = {}
    for original in _WORD.findall(_APOSTROPHES.sub("", query)):
        folded = fold(original).split()
        stem = ""
        if len(folded) == 1 and _CYRILLIC.search(original):
            key = skeleton(fold(str(_RUSSIAN.stemWord(original.lower()))))
            if len(key) >= PREFIX_MIN and key != skeleton(folded[0]):
                stem = key
        for word in folded:
            key = skeleton(word)
            if key not in words:
                # Letters typed: "Щус" is three, though folded to "shchus".
                typed = len(original) if len(folded) == 1 else len(word)
                words[key] = QueryWord(
                    key, stem, tuple(prefix_keys(word)), word, tuple(readings(word)), typed
                )
    return list(words.values())


_READINGS: tuple[tuple[tuple[re.Pattern[str], str], ...], ...] = tuple(
    tuple((re.compile(pattern), replacement) for pattern, replacement in rules)
    for rules in (
        # French: ch is ш (tch is ч), j is ж, -ine is -ин
        ((r"(?<![ts])ch", "sh"), (r"j", "zh"), (r"ine$", "in")),
        # German: z is ц
        ((r"z(?![hj])", "ts"),),
        # Dutch: oe is у
        ((r"oe", "u"),),
        # Ukrainian: h is г
        ((r"(?<![kcsz])h", "g"),),
    )
)


def readings(folded: str) -> list[str]:
    """The skeletons of a folded word read the French, German, Dutch and Ukrainian ways where
    they differ from ``skeleton`` ("jefouine" is also "shefuin", as "Жефуин" is)."""
    if not folded.isalpha():
        return []
    plain = skeleton(folded)
    found: list[str] = []
    for rules in _READINGS:
        word = folded
        for pattern, replacement in rules:
            word = pattern.sub(replacement, word)
        if word != folded:
            key = skeleton(word)
            if key != plain and key not in found:
                found.append(key)
    return found


def query_words(query: str) -> list[tuple[str, str]]:
    """A query's distinct words as ``(skeleton, stem)`` pairs.

    ``stem`` is, for a Russian word, the skeleton of its Snowball stem when that is shorter
    (every inflection of the word begins with it: "Неизвестный" and "Неизвестного" both with
    "neisvestn"), else "".
    """
    return [(word.key, word.stem) for word in parse_query(query)]


def memorial_search_text(memorial: Memorial, people: Iterable[Person] = ()) -> str:
    """Every searchable string of a memorial, folded, one ``<field> <words>`` line per term.

    ``people`` are the people commemorated (their names and aliases are searched); for a person
    not given, the names in ``memorial.people`` are used. See ``search_text``.
    """
    given = {person.slug: person for person in people}
    commemorated: list[tuple[Localized, Sequence[str]]] = []
    for ref in memorial.people:
        person = given.get(ref.slug)
        if person is not None:
            commemorated.append((person.names, person.aliases))
        else:
            commemorated.append((ref.names, ()))
    return search_text(
        memorial.names, memorial.aliases, memorial.city, memorial.address, commemorated
    )


def search_text(
    names: Localized,
    aliases: Iterable[str],
    city: Localized,
    address: str | None,
    people: Iterable[tuple[Localized, Iterable[str]]] = (),
) -> str:
    """The search text of a memorial's fields: one ``<field> <folded words>`` line per term.

    Fields: ``n`` names and aliases, ``p`` names and aliases of the people commemorated, ``c``
    the city in every language, ``a`` the address. A term is listed once, under its first field.
    """
    person_terms: list[str] = []
    for person_names, person_aliases in people:
        person_terms.extend(_texts(person_names))
        person_terms.extend(person_aliases)
    groups: tuple[tuple[str, Iterable[str]], ...] = (
        (FIELD_NAME, [*_texts(names), *aliases]),
        (FIELD_PERSON, person_terms),
        (FIELD_CITY, _texts(city)),
        (FIELD_ADDRESS, [address] if address else []),
    )
    seen: set[str] = set()
    lines: list[str] = []
    for code, terms in groups:
        for term in terms:
            folded = fold(term)
            if folded and folded not in seen:
                seen.add(folded)
                lines.append(f"{code} {folded}")
    return "\n".join(lines)


def is_search_text(text: str) -> bool:
    """Whether a stored value is in the ``search_text`` format (older rows may not be)."""
    return bool(text) and all(
        line[:1] in FIELD_WEIGHTS and line[1:2] == " " for line in text.split("\n")
    )


def _texts(text: Localized) -> list[str]:
    return [value for value in text.values() if value]


def parse_search_text(text: str) -> Iterator[tuple[str, str]]:
    """The ``(field, folded words)`` terms of a ``memorial_search_text`` value."""
    for line in text.splitlines():
        code, _, words = line.partition(" ")
        if code in FIELD_WEIGHTS and words:
            yield code, words
        elif line.strip():
            yield FIELD_NAME, fold(line)


@dataclass(frozen=True, slots=True)
class SearchDocument:
    """What the index needs of one memorial: its slug, position and search text."""

    slug: str
    lat: float
    lon: float
    search_text: str


def documents_from(memorials: Iterable[Memorial], people: Iterable[Person]) -> list[SearchDocument]:
    """Search documents built from core records (for repositories without stored ones)."""
    by_slug = {person.slug: person for person in people}
    return [
        SearchDocument(
            m.slug,
            m.lat,
            m.lon,
            memorial_search_text(m, [by_slug[ref.slug] for ref in m.people if ref.slug in by_slug]),
        )
        for m in memorials
    ]


def chronicle_search_text(
    full_name: str, other_spelling: str | None = None, unit: str | None = None
) -> str:
    """The search text of one entry of the people's chronicle (see ``search_text``).

    The full name (in any script) and its other spelling, when given, are name terms; the unit
    is an address term, so that it is found but weighs less than a name.
    """
    return search_text({"name": full_name}, [other_spelling] if other_spelling else [], {}, unit)


def chronicle_documents(
    entries: Iterable[tuple[str, str, str | None, str | None]],
) -> list[SearchDocument]:
    """Search documents of chronicle entries given as ``(key, full name, other spelling, unit)``.

    A chronicle entry has no position: its latitude and longitude are 0.
    """
    return [
        SearchDocument(key, 0.0, 0.0, chronicle_search_text(full_name, other, unit))
        for key, full_name, other, unit in entries
    ]


@dataclass(frozen=True, slots=True)
class Hit:
    """One memorial found: its slug, score (0-100) and, for nearest queries, distance."""

    slug: str
    score: float
    distance_km: float | None = None


_FIELD_CODE = {code: rank for rank, code in enumerate(FIELDS)}
_RANK_WEIGHTS = tuple(FIELD_WEIGHTS[code] for code in FIELDS)
# A posting is memorial << 3 | field rank << 1 | (1 when the word is a whole term).
_POSTING_WEIGHT = tuple(
    FIELD_WEIGHTS[FIELDS[(flags >> 1) & 3]] * (1.0 if flags & 1 else 0.96) for flags in range(8)
)


class MemorialIndex:
    """An in-memory index of memorials for search and nearest queries; rebuild it on change."""

    def __init__(self, documents: Iterable[SearchDocument]) -> None:
        self._slugs: list[str] = []
        self._lat = array("d")
        self._lon = array("d")
        # Terms, flat: memorial n has terms _memorial_terms[n] .. _memorial_terms[n + 1] - 1;
        # term t has words _term_words[_term_starts[t]:_term_starts[t + 1]], a field and the
        # length of its words.
        self._memorial_terms = array("i", [0])
        self._term_starts = array("i", [0])
        self._term_words = array("i")
        self._term_fields = array("b")
        self._term_lengths = array("i")
        # Words are folded words as written; each has a key, its skeleton: the word "gwosdarew"
        # has the key "gvosdarev", which "gvozdarev" and "гвоздарев" have too.
        self._words: list[str] = []
        self._word_ids: dict[str, int] = {}
        self._word_keys = array("i")
        self._postings: list[array[int]] = []
        self._keys: list[str] = []
        self._key_ids: dict[str, int] = {}
        self._key_words: list[list[int]] = []
        lengths: list[int] = []
        terms: dict[str, tuple[tuple[int, ...], int]] = {}
        term_words, term_starts = self._term_words, self._term_starts
        term_fields, term_lengths = self._term_fields, self._term_lengths
        for number, document in enumerate(documents):
            self._slugs.append(document.slug)
            self._lat.append(document.lat)
            self._lon.append(document.lon)
            best: dict[int, int] = {}
            for code, words in parse_search_text(document.search_text):
                rank = _FIELD_CODE[code]
                known = terms.get(words)
                if known is None:
                    found = [self._word_id(word, lengths) for word in words.split()]
                    known = terms[words] = (tuple(found), sum(lengths[i] for i in found))
                ids, length = known
                term_words.extend(ids)
                term_starts.append(len(term_words))
                term_fields.append(rank)
                term_lengths.append(length)
                flags = rank << 1 | (1 if len(ids) == 1 else 0)
                weight = _POSTING_WEIGHT[flags]
                for word_id in ids:
                    current = best.get(word_id)
                    if current is None or weight > _POSTING_WEIGHT[current]:
                        best[word_id] = flags
            for word_id, flags in best.items():
                self._postings[word_id].append(number << 3 | flags)
            self._memorial_terms.append(len(term_fields))
        self._lengths = lengths
        self._common = max(COMMON_MIN, COMMON_SHARE * len(self._slugs))
        self._sorted_words = sorted(self._words)
        self._sorted_keys = sorted(self._keys)
        # Typos are looked for among skeletons (not among other readings: a typo in a reading
        # of a word is too far from what was typed) and among words as written.
        primary = set(self._word_keys)
        self._buckets = _buckets([key if i in primary else "" for i, key in enumerate(self._keys)])
        self._word_buckets = _buckets(self._words)
        self._cells = _Cells(self._lat, self._lon)

    def _word_id(self, word: str, lengths: list[int]) -> int:
        """The id of a folded word, added with its key when new (``lengths``: its key's)."""
        word_id = self._word_ids.get(word)
        if word_id is None:
            word_id = len(self._words)
            self._word_ids[word] = word_id
            self._words.append(word)
            self._postings.append(array("i"))
            key = skeleton(word)
            self._word_keys.append(self._add_key(key, word_id))
            for other in readings(word):
                self._add_key(other, word_id)
            lengths.append(len(key))
        return word_id

    def _add_key(self, key: str, word_id: int) -> int:
        """File a word under a key (its skeleton, or another reading of it)."""
        key_id = self._key_ids.get(key)
        if key_id is None:
            key_id = self._key_ids[key] = len(self._keys)
            self._keys.append(key)
            self._key_words.append([])
        self._key_words[key_id].append(word_id)
        return key_id

    def __len__(self) -> int:
        return len(self._slugs)

    @property
    def vocabulary_size(self) -> int:
        """How many distinct words (as written, folded) the index holds."""
        return len(self._words)

    # -- search --------------------------------------------------------------------------

    def search(self, query: str, limit: int) -> list[Hit]:
        """Memorials matching ``query``, best first, each with a score from 0 to 100."""
        words = parse_query(query)[:MAX_QUERY_TOKENS]
        if not words or limit < 1:
            return []
        # In a longer query, a word found as typed is taken as typed (not looked up as a typo).
        literal_is_enough = len(words) >= LONG_QUERY
        matches = [self._match_word(word, literal_is_enough) for word in words]
        weights = [float(len(word.key)) for word in words]
        combined: dict[int, list[tuple[int, float]]] = {}
        for i, found in enumerate(matches):
            for word_id, score in found.items():
                combined.setdefault(word_id, []).append((i, score))
        hits: list[tuple[float, str]] = []
        floor = MIN_SCORE
        for number, bound in self._candidates(matches, weights):
            if bound < floor:
                break  # candidates come by falling bound: none of the rest can enter
            score = round(self._score(number, combined, weights), 1)
            if score >= floor:
                hits.append((-score, self._slugs[number]))
                if len(hits) >= limit:
                    hits = heapq.nsmallest(limit, hits)
                    floor = max(floor, -hits[-1][0] - 0.05)
        best = heapq.nsmallest(limit, hits)
        return [Hit(slug, -negative) for negative, slug in best]

    def _match_word(
        self, query_word: QueryWord, literal_is_enough: bool = False
    ) -> dict[int, float]:
        """Index words matching a query word, each with a score from 0 to 100.

        The word as typed (100); another spelling of it (the same skeleton, ``SAME_KEY``, or
        the same under another nation's reading, ``READING_SCORE``; ``SAME_KEY_SHORT`` when
        fewer than ``SAME_KEY_MIN`` letters were typed); longer words it begins (from
        ``PREFIX_MIN`` letters, ``PREFIX_SCORES``), ``PREFIX_OTHER_SPELLING`` less when only
        their skeletons do (``prefix_keys``) and ``COMMON_PENALTY`` less for a word in more
        than ``COMMON_SHARE`` of the documents (words of every document, such as "monument" or
        a given name, are rarely what a prefix is typed for); the inflections of a Russian word
        (``INFLECTION_SCORE``); and typos (``_near``), among the skeletons and among the words
        as written -- unless the word was found as typed and is common, or
        ``literal_is_enough``.
        """
        found: dict[int, float] = {}
        postings, common = self._postings, self._common
        key_words = self._key_words

        def put(word_id: int, score: float, prefix: bool = False) -> None:
            if prefix and len(postings[word_id]) > common:
                score -= COMMON_PENALTY
            if score > found.get(word_id, 0.0):
                found[word_id] = score

        folded, word = query_word.folded, query_word.key
        literal = self._word_ids.get(folded)
        if literal is not None:
            found[literal] = 100.0
        key_id = self._key_ids.get(word)
        typed = query_word.typed or len(folded)
        long = typed >= SAME_KEY_MIN
        same = SAME_KEY if long else SAME_KEY_SHORT
        other_reading = READING_SCORE if long else SAME_KEY_SHORT
        word_keys = self._word_keys
        # A letter no spelling doubles, doubled ("Zzohouk", "Chazeeeev", "Wuuiow"), is a typing
        # error: the words that share a skeleton with it only once it is collapsed are a typo
        # away, not another spelling of it.
        doubled = _DOUBLED.search(folded) is not None
        short = FUZZY_SHORT_PENALTY * max(0, FUZZY_TWO_EDITS - len(folded))

        def same_word(word_id: int, score: float) -> None:
            if doubled and word_id != literal:
                score = min(score, _typo_score(folded, self._words[word_id], 1) - short)
            put(word_id, score)

        if key_id is not None:
            for word_id in key_words[key_id]:
                same_word(word_id, same if word_keys[word_id] == key_id else other_reading)
        # Read one nation's way, the query word may be another's skeleton (but a reading of the
        # one is not matched with a reading of the other: "Pchaov" and "Pjaov" both read as
        # French would be Пшаов and Пжаов, which meet only as skeletons).
        for reading in query_word.readings:
            reading_id = self._key_ids.get(reading)
            if reading_id is not None:
                for word_id in key_words[reading_id]:
                    if word_keys[word_id] == reading_id:
                        same_word(word_id, other_reading)
        size = len(folded)
        if size >= PREFIX_MIN:
            base = PREFIX_SCORES[min(size, len(PREFIX_SCORES) - 1)]
            for other in _starting_with(self._sorted_words, folded):
                if other != folded:
                    score = base - PREFIX_REST * (1.0 - size / len(other))
                    put(self._word_ids[other], score, True)
            for prefix, cost in query_word.prefixes:
                size = len(prefix)
                for other in _starting_with(self._sorted_keys, prefix):
                    if other != word:
                        score = base - PREFIX_REST * (1.0 - size / len(other))
                        score -= cost + PREFIX_OTHER_SPELLING
                        for word_id in key_words[self._key_ids[other]]:
                            put(word_id, score, True)
        stem = query_word.stem
        if len(stem) >= INFLECTION_STEM_MIN:
            longest = min(len(word) + 2, len(stem) + 4)
            for other in _starting_with(self._sorted_keys, stem):
                if len(other) <= longest:
                    for word_id in key_words[self._key_ids[other]]:
                        put(word_id, INFLECTION_SCORE)
        # Typos: among the skeletons (a typo in any spelling) and among the words as written
        # (a typo in the spelling stored: "Kriuk" for "Khiuk", two edits apart as skeletons).
        if literal is not None and (literal_is_enough or len(postings[literal]) > common):
            return found  # a common word as typed ("monument", "ivan") is no typo
        key_seen: set[int] = set() if key_id is None else {key_id}
        for probe in (word, *query_word.readings):
            for other_id, score in _near(probe, self._buckets, key_seen, FUZZY_THREE_EDITS):
                for word_id in key_words[other_id]:
                    put(word_id, score - TYPO_OTHER_SPELLING)
        word_seen: set[int] = set() if literal is None else {literal}
        for word_id, score in _near(folded, self._word_buckets, word_seen):
            put(word_id, score)
        return found

    def _candidates(
        self, matches: list[dict[int, float]], weights: list[float]
    ) -> list[tuple[int, float]]:
        """Memorials worth scoring, each with a bound on its score, by falling bound.

        The rarer query words (whose best matches, ``DRIVER_SPREAD``, are behind at most
        ``COMMON_POSTINGS`` memorials, or, when all are
        common, every word: "Pavel Timofeev" is found by both) pick the candidates from their
        postings, at most ``MAX_SCAN`` a word, best matches first; the bound adds what the other
        words could contribute at most. The best ``RESCORE`` are kept.
        """
        sizes = [sum(len(self._postings[w]) for w in found) for found in matches]
        # How rare a word is: the postings of its best matches (a rare name stays rare
        # however many typo neighbours it has).
        rarity = []
        for found in matches:
            top = max(found.values(), default=0.0) - DRIVER_SPREAD
            rarity.append(sum(len(self._postings[w]) for w, v in found.items() if v >= top))
        drivers = [i for i, size in enumerate(rarity) if 0 < size <= COMMON_POSTINGS]
        if not drivers:
            drivers = [i for i, size in enumerate(sizes) if size]
            if not drivers:
                return []
        rough: dict[int, float] = {}
        for i in drivers:
            budget = MAX_SCAN
            best: dict[int, float] = {}
            for word_id, score in sorted(matches[i].items(), key=lambda item: -item[1]):
                postings = self._postings[word_id]
                for posting in postings[:budget]:
                    value = score * _POSTING_WEIGHT[posting & 7]
                    number = posting >> 3
                    if value > best.get(number, 0.0):
                        best[number] = value
                budget -= len(postings)
                if budget <= 0:
                    break
            weight = weights[i]
            for number, value in best.items():
                rough[number] = rough.get(number, 0.0) + weight * value
        # The other words add to the candidates they share (all of them, up to MAX_SCAN
        # postings a word: then their bound is exact), so that "Pavel Timofeev" puts the
        # Timofeevs first among the Pavels.
        unsure = 0.0
        for i, size in enumerate(sizes):
            if i in drivers:
                continue
            if not size or size > MAX_SCAN:
                unsure += weights[i]
                continue
            best = {}
            for word_id, score in matches[i].items():
                for posting in self._postings[word_id]:
                    number = posting >> 3
                    if number in rough:
                        value = score * _POSTING_WEIGHT[posting & 7]
                        if value > best.get(number, 0.0):
                            best[number] = value
            weight = weights[i]
            for number, value in best.items():
                rough[number] += weight * value
        total = sum(weights)
        others = 100.0 * unsure
        # A posting's weight is at least 0.96 x the field weight of any term with the word.
        chosen = heapq.nlargest(RESCORE, rough, key=lambda n: (rough[n], -n))
        return [(n, (rough[n] / 0.96 + others) / total) for n in chosen]

    def _score(
        self, number: int, combined: dict[int, list[tuple[int, float]]], weights: list[float]
    ) -> float:
        """A memorial's score for a query: its best term, or the query spread over its terms.

        A term scores the share of the query it covers (each query word by its best match,
        weighted by length), times 0.9 + 0.1 x the share of the term the query covers, times
        its field's weight.
        """
        keys = combined.keys()
        words, starts = self._term_words, self._term_starts
        total_weight = sum(weights)
        count = len(weights)
        across = [0.0] * count
        best = 0.0
        for term in range(self._memorial_terms[number], self._memorial_terms[number + 1]):
            hit = keys & words[starts[term] : starts[term + 1]]
            if not hit:
                continue
            covered = [0.0] * count
            matched = 0
            for word_id in hit:
                matched += self._lengths[word_id]
                for i, score in combined[word_id]:
                    covered[i] = max(covered[i], score)
            field_weight = _RANK_WEIGHTS[self._term_fields[term]]
            coverage = sum(w * c for w, c in zip(weights, covered, strict=True)) / total_weight
            share = min(1.0, matched / self._term_lengths[term])
            best = max(best, field_weight * coverage * (0.9 + 0.1 * share))
            if count > 1:
                for i in range(count):
                    across[i] = max(across[i], field_weight * covered[i])
        if count > 1:
            spread = 0.9 * sum(w * a for w, a in zip(weights, across, strict=True)) / total_weight
            best = max(best, spread)
        return best

    # -- nearest -------------------------------------------------------------------------

    def nearest(self, point: GeoPoint, limit: int) -> list[Hit]:
        """The ``limit`` memorials nearest to ``point`` by great-circle distance, nearest first.

        Best-first over nested grid cells: a cell's lower bound is the distance to its centre
        less its radius (the triangle inequality), so cells are opened nearest bound first and
        the search stops when the next bound is farther than the farthest memorial kept. The
        result is exact, at the poles and across the antimeridian too.
        """
        if limit < 1 or not self._slugs:
            return []
        cells = self._cells
        queue = [(cells.bound(point, 0, key), 0, key) for key in cells.top]
        heapq.heapify(queue)
        best: list[tuple[float, str, int]] = []
        farthest = math.inf
        last = len(GRID_DEGREES) - 1
        while queue:
            bound, level, key = heapq.heappop(queue)
            if bound > farthest:
                break
            if level < last:
                for child in cells.children[level][key]:
                    heapq.heappush(queue, (cells.bound(point, level + 1, child), level + 1, child))
                continue
            best = self._closest(point, cells.members[key], limit, best)
            if len(best) == limit:
                farthest = _km(best[-1][0])
        return [
            Hit(slug, 0.0, round(distance_km(point, GeoPoint(self._lat[n], self._lon[n])), 3))
            for _, slug, n in best
        ]

    def _closest(
        self,
        point: GeoPoint,
        numbers: Iterable[int],
        limit: int,
        best: list[tuple[float, str, int]],
    ) -> list[tuple[float, str, int]]:
        """The ``limit`` nearest of ``numbers`` and ``best``, as (haversine, slug, number)."""
        lat1 = math.radians(point.lat)
        lon1 = math.radians(point.lon)
        cos1 = math.cos(lat1)
        lats, lons, slugs = self._lat, self._lon, self._slugs
        rad, sin, cos = math.radians, math.sin, math.cos
        candidates = []
        for number in numbers:
            lat2 = rad(lats[number])
            h = (
                sin((lat2 - lat1) / 2) ** 2
                + cos1 * cos(lat2) * sin((rad(lons[number]) - lon1) / 2) ** 2
            )
            candidates.append((h, slugs[number], number))
        return heapq.nsmallest(limit, best + candidates)


Cell = tuple[int, int]


class _Cells:
    """Nested grids over memorial positions (``GRID_DEGREES``), with each cell's centre and
    radius for distance bounds."""

    def __init__(self, lats: Sequence[float], lons: Sequence[float]) -> None:
        levels = len(GRID_DEGREES)
        self.children: list[dict[Cell, set[Cell]]] = [{} for _ in range(levels - 1)]
        self.members: dict[Cell, list[int]] = {}
        self.shapes: list[dict[Cell, tuple[float, float, float]]] = [{} for _ in range(levels)]
        for number, (lat, lon) in enumerate(zip(lats, lons, strict=True)):
            keys = [_cell(lat, lon, degrees) for degrees in GRID_DEGREES]
            for level in range(levels - 1):
                self.children[level].setdefault(keys[level], set()).add(keys[level + 1])
            self.members.setdefault(keys[-1], []).append(number)
        for level, degrees in enumerate(GRID_DEGREES):
            cells = list(self.members if level == levels - 1 else self.children[level])
            self.shapes[level] = {key: _shape(key, degrees) for key in cells}
        self.top = list(self.shapes[0])

    def bound(self, point: GeoPoint, level: int, key: Cell) -> float:
        """No memorial of the cell is nearer to ``point`` than this, in kilometres."""
        lat, lon, radius = self.shapes[level][key]
        return distance_km(point, GeoPoint(lat, lon)) - radius


def _shape(key: Cell, degrees: float) -> tuple[float, float, float]:
    """A cell's centre and radius: the farthest of its corners and edge points, plus 0.1 %."""
    south = -90.0 + key[0] * degrees
    west = -180.0 + key[1] * degrees
    centre = GeoPoint(min(90.0, south + degrees / 2), west + degrees / 2)
    edge = [0.0, 0.25, 0.5, 0.75, 1.0]
    points = [
        GeoPoint(min(90.0, south + degrees * a), west + degrees * b)
        for a in edge
        for b in edge
        if a in (0.0, 1.0) or b in (0.0, 1.0)
    ]
    radius = max(distance_km(centre, p) for p in points)
    return centre.lat, centre.lon, radius * 1.001 + 1e-6


_Buckets = dict[tuple[int, int, str], tuple[list[int], list[str]]]


def _buckets(words: Sequence[str]) -> _Buckets:
    """Typo candidates: words by length and first letter, and by length and second letter."""
    buckets: dict[tuple[int, int, str], list[int]] = {}
    for word_id, word in enumerate(words):
        if len(word) >= 3 and word.isalpha():
            buckets.setdefault((len(word), 0, word[0]), []).append(word_id)
            buckets.setdefault((len(word), 1, word[1]), []).append(word_id)
    return {key: (ids, [words[i] for i in ids]) for key, ids in buckets.items()}


def _near(
    word: str, buckets: _Buckets, seen: set[int], three: int = 0
) -> Iterator[tuple[int, float]]:
    """Words one edit away from ``word`` (two when either has ``FUZZY_TWO_EDITS`` letters,
    three when either has ``three`` letters, if given) that share its first or second letter or
    have one letter more or less before it, each with its id and typo score (``_typo_score``),
    ``FUZZY_SHORT_PENALTY`` less per letter ``word`` has under ``FUZZY_TWO_EDITS``. ``seen`` ids
    are skipped (and the ones found added)."""
    size = len(word)
    if size < 4 or not word.isalpha():
        return
    short = FUZZY_SHORT_PENALTY * max(0, FUZZY_TWO_EDITS - size)
    first, second = word[0], word[1]
    keys = ((0, first), (1, second), (1, first), (0, second))
    top = _edits(size + 3, three)
    for length in range(size - _edits(size, three), size + top + 1):
        # Two edits when either word has seven letters: a two-letter typo in a long name
        # ("Trasoa" for "Tarasova") may be shorter than seven letters itself.
        edits = _edits(max(size, length), three)
        if abs(length - size) > edits:
            continue
        for position, letter in keys:
            bucket = buckets.get((length, position, letter))
            if bucket is None:
                continue
            ids, words = bucket
            for other, distance, index in process.extract(
                word, words, scorer=OSA.distance, score_cutoff=edits, limit=None
            ):
                other_id = ids[index]
                if other_id in seen:
                    continue
                seen.add(other_id)
                yield other_id, _typo_score(word, other, int(distance)) - short


def _edits(size: int, three: int = 0) -> int:
    """How many typing errors a word of ``size`` letters may hold (``FUZZY_TWO_EDITS``; three
    from ``three`` letters, if given)."""
    if size < FUZZY_TWO_EDITS:
        return 1
    return 3 if three and size >= three else 2


def _typo_score(word: str, other: str, distance: int) -> float:
    """How well a word matches another ``distance`` typing errors away (optimal string
    alignment: a letter swapped, replaced, dropped or doubled is one error alike):
    ``TYPO_SCORE``, ``FUZZY_EXTRA_EDIT`` less for a second error, and, to order words as many
    errors away, up to ``TYPO_SPREAD`` less as their Indel similarity falls."""
    similarity = fuzz.ratio(word, other) / 100.0
    return TYPO_SCORE - FUZZY_EXTRA_EDIT * (distance - 1) - TYPO_SPREAD * (1.0 - similarity)


def _starting_with(ordered: list[str], prefix: str) -> list[str]:
    """The words of a sorted list that begin with ``prefix`` (the shortest
    ``PREFIX_MAX_MATCHES``)."""
    start = bisect.bisect_left(ordered, prefix)
    stop = bisect.bisect_left(ordered, prefix + "\x7f", lo=start)
    words = ordered[start:stop]
    if len(words) > PREFIX_MAX_MATCHES:
        words = sorted(words, key=len)[:PREFIX_MAX_MATCHES]
    return words


def _km(haversine: float) -> float:
    """The great-circle distance of a haversine value ``sin²(Δφ/2) + cos φ1 cos φ2 sin²(Δλ/2)``."""
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(haversine)))


def _cell(lat: float, lon: float, degrees: float) -> Cell:
    columns = round(360 / degrees)
    return (
        math.floor((lat + 90.0) / degrees),
        math.floor((lon + 180.0) / degrees) % columns,
    )


__all__ = [
    "FIELD_WEIGHTS",
    "MIN_SCORE",
    "Hit",
    "MemorialIndex",
    "SearchDocument",
    "chronicle_documents",
    "chronicle_search_text",
    "documents_from",
    "fold",
    "is_search_text",
    "memorial_search_text",
    "parse_query",
    "parse_search_text",
    "prefix_keys",
    "query_words",
    "readings",
    "search_text",
    "skeleton",
]
