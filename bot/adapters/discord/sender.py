"""The core's ``Sender`` for Discord: scheduled posts over REST, straight to a channel id.

``DiscordSender`` needs no gateway connection and no cache: it renders the reply (the same
``render`` as interaction replies), then ``POST /channels/{id}/messages`` for each part with
``allowed_mentions`` set to nobody. Discord's answers become the core's delivery errors
(``bot.core.delivery``), so the scheduler decides without knowing Discord:

- 429 → ``RetryLater`` with Discord's ``retry_after``; scope ``GLOBAL`` when the limit is the
  bot's global one (``"global": true``, ``X-RateLimit-Global`` or ``X-RateLimit-Scope:
  global``), else ``CHAT`` (the channel's bucket);
- 403 (Missing Access, Missing Permissions, a user who blocks DMs) and 404 (Unknown Channel)
  → ``PermanentError``: the channel is disabled for deliveries (the ``on_gone`` hook runs
  first: the adapter calls ``Core.chat_gone`` and notes it for the server's administrators);
- 5xx, timeouts and network errors → ``TransientError``; so is anything else (a 400 is a bug
  of ours to fix, not a reason to drop the subscription), logged as an error.

Each post of a scheduled delivery carries a ``nonce`` derived from its ledger row, with
``enforce_nonce``: after a crash, or a timeout whose request did reach Discord, the resend
returns the message already created instead of posting it twice (within Discord's window of
"a few minutes"; the ledger takes a dead process's rows over within seconds).

The scheduler's limiter paces sends below ``DISCORD_RATE_LIMIT``; the sender itself sleeps
only when a later part of a split reply meets a short 429 or a 5xx, so a reply that was
half sent is finished rather than sent twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from bot.adapters.discord.render import DiscordMessage, render
from bot.core.delivery import (
    DeliveryError,
    PermanentError,
    RetryLater,
    RetryScope,
    TransientError,
)
from bot.core.reply import Photo, Reply

log = logging.getLogger(__name__)

USER_AGENT = "DiscordBot (https://github.com/commemoration-bot/commemoration-bot, 0.1.0)"
SEND_TIMEOUT = 15.0
INLINE_WAIT = 5.0
"""A later part of a split reply waits out a 429 this short, or a 5xx, instead of failing."""
INLINE_ATTEMPTS = 3

GoneHook = Callable[[str, str], Awaitable[None]]
"""``(channel_id, reason)``: called when a channel answers Forbidden or Not Found."""


def api_host(api_base: str) -> str:
    """The API server's host and port, for messages (never a token)."""
    try:
        parts = urlsplit(api_base)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "the configured server"
    return f"{host}{port}" if host else "the configured server"


def describe(error: BaseException, secret: str | None = None) -> str:
    """A short one-line description of an error, with ``secret`` (the token) removed."""
    text = (
        f"{type(error).__name__}: {error}".splitlines()[0] if str(error) else type(error).__name__
    )
    if secret:
        text = text.replace(secret, "[redacted]")
    return text[:300]


def _reason(status: int, body: Any) -> str:
    if isinstance(body, dict):
        code = body.get("code")
        message = str(body.get("message") or "")[:200]
        return f"HTTP {status}" + (f" {code}" if code is not None else "") + f": {message}"
    return f"HTTP {status}"


def is_global(body: Any, headers: Mapping[str, str]) -> bool:
    """Whether a 429 is the bot's global rate limit."""
    if isinstance(body, dict) and body.get("global") is True:
        return True
    if headers.get("X-RateLimit-Global", "").lower() == "true":
        return True
    return headers.get("X-RateLimit-Scope", "").lower() == "global"


def retry_after(body: Any, headers: Mapping[str, str]) -> float:
    """Seconds to wait after a 429: the body's ``retry_after``, else ``Retry-After``."""
    if isinstance(body, dict):
        value = body.get("retry_after")
        if isinstance(value, int | float):
            return max(0.0, float(value))
    try:
        return max(0.0, float(headers.get("Retry-After", "1")))
    except ValueError:
        return 1.0


def delivery_error(status: int, body: Any, headers: Mapping[str, str]) -> DeliveryError:
    """The core's delivery error for an HTTP error answer of the Discord API."""
    reason = _reason(status, body)
    if status == 429:
        scope = RetryScope.GLOBAL if is_global(body, headers) else RetryScope.CHAT
        return RetryLater(retry_after(body, headers), scope)
    if status in (403, 404):
        return PermanentError(reason)
    if status == 401:
        return TransientError("HTTP 401: the Discord API rejected the bot token")
    return TransientError(reason)


NONCE_LENGTH = 25
"""Discord's longest nonce."""


def nonce_for(key: str, part: int) -> str:
    """The nonce of one part of a delivery: a digest of its key and the part's number, at
    most 25 characters, the same on every attempt."""
    digest = hashlib.blake2b(f"{key}#{part}".encode(), digest_size=12).hexdigest()
    return digest[:NONCE_LENGTH]


