"""commemoration-bot: on-this-day posts, memorials and Immortal Regiment events for chats."""

__version__ = "0.1.0"
