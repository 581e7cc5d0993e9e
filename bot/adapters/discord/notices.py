"""Channels whose daily post was turned off, kept until a server administrator is told.

When a subscribed channel answers Forbidden or Not Found, or is deleted, its deliveries stop
(``Core.chat_gone``) and the channel is noted here under its server. The next time an
administrator of that server (Manage Server, an organizer role, a bot-wide organizer) uses
the bot, the adapter tells them, once, in an ephemeral message.

The board lives in memory: a restart forgets the notes (the subscriptions stay off, and
``/settings`` in the channel shows it). A channel whose server is not known when it fails
(not in the gateway cache) is kept aside and matched to a server when an administrator
interacts there.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

MAX_PER_GUILD = 25
MAX_UNPLACED = 1000


class NoticeBoard:
    """Pending "I can no longer post in #channel" notices, per server."""

    def __init__(self) -> None:
        self._by_guild: dict[int, OrderedDict[str, None]] = {}
        self._unplaced: OrderedDict[str, None] = OrderedDict()

    def add(self, channel_id: str, guild_id: int | None) -> None:
        """Note that deliveries to ``channel_id`` (in ``guild_id``, when known) stopped."""
        if guild_id is None:
            self._unplaced[channel_id] = None
            self._unplaced.move_to_end(channel_id)
            while len(self._unplaced) > MAX_UNPLACED:
                self._unplaced.popitem(last=False)
            return
        channels = self._by_guild.setdefault(guild_id, OrderedDict())
        channels[channel_id] = None
        while len(channels) > MAX_PER_GUILD:
            channels.popitem(last=False)

    def forget(self, channel_id: str) -> None:
        """The channel was set up again: nothing to tell about it any more."""
        self._unplaced.pop(channel_id, None)
        for channels in self._by_guild.values():
            channels.pop(channel_id, None)

    def take(self, guild_id: int, in_guild: Callable[[int], bool]) -> list[str]:
        """The channels of a server to tell its administrators about, oldest first; each is
        told once. ``in_guild`` says whether a channel id belongs to the server."""
        taken = list(self._by_guild.pop(guild_id, {}))
        for channel_id in list(self._unplaced):
            if channel_id.isdigit() and in_guild(int(channel_id)):
                del self._unplaced[channel_id]
                taken.append(channel_id)
        return taken

    def pending(self, guild_id: int) -> list[str]:
        """The channels noted for a server, without taking them."""
        return list(self._by_guild.get(guild_id, {}))
