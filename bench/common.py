"""Pieces the benchmarks share."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any


def daily_subscription_rows(
    platform: str, chat_ids: Iterable[object], at: dt.datetime
) -> list[dict[str, Any]]:
    """Rows for ``insert(models.Subscription)``: one active English subscription per chat, the
    daily post at 09:00 Europe/Brussels, created at ``at``."""
    return [
        {
            "platform": platform,
            "chat_id": str(chat_id),
            "thread_id": "",
            "language": "en",
            "timezone": "Europe/Brussels",
            "delivery_time": dt.time(9, 0),
            "topics": ["today"],
            "active": True,
            "created_at": at,
            "updated_at": at,
        }
        for chat_id in chat_ids
    ]
