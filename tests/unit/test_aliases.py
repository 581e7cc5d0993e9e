"""The spellings people type, from issue 10: each alias finds its memorial first."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.core.services import Core
from db.dataset import load_curated
from tests.fakes.memory import fake_core

ALIASES = {
    "Roosbeek": "rebecq-national-memorial",
    "«Бельгийцы помнят их»": "rebecq-national-memorial",
    "Бельгийцы помнят их": "rebecq-national-memorial",
    "Evere": "brussels-soviet-memorial",
    "Эвере": "brussels-soviet-memorial",
    "Régiment immortel": "liege-citadel-memorial",
    "Onsterfelijk Regiment": "liege-citadel-memorial",
    "Unsterbliches Regiment": "liege-citadel-memorial",
    "Meridian": "liege-citadel-memorial",
    "«Меридиан»": "liege-citadel-memorial",
    "Меридиан": "liege-citadel-memorial",
    "Westerlo": "westerlo-lancaster-dv309-memorial",
    "Montleban": "gouvy-monument",
    "Виль Капустин": "manhay-monument",
}


@pytest.fixture(scope="module")
def core() -> Core:
    return fake_core(load_curated(), now=dt.datetime(2026, 12, 5, tzinfo=dt.UTC))


@pytest.mark.parametrize(("alias", "slug"), ALIASES.items())
async def test_each_alias_finds_its_memorial(core: Core, alias: str, slug: str) -> None:
    hits = await core.search_memorials(alias, 3)
    assert hits, alias
    assert hits[0].memorial.slug == slug, [(h.memorial.slug, h.score) for h in hits]


async def test_the_memorial_of_the_day_never_repeats_within_a_month(core: Core) -> None:
    assert len(load_curated().memorials) >= 31
    start = dt.date(2027, 1, 1)
    days = [start + dt.timedelta(days=n) for n in range(400)]
    chosen = [await core.memorial_of_the_day(day) for day in days]
    slugs = [m.slug if m else "" for m in chosen]
    for first in range(len(days) - 30):
        window = slugs[first : first + 31]
        assert len(set(window)) == 31, (days[first], window)
