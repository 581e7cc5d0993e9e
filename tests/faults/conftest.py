"""Fixtures of the fault tests: the Discord adapter's (the fake Discord server, two servers,
the adapter connected to it) are shared with ``tests/discord``."""

from tests.discord.conftest import (  # noqa: F401 (fixtures)
    _nothing_left_running,
    _restore_discord_py,
    adapter,
    dc,
    discord_settings,
    world,
)
