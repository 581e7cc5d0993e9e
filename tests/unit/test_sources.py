"""Sources as users see them: publisher, title and date in the reader's language, a link
where there is one, never a seed's file name; the seed catalogue completes every seed."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.core.domain import LANGUAGES, Source
from bot.core.i18n import translator
from bot.core.reply import ReplyBuilder, Style
from bot.core.sources import (
    SEED_FILE,
    enrich,
    format_source,
    is_specific,
    source_date,
    write_sources,
)
from db.dataset import DATASET_DIR, load_curated, seed_catalogue

SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"
RUSSKIY_MIR = Source(
    seed="000_fa9671f599f18303.txt",
    ref="Memory of Soviet partisans honored in Belgium",
    publisher="Russkiy Mir Foundation",
    date="2021-05-11",
    url="https://russkiymir.ru/en/news/287785/",
)


TITLE = "Memory of Soviet partisans honored in Belgium"


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", f"Russkiy Mir Foundation, “{TITLE}”, May 11, 2021"),
        ("ru", f"Russkiy Mir Foundation, «{TITLE}», 11 мая 2021\u202fг."),
        ("fr", f"Russkiy Mir Foundation, «\u00a0{TITLE}\u00a0», 11 mai 2021"),
        ("nl", f"Russkiy Mir Foundation, ‘{TITLE}’, 11 mei 2021"),
        ("de", f"Russkiy Mir Foundation, „{TITLE}“, 11. Mai 2021"),
    ],
)
def test_publisher_title_and_date_in_the_readers_language(language: str, expected: str) -> None:
    assert format_source(translator(language), RUSSKIY_MIR) == expected


def test_partial_dates_and_partial_sources() -> None:
    t = translator("ru")
    assert source_date(t, "2021") == "2021"
    assert source_date(t, "2021-05") == "май 2021\u202fг."
    assert format_source(t, Source(publisher="TASS", date="2020")) == "TASS, 2020"
    assert format_source(t, Source(ref="A page")) == "A page"
    assert format_source(t, Source(url="https://example.org/")) == "https://example.org/"
    assert format_source(t, Source(seed="000_fa9671f599f18303.txt")) == ""


def test_the_title_links_and_a_seed_alone_is_not_shown() -> None:
    t = translator("en")
    bare = Source(seed="001_92707819342052a2.txt")
    reply = write_sources(ReplyBuilder(), t, [bare, RUSSKIY_MIR]).build()
    assert reply.plain_text().startswith("Source: Russkiy Mir Foundation, ")
    links = [s for s in reply.spans if s.style is Style.LINK]
    assert [(s.text, s.url) for s in links] == [
        ("“Memory of Soviet partisans honored in Belgium”", RUSSKIY_MIR.url)
    ]
    assert not SEED_FILE.search(reply.plain_text())
    assert write_sources(ReplyBuilder(), t, [bare]).build().spans == ()


def test_what_counts_as_a_specific_source() -> None:
    assert is_specific(RUSSKIY_MIR)
    assert is_specific(Source(ref="Wikipedia (en): Battle of the Bulge", url="https://x.org/"))
    assert is_specific(Source(ref="Memory of …", publisher="TASS"))
    assert not is_specific(Source(ref="Wikipedia"))
    assert not is_specific(Source(ref="Some page without publisher"))
    assert not is_specific(Source(seed="000_fa9671f599f18303.txt"))
    assert is_specific(enrich(Source(seed="000_fa9671f599f18303.txt"), seed_catalogue()))


def test_the_catalogue_covers_every_seed_and_states_what_each_says() -> None:
    catalogue = seed_catalogue()
    names = sorted(p.name for p in SEEDS.glob("*.txt")) if SEEDS.is_dir() else sorted(catalogue)
    assert sorted(catalogue) == names
    for name, entry in catalogue.items():
        assert entry.publisher and entry.ref and entry.url, name
        assert is_specific(entry)
    assert catalogue["000_fa9671f599f18303.txt"].date == "2021-05-11"
    assert catalogue["001_92707819342052a2.txt"].date == "2020-06-11"
    raw = yaml.safe_load((DATASET_DIR / "seeds.yaml").read_text(encoding="utf-8"))
    assert all(
        set(fields) <= {"publisher", "title", "date", "url", "note"} for fields in raw.values()
    )


def test_every_seed_source_of_the_dataset_is_shown_through_the_catalogue() -> None:
    dataset = load_curated()
    for kind in ("memorials", "people", "anniversaries", "events"):
        for record in dataset.records(kind):
            for source in record.sources:
                if source.seed:
                    assert source.publisher and source.url, (kind, record.slug)
                for language in LANGUAGES:
                    shown = format_source(translator(language), source)
                    assert shown and not SEED_FILE.search(shown), (kind, record.slug)
