"""Compile ``locales/<lang>/LC_MESSAGES/messages.po`` into ``.mo`` files.

Run by the build (``setup.py``'s ``build_py``) and by ``scripts/test.sh``. Each ``.mo`` records
the hash of the ``.po`` it came from, so the bot can refuse a stale catalog at start-up.
Exits 1, naming the file, when a catalog does not parse.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.pofile import read_po
from babel.messages.mofile import write_mo

ROOT = Path(__file__).resolve().parents[1]
LOCALES = ROOT / "locales"
HASH_CONTEXT = "X-Source-Hash"
HASH_MSGID = "source-hash"


def compile_catalogs(locales: Path = LOCALES) -> list[Path]:
    """Compile every ``.po`` under ``locales``; returns the ``.mo`` files written."""
    sys.path.insert(0, str(ROOT))
    from bot.core.i18n import source_hash

    written = []
    for po in sorted(locales.glob("*/LC_MESSAGES/messages.po")):
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=po.parent.parent.name)
        catalog.add(HASH_MSGID, source_hash(po), context=HASH_CONTEXT)
        mo = po.with_suffix(".mo")
        with mo.open("wb") as handle:
            write_mo(handle, catalog, use_fuzzy=False)
        written.append(mo)
    return written


if __name__ == "__main__":
    try:
        files = compile_catalogs()
    except Exception as error:  # a broken catalog: one line, exit 1
        print(f"compile_catalogs: {error}", file=sys.stderr)
        raise SystemExit(1) from None
    print(f"compiled {len(files)} catalog(s)")