class DiscordSender:
    """The core's ``Sender`` for Discord: posts to a channel id over REST (no gateway cache).

    ``on_gone`` runs when a channel answers Forbidden or Not Found; ``commands`` gives the
    slash commands' ids, so ``/command`` in a post becomes a clickable command mention.
    """

    def __init__(
        self,
        token: str,
        api_base: str,
        *,
        on_gone: GoneHook | None = None,
        commands: Callable[[], Mapping[str, int]] | None = None,
        timeout: float = SEND_TIMEOUT,
    ) -> None:
        self.api_base = api_base.rstrip("/")
        self.on_gone = on_gone
        self.commands = commands
        self.timeout = timeout
        self._token = token
        self._session: aiohttp.ClientSession | None = None

    @property
    def host(self) -> str:
        """The API server (for messages)."""
        return api_host(self.api_base)

    async def open(self) -> aiohttp.ClientSession:
        """Open the HTTP connection pool (done by the first send otherwise)."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                headers={"Authorization": f"Bot {self._token}", "User-Agent": USER_AGENT},
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            )
        return self._session

    async def close(self) -> None:
        """Close the connection pool."""
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    async def check_token(self) -> bool:
        """``GET /users/@me``: False when the API refuses the token; raises
        ``TransientError`` when the API cannot be reached."""
        try:
            status, _, _ = await self._request("GET", "/users/@me")
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            raise TransientError(describe(error, self._token)) from None
        return status != 401

    async def send(self, chat_id: str, reply: Reply, thread_id: str = "", *, key: str = "") -> None:
        """Send ``reply`` to a channel (a thread when ``thread_id`` is set: on Discord a
        thread is a channel); raises ``RetryLater``, ``PermanentError``, ``TransientError``.

        With ``key`` (the delivery's, the same on every attempt), each part carries the nonce
        ``nonce_for(key, part)`` with ``enforce_nonce``: a repeat within Discord's window
        (a resend after a crash or a timeout) returns the message already created."""
        channel_id = thread_id.strip() or chat_id
        rendered = render(reply, commands=self.commands() if self.commands else None)
        for number, message in enumerate(rendered.messages):
            photo = rendered.photo if number == 0 else None
            nonce = nonce_for(key, number) if key else None
            await self.post(channel_id, message, later=number > 0, photo=photo, nonce=nonce)

    async def post(
        self,
        channel_id: str,
        message: DiscordMessage,
        *,
        later: bool = False,
        photo: Photo | None = None,
        nonce: str | None = None,
    ) -> dict[str, Any]:
        """Post one message; returns the created message object. ``later``: a part after
        the first, which waits out short 429s and 5xx answers rather than fail. ``photo``
        is uploaded with it (multipart), its embed showing it. ``nonce``: sent with
        ``enforce_nonce``, so a repeat returns the first message instead of a second one."""
        attempts = INLINE_ATTEMPTS if later else 1
        path = f"/channels/{channel_id}/messages"
        payload = message.payload()
        if nonce is not None:
            payload = {**payload, "nonce": nonce, "enforce_nonce": True}
        for attempt in range(1, attempts + 1):
            try:
                status, body, headers = await self._request("POST", path, payload, photo=photo)
            except (aiohttp.ClientError, TimeoutError, OSError) as failure:
                if attempt < attempts:
                    await asyncio.sleep(attempt)
                    continue
                raise TransientError(describe(failure, self._token)) from None
            if 200 <= status < 300:
                return body if isinstance(body, dict) else {}
            error = delivery_error(status, body, headers)
            if attempt < attempts:
                if isinstance(error, RetryLater) and error.scope is RetryScope.CHAT:
                    if error.retry_after <= INLINE_WAIT:
                        await asyncio.sleep(error.retry_after)
                        continue
                elif status >= 500:
                    await asyncio.sleep(attempt)
                    continue
            if isinstance(error, PermanentError):
                await self._gone(channel_id, error.reason)
            elif isinstance(error, TransientError) and 400 <= status < 500:
                log.error("Discord refused a post to channel %s: %s", channel_id, error.reason)
            raise error
        raise TransientError("no attempt was made")  # pragma: no cover - attempts >= 1

    async def _gone(self, channel_id: str, reason: str) -> None:
        log.info("Discord channel %s cannot be posted to (%s): disabling it", channel_id, reason)
        if self.on_gone is None:
            return
        try:
            await self.on_gone(channel_id, reason)
        except Exception as error:  # the delivery error matters more than the note
            log.warning("Discord: could not disable channel %s: %s", channel_id, describe(error))

    async def _request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        photo: Photo | None = None,
    ) -> tuple[int, Any, Mapping[str, str]]:
        session = await self.open()
        if photo is None:
            arguments: dict[str, Any] = {"json": body}
        else:
            form = aiohttp.FormData()
            described = dict(body or {})
            described["attachments"] = [{"id": 0, "filename": photo.name}]
            form.add_field("payload_json", json.dumps(described), content_type="application/json")
            form.add_field(
                "files[0]",
                await asyncio.to_thread(photo.read),
                filename=photo.name,
                content_type=_content_type(photo.name),
            )
            arguments = {"data": form}
        async with session.request(method, self.api_base + path, **arguments) as response:
            if response.content_type == "application/json":
                data: Any = await response.json()
            else:
                data = await response.text()
            return response.status, data, response.headers


def _content_type(name: str) -> str:
    suffix = name.rsplit(".", 1)[-1].lower()
    return {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}.get(
        suffix, "application/octet-stream"
    )
