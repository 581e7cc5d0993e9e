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


class NotAPosition(ValueError):
    """The text is not a position at all ("abc")."""


class OutOfRange(ValueError):
    """A number that is a position's coordinate, but outside its range (latitude 91)."""

    def __init__(self, axis: str, value: float) -> None:
        low, high = LIMITS[axis]
        super().__init__(f"{axis} {value:g} is outside {low:g} to {high:g}")
        self.axis = axis
        self.value = value
        self.low = low
        self.high = high


LIMITS = {"latitude": (-90.0, 90.0), "longitude": (-180.0, 180.0)}


def _degrees(text: str, axis: str) -> float:
    cleaned = text.replace(",", ".").replace("−", "-").strip()
    try:
        value = float(cleaned)
    except ValueError:
        raise NotAPosition(f"{text.strip()!r} is not a number ({axis})") from None
    if not math.isfinite(value):
        raise NotAPosition(f"{text.strip()!r} is not a finite number ({axis})")
    return value


def parse_point(lat_text: str, lon_text: str) -> GeoPoint:
    """Parse decimal degrees (a comma is accepted as the decimal mark); raise ``NotAPosition``
    for text that is no number and ``OutOfRange`` for a latitude or longitude beyond its
    range, each with an operator's one-line message (never Python's own text)."""
    lat = _degrees(lat_text, "latitude")
    lon = _degrees(lon_text, "longitude")
    for axis, value in (("latitude", lat), ("longitude", lon)):
        low, high = LIMITS[axis]
        if not low <= value <= high:
            raise OutOfRange(axis, value)
    return GeoPoint(lat, lon)


_COORDINATE = re.compile(
    r"(?P<lead>[NSEW])?\s*(?P<number>[-+−]?\d+(?:[.,]\d+)?)\s*"
    r"(?:°\s*(?:(?P<minutes>\d+(?:[.,]\d+)?)\s*['′’]\s*)?"
    r"(?:(?P<seconds>\d+(?:[.,]\d+)?)\s*(?:[\"″”]|'')\s*)?)?"
    r"(?P<trail>[NSEW](?![A-Z]))?",
    re.IGNORECASE,
)


def parse_coordinates(text: str) -> GeoPoint:
    """A position written as people write it; raise ``NotAPosition`` or ``OutOfRange``.

    Accepted: decimal degrees with a point or a comma as the decimal mark ("50.63, 5.57",
    "50,63 5,57", "50.63;5.57"), degrees-minutes-seconds ("50°38′N 5°34′E",
    "50°38'12\" N, 5°34' E") and hemisphere letters before or after ("N50.63 E5.57",
    "50.63S 5.57W"). Without letters the latitude comes first.
    """
    found = [m for m in _COORDINATE.finditer(text.strip()) if m.group("number")]
    if len(found) != 2:
        raise NotAPosition(f"not a position: {text!r}")
    values: list[tuple[float, str]] = []
    for match in found:
        number = float(match.group("number").replace(",", ".").replace("−", "-"))
        minutes = float((match.group("minutes") or "0").replace(",", "."))
        seconds = float((match.group("seconds") or "0").replace(",", "."))
        if minutes >= 60 or seconds >= 60:
            raise NotAPosition(f"minutes and seconds go up to 59: {text!r}")
        sign = -1.0 if number < 0 else 1.0
        value = sign * (abs(number) + minutes / 60 + seconds / 3600)
        letter = (match.group("lead") or match.group("trail") or "").upper()
        if letter in ("S", "W"):
            value = -abs(value)
        values.append((value, letter))
    (first, first_letter), (second, second_letter) = values
    if first_letter in ("E", "W") or second_letter in ("N", "S"):
        first, second = second, first
    return parse_point(repr(first), repr(second))


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
