"""The HTTP client under python-telegram-bot (httpx, httpcore) on the hot path of every send."""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from types import ModuleType

from httpcore._synchronization import current_async_library

import bot.adapters.telegram  # noqa: F401 (what it does on import is under test)


class _Recorder(importlib.abc.MetaPathFinder):
    """Records the names the import system searches for; finds nothing."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        self.names.append(fullname)
        return None


async def test_a_request_does_not_search_the_path_for_sniffio() -> None:
    # httpcore 1.0 imports sniffio inside current_async_library(), called a few times per
    # request; anyio >= 4.11 no longer brings sniffio, and a failed import is not cached:
    # each call searched sys.path again (6 % of the event loop in the soak, at ~1,000 sends a
    # second). Importing the adapter remembers that sniffio is missing.
    recorder = _Recorder()
    sys.meta_path.insert(0, recorder)
    try:
        for _ in range(3):
            assert current_async_library() == "asyncio"
    finally:
        sys.meta_path.remove(recorder)
    assert "sniffio" not in recorder.names
