"""Every command's arguments, typed options and buttons, and every conversation step, under
hostile input, as an organizer and as a stranger, in a private chat and a group: never a
crash (the apology with a logged traceback), and every reply safe to render on each platform
(``tests.fuzz.safety``)."""

from __future__ import annotations

import logging
import shutil
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bot.app import App, open_app
from bot.config import Settings
from bot.core.context import ChatRef, Incoming, UserRef
from bot.core.domain import ChatKind, GeoPoint
from bot.core.reply import Reply
from handlers.registry import ACTIONS, COMMANDS_BY_NAME
from tests.conftest import NOW
from tests.fuzz.safety import Failures, check
from tests.fuzz.strategies import any_text, hostile_text

PLATFORMS = ("telegram", "discord", "console")
ORGANIZER = "1"
SUBCOMMANDS = (
    "event new",
    "event edit 1",
    "event cancel 1",
    "event publish 1",
    "event 1",
    "regiment new",
    "regiment search",
    "regiment queue",
    "regiment march",
    "regiment mine",
    "regiment takedown",
    "organizer add",
    "organizer remove",
    "organizer list",
    "follow country",
    "follow city",
    "setup",
)
names = st.sampled_from(sorted(COMMANDS_BY_NAME) + list(SUBCOMMANDS) + ["nosuchcommand", ""])


@pytest.fixture
async def fuzz_app(sqlite_seeded_template: Path, tmp_path: Path) -> AsyncIterator[App]:
    """The seeded app on SQLite, with organizer 1 on every platform."""
    from bot.core.timeutil import FixedClock

    path = tmp_path / "fuzz.sqlite3"
    shutil.copy(sqlite_seeded_template, path)
    settings = Settings(
        database_url=f"sqlite:///{path}",
        organizer_ids=frozenset(f"{p}:{ORGANIZER}" for p in PLATFORMS),
        environment={"MEDIA_DIR": str(tmp_path / "media")},
    )
    application = await open_app(settings, clock=FixedClock(NOW))
    try:
        yield application
    finally:
        await application.close()


@contextmanager
def no_crash() -> Iterator[Failures]:
    failures = Failures()
    logger = logging.getLogger("handlers")
    logger.addHandler(failures)
    try:
        yield failures
    finally:
        logger.removeHandler(failures)
    assert not failures.records, failures.describe()


def where(platform: str, private: bool) -> ChatRef:
    if private:
        return ChatRef("42", ChatKind.PRIVATE)
    return ChatRef("-100", ChatKind.GROUP)


async def ask(app: App, incoming: Incoming) -> Reply | None:
    reply = await app.dispatcher.handle(incoming)
    check(reply)
    return reply


@given(
    name=names,
    args=any_text,
    platform=st.sampled_from(PLATFORMS),
    private=st.booleans(),
    organizer=st.booleans(),
)
@example(
    name="memorial",
    args="[click](https://evil.example) @everyone",
    platform="discord",
    private=False,
    organizer=False,
)
@example(
    name="today",
    args="<a href='https://evil.example'>x</a>",
    platform="telegram",
    private=True,
    organizer=True,
)
@example(name="timezone", args="\u202e" * 300, platform="telegram", private=True, organizer=True)
@example(
    name="regiment search",
    args="=cmd|' /C calc'!A0" * 40,
    platform="discord",
    private=True,
    organizer=False,
)
@example(
    name="language",
    args="<#123456789012345678> </memorial:1> <t:0:F>",
    platform="discord",
    private=False,
    organizer=False,
)
async def test_any_command_with_any_arguments(  # noqa: PLR0917 (hypothesis passes them)
    fuzz_app: App, name: str, args: str, platform: str, private: bool, organizer: bool
) -> None:
    user = UserRef(ORGANIZER if organizer else "2", "<b>Eve</b> @everyone")
    with no_crash():
        await ask(
            fuzz_app, Incoming(platform, where(platform, private), user, text=f"/{name} {args}")
        )
        await fuzz_app.dispatcher.handle(
            Incoming(platform, where(platform, private), user, text="/cancel")
        )


