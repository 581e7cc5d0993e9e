"""Extract, merge and compile the message catalogs: the one command after changing strings.

    python scripts/update_catalogs.py           # extract, update every .po, compile
    python scripts/update_catalogs.py --check   # change nothing; exit 1 when locales/ is behind

1. Extracts every string marked with ``gettext``, ``ngettext`` or ``N_`` in the files that
   ``babel.cfg`` lists into ``locales/messages.pot``: sorted by msgid, locations as file names
   without line numbers, and comments starting ``TRANSLATORS:`` kept for the translators.
2. Updates ``locales/<lang>/LC_MESSAGES/messages.po`` for every language of the bot (creating
   a missing one): a new string arrives with an empty msgstr, a reworded one as ``fuzzy``
   with the old translation as a hint (not for ``en``, whose msgstrs stay empty: the msgid is
   the English text), a removed one is dropped.
3. Compiles the ``.mo`` files (``scripts/compile_catalogs.py``).
4. Lists, per language, the entries still to translate or to review (fuzzy).

A file is rewritten only when something other than the dates in its header changed, so a
run on unchanged sources leaves ``git status`` clean. Exit status: 0 when done (or, with
``--check``, when nothing would change), 1 otherwise.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Iterable
from io import BytesIO
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
LOCALES = ROOT / "locales"
TEMPLATE = LOCALES / "messages.pot"
MAPPING = ROOT / "babel.cfg"
KEYWORDS: dict[str, Any] = {**DEFAULT_KEYWORDS, "N_": None}
"""``gettext``/``ngettext`` (also as ``t.gettext``) and the ``N_`` marker of ``handlers.base``."""
COMMENT_TAGS = ("TRANSLATORS:",)
PROJECT = "commemoration-bot"
COPYRIGHT = "commemoration-bot contributors"
VOLATILE_HEADERS = (b'"POT-Creation-Date:', b'"PO-Revision-Date:')
"""Header lines that change on every run and alone never justify rewriting a file."""

for _path in (ROOT, Path(__file__).resolve().parent):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from compile_catalogs import compile_catalogs  # noqa: E402

from bot.core.domain import LANGUAGES  # noqa: E402
from bot.core.i18n import CatalogError, po_path  # noqa: E402

SOURCE_LANGUAGE = "en"
"""The language of the msgids: its catalog needs no translations."""


def extract_template(root: Path = ROOT, mapping: Path = MAPPING) -> Catalog:
    """The template as the sources stand now, extracted in memory."""
    with mapping.open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)  # type: ignore[no-untyped-call]
    catalog = Catalog(
        project=PROJECT,
        copyright_holder=COPYRIGHT,
        charset="utf-8",
    )
    extracted = extract_from_dir(
        str(root),
        method_map,
        options_map,
        keywords=KEYWORDS,
        comment_tags=COMMENT_TAGS,
        strip_comment_tags=True,
    )
    for filename, lineno, message, comments, context in extracted:
        path = Path(filename).as_posix()
        catalog.add(message, None, [(path, lineno)], auto_comments=comments, context=context)
    return catalog


def po_bytes(catalog: Catalog) -> bytes:
    """A catalog written the way the project keeps its files: sorted, no line numbers."""
    buffer = BytesIO()
    write_po(
        buffer,
        catalog,
        sort_output=True,
        include_lineno=False,
        ignore_obsolete=True,
        width=76,
    )
    return buffer.getvalue()


def _stable(data: bytes) -> list[bytes]:
    return [line for line in data.splitlines() if not line.startswith(VOLATILE_HEADERS)]


def differs(path: Path, data: bytes) -> bool:
    """Whether ``data`` differs from the file at ``path`` in more than its header dates."""
    return not path.exists() or _stable(path.read_bytes()) != _stable(data)


def new_catalog(template: Catalog, language: str) -> Catalog:
    """A fresh catalog for a language the bot did not have a ``.po`` for yet."""
    catalog = read_po(BytesIO(po_bytes(template)), locale=language)
    catalog.locale = language  # Babel's setter parses the code
    catalog.revision_date = dt.datetime.now(dt.UTC)
    catalog.fuzzy = False
    return catalog


def merged_catalog(template: Catalog, language: str, po: Path) -> Catalog:
    """A language's catalog merged with the template."""
    if not po.exists():
        return new_catalog(template, language)
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=language, abort_invalid=True)
    catalog.update(
        template,
        no_fuzzy_matching=(language == SOURCE_LANGUAGE),
        update_header_comment=False,
    )
    return catalog


def is_untranslated(message: Message) -> bool:
    """An entry without a translation (in any plural form)."""
    strings = message.string if isinstance(message.string, tuple | list) else [message.string]
    return not all(strings)


def pending(catalog: Catalog, language: str) -> list[str]:
    """The entries of a catalog still to translate or review, one line each."""
    lines: list[str] = []
    for message in sorted(catalog, key=lambda m: str(m.id)):
        if not message.id:
            continue
        msgid = message.id[0] if isinstance(message.id, tuple | list) else message.id
        if message.fuzzy:
            lines.append(f"fuzzy (review, then remove the flag): {msgid!r}")
        elif language != SOURCE_LANGUAGE and is_untranslated(message):
            lines.append(f"untranslated: {msgid!r}")
    return lines


def _report(language: str, po: Path, root: Path, lines: Iterable[str]) -> None:
    todo = list(lines)
    shown = po.relative_to(root) if po.is_relative_to(root) else po
    if not todo:
        print(f"{language}: complete ({shown})")
        return
    print(f"{language}: {len(todo)} to do in {shown}")
    for line in todo:
        print(f"    {line}")


def update(
    *,
    check: bool = False,
    root: Path = ROOT,
    locales: Path = LOCALES,
    mapping: Path = MAPPING,
) -> int:
    """Run the whole workflow; with ``check``, only tell whether files would change.

    ``root`` is the folder the patterns of ``mapping`` (``babel.cfg``) are relative to.
    """
    template = extract_template(root, mapping)
    template_path = locales / TEMPLATE.name
    stale: list[Path] = []
    template_data = po_bytes(template)
    if differs(template_path, template_data):
        stale.append(template_path)
        if not check:
            template_path.write_bytes(template_data)
    for language in LANGUAGES:
        po = po_path(language, locales)
        catalog = merged_catalog(template, language, po)
        data = po_bytes(catalog)
        if differs(po, data):
            stale.append(po)
            if not check:
                po.parent.mkdir(parents=True, exist_ok=True)
                po.write_bytes(data)
        _report(language, po, root, pending(catalog, language))
    shown = [path.relative_to(root) if path.is_relative_to(root) else path for path in stale]
    if check:
        for path in shown:
            print(f"out of date: {path}", file=sys.stderr)
        if stale:
            print("run: python scripts/update_catalogs.py", file=sys.stderr)
        return 1 if stale else 0
    for path in shown:
        print(f"updated {path}")
    try:
        compiled = compile_catalogs(locales)
    except CatalogError as error:
        print(f"update_catalogs: {error}", file=sys.stderr)
        return 1
    print(f"compiled {len(compiled)} catalog(s)")
    return 0


def main(argv: list[str] | None = None) -> int:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 when locales/ is behind"
    )
    args = parser.parse_args(argv)
    return update(check=args.check)


if __name__ == "__main__":
    raise SystemExit(main())
