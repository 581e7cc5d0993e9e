"""Merge the translation catalogs of two branches entry by entry (after a conflicted merge).

    python scripts/merge_catalogs.py OURS THEIRS   # e.g. HEAD issue-15

Git merges ``.po`` files line by line, which interleaves entries that two branches added at
the same place. This takes ``locales/messages.pot`` and every ``messages.po`` from OURS and
THEIRS (and their merge base) and merges them by msgid: an entry added on one side is kept, an
entry changed on one side only takes that change, an entry removed on one side and unchanged
on the other goes. Then run ``scripts/update_catalogs.py`` to bring the catalogs in line with
the sources.
"""

from __future__ import annotations

import subprocess
import sys
from io import BytesIO
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
LANGUAGES = ("en", "ru", "fr", "nl", "de")
Key = tuple[object, str | None]


def _load(revision: str, path: str) -> Catalog | None:
    shown = subprocess.run(
        ["git", "show", f"{revision}:{path}"], capture_output=True, cwd=ROOT, check=False
    )
    return read_po(BytesIO(shown.stdout)) if shown.returncode == 0 else None


def _key(message: Message) -> Key:
    return (message.id if isinstance(message.id, str) else tuple(message.id), message.context)


def merge(path: str, ours_revision: str, theirs_revision: str, base_revision: str) -> None:
    """Write the entry-by-entry merge of ``path`` into the working tree."""
    ours = _load(ours_revision, path)
    theirs = _load(theirs_revision, path)
    if ours is None or theirs is None:
        return
    base = _load(base_revision, path)
    base_map = {_key(m): m for m in base if m.id} if base is not None else {}
    ours_map = {_key(m): m for m in ours if m.id}
    for key, their in ((_key(m), m) for m in theirs if m.id):
        mine = ours_map.get(key)
        original = base_map.get(key)
        if mine is None:
            if original is None:  # added on their side
                ours[their.id] = their
            continue
        if original is not None and mine.string == original.string != their.string:
            mine.string = their.string
            mine.flags = set(their.flags)
        mine.locations = sorted(set(mine.locations) | set(their.locations))
    their_keys = {_key(m) for m in theirs if m.id}
    for key, mine in ours_map.items():
        if key in base_map and key not in their_keys and mine.string == base_map[key].string:
            del ours[mine.id]  # removed on their side, unchanged on ours
    out = BytesIO()
    write_po(out, ours, width=100, sort_output=True)
    (ROOT / path).write_bytes(out.getvalue())


def main(argv: list[str]) -> int:
    """Merge every catalog of OURS and THEIRS."""
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    ours_revision, theirs_revision = argv
    base_revision = subprocess.run(
        ["git", "merge-base", ours_revision, theirs_revision],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    ).stdout.strip()
    paths = ["locales/messages.pot"] + [
        f"locales/{language}/LC_MESSAGES/messages.po" for language in LANGUAGES
    ]
    for path in paths:
        merge(path, ours_revision, theirs_revision, base_revision)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
