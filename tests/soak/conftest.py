"""Fixtures of the soak: discord.py's endpoints put back and its threads gone after each run,
as for the Discord adapter's tests."""

from tests.discord.conftest import (  # noqa: F401 (fixtures)
    _nothing_left_running,
    _restore_discord_py,
)
