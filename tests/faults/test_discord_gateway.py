"""The Discord gateway dropping: an ordinary drop is resumed and the runner keeps running; a
connection that ends for good (here the gateway closing with 4004, a revoked token) stops the
runner, which exits non-zero instead of running on deaf."""

from __future__ import annotations

import asyncio

import pytest

from bot.adapters.discord import DiscordAdapter
from bot.runner import PlatformLost, wait_for_stop
from tests.discord.conftest import World, sqlite_only
from tests.fakes.discord_server import FakeDiscordServer


@sqlite_only
async def test_a_dropped_gateway_is_resumed_and_the_runner_keeps_running(
    dc: FakeDiscordServer, adapter: DiscordAdapter, world: World
) -> None:
    stop = asyncio.Event()
    running = asyncio.create_task(wait_for_stop(stop, {"discord": adapter}))
    for abrupt in (False, True):
        resumes = sum(c.kind == "resume" for c in dc.gateway_connections)
        assert await dc.drop_connection(code=4000, abrupt=abrupt) == 1

        def resumed(before: int = resumes) -> bool | None:
            return sum(c.kind == "resume" for c in dc.gateway_connections) > before or None

        await dc.wait_for(resumed, 10, "RESUME after the drop")
        await dc.wait_for(lambda: adapter.connected() or None, 10, "connected again")
        assert not running.done()
    # nothing lost: a command sent after the drops is answered
    handle = await dc.slash_command(world.fr.guild, world.fr.general, world.fr.member, "help")
    assert (await handle.response()).embeds
    stop.set()
    await asyncio.wait_for(running, 10)


@sqlite_only
async def test_a_gateway_closed_for_good_stops_the_runner(
    dc: FakeDiscordServer, adapter: DiscordAdapter, caplog: pytest.LogCaptureFixture
) -> None:
    stop = asyncio.Event()
    running = asyncio.create_task(wait_for_stop(stop, {"discord": adapter}))
    await dc.drop_connection(code=4004)
    with pytest.raises(PlatformLost, match="discord connection ended for good"):
        await asyncio.wait_for(running, 10)
    assert not adapter.connected()
    assert any("gateway connection ended" in r.getMessage() for r in caplog.records)
    caplog.clear()  # the adapter's one error line is expected here


def test_the_cli_exits_non_zero_with_one_line_when_a_platform_is_lost(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import bot.cli
    import bot.runner

    async def lost(*_: object) -> None:
        raise PlatformLost("the discord connection ended for good; stopping")

    monkeypatch.setattr(bot.cli, "check_catalogs", lambda: None)
    monkeypatch.setattr(bot.runner, "run_bot", lost)
    with pytest.raises(SystemExit) as exit_:
        bot.cli.main(["run", "--platform", "discord"])
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1].startswith("commemoration-bot: error: the discord")
    assert "Traceback" not in err
