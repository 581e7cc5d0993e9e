"""Compile ``locales/<lang>/LC_MESSAGES/messages.po`` into ``.mo`` files.

Run by the build (``setup.py``'s ``build_py``), by ``scripts/update_catalogs.py`` and at the
start of the i18n tests. Each ``.mo`` records the hash of the ``.po`` it came from, so the bot
can refuse a stale catalog at start-up (``bot.core.i18n.check_catalogs``).

A catalog that would misbehave at run time stops the build instead: a ``.po`` that does not
parse, a translation whose ``{placeholders}`` differ from its msgid's (``str.format`` would
raise), a plural entry with the wrong number of forms, a ``Plural-Forms`` header that differs
from Babel's rule for the language. Nothing is written unless every catalog is sound; the
errors name the file, the line and the msgid. Exits 1 on any of them.

Untranslated and fuzzy entries are no error here (gettext falls back to the English msgid);
the test suite refuses them (``tests/i18n``).
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.mofile import write_mo
from babel.messages.plurals import get_plural
from babel.messages.pofile import PoFileError, read_po

ROOT = Path(__file__).resolve().parents[1]
LOCALES = ROOT / "locales"
HASH_CONTEXT = "X-Source-Hash"
HASH_MSGID = "source-hash"

_KEYWORD_LINE = re.compile(r'^(msgctxt|msgid|msgid_plural|msgstr(\[\d+\])?)\s+"(?:[^"\\]|\\.)*"$')
_STRING_LINE = re.compile(r'^"(?:[^"\\]|\\.)*"$')

if str(ROOT) not in sys.path:  # run as a script or through runpy from setup.py
    sys.path.insert(0, str(ROOT))

from bot.core.i18n import CatalogError, placeholders, source_hash  # noqa: E402


@dataclass(frozen=True, slots=True)
class CompiledCatalog:
    """A parsed ``.po`` file, ready to be written as ``.mo``."""

    po: Path
    language: str
    catalog: Catalog


def syntax_errors(po: Path) -> list[str]:
    """Lines of a ``.po`` file that are neither blank, a comment, a keyword nor a string.

    Babel's reader silently accepts an unterminated string (it drops the last character);
    this catches that and similar slips.
    """
    errors: list[str] = []
    for number, raw in enumerate(po.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not (_KEYWORD_LINE.match(line) or _STRING_LINE.match(line)):
            errors.append(f"{po}:{number}: not valid .po syntax: {raw[:60]}")
    return errors


def _label(message: Message) -> str:
    msgid = message.id[0] if isinstance(message.id, tuple | list) else message.id
    return repr(msgid)


def message_problems(message: Message, nplurals: int) -> list[str]:
    """What is wrong with one translated entry: placeholders, number of plural forms."""
    if not message.id:
        return []
    ids = list(message.id) if isinstance(message.id, tuple | list) else [message.id]
    strings = list(message.string) if isinstance(message.string, tuple | list) else [message.string]
    problems: list[str] = []
    try:
        expected = placeholders(ids[0])
        for other in ids[1:]:
            if placeholders(other) != expected:
                problems.append(f"msgid {_label(message)}: its plural has other placeholders")
    except ValueError as error:
        return [f"msgid {_label(message)}: malformed braces ({error})"]
    if message.pluralizable and len(strings) != nplurals:
        problems.append(
            f"msgid {_label(message)}: {len(strings)} plural forms, the language has {nplurals}"
        )
    for index, text in enumerate(strings):
        if not text:
            continue
        form = f"msgstr[{index}]" if message.pluralizable else "msgstr"
        try:
            found = placeholders(text)
        except ValueError as error:
            problems.append(f"msgid {_label(message)}: {form} has malformed braces ({error})")
            continue
        if found != expected:
            problems.append(
                f"msgid {_label(message)}: {form} has placeholders {sorted(found)}, "
                f"the msgid has {sorted(expected)}"
            )
    return problems


def catalog_problems(catalog: Catalog, language: str) -> list[str]:
    """Everything in a parsed catalog that would misbehave at run time."""
    problems: list[str] = []
    rule = get_plural(language)
    if catalog.plural_forms != rule.plural_forms:
        problems.append(
            f"Plural-Forms is {catalog.plural_forms!r}, Babel's rule for {language} is "
            f"{rule.plural_forms!r}"
        )
    for message in catalog:
        if message.fuzzy:  # never compiled (``use_fuzzy=False``), so it cannot misbehave
            continue
        problems.extend(message_problems(message, rule.num_plurals))
    return problems


def load_catalog(po: Path) -> CompiledCatalog:
    """Parse and check one ``.po`` file; raise ``CatalogError`` listing every problem."""
    language = po.parent.parent.name
    errors = syntax_errors(po)
    if not errors:
        try:
            with po.open("rb") as handle:
                catalog = read_po(handle, locale=language, abort_invalid=True)
        except (PoFileError, ValueError) as error:
            errors.append(f"{po}: does not parse: {error}")
        else:
            errors.extend(f"{po}: {problem}" for problem in catalog_problems(catalog, language))
    if errors:
        raise CatalogError("\n".join(errors))
    return CompiledCatalog(po, language, catalog)


def mo_bytes(compiled: CompiledCatalog) -> bytes:
    """The ``.mo`` image of a catalog, recording the hash of its ``.po`` source."""
    catalog = compiled.catalog
    catalog.add(HASH_MSGID, source_hash(compiled.po), context=HASH_CONTEXT)
    buffer = BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    return buffer.getvalue()


MO_MODE = 0o644
"""Compiled catalogs are readable by everyone, like any installed file: the bot may run as
another user or a service account (``tempfile.mkstemp`` alone would leave them 0600)."""


def write_atomically(path: Path, data: bytes, mode: int = MO_MODE) -> bool:
    """Replace ``path`` with ``data`` in one step (readers never see half a file), with
    permissions ``mode``.

    Returns False, writing nothing, when the file already holds exactly ``data`` (its mode is
    still corrected).
    """
    if path.exists() and path.read_bytes() == data:
        if path.stat().st_mode & 0o777 != mode:
            path.chmod(mode)
        return False
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            os.fchmod(out.fileno(), mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return True


def compile_catalogs(locales: Path = LOCALES) -> list[Path]:
    """Compile every ``.po`` under ``locales``; returns the ``.mo`` files.

    Raises ``CatalogError`` naming every broken catalog; then no ``.mo`` is written.
    """
    loaded: list[CompiledCatalog] = []
    errors: list[str] = []
    for po in sorted(locales.glob("*/LC_MESSAGES/messages.po")):
        try:
            loaded.append(load_catalog(po))
        except CatalogError as error:
            errors.append(str(error))
    if errors:
        raise CatalogError("\n".join(errors))
    written: list[Path] = []
    for compiled in loaded:
        mo = compiled.po.with_suffix(".mo")
        write_atomically(mo, mo_bytes(compiled))
        written.append(mo)
    return written


def main() -> int:
    """Compile the catalogs of the project; 1 when one is broken."""
    try:
        files = compile_catalogs()
    except CatalogError as error:
        print(f"compile_catalogs: {error}", file=sys.stderr)
        return 1
    print(f"compiled {len(files)} catalog(s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
