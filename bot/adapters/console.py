"""The console adapter: the same bot in a terminal, one message per line of standard input.

Replies are printed as plain text; buttons as numbered lines (``[1] …``), and a line holding
just a number presses that button of the last reply (of the open question, when the last
reply has no buttons). In a conversation the next line is the answer; a path to an existing
file answers a photo or file question. It needs no token and no network.

On a terminal it behaves like a terminal program (``Terminal``): line editing and history
with the arrow keys (the standard library's ``readline``, history kept in
``data/console-history``), Ctrl-C quits at once, and whatever arrives while the prompt waits
(a scheduled post, a warning) is written above the prompt, which is then drawn again.
Standard input is read by a daemon thread, so that nothing waits for a last line at exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import mimetypes
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from bot.core.context import Attachment, AttachmentKind, ChatRef, Incoming, UserRef
from bot.core.domain import ChatKind, Platform
from bot.core.i18n import LANGUAGE_NAMES, Translator, translator
from bot.core.reply import AnswerKind, Button, Reply, Style
from bot.core.timeutil import zone_display
from handlers.dispatch import Dispatcher

CONSOLE_CHAT = ChatRef(id="console", kind=ChatKind.PRIVATE, title="console")
CONSOLE_USER = UserRef(id="console", name="console")


def render_plain(reply: Reply, t: Translator | None = None) -> str:
    """A reply as plain text: links show their address, buttons are numbered lines; the
    console's own words (a file's size) in ``t``'s language (default: English)."""
    parts: list[str] = []
    if reply.title:
        parts.append(reply.title + "\n")
    for span in reply.spans:
        if span.style is Style.LINK and span.url and span.url != span.text:
            parts.append(f"{span.text} <{span.url}>")
        else:
            parts.append(span.text)
    text = "".join(parts)
    lines = [text] if text else []
    if reply.photo is not None:
        lines.insert(0, f"🖼 {reply.photo.path}")
    if reply.venue is not None:
        venue = reply.venue
        where = f"{venue.point.lat:.5f}, {venue.point.lon:.5f}"
        lines.append(f"📍 {venue.title} ({where})")
    if reply.file is not None:
        words = t or translator("en")
        size = words.ngettext("{count} byte", "{count} bytes", len(reply.file.data))
        lines.append(f"📎 {reply.file.name} ({size}): {save_file(reply)}")
    for number, button in enumerate(flat_buttons(reply), start=1):
        target = f" <{button.url}>" if button.url else ""
        lines.append(f"[{number}] {button.label}{target}")
    return "\n".join(lines)


FILES = Path("data") / "files"
"""Where the console keeps the files the bot sends (relative to the working folder)."""


def save_file(reply: Reply) -> Path:
    """Keep the reply's file under ``data/files/`` and say where."""
    assert reply.file is not None
    FILES.mkdir(parents=True, exist_ok=True)
    target = FILES / Path(reply.file.name).name
    target.write_bytes(reply.file.data)
    return target


def flat_buttons(reply: Reply) -> list[Button]:
    """The reply's buttons, row by row, as the console numbers them."""
    return [button for row in reply.buttons for button in row]


def file_attachment(path: Path) -> Attachment | None:
    """A file on disk as an attachment (None when there is no such file)."""
    if not path.is_file():
        return None
    mime, _ = mimetypes.guess_type(path.name)

    async def fetch() -> bytes:
        return await asyncio.to_thread(path.read_bytes)

    kind = AttachmentKind.PHOTO if (mime or "").startswith("image/") else AttachmentKind.DOCUMENT
    return Attachment(
        kind=kind,
        file_ref=str(path),
        mime_type=mime or "application/octet-stream",
        size=path.stat().st_size,
        file_name=path.name,
        fetch=fetch,
    )


@dataclass(frozen=True, slots=True)
class NoButton:
    """A number typed when the last reply has no button of that number."""

    number: str


HISTORY = Path("data") / "console-history"
"""Where the interactive console keeps the lines typed (relative to the working folder)."""
HISTORY_LENGTH = 1000
PROMPT = "> "


