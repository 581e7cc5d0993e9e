"""Shared pieces of handlers: the handler type, usage errors and the gettext marker."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.core.context import RequestContext
from bot.core.reply import Reply

Handler = Callable[[RequestContext], Awaitable[Reply]]


def N_(message: str) -> str:  # noqa: N802  (the gettext convention)
    """Mark a string for extraction; it is translated later, where it is shown."""
    return message


class UsageError(Exception):
    """Bad arguments: the dispatcher answers with the command's usage hint.

    ``reason`` is an already translated sentence saying what was wrong, or empty.
    """

    def __init__(self, reason: str = "") -> None:
        super().__init__(reason)
        self.reason = reason


class NotAllowed(Exception):
    """The user may not do this here; ``reason`` (translated) says why, or is empty for the
    usual "only the administrators" refusal."""

    def __init__(self, reason: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
