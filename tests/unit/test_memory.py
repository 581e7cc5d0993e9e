"""Giving the heap's free pages back to the system (``bot.memory``)."""

from __future__ import annotations

import os
import sys

import pytest

from bot.memory import release_free_memory


def _resident_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc, /proc")
def test_free_pages_inside_the_heap_go_back_to_the_system() -> None:
    # What made the soak's resident memory grow ~2 MB a minute: glibc keeps the pages freed
    # inside its heap (between chunks still in use) and returns only its top. Objects of a
    # few KB (HTTP bodies, rendered posts, SQLite pages) freed in the middle leave such holes.
    if not release_free_memory():
        pytest.skip("no glibc malloc_trim here")
    chunks = [bytes(4000) + bytes([n % 256]) for n in range(20_000)]  # ~80 MB from malloc
    kept = chunks[::25]  # one in 25 stays: every page around the others is free
    del chunks
    before = _resident_mb()
    assert release_free_memory()
    after = _resident_mb()
    assert before - after > 30, (before, after)
    assert len(kept) == 800
