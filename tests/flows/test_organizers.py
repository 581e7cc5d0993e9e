"""An organizer announces a ceremony from Telegram; every chat that follows it hears of it on
Telegram and on Discord, once, in its language, and hears of the move and the cancellation.

The real Telegram and Discord adapters run against the fake servers on one app (one
dispatcher); deliveries go through the ledger with the adapters' senders.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import replace

import icalendar
import pytest

from bot.app import App
from bot.core.domain import EventStatus
from bot.core.timeutil import FixedClock
from bot.runner import delivery_service
from tests.conftest import NOW
from tests.fakes.discord_server import FakeDiscordServer
from tests.fakes.telegram_server import FakeTelegramServer
from tests.flows.drivers import (
    DISCORD_OPTIONS,
    Bot,
    DiscordChat,
    TelegramChat,
    start_telegram,
)

pytestmark = pytest.mark.slow


async def test_an_organizer_announces_on_telegram_and_both_platforms_hear_of_it(
    app: App, clock: FixedClock, tg: FakeTelegramServer, dc: FakeDiscordServer
) -> None:
    from bot.adapters.discord import DiscordAdapter

    settings = replace(
        app.settings,
        telegram_token=tg.token,
        telegram_api_base_url=tg.base_url,
        discord_token=dc.token,
        discord_api_base_url=dc.api_base,
        discord_gateway_url=dc.gateway_url,
    )
    telegram = Bot(app, settings, clock, start_telegram)
    await telegram.open()
    discord_adapter = DiscordAdapter(app.dispatcher, settings, options=DISCORD_OPTIONS)
    await discord_adapter.start()
    try:
        # The organizer: the creator (an administrator) of a Telegram group.
        olga = tg.add_user("Olga", username="olga", language_code="en")
        pavel = tg.add_user("Pavel", username="pavel", language_code="en")
        group = tg.add_group("Citadel volunteers", creator=olga)
        tg.set_member(group, pavel)
        organizer = TelegramChat(telegram, tg, olga, group)
        member = TelegramChat(telegram, tg, pavel, group)
        # A follower on Telegram, in Russian, in Moscow's zone.
        boris = tg.add_user("Борис", username="boris", language_code="ru")
        follower = TelegramChat(telegram, tg, boris)
        await follower.send("/timezone Europe/Moscow")
        await follower.send("/subscribe 09:00")
        # A follower who follows Russia only: a ceremony in Belgium is not for them.
        ivan = tg.add_user("Ivan", username="ivan", language_code="en")
        elsewhere = TelegramChat(telegram, tg, ivan)
        await elsewhere.send("/subscribe 09:00")
        await elsewhere.send("/follow")
        await elsewhere.press("A country")
        assert "announcements in Russia" in await elsewhere.press("Russia")
        # A follower on Discord: a French server's channel, set up by its owner.
        owner = dc.add_user("proprietaire", locale="fr")
        guild = dc.add_guild("Mémoire", preferred_locale="fr", owner=owner, channels=["general"])
        channel = guild.channel("general")
        french = DiscordChat(telegram, dc, guild, channel, owner)
        await french.send("/setup")  # no options: the conversation
        await french.press("Français")
        await french.send("Bruxelles")
        await french.send("08:00")
        await french.press("✔")
        # A member who is not an administrator is refused at the first step.
        refused = await member.send("/event new")
        assert refused.startswith("Only organizers can announce events")
        stranger = dc.add_user("stranger", locale="fr")
        dc.add_member(guild, stranger)
        server_member = DiscordChat(telegram, dc, guild, channel, stranger)
        await server_member.send("/event new")  # refused (in French), no question asked
        assert server_member.question is None

        # The organizer creates the event.
        assert "What is the event called?" in await organizer.send("/event new")
        assert "Where?" in await organizer.send("Immortal Regiment at the Citadel")
        assert "On what date?" in await organizer.send("Citadelle de Liège")
        assert "is in the past there" in await organizer.send("05.05.2020")
        assert "local time" in await organizer.send("05.05.2027")
        assert "A few words" in await organizer.send("14:00")
        assert "In which languages" in await organizer.send("Portraits and flowers.")
        assert "reminded" in await organizer.press("All five languages")
        preview = await organizer.press("7 days")
        assert "Subscribers will see:" in preview and "(Europe/Brussels)" in preview
        published = await organizer.press("Publish")
        assert "is published" in published
        [event] = [e for e in await app.core.events.all_events() if e.created_by]
        assert event.status is EventStatus.SCHEDULED and event.memorial == "liege-citadel-memorial"
        assert event.origin == f"telegram:{group.id}"

        async def tick(minutes: int) -> None:
            service = delivery_service(
                app,
                {"telegram": telegram.adapter.sender, "discord": discord_adapter.sender},
                clock=FixedClock(NOW + dt.timedelta(minutes=minutes)),
                env={},
            )
            await service.tick()

        def received(messages: list[str]) -> list[str]:
            return [m for m in messages if "Immortal Regiment at the Citadel" in m]

        def telegram_texts(user_chat: object) -> list[str]:
            return [m.text or "" for m in tg.sent(user_chat)]  # type: ignore[arg-type]

        def discord_texts() -> list[str]:
            return [
                "\n".join(f"{e.get('title') or ''}\n{e.get('description') or ''}" for e in m.embeds)
                + m.content
                for m in dc.messages(channel)
            ]

        await tick(1)
        [russian] = received(telegram_texts(tg.private_chat(boris)))
        assert "Europe/Brussels" in russian and "Europe/Moscow" in russian  # both times
        assert "openstreetmap.org" in (tg.sent(tg.private_chat(boris))[-1].html or "")
        [french_post] = received(discord_texts())
        assert "<t:" in french_post and "Europe/Brussels" in french_post
        assert received(telegram_texts(tg.private_chat(ivan))) == []
        await tick(2)  # nothing twice
        assert len(received(telegram_texts(tg.private_chat(boris)))) == 1
        assert len(received(discord_texts())) == 1

        # RSVPs from both platforms add up; pressing again takes one back.
        said = await follower.press("✔")
        assert "· 1" in said.splitlines()[-2]  # the pressed card, edited in place
        posts = [m for m in dc.messages(channel) if m.embeds]
        announcement = posts[-1]
        yes = next(
            str(b["custom_id"])
            for row in announcement.components
            for b in row.get("components", [])
            if str(b.get("custom_id", "")).endswith(":yes")
        )
        pressed = await dc.press_button(announcement, yes, owner)
        assert (await pressed.response(timeout=5)).type == 7  # the post shows the new count
        assert (await app.core.rsvps.count(event.id or 0)).yes == 2
        # Boris takes his answer back: his card already reads 1, so Telegram edits nothing.
        card = next(m for m in reversed(tg.sent(tg.private_chat(boris))) if m.reply_markup)
        tg.press_button(boris, card, f"rsvp:{event.id}:yes")
        for _ in range(100):
            if (await app.core.rsvps.count(event.id or 0)).yes == 1:
                break
            await asyncio.sleep(0.02)
        assert (await app.core.rsvps.count(event.id or 0)).yes == 1
        listing = await organizer.send(f"/event {event.id}")
        assert "Coming: 1" in listing and "proprietaire (discord)" in listing
        [ics] = [m for m in tg.sent(group) if m.kind == "document"]
        calendar = icalendar.Calendar.from_ical(tg.document_bytes(ics))
        [vevent] = calendar.walk("VEVENT")
        assert str(vevent["UID"]) == f"event-{event.slug}@commemoration-bot"
        assert str(vevent["SEQUENCE"]) == "1"
        assert "Immortal Regiment at the Citadel" in str(vevent["SUMMARY"])

        # The organizer moves it to 16:00: a new version, announced once.
        await organizer.send(f"/event edit {event.id}")
        for _ in range(3):  # title, place, date
            await organizer.press("Skip")
        await organizer.send("16:00")
        await organizer.press("Skip")  # description
        await organizer.press("Skip")  # languages
        await organizer.press("Skip")  # reminders
        assert "is saved" in await organizer.press("Save")
        await tick(3)
        await tick(4)
        moved = received(telegram_texts(tg.private_chat(boris)))
        assert len(moved) == 2 and "16:00" in moved[1]
        assert len(received(discord_texts())) == 2

        # Then cancels it: announced once.
        await organizer.send(f"/event cancel {event.id}")
        assert "is cancelled" in await organizer.press("Cancel the event")
        await tick(5)
        await tick(6)
        assert len(received(telegram_texts(tg.private_chat(boris)))) == 3
        assert len(received(discord_texts())) == 3
        # On Discord too, /event ID comes with the event's .ics.
        shown = await dc.slash_command(guild, channel, owner, "event", {"action": str(event.id)})
        await shown.response(timeout=5)
        [attached] = await shown.wait_for_followups(1)
        assert [a["filename"] for a in attached.attachments] == [f"event-{event.id}.ics"]
    finally:
        await discord_adapter.stop()
        await telegram.close()
    # Telegram answers "message is not modified" to the edit of Boris's unchanged card.
    assert tg.stats.errors in ({}, {400: 1})
