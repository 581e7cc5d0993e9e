"""Great-circle geometry."""

from __future__ import annotations

import math

from bot.core.domain import GeoPoint

EARTH_RADIUS_KM = 6371.0088


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
