"""``/organizer add|remove|list``: bot-wide organizers, kept in the database beside
``ORGANIZER_IDS``. Only a bot-wide organizer (or the operator at the console) may change them;
the check is made when the command is carried out."""

from __future__ import annotations

import datetime as dt

from bot.core.context import RequestContext
from bot.core.domain import Organizer, Platform
from bot.core.reply import Reply, ReplyBuilder
from handlers.base import NotAllowed, UsageError

PLATFORMS = {platform.value for platform in Platform if platform is not Platform.CONSOLE}
MAX_NAME_CHARS = 100


def parse_who(ctx: RequestContext, text: str) -> tuple[str, str, str]:
    """``platform:user_id [name]`` (or a bare id on the current platform): platform, id, name."""
    head, _, name = text.strip().partition(" ")
    platform, colon, user_id = head.rpartition(":")
    if not colon:
        platform, user_id = ctx.platform, head
    platform = platform.lower()
    if platform not in PLATFORMS or not user_id.isdigit() or len(user_id) > 32:
        raise UsageError(
            ctx.t.gettext(
                "“{text}” is not a user: write telegram:123456 or discord:123456789012345678.",
                text=head[:60],
            )
        )
    return platform, user_id, name.strip()[:MAX_NAME_CHARS]


async def manage_organizers(ctx: RequestContext) -> Reply:
    """List, add or remove bot-wide organizers."""
    t = ctx.t
    if not await ctx.is_bot_organizer():
        raise NotAllowed(t.gettext("Only the bot's organizers can change who organizes."))
    action = ctx.option("action").lower()
    who = ctx.option("who")
    if action in ("", "list"):
        return await _listing(ctx)
    if action not in ("add", "remove") or not who:
        raise UsageError()
    platform, user_id, name = parse_who(ctx, who)
    shown = f"{platform}:{user_id}" + (f" ({name})" if name else "")
    if action == "add":
        added = await ctx.core.organizers.add_organizer(
            Organizer(
                platform,
                user_id,
                name,
                added_by=f"{ctx.platform}:{ctx.user.id}",
                added_at=ctx.now.astimezone(dt.UTC),
            )
        )
        if added:
            text = t.gettext("{user} is now an organizer.", user=shown)
        else:
            text = t.gettext("{user} was already an organizer.", user=shown)
        return ReplyBuilder().text(text).build()
    if ctx.core.is_organizer(platform, user_id):
        return (
            ReplyBuilder()
            .text(
                t.gettext(
                    "{user} is an organizer by the bot's configuration (ORGANIZER_IDS); "
                    "the operator changes that.",
                    user=shown,
                )
            )
            .build()
        )
    if await ctx.core.organizers.remove_organizer(platform, user_id):
        text = t.gettext("{user} is no longer an organizer.", user=shown)
    else:
        text = t.gettext("{user} was not an organizer.", user=shown)
    return ReplyBuilder().text(text).build()


async def _listing(ctx: RequestContext) -> Reply:
    t = ctx.t
    out = ReplyBuilder().bold(t.gettext("Organizers")).line()
    configured = sorted(ctx.core.settings.organizer_ids)
    stored = await ctx.core.organizers.list_organizers()
    if not configured and not stored:
        return out.text(t.gettext("No organizers yet.")).build()
    for entry in configured:
        out.line(f"• {entry} — " + t.gettext("set by the configuration"))
    for organizer in stored:
        label = f"{organizer.platform}:{organizer.user_id}"
        if organizer.name:
            label += f" ({organizer.name})"
        out.line(f"• {label} — " + t.gettext("added by {user}", user=organizer.added_by or "?"))
    return out.build()
