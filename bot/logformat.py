"""Log formats: ``LOG_FORMAT=text`` (the default, one readable line a record) or ``json``
(one JSON object a line, for log collectors).

A JSON line has ``time`` (ISO-8601 UTC with milliseconds), ``level``, ``logger``,
``message``, and ``exception`` (the traceback) when there is one. Secrets are removed before
formatting, by ``bot.config.RedactingFilter`` on the handler, in either format.
"""

from __future__ import annotations

import datetime as dt
import json
import logging

from bot.config import Settings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LOG_FORMATS = ("text", "json")


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message (and exception)."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON (newlines inside strings are escaped)."""
        entry: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False)


def formatter_for(settings: Settings) -> logging.Formatter:
    """The formatter ``LOG_FORMAT`` asks for."""
    if settings.log_format == "json":
        return JsonFormatter()
    return logging.Formatter(TEXT_FORMAT)
