"""A small dataset in five languages for tests that must not depend on the curated files."""

from __future__ import annotations

import datetime as dt

from bot.core.domain import (
    Anniversary,
    AnniversaryKind,
    Event,
    EventStatus,
    Memorial,
    MemorialKind,
    Person,
    PersonRef,
    Precision,
    Source,
)
from bot.core.records import Dataset

SEED = (Source(seed="002_e1a59ee7d95aae50.txt"),)


def sample_dataset() -> Dataset:
    """Two memorials, a person, three anniversaries and an event."""
    rebecq = Memorial(
        slug="rebecq-memorial",
        kind=MemorialKind.MONUMENT,
        names={
            "en": "National Memorial at Rebecq",
            "ru": "Национальный мемориал в Ребеке",
            "fr": "Mémorial national de Rebecq",
            "nl": "Nationaal gedenkteken in Rebecq",
            "de": "Nationales Denkmal in Rebecq",
        },
        city={"en": "Rebecq", "ru": "Ребек", "fr": "Rebecq", "nl": "Rebecq", "de": "Rebecq"},
        country="BE",
        lat=50.665,
        lon=4.132,
        precision=Precision.TOWN,
        sources=SEED,
        year=2019,
    )
    manhay = Memorial(
        slug="manhay-monument",
        kind=MemorialKind.MONUMENT,
        names={
            "en": "Monument at Manhay",
            "ru": "Памятник в Манэ",
            "fr": "Monument de Manhay",
            "nl": "Monument in Manhay",
            "de": "Denkmal in Manhay",
        },
        aliases=("Mane", "Manet"),
        city={"en": "Manhay", "ru": "Манэ", "fr": "Manhay", "nl": "Manhay", "de": "Manhay"},
        country="BE",
        lat=50.29,
        lon=5.675,
        precision=Precision.TOWN,
        people=(PersonRef("alexei-gvozdarev", {}),),
        sources=(Source(seed="000_fa9671f599f18303.txt"),),
    )
    gvozdarev = Person(
        slug="alexei-gvozdarev",
        names={
            "en": "Alexei Gvozdarev",
            "ru": "Алексей Гвоздарев",
            "fr": "Alexeï Gvozdarev",
            "nl": "Aleksej Gvozdarev",
            "de": "Alexei Gwosdarew",
        },
        aliases=("Gvozdarew",),
        sources=(Source(seed="000_fa9671f599f18303.txt"),),
    )
    unveiling = Anniversary(
        slug="rebecq-unveiling",
        month=10,
        day=12,
        year=2019,
        kind=AnniversaryKind.UNVEILING,
        memorial="rebecq-memorial",
        title={
            "en": "Unveiling of the National Memorial at Rebecq",
            "ru": "Открытие Национального мемориала в Ребеке",
            "fr": "Inauguration du Mémorial national de Rebecq",
            "nl": "Onthulling van het Nationaal gedenkteken in Rebecq",
            "de": "Enthüllung des Nationalen Denkmals in Rebecq",
        },
        text={
            "en": "Unveiled by the Russian ambassador.",
            "ru": "Открыт послом России.",
            "fr": "Inauguré par l'ambassadeur de Russie.",
            "nl": "Onthuld door de Russische ambassadeur.",
            "de": "Vom russischen Botschafter enthüllt.",
        },
        sources=SEED,
    )
    victory = Anniversary(
        slug="victory-day",
        month=5,
        day=9,
        year=1945,
        kind=AnniversaryKind.COMMEMORATION_DAY,
        title={
            "en": "Victory Day",
            "ru": "День Победы",
            "fr": "Jour de la Victoire",
            "nl": "Dag van de Overwinning",
            "de": "Tag des Sieges",
        },
        text={
            "en": "The end of the war in Europe.",
            "ru": "Конец войны в Европе.",
            "fr": "La fin de la guerre en Europe.",
            "nl": "Het einde van de oorlog in Europa.",
            "de": "Das Ende des Krieges in Europa.",
        },
        sources=(Source(ref="Wikipedia: Victory Day (9 May)"),),
    )
    regiment = Anniversary(
        slug="immortal-regiment-liege",
        month=5,
        day=5,
        kind=AnniversaryKind.CEREMONY,
        title={"en": "Immortal Regiment in Liège", "ru": "Бессмертный полк в Льеже"},
        text={},
        sources=(Source(seed="003_f7dd72df6cf2def8.txt"),),
    )
    march = Event(
        slug="immortal-regiment-liege-2026",
        starts_at=dt.datetime(2026, 5, 10, 12, 0, tzinfo=dt.UTC),
        timezone="Europe/Brussels",
        title={
            "en": "Immortal Regiment <march> & wreaths",
            "ru": "Бессмертный полк",
            "fr": "Régiment immortel",
            "nl": "Onsterfelijk Regiment",
            "de": "Unsterbliches Regiment",
        },
        place={
            "en": "Citadel of Liège",
            "ru": "Цитадель Льежа",
            "fr": "Citadelle de Liège",
            "nl": "Citadel van Luik",
            "de": "Zitadelle Lüttich",
        },
        status=EventStatus.SCHEDULED,
    )
    return Dataset(
        memorials=[rebecq, manhay],
        people=[gvozdarev],
        anniversaries=[unveiling, victory, regiment],
        events=[march],
    )