@given(
    name=st.sampled_from(sorted(COMMANDS_BY_NAME)),
    values=st.lists(any_text, min_size=1, max_size=3),
    organizer=st.booleans(),
)
async def test_any_typed_options(
    fuzz_app: App, name: str, values: list[str], organizer: bool
) -> None:
    command = COMMANDS_BY_NAME[name]
    options = {param.name: value for param, value in zip(command.params, values, strict=False)}
    user = UserRef(ORGANIZER if organizer else "2")
    chat = where("discord", False)
    with no_crash():
        await ask(fuzz_app, Incoming("discord", chat, user, command=name, options=options))
        await fuzz_app.dispatcher.handle(Incoming("discord", chat, user, text="/cancel"))


def _action(prefix: str, argument: str) -> str:
    action = f"{prefix}:{argument}"
    while len(action.encode()) > 64:  # what a platform hands back is at most 64 bytes
        action = action[:-1]
    return action


@given(
    prefix=st.sampled_from([*ACTIONS, "cv", "nosuch"]),
    argument=hostile_text,
    platform=st.sampled_from(PLATFORMS),
    organizer=st.booleans(),
)
@example(prefix="rg", argument="ok:999999999999999999999", platform="telegram", organizer=True)
@example(prefix="m", argument="../../etc", platform="discord", organizer=False)
@example(prefix="ms", argument="²:Liège", platform="telegram", organizer=False)
@example(prefix="rsvp", argument="99999999999999999999999:yes", platform="discord", organizer=False)
@example(prefix="cv", argument="1:choice:99", platform="console", organizer=True)
async def test_any_button(
    fuzz_app: App, prefix: str, argument: str, platform: str, organizer: bool
) -> None:
    user = UserRef(ORGANIZER if organizer else "2")
    with no_crash():
        await ask(
            fuzz_app,
            Incoming(platform, where(platform, True), user, action=_action(prefix, argument)),
        )


FLOW_STARTS = (
    "/event new",
    "/regiment new",
    "/regiment march",
    "/setup",
    "/timezone",
    "/near",
    "/memorial",
    "/subscribe",
    "/follow",
    "/organizer add",
)
answers = st.one_of(
    any_text.map(lambda text: ("text", text)),
    st.tuples(
        st.integers(0, 12), st.sampled_from(["back", "skip", "cancel", "open", "1", "x"])
    ).map(lambda pair: ("button", f"{pair[0]}:{pair[1]}")),
    st.tuples(st.floats(-90, 90), st.floats(-180, 180)).map(
        lambda p: ("location", f"{p[0]!r},{p[1]!r}")
    ),
)


@given(
    start=st.sampled_from(FLOW_STARTS),
    steps=st.lists(answers, min_size=1, max_size=8),
    platform=st.sampled_from(PLATFORMS),
    private=st.booleans(),
)
@example(
    start="/event new",
    steps=[
        ("text", "<b>@everyone</b>"),
        ("text", "Liège"),
        ("text", "Europe/Brussels"),
        ("text", "2026-06-01"),
        ("text", "25:99"),
        ("text", "x" * 5000),
    ],
    platform="telegram",
    private=True,
)
async def test_any_answers_to_any_conversation(
    fuzz_app: App,
    start: str,
    steps: list[tuple[str, str]],
    platform: str,
    private: bool,
) -> None:
    user = UserRef(ORGANIZER)
    chat = where(platform, private)
    with no_crash():
        reply = await ask(fuzz_app, Incoming(platform, chat, user, text=start))
        for kind, value in steps:
            if kind == "text":
                incoming = Incoming(platform, chat, user, text=value)
            elif kind == "location":
                lat, _, lon = value.partition(",")
                point = GeoPoint(float(lat), float(lon))
                incoming = Incoming(platform, chat, user, location=point)
            else:
                turn = reply.ask.turn if reply is not None and reply.ask is not None else 1
                _, _, what = value.partition(":")
                incoming = Incoming(platform, chat, user, action=_action("cv", f"{turn}:{what}"))
            reply = await ask(fuzz_app, incoming)
        await fuzz_app.dispatcher.handle(Incoming(platform, chat, user, text="/cancel"))
