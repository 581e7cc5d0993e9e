"""Discord's own forms for the bot's questions: a modal for a typed answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import discord

from bot.core.reply import Ask

TITLE_LIMIT = 45
LABEL_LIMIT = 45
PLACEHOLDER_LIMIT = 100
VALUE_LIMIT = 4000
FORM_MINUTES = 15

Submit = Callable[[discord.Interaction[Any], str], Awaitable[None]]


class AnswerModal(discord.ui.Modal):
    """One text field for the answer to ``ask``; Discord counts its characters as they are
    typed when the question has a length limit."""

    def __init__(self, ask: Ask, submit: Submit) -> None:
        super().__init__(
            title=ask.label[:TITLE_LIMIT] or "…",
            timeout=FORM_MINUTES * 60,
            custom_id=f"cv-form:{ask.turn}",
        )
        self.submit = submit
        self.field: discord.ui.TextInput[AnswerModal] = discord.ui.TextInput(
            label=ask.label[:LABEL_LIMIT] or "…",
            placeholder=ask.placeholder[:PLACEHOLDER_LIMIT] or None,
            max_length=min(ask.max_length or VALUE_LIMIT, VALUE_LIMIT),
            style=discord.TextStyle.paragraph if ask.multiline else discord.TextStyle.short,
            required=True,
        )
        self.add_item(self.field)

    async def on_submit(self, interaction: discord.Interaction[Any], /) -> None:
        """Hand the typed answer to the bot."""
        await self.submit(interaction, self.field.value)
