"""Interface strings through gettext, formats through Babel, one translator per language.

The current language is never process-global: each request carries its own ``Translator``.
English msgids are real sentences with named placeholders, filled after translation::

    t.gettext("Memorials near {place}", place=name)
    t.ngettext("{count} year ago", "{count} years ago", n, count=n)

After adding or changing a string, ``python scripts/update_catalogs.py`` extracts it into
``locales/messages.pot``, merges it into each ``locales/<lang>/LC_MESSAGES/messages.po`` and
compiles; then fill the new msgstrs (``en`` needs none: its msgids are the English text). The
``.mo`` catalogs are compiled from the committed ``.po`` files by the build step
(``scripts/compile_catalogs.py``); ``check_catalogs`` refuses a missing or outdated one.
"""

from __future__ import annotations

import datetime as dt
import gettext
import hashlib
import string
import struct
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_skeleton, format_time
from babel.lists import format_list
from babel.numbers import format_decimal

from bot.core.domain import LANGUAGES

LOCALES_DIR = Path(__file__).resolve().parents[2] / "locales"
DOMAIN = "messages"
SOURCE_HASH_CONTEXT = "X-Source-Hash"
SOURCE_HASH_MSGID = "source-hash"

LANGUAGE_NAMES: dict[str, str] = {
    "en": "English",
    "ru": "Русский",
    "fr": "Français",
    "nl": "Nederlands",
    "de": "Deutsch",
}
"""Each language in its own name, for choosers."""


class CatalogError(RuntimeError):
    """A message catalog is missing or older than its ``.po`` source."""


def po_path(language: str, locales_dir: Path | None = None) -> Path:
    """Where the ``.po`` source of a language lives."""
    return (locales_dir or LOCALES_DIR) / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def mo_path(language: str, locales_dir: Path | None = None) -> Path:
    """Where the compiled ``.mo`` catalog of a language lives."""
    return (locales_dir or LOCALES_DIR) / language / "LC_MESSAGES" / f"{DOMAIN}.mo"


def source_hash(po_file: Path) -> str:
    """The hash of a ``.po`` file that its compiled ``.mo`` must record."""
    return hashlib.sha256(po_file.read_bytes()).hexdigest()[:16]


def placeholders(message: str) -> frozenset[str]:
    """The ``{name}`` fields of a message, with conversion and format spec (``{n:>3}``).

    Raise ``ValueError`` for a malformed message, such as a lone ``{``.
    """
    fields: set[str] = set()
    for _, name, spec, conversion in string.Formatter().parse(message):
        if name is not None:
            fields.add(
                "{"
                + name
                + (f"!{conversion}" if conversion else "")
                + (f":{spec}" if spec else "")
                + "}"
            )
    return frozenset(fields)


def check_catalogs(languages: Sequence[str] = LANGUAGES, locales_dir: Path | None = None) -> None:
    """Raise ``CatalogError`` naming every language whose ``.mo`` is missing or stale.

    A ``.mo`` is stale when the ``.po`` it was compiled from has changed since: the compiler
    records the hash of its source in the catalog (see ``scripts/compile_catalogs.py``).
    ``locales_dir`` defaults to the ``locales`` folder of the project.
    """
    problems: list[str] = []
    for language in languages:
        po, mo = po_path(language, locales_dir), mo_path(language, locales_dir)
        if not po.exists():
            problems.append(f"{po} is missing")
            continue
        if not mo.exists():
            problems.append(f"{mo} is missing")
            continue
        try:
            with mo.open("rb") as handle:
                recorded = gettext.GNUTranslations(handle).pgettext(
                    SOURCE_HASH_CONTEXT, SOURCE_HASH_MSGID
                )
        except PermissionError as error:
            raise CatalogError(
                f"{mo} cannot be read by this user ({error.strerror}): compile the catalogs "
                "again (python scripts/compile_catalogs.py writes them readable by everyone)"
            ) from None
        except (OSError, ValueError, struct.error) as error:
            problems.append(f"{mo} is not a valid catalog ({error})")
            continue
        if recorded != source_hash(po):
            problems.append(f"{mo} is older than {po.name}")
    if problems:
        raise CatalogError(
            "message catalogs need compiling (python scripts/compile_catalogs.py): "
            + "; ".join(problems)
        )


