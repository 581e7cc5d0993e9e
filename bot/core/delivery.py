"""What a scheduled delivery is sent to, and how a ``Sender`` says it failed.

Senders (``TelegramSender``, ``DiscordSender``, the console's) translate their SDK's errors into
these types, so the scheduler can decide without knowing the platform:

- ``RetryLater``: the platform answered 429; pause what it concerns (the chat, or the whole
  bot token when ``scope`` is ``GLOBAL``) for ``retry_after`` seconds, then try again;
- ``TransientError``: 5xx, a timeout, a dropped connection; retried with backoff and jitter;
- ``PermanentError``: blocked by the user, chat not found, missing access; the row fails with
  ``reason`` and the subscription is deactivated.

Any other exception a sender raises is treated as transient (and logged with its traceback).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from bot.core.domain import ChatKind, Platform


class RetryScope(enum.StrEnum):
    """What a 429 concerns: one chat, or every send of the bot token."""

    CHAT = "chat"
    GLOBAL = "global"


class DeliveryError(Exception):
    """A delivery failed; ``reason`` is a short operator-facing text (no secrets)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RetryLater(DeliveryError):
    """The platform asked to wait ``retry_after`` seconds (HTTP 429)."""

    def __init__(
        self, retry_after: float, scope: RetryScope = RetryScope.CHAT, reason: str = ""
    ) -> None:
        super().__init__(reason or f"rate limited: retry after {retry_after:g} s ({scope})")
        self.retry_after = max(0.0, float(retry_after))
        self.scope = scope


class TransientError(DeliveryError):
    """A failure that may pass: 5xx, a timeout, a network error."""


class PermanentError(DeliveryError):
    """A failure that will not pass: the chat is gone or the bot may not write there."""


@dataclass(frozen=True, slots=True)
class DeliveryTarget:
    """Where a delivery goes, with the chat's kind so rate limits can tell private from group."""

    platform: str
    chat_id: str
    thread_id: str = ""
    kind: ChatKind = ChatKind.PRIVATE

    @property
    def rate_key(self) -> str:
        """The key of the chat's own rate limit (forum topics share their group's)."""
        return f"{self.platform}:{self.chat_id}"


def chat_kind_for(platform: str, chat_id: str) -> ChatKind:
    """The kind of a stored chat, from its id.

    Telegram gives groups, supergroups and channels negative ids and users positive ones;
    Discord's scheduled posts go to guild channels (DMs are rare and limited the same way).
    """
    if platform == Platform.TELEGRAM:
        return ChatKind.GROUP if chat_id.startswith("-") else ChatKind.PRIVATE
    if platform == Platform.DISCORD:
        return ChatKind.CHANNEL
    return ChatKind.PRIVATE


def target_for(platform: str, chat_id: str, thread_id: str = "") -> DeliveryTarget:
    """A delivery target with its chat kind inferred from the id."""
    return DeliveryTarget(platform, chat_id, thread_id, chat_kind_for(platform, chat_id))


def first_line(error: BaseException) -> str:
    """The first line of an error, for a log line (SQLAlchemy appends the statement on later
    lines), at most 200 characters; the error's type when it says nothing."""
    return (str(error).splitlines() or [type(error).__name__])[0][:200]
