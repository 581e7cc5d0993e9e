"""The bot refuses to start with a missing, stale or broken catalog, and says which."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.core import i18n
from bot.core.domain import LANGUAGES
from bot.core.i18n import CatalogError, check_catalogs, mo_path, po_path
from tests.i18n.support import compile_catalogs


@pytest.fixture
def locales(tmp_path: Path) -> Path:
    """A compiled copy of the project's catalogs."""
    root = tmp_path / "locales"
    for language in LANGUAGES:
        target = po_path(language, root)
        target.parent.mkdir(parents=True)
        shutil.copy(po_path(language), target)
    compile_catalogs(root)
    return root


def _edit(po: Path, old: str, new: str) -> None:
    text = po.read_text(encoding="utf-8")
    assert old in text
    po.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_fresh_catalogs_pass(locales: Path) -> None:
    check_catalogs(locales_dir=locales)


def test_a_missing_mo_is_named(locales: Path) -> None:
    mo_path("ru", locales).unlink()
    with pytest.raises(CatalogError) as error:
        check_catalogs(locales_dir=locales)
    message = str(error.value)
    assert f"{mo_path('ru', locales)} is missing" in message
    assert "scripts/compile_catalogs.py" in message
    assert "/fr/" not in message


def test_a_missing_po_is_named(locales: Path) -> None:
    po_path("nl", locales).unlink()
    with pytest.raises(CatalogError, match=f"{po_path('nl', locales)} is missing"):
        check_catalogs(locales_dir=locales)


def test_an_mo_older_than_its_po_is_stale(locales: Path) -> None:
    _edit(po_path("fr", locales), 'msgstr "Commandes"', 'msgstr "Les commandes"')
    with pytest.raises(CatalogError) as error:
        check_catalogs(locales_dir=locales)
    assert f"{mo_path('fr', locales)} is older than messages.po" in str(error.value)
    assert "/de/" not in str(error.value)
    compile_catalogs(locales)
    check_catalogs(locales_dir=locales)


def test_a_corrupt_mo_is_refused(locales: Path) -> None:
    mo_path("de", locales).write_bytes(b"\x00not a catalog")
    with pytest.raises(CatalogError, match=r"de/LC_MESSAGES/messages\.mo is not a valid catalog"):
        check_catalogs(locales_dir=locales)


def test_every_problem_is_listed_at_once(locales: Path) -> None:
    mo_path("ru", locales).unlink()
    _edit(po_path("de", locales), 'msgstr "Befehle"', 'msgstr "Kommandos"')
    with pytest.raises(CatalogError) as error:
        check_catalogs(locales_dir=locales)
    assert "/ru/" in str(error.value) and "/de/" in str(error.value)


def test_a_broken_po_stops_the_compiler_and_nothing_is_written(locales: Path) -> None:
    before = {language: mo_path(language, locales).read_bytes() for language in LANGUAGES}
    _edit(po_path("nl", locales), 'msgstr "Opdrachten"', 'msgstr "Opdrachten')
    _edit(po_path("ru", locales), 'msgstr "Команды"', 'msgstr "Команды"\ngarbage')
    with pytest.raises(CatalogError) as error:
        compile_catalogs(locales)
    message = str(error.value)
    assert f"{po_path('nl', locales)}:" in message and "not valid .po syntax" in message
    assert f"{po_path('ru', locales)}:" in message
    after = {language: mo_path(language, locales).read_bytes() for language in LANGUAGES}
    assert after == before
    with pytest.raises(CatalogError, match=r"nl/LC_MESSAGES/messages\.mo is older"):
        check_catalogs(locales_dir=locales)


def test_a_translation_with_other_placeholders_stops_the_compiler(locales: Path) -> None:
    _edit(po_path("de", locales), 'msgstr "Adresse: {address}"', 'msgstr "Adresse: {adresse}"')
    with pytest.raises(CatalogError) as error:
        compile_catalogs(locales)
    assert "msgid 'Address: {address}': msgstr has placeholders ['{adresse}']" in str(error.value)
    assert str(po_path("de", locales)) in str(error.value)


def _set_plural_forms(po: Path, header: str) -> None:
    text = po.read_text(encoding="utf-8")
    start, end = text.index('"Plural-Forms:'), text.index('"MIME-Version')
    po.write_text(text[:start] + f'"Plural-Forms: {header}\\n"\n' + text[end:], encoding="utf-8")


def test_a_wrong_plural_forms_header_stops_the_compiler(locales: Path) -> None:
    _set_plural_forms(po_path("ru", locales), "nplurals=3; plural=(n==1 ? 0 : n<5 ? 1 : 2);")
    with pytest.raises(CatalogError) as error:
        compile_catalogs(locales)
    assert "Babel's rule for ru is 'nplurals=3; plural=(n%10==1" in str(error.value)


def test_a_wrong_number_of_plural_forms_stops_the_compiler(locales: Path) -> None:
    _set_plural_forms(po_path("ru", locales), "nplurals=2; plural=(n != 1);")
    with pytest.raises(CatalogError, match=r"ru/LC_MESSAGES/messages\.po: does not parse"):
        compile_catalogs(locales)


def test_the_bot_refuses_to_start_and_says_which_catalog(
    locales: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bot import cli  # the whole application: imported only here

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(i18n, "LOCALES_DIR", locales)
    mo_path("fr", locales).unlink()
    with pytest.raises(SystemExit) as stopped:
        cli.main(["run", "--platform", "console"])
    assert stopped.value.code == 1
    err = capsys.readouterr().err
    assert f"{mo_path('fr', locales)} is missing" in err
    assert len(err.strip().splitlines()) == 1


def test_the_translator_refuses_a_missing_catalog(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(i18n, "LOCALES_DIR", tmp_path)
    i18n._catalog.cache_clear()
    try:
        with pytest.raises(CatalogError, match=r"ru/LC_MESSAGES/messages\.mo is missing"):
            i18n.translator("ru")
    finally:
        monkeypatch.undo()
        i18n._catalog.cache_clear()


def test_compiled_catalogs_are_readable_by_every_user(locales: Path) -> None:
    # issue 14, item 3: mkstemp's 0600 left another user "Permission denied"
    for language in LANGUAGES:
        assert mo_path(language, locales).stat().st_mode & 0o777 == 0o644
    unreadable = mo_path("ru", locales)
    unreadable.chmod(0o600)
    compile_catalogs(locales)  # unchanged content: only the mode is corrected
    assert unreadable.stat().st_mode & 0o777 == 0o644
