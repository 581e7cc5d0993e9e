"""The webhook's secret, checked in constant time.

python-telegram-bot's webhook handler compares the ``X-Telegram-Bot-Api-Secret-Token`` header
with ``!=`` (whose time depends on how many leading characters match, so an attacker who can
time requests learns the secret a character at a time) and logs a wrong token it received.
``install()`` makes the ``Updater`` build its webhook application with ``SecretCheckingHandler``
instead: ``hmac.compare_digest`` over the UTF-8 bytes, nothing logged but the refusal.
"""

from __future__ import annotations

import hmac
import logging
from http import HTTPStatus
from typing import Any

import tornado.web
from telegram.ext import _updater
from telegram.ext._utils.webhookhandler import TelegramHandler, WebhookAppClass

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def secret_matches(given: str | None, expected: str) -> bool:
    """Whether the header carries the secret, compared in constant time."""
    return hmac.compare_digest((given or "").encode(), expected.encode())


class SecretCheckingHandler(TelegramHandler):
    """PTB's handler with a constant-time secret check that logs no token."""

    def _validate_post(self) -> None:
        if self.request.headers.get("Content-Type", None) != "application/json":
            raise tornado.web.HTTPError(HTTPStatus.FORBIDDEN)
        if self.secret_token is not None and not secret_matches(
            self.request.headers.get(SECRET_HEADER), self.secret_token
        ):
            log.info("Telegram webhook: refused a request without the right secret")
            raise tornado.web.HTTPError(HTTPStatus.FORBIDDEN)


class SecretCheckingWebhookApp(WebhookAppClass):
    """PTB's webhook application, routing to ``SecretCheckingHandler``."""

    def __init__(
        self, webhook_path: str, bot: Any, update_queue: Any, secret_token: str | None = None
    ) -> None:
        self.shared_objects = {
            "bot": bot,
            "update_queue": update_queue,
            "secret_token": secret_token,
        }
        handlers = [(rf"{webhook_path}/?", SecretCheckingHandler, self.shared_objects)]
        tornado.web.Application.__init__(self, handlers)


def install() -> None:
    """Make ``Updater.start_webhook`` use the constant-time check (idempotent). The test
    ``tests/telegram/test_webhook_secret.py`` fails if a new python-telegram-bot builds its
    application elsewhere."""
    _updater.WebhookAppClass = SecretCheckingWebhookApp  # type: ignore[attr-defined]