class Terminal:
    """The interactive console's terminal: a prompt with ``readline``'s line editing and
    history, and output written above the prompt (which is then drawn again)."""

    def __init__(self, stdout: TextIO, history: Path | None = HISTORY) -> None:
        self.stdout = stdout
        self.history = history
        self.prompting = False
        self._lock = threading.Lock()
        self._readline: Any = None
        self._saved_mode: Any = None

    def open(self) -> None:
        """Load the history and remember the terminal's mode (restored by ``close``)."""
        try:
            import readline
        except ImportError:  # pragma: no cover - a Python built without readline
            readline = None  # type: ignore[assignment]
        self._readline = readline
        with contextlib.suppress(ImportError, OSError, ValueError):
            import termios

            self._saved_mode = termios.tcgetattr(sys.stdin.fileno())
        if readline is not None and self.history is not None:
            readline.set_history_length(HISTORY_LENGTH)
            with contextlib.suppress(OSError):
                readline.read_history_file(self.history)

    def close(self) -> None:
        """Save the history and give the terminal back as it was (a Ctrl-C may come while
        ``readline`` holds it in its own mode)."""
        if self._readline is not None and self.history is not None:
            with contextlib.suppress(OSError):
                self.history.parent.mkdir(parents=True, exist_ok=True)
                self._readline.write_history_file(self.history)
        if self._saved_mode is not None:
            with contextlib.suppress(ImportError, OSError, ValueError):
                import termios

                termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, self._saved_mode)

    def read_line(self) -> str:
        """One line typed at the prompt (with editing and history); "" at end of input."""
        self.prompting = True
        try:
            return input(PROMPT) + "\n"
        except EOFError:
            return ""
        finally:
            self.prompting = False

    def show(self, text: str, stream: TextIO | None = None) -> None:
        """Write ``text`` above the prompt when the prompt is waiting, then draw the prompt
        and what was typed so far again."""
        out = stream or self.stdout
        with self._lock:
            if not self.prompting:
                out.write(text)
                out.flush()
                return
            typed = self._readline.get_line_buffer() if self._readline is not None else ""
            self.stdout.write("\r\x1b[K")
            self.stdout.flush()
            out.write(text if text.endswith("\n") else text + "\n")
            out.flush()
            self.stdout.write(PROMPT + typed)
            self.stdout.flush()


class AbovePrompt(logging.Handler):
    """A logging handler that writes records above the console's prompt."""

    def __init__(self, terminal: Terminal, stream: TextIO, level: int = logging.WARNING) -> None:
        super().__init__(level)
        self.terminal = terminal
        self.stream = stream

    def emit(self, record: logging.LogRecord) -> None:
        """Write one record, the prompt drawn again after it."""
        try:
            self.terminal.show(self.format(record) + "\n", self.stream)
        except Exception:  # pragma: no cover - logging must never raise
            self.handleError(record)


