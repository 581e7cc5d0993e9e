"""A ``Sender`` for the console platform: scheduled posts printed on standard output."""

from __future__ import annotations

import sys
from typing import TextIO

from bot.adapters.console import render_plain
from bot.core.reply import Reply


class ConsoleSender:
    """Prints each delivery as the console adapter prints replies."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    async def send(self, chat_id: str, reply: Reply, thread_id: str = "", *, key: str = "") -> None:
        """Print ``reply`` followed by a blank line."""
        stream = self.stream or sys.stdout
        stream.write(render_plain(reply) + "\n\n")
        stream.flush()