class Translator:
    """Translates interface strings and formats dates, numbers and lists for one language."""

    def __init__(self, language: str, catalog: gettext.NullTranslations) -> None:
        self.language = language
        self.locale = Locale.parse(language)
        self._catalog = catalog

    def gettext(self, message: str, /, **values: object) -> str:
        """Translate ``message`` and fill its named placeholders."""
        translated = self._catalog.gettext(message)
        return translated.format(**values) if values else translated

    def ngettext(self, singular: str, plural: str, n: int, /, **values: object) -> str:
        """Translate a count with the language's plural rules; ``count`` defaults to ``n``."""
        translated = self._catalog.ngettext(singular, plural, n)
        values.setdefault("count", self.number(n))
        return translated.format(**values)

    def number(self, value: float, digits: int = 0) -> str:
        """A number in this language's format."""
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return format_decimal(value, format=pattern, locale=self.locale)

    def decimal(self, value: float) -> str:
        """A number with as many decimals as it has (up to six), in this language's format:
        "91", "91,5"."""
        return format_decimal(value, format="#,##0.######", locale=self.locale)

    def day_month(self, date: dt.date) -> str:
        """Day and month, as "9 мая", "9. Mai", "9 mei", "9 mai", "May 9"."""
        return format_skeleton("MMMMd", date, locale=self.locale)

    def full_date(self, date: dt.date) -> str:
        """A date with the year, in the long form of the language."""
        return format_date(date, format="long", locale=self.locale)

    def date_time(self, moment: dt.datetime, zone: ZoneInfo) -> str:
        """An instant in a time zone: weekday, date and short time ("Sun, May 10, 2026,
        2:00 PM", "вс, 10 мая 2026 г., 14:00"), joined by the locale's own pattern."""
        local = moment.astimezone(zone)
        date = format_skeleton("yMMMEd", local, locale=self.locale)
        time = format_time(local, format="short", locale=self.locale)
        pattern = str(self.locale.datetime_formats.get("medium", "{1} {0}"))
        return pattern.replace("{1}", date).replace("{0}", time)

    def language_name(self, code: str) -> str:
        """A language's name in this translator's language ("Russian", "russe", "русский")."""
        name = self.locale.languages.get(code)
        return name if isinstance(name, str) else LANGUAGE_NAMES.get(code, code)

    def coordinates(self, lat: float, lon: float) -> str:
        """A position in decimal degrees, four decimals, in the language's number format."""
        return self.gettext(
            "{latitude}, {longitude}", latitude=self.number(lat, 4), longitude=self.number(lon, 4)
        )

    def time(self, value: dt.time) -> str:
        """A wall-clock time in the language's short format."""
        return format_time(value, format="short", locale=self.locale)

    def join(self, items: Sequence[str]) -> str:
        """A list joined the way the language joins lists ("a, b and c")."""
        return format_list(list(items), locale=self.locale) if items else ""


@cache
def _catalog(language: str) -> gettext.NullTranslations:
    mo = mo_path(language)
    if not mo.exists():
        raise CatalogError(f"{mo} is missing: run python scripts/compile_catalogs.py")
    try:
        with mo.open("rb") as handle:
            return gettext.GNUTranslations(handle)
    except (OSError, ValueError, struct.error) as error:
        raise CatalogError(
            f"{mo} is not a valid catalog ({error}): run python scripts/compile_catalogs.py"
        ) from None


def translator(language: str) -> Translator:
    """The translator for one of ``LANGUAGES``."""
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}")
    return Translator(language, _catalog(language))


def base_language(code: str | None) -> str | None:
    """Reduce a client language tag (``nl-BE``, ``pt_BR``, ``en-US``) to one of ours, or None."""
    if not code:
        return None
    base = code.replace("_", "-").split("-", 1)[0].lower()
    return base if base in LANGUAGES else None
