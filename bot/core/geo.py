"""Great-circle geometry."""

from __future__ import annotations

import math
import re

from bot.core.domain import GeoPoint

EARTH_RADIUS_KM = 6371.0088
NEAR_RADIUS_KM = 100.0
"""How far a memorial may be and still be called near: farther ones are labelled far away."""


def proximity_score(km: float) -> float:
    """How near a memorial is, on the 0-100 scale of search scores: 100 at the point, 50 at
    ``NEAR_RADIUS_KM``, falling towards 0 with distance (never 0 on Earth)."""
    return round(100 * NEAR_RADIUS_KM / (NEAR_RADIUS_KM + max(0.0, km)), 1)


def parse_point(lat_text: str, lon_text: str) -> GeoPoint:
    """Parse decimal degrees (a comma is accepted as the decimal mark); raise ValueError."""
    lat = float(lat_text.replace(",", ".").strip())
    lon = float(lon_text.replace(",", ".").strip())
    if not (math.isfinite(lat) and math.isfinite(lon)):
        raise ValueError("coordinates must be finite numbers")
    if not -90.0 <= lat <= 90.0:
        raise ValueError(f"latitude {lat} is outside -90..90")
    if not -180.0 <= lon <= 180.0:
        raise ValueError(f"longitude {lon} is outside -180..180")
    return GeoPoint(lat, lon)


_COORDINATE = re.compile(
    r"(?P<lead>[NSEW])?\s*(?P<number>[-+−]?\d+(?:[.,]\d+)?)\s*"
    r"(?:°\s*(?:(?P<minutes>\d+(?:[.,]\d+)?)\s*['′’]\s*)?"
    r"(?:(?P<seconds>\d+(?:[.,]\d+)?)\s*(?:[\"″”]|'')\s*)?)?"
    r"(?P<trail>[NSEW](?![A-Z]))?",
    re.IGNORECASE,
)


def parse_coordinates(text: str) -> GeoPoint:
    """A position written as people write it; raise ValueError.

    Accepted: decimal degrees with a point or a comma as the decimal mark ("50.63, 5.57",
    "50,63 5,57", "50.63;5.57"), degrees-minutes-seconds ("50°38′N 5°34′E",
    "50°38'12\" N, 5°34' E") and hemisphere letters before or after ("N50.63 E5.57",
    "50.63S 5.57W"). Without letters the latitude comes first.
    """
    found = [m for m in _COORDINATE.finditer(text.strip()) if m.group("number")]
    if len(found) != 2:
        raise ValueError(f"not a position: {text!r}")
    values: list[tuple[float, str]] = []
    for match in found:
        number = float(match.group("number").replace(",", ".").replace("−", "-"))
        minutes = float((match.group("minutes") or "0").replace(",", "."))
        seconds = float((match.group("seconds") or "0").replace(",", "."))
        if minutes >= 60 or seconds >= 60:
            raise ValueError(f"minutes and seconds go up to 59: {text!r}")
        sign = -1.0 if number < 0 else 1.0
        value = sign * (abs(number) + minutes / 60 + seconds / 3600)
        letter = (match.group("lead") or match.group("trail") or "").upper()
        if letter in ("S", "W"):
            value = -abs(value)
        values.append((value, letter))
    (first, first_letter), (second, second_letter) = values
    if first_letter in ("E", "W") or second_letter in ("N", "S"):
        first, second = second, first
    return parse_point(str(first), str(second))


def distance_km(a: GeoPoint, b: GeoPoint) -> float:
    """Great-circle distance by the haversine formula, in kilometres."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a.lat, a.lon, b.lat, b.lon))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def map_url(point: GeoPoint) -> str:
    """A link to the point on OpenStreetMap."""
    return (
        f"https://www.openstreetmap.org/?mlat={point.lat:.5f}&mlon={point.lon:.5f}"
        f"#map=16/{point.lat:.5f}/{point.lon:.5f}"
    )