class ConsoleAdapter:
    """Reads requests from a text stream and writes replies to another."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        stdin: TextIO = sys.stdin,
        stdout: TextIO = sys.stdout,
        terminal: Terminal | None = None,
    ) -> None:
        self.dispatcher = dispatcher
        self.stdin = stdin
        self.stdout = stdout
        self.terminal = terminal
        self._last: Reply | None = None
        self._question: Reply | None = None

    async def translator(self) -> Translator:
        """The console chat's translator (its language, or the default)."""
        core = self.dispatcher.core
        stored = await core.stored_language(Platform.CONSOLE.value, CONSOLE_CHAT.id)
        return translator(core.resolve_language(stored, None))

    async def handle_line(self, line: str) -> str | None:
        """Answer one line of input; None when there is nothing to print."""
        text = line.strip()
        if not text:
            return None
        incoming = self.incoming(text)
        if isinstance(incoming, NoButton):
            t = await self.translator()
            return t.gettext("[no button {number}]", number=incoming.number)
        if isinstance(incoming, str):
            return incoming
        reply = await self.dispatcher.handle(incoming)
        if reply is None:
            return None
        self._last = reply
        if reply.ask is not None:
            self._question = reply
        elif incoming.text is None or not text.startswith("/") or text.startswith("/cancel"):
            self._question = None  # an answer without a next question: the form is closed
        return render_plain(reply, await self.translator())

    def incoming(self, text: str) -> Incoming | str | NoButton:
        """The request a line makes (a button press, a file, text), what to print (a URL),
        or that the last reply has no such button."""
        shown = self._last if self._last is not None and self._last.buttons else self._question
        if text.isdigit() and shown is not None:
            buttons = flat_buttons(shown)
            index = int(text) - 1
            if 0 <= index < len(buttons):
                button = buttons[index]
                if button.url:
                    return button.url
                return Incoming("console", CONSOLE_CHAT, CONSOLE_USER, action=button.action)
            if self._question is None:
                return NoButton(text)
        question = self._question.ask if self._question is not None else None
        if question is not None and question.kind in (AnswerKind.PHOTO, AnswerKind.FILE):
            attachment = file_attachment(Path(text).expanduser())
            if attachment is not None:
                return Incoming("console", CONSOLE_CHAT, CONSOLE_USER, attachment=attachment)
        return Incoming("console", CONSOLE_CHAT, CONSOLE_USER, text=text)

    async def remembered(self) -> str | None:
        """The note at start naming the chat settings kept from the last run (None when the
        console chat has none): language, zone, daily post."""
        core = self.dispatcher.core
        platform = Platform.CONSOLE.value
        stored = await core.chats.get_settings(platform, CONSOLE_CHAT.id)
        subscription = await core.chats.get_subscription(platform, CONSOLE_CHAT.id)
        t = await self.translator()
        kept: list[str] = []
        if stored is not None and stored.language:
            kept.append(t.gettext("language {language}", language=LANGUAGE_NAMES[stored.language]))
        if stored is not None and stored.timezone:
            now = core.clock.now()
            kept.append(t.gettext("time zone {zone}", zone=zone_display(stored.timezone, now)))
        if subscription is not None and subscription.active and "today" in subscription.topics:
            kept.append(t.gettext("daily post at {time}", time=t.time(subscription.delivery_time)))
        if not kept:
            return None
        return t.gettext(
            "Remembered from the last run: {settings}. /settings shows them; /language, "
            "/timezone, /subscribe and /unsubscribe change them.",
            settings=t.join(kept),
        )

    def _show(self, text: str, stream: TextIO | None = None) -> None:
        if self.terminal is not None:
            self.terminal.show(text, stream)
            return
        out = stream or self.stdout
        out.write(text)
        out.flush()

    async def run(self) -> None:
        """Answer every line until end of input (or Ctrl-C)."""
        if self.terminal is not None:
            t = await self.translator()
            self._show(
                t.gettext("Type /help for the commands, Ctrl-D or Ctrl-C to quit.") + "\n",
                sys.stderr,
            )
            note = await self.remembered()
            if note:
                self._show(note + "\n", sys.stderr)
        reader = LineReader(self.terminal.read_line if self.terminal else self.stdin.readline)
        reader.start()
        while True:
            line = await reader.next_line()
            if not line:
                break
            output = await self.handle_line(line)
            if output is not None:
                self._show(output + "\n\n")


class LineReader:
    """Lines of input read by a daemon thread, one when asked: a Ctrl-C or the end of the
    program never waits for a blocked ``readline`` (``asyncio.to_thread`` would, since the
    loop's executor is joined at exit), and the prompt appears only once the previous reply
    is printed."""

    def __init__(self, read: Callable[[], str]) -> None:
        self.read = read
        self._wanted = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lines: asyncio.Queue[str] = asyncio.Queue()

    def start(self) -> None:
        """Start the reading thread (in the running loop)."""
        self._loop = asyncio.get_running_loop()
        threading.Thread(target=self._run, name="console-input", daemon=True).start()

    async def next_line(self) -> str:
        """The next line; "" at end of input."""
        self._wanted.set()
        return await self._lines.get()

    def _run(self) -> None:
        assert self._loop is not None
        while True:
            self._wanted.wait()
            self._wanted.clear()
            try:
                line = self.read()
            except (OSError, ValueError):
                line = ""
            try:
                self._loop.call_soon_threadsafe(self._lines.put_nowait, line)
            except RuntimeError:  # the loop is closed: the program is ending
                return
            if not line:
                return
