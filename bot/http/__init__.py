"""The bot's own small HTTP server (``HTTP_LISTEN``): health, metrics and calendars."""
