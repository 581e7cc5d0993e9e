"""Suggestions as the user types a command's parameter (Discord's autocomplete): memorials,
languages and time zones. A view like any other: written once here, shown by an adapter."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cache
from zoneinfo import available_timezones

from bot.core.context import RequestContext
from bot.core.domain import LANGUAGES, pick
from bot.core.i18n import LANGUAGE_NAMES
from handlers.memorials import MAX_QUERY_CHARS, place_line

LIMIT = 25
MEMORIAL_CHOICE_PREFIX = "m:"
"""A suggested memorial's value: picking it opens exactly that memorial."""

ZONES_BY_LOCALE: dict[str, tuple[str, ...]] = {
    "en-US": ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"),
    "en-GB": ("Europe/London",),
    "ru": ("Europe/Moscow", "Europe/Kaliningrad", "Europe/Samara", "Asia/Yekaterinburg"),
    "fr": ("Europe/Paris", "Europe/Brussels"),
    "nl": ("Europe/Amsterdam", "Europe/Brussels"),
    "de": ("Europe/Berlin", "Europe/Vienna", "Europe/Zurich"),
}
"""Zones offered before anything is typed, by the user's client locale."""


@dataclass(frozen=True, slots=True)
class Suggestion:
    """One suggestion: what the user reads, and the value the parameter gets."""

    label: str
    value: str


Suggester = Callable[[RequestContext, str], Awaitable[list[Suggestion]]]


async def suggest_memorials(ctx: RequestContext, current: str) -> list[Suggestion]:
    """Memorials matching what was typed (the search of every platform), in the user's
    language; the value ``m:<slug>`` opens exactly that memorial."""
    query = current.strip()
    if not query or len(query) > MAX_QUERY_CHARS:
        return []
    found = []
    for hit in await ctx.core.search_memorials(query, LIMIT):
        memorial = hit.memorial
        name = pick(memorial.names, ctx.language) or memorial.slug
        place = place_line(ctx.t, memorial)
        label = f"{name} — {place}" if place else name
        found.append(Suggestion(label, MEMORIAL_CHOICE_PREFIX + memorial.slug))
    return found


async def suggest_languages(ctx: RequestContext, current: str) -> list[Suggestion]:
    """The bot's languages matching what was typed (a code or a name in any language)."""
    wanted = current.strip().casefold()
    found = []
    for code in LANGUAGES:
        native = LANGUAGE_NAMES[code]
        local = ctx.t.language_name(code)
        names = (code, native.casefold(), local.casefold())
        if wanted and not any(wanted in name for name in names):
            continue
        label = native if native.casefold() == local.casefold() else f"{native} — {local}"
        found.append(Suggestion(f"{label} ({code})", code))
    return found


@cache
def zone_names() -> tuple[str, ...]:
    """The IANA zones worth offering (no ``Etc/``, ``posix/``, ``right/`` or ``SystemV/``)."""
    skip = ("Etc/", "posix", "right/", "SystemV/")
    names = [
        name
        for name in available_timezones()
        if ("/" in name or name == "UTC") and not name.startswith(skip)
    ]
    return tuple(sorted(names))


def rank_zones(current: str, first: tuple[str, ...] = ()) -> list[Suggestion]:
    """IANA zones matching what was typed ("mosc" → Europe/Moscow), best first; ``first``
    when nothing is typed yet."""
    wanted = current.strip().replace(" ", "_").casefold()
    if not wanted:
        known = set(zone_names())
        seen = dict.fromkeys(name for name in first if name in known)
        return [Suggestion(name.replace("_", " "), name) for name in list(seen)[:LIMIT]]
    ranked: list[tuple[int, str]] = []
    for name in zone_names():
        folded = name.casefold()
        city = folded.rsplit("/", 1)[-1]
        if folded == wanted:
            rank = 0
        elif city.startswith(wanted):
            rank = 1
        elif any(part.startswith(wanted) for part in folded.split("/")):
            rank = 2
        elif wanted in folded:
            rank = 3
        else:
            continue
        ranked.append((rank, name))
    ranked.sort()
    return [Suggestion(name.replace("_", " "), name) for _, name in ranked[:LIMIT]]


async def suggest_zones(ctx: RequestContext, current: str) -> list[Suggestion]:
    """Time zones as the user types; before that, the chat's zone, the zones of the user's
    locale and the default."""
    first: list[str] = []
    if not current.strip():
        default = ctx.core.settings.default_timezone
        if ctx.timezone != default:  # the chat chose one
            first.append(ctx.timezone)
        first.extend(ZONES_BY_LOCALE.get(ctx.user.client_language or "", ()))
        first.append(default)
    return rank_zones(current, tuple(first))


SUGGESTERS: dict[str, Suggester] = {
    "memorial": suggest_memorials,
    "language": suggest_languages,
    "timezone": suggest_zones,
}
"""By a parameter's ``autocomplete`` kind (``handlers.registry.Param``)."""
