"""The i18n tests run against catalogs compiled from the ``.po`` files as they are now."""

from __future__ import annotations

import pytest

from bot.core.i18n import LOCALES_DIR, CatalogError, check_catalogs
from tests.i18n.support import compile_catalogs


@pytest.fixture(scope="session", autouse=True)
def fresh_catalogs() -> None:
    """Compile the catalogs when a ``.po`` changed since the last build (as ``scripts/test.sh``)."""
    try:
        check_catalogs()
    except CatalogError:
        compile_catalogs(LOCALES_DIR)
