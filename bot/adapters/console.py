"""The console adapter: the same bot in a terminal, one message per line of standard input.

Replies are printed as plain text; buttons as numbered lines (``[1] …``), and a line holding
just a number presses that button of the last reply (of the open question, when the last
reply has no buttons). In a conversation the next line is the answer; a path to an existing
file answers a photo or file question. It needs no token and no network.
"""

from __future__ import annotations

import asyncio
import mimetypes
import sys
from pathlib import Path
from typing import TextIO

from bot.core.context import Attachment, AttachmentKind, ChatRef, Incoming, UserRef
from bot.core.domain import ChatKind
from bot.core.reply import AnswerKind, Button, Reply, Style
from handlers.dispatch import Dispatcher

CONSOLE_CHAT = ChatRef(id="console", kind=ChatKind.PRIVATE, title="console")
CONSOLE_USER = UserRef(id="console", name="console")


def render_plain(reply: Reply) -> str:
    """A reply as plain text: links show their address, buttons are numbered lines."""
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
        lines.append(f"📎 {reply.file.name} ({len(reply.file.data)} bytes): {save_file(reply)}")
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


class ConsoleAdapter:
    """Reads requests from a text stream and writes replies to another."""

    def __init__(
        self, dispatcher: Dispatcher, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout
    ) -> None:
        self.dispatcher = dispatcher
        self.stdin = stdin
        self.stdout = stdout
        self._last: Reply | None = None
        self._question: Reply | None = None

    async def handle_line(self, line: str) -> str | None:
        """Answer one line of input; None when there is nothing to print."""
        text = line.strip()
        if not text:
            return None
        incoming = self.incoming(text)
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
        return render_plain(reply)

    def incoming(self, text: str) -> Incoming | str:
        """The request a line makes (a button press, a file, text), or what to print."""
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
                return f"[no button {text}]"
        question = self._question.ask if self._question is not None else None
        if question is not None and question.kind in (AnswerKind.PHOTO, AnswerKind.FILE):
            attachment = file_attachment(Path(text).expanduser())
            if attachment is not None:
                return Incoming("console", CONSOLE_CHAT, CONSOLE_USER, attachment=attachment)
        return Incoming("console", CONSOLE_CHAT, CONSOLE_USER, text=text)

    async def run(self) -> None:
        """Answer every line until end of input."""
        interactive = self.stdin.isatty()
        if interactive:
            print("Type /help for the commands, Ctrl-D to quit.", file=sys.stderr)
        while True:
            if interactive:
                print("> ", end="", file=sys.stderr, flush=True)
            line = await asyncio.to_thread(self.stdin.readline)
            if not line:
                break
            output = await self.handle_line(line)
            if output is not None:
                self.stdout.write(output + "\n\n")
                self.stdout.flush()
