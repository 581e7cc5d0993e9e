"""The console behaves like a terminal program (issue 14, item 2), driven through a
pseudo-terminal as a person at a keyboard drives it: Ctrl-C, arrow keys, logs, the note at
start."""

from __future__ import annotations

import fcntl
import io
import os
import pty
import select
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.adapters.console import PROMPT, Terminal
from tests.e2e.conftest import Runner

ROOT = Path(__file__).resolve().parents[2]
UP = b"\x1b[A"
CTRL_C = b"\x03"

pytestmark = pytest.mark.slow


class Session:
    """``commemoration-bot run --platform console`` on a pseudo-terminal that is its
    controlling terminal (so that Ctrl-C is a SIGINT, as in a real one)."""

    def __init__(self, cwd: Path) -> None:
        self.master, slave = pty.openpty()
        self.mode = termios.tcgetattr(slave)
        environment = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("TELEGRAM_", "DISCORD_", "DEFAULT_", "DATABASE_", "LOG_"))
        }
        environment["PYTHONPATH"] = str(ROOT)

        def controlling_terminal() -> None:
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--platform", "console"],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=cwd,
            env=environment,
            preexec_fn=controlling_terminal,  # noqa: PLW1509  (before any thread starts)
        )
        os.close(slave)
        self.output = b""

    def read(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if ready:
                try:
                    self.output += os.read(self.master, 65536)
                except OSError:
                    return

    def wait_for(self, token: bytes, seconds: float = 60, after: int = 0) -> bool:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if token in self.output[after:]:
                return True
            self.read(0.1)
        return token in self.output[after:]

    def type(self, keys: bytes) -> int:
        mark = len(self.output)
        os.write(self.master, keys)
        return mark

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        os.close(self.master)

    @property
    def text(self) -> str:
        return self.output.decode("utf-8", errors="replace")


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    running = Session(tmp_path)
    try:
        yield running
    finally:
        running.close()


def test_ctrl_c_quits_at_once_and_gives_the_terminal_back(session: Session) -> None:
    assert session.wait_for(PROMPT.encode()), session.text
    started = time.monotonic()
    session.type(CTRL_C)
    code = session.process.wait(15)  # it used to hang on standard input until Enter
    assert time.monotonic() - started < 10
    assert code == 130
    mode = termios.tcgetattr(session.master)
    assert mode[3] & (termios.ECHO | termios.ICANON) == session.mode[3] & (
        termios.ECHO | termios.ICANON
    )
    assert "Traceback" not in session.text


def test_the_arrow_keys_bring_back_what_was_typed(session: Session) -> None:
    assert session.wait_for(PROMPT.encode()), session.text
    first = session.type(b"/today 10-12\r")
    assert session.wait_for(b"October 12", after=first), session.text
    assert session.wait_for(PROMPT.encode(), after=first + 20)
    again = session.type(UP + b"\r")
    assert session.wait_for(b"October 12", after=again), session.text
    assert "[A" not in session.text  # the arrow was no text typed


def test_logs_go_to_a_file_and_warnings_only_to_the_terminal(
    session: Session, tmp_path: Path
) -> None:
    assert session.wait_for(PROMPT.encode()), session.text
    mark = session.type(b"/help\r")
    assert session.wait_for(b"/memorial", after=mark)
    session.read(1.0)
    assert " INFO " not in session.text
    log = tmp_path / "data" / "commemoration.log"
    assert log.is_file()
    assert "scheduler started" in log.read_text(encoding="utf-8")


def test_the_note_at_start_names_what_is_remembered(run_cli: Runner, tmp_path: Path) -> None:
    first = run_cli("run", "--platform", "console", stdin="/language ru\n/subscribe 07:15\n")
    assert first.returncode == 0, first.stderr
    session = Session(tmp_path)
    try:
        assert session.wait_for(PROMPT.encode()), session.text
        text = session.text
        assert "Запомнено с прошлого запуска" in text, text
        assert "Русский" in text and "07:15" in text
    finally:
        session.close()


def test_output_while_the_prompt_waits_is_written_above_it() -> None:
    screen = io.StringIO()
    terminal = Terminal(screen, history=None)
    terminal.prompting = True  # input() waits, nothing typed yet
    terminal.show("a scheduled post\n\n")
    assert screen.getvalue() == "\r\x1b[Ka scheduled post\n\n" + PROMPT
    terminal.prompting = False
    terminal.show("a reply\n")
    assert screen.getvalue().endswith(PROMPT + "a reply\n")
