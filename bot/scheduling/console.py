"""A ``Sender`` for the console platform: scheduled posts printed on standard output."""

from __future__ import annotations

import sys
from typing import TextIO

from bot.adapters.console import Terminal, render_plain
from bot.core.reply import Reply


class ConsoleSender:
    """Prints each delivery as the console adapter prints replies (above the prompt of an
    interactive console's ``terminal``)."""

    def __init__(self, stream: TextIO | None = None, terminal: Terminal | None = None) -> None:
        self.stream = stream
        self.terminal = terminal

    async def send(self, chat_id: str, reply: Reply, thread_id: str = "", *, key: str = "") -> None:
        """Print ``reply`` followed by a blank line."""
        text = render_plain(reply) + "\n\n"
        if self.terminal is not None:
            self.terminal.show(text, self.stream)
            return
        stream = self.stream or sys.stdout
        stream.write(text)
        stream.flush()
