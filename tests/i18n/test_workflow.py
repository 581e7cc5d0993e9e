"""``scripts/update_catalogs.py``: one command from a new string in the code to a catalog."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.domain import LANGUAGES
from bot.core.i18n import check_catalogs, po_path
from tests.i18n.support import entries, load_script, msgstrs, read_catalog

SOURCE = """
from handlers.base import N_

LABEL = N_("Cemetery")


def greet(t, name, n):
    # TRANSLATORS: shown once, after /start
    text = t.gettext("Hello {name}", name=name)
    return text + t.ngettext("{count} day", "{count} days", n)
"""


def _project(root: Path, source: str = SOURCE) -> Path:
    (root / "handlers").mkdir(parents=True, exist_ok=True)
    (root / "handlers" / "greet.py").write_text(source, encoding="utf-8")
    (root / "babel.cfg").write_text("[python: handlers/**.py]\n", encoding="utf-8")
    (root / "locales").mkdir(exist_ok=True)
    return root / "locales"


def _update(root: Path, *, check: bool = False) -> int:
    script = load_script("update_catalogs")
    result: int = script.update(
        check=check, root=root, locales=root / "locales", mapping=root / "babel.cfg"
    )
    return result


def _translate(po: Path, old: str, new: str) -> None:
    text = po.read_text(encoding="utf-8")
    po.write_text(
        text.replace(f'msgid "{old}"\nmsgstr ""', f'msgid "{old}"\nmsgstr "{new}"'),
        encoding="utf-8",
    )


def test_one_command_extracts_merges_and_compiles(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    locales = _project(tmp_path)
    assert _update(tmp_path) == 0
    template = (locales / "messages.pot").read_text(encoding="utf-8")
    assert "#: handlers/greet.py\n" in template  # the file, no line number
    assert "#. shown once, after /start" in template
    assert 'msgid "Cemetery"' in template  # the N_ marker
    assert 'msgid_plural "{count} days"' in template
    for language in LANGUAGES:
        catalog = read_catalog(po_path(language, locales), language)
        assert {str(m.id) for m in entries(catalog)} == {
            "Cemetery",
            "Hello {name}",
            "('{count} day', '{count} days')",
        }
    check_catalogs(locales_dir=locales)
    out = capsys.readouterr().out
    assert "ru: 3 to do" in out and "untranslated: 'Hello {name}'" in out
    assert "en: complete" in out


def test_a_second_run_changes_nothing(tmp_path: Path) -> None:
    locales = _project(tmp_path)
    _update(tmp_path)
    files = sorted(locales.rglob("*.po*"))
    before = {path: path.read_bytes() for path in files}
    assert _update(tmp_path, check=True) == 0
    assert _update(tmp_path) == 0
    assert {path: path.read_bytes() for path in files} == before


def test_check_reports_a_new_string_and_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    locales = _project(tmp_path)
    _update(tmp_path)
    before = (locales / "messages.pot").read_bytes()
    _project(tmp_path, SOURCE + '\nBYE = N_("Goodbye")\n')
    assert _update(tmp_path, check=True) == 1
    assert (locales / "messages.pot").read_bytes() == before
    assert "out of date: locales/messages.pot" in capsys.readouterr().err


def test_a_reworded_string_keeps_its_translation_as_a_fuzzy_hint(tmp_path: Path) -> None:
    locales = _project(tmp_path)
    _update(tmp_path)
    ru = po_path("ru", locales)
    _translate(ru, "Hello {name}", "Здравствуйте, {name}")
    _project(tmp_path, SOURCE.replace("Hello {name}", "Hello, {name}"))
    assert _update(tmp_path) == 0
    catalog = read_catalog(ru, "ru")
    reworded = catalog.get("Hello, {name}")
    assert reworded is not None and reworded.fuzzy
    assert msgstrs(reworded) == ["Здравствуйте, {name}"]
    assert catalog.get("Hello {name}") is None  # the old entry is dropped
    english = read_catalog(po_path("en", locales), "en").get("Hello, {name}")
    assert english is not None and not english.fuzzy and not english.string


def test_a_broken_translation_fails_the_update(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    locales = _project(tmp_path)
    _update(tmp_path)
    _translate(po_path("de", locales), "Hello {name}", "Hallo {nom}")
    assert _update(tmp_path) == 1
    assert "msgstr has placeholders ['{nom}']" in capsys.readouterr().err
