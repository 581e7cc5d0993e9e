"""The Immortal Regiment end to end, on Telegram and Discord at once (the real adapters against
the fake servers), on SQLite and on PostgreSQL.

Families submit relatives in private chats (a Russian speaker on Telegram, a French speaker
on Discord); a file that is not an image is refused; a photo with a GPS position is kept
without it. The bot's organizer moderates on Telegram: approves, rejects with a reason (which
reaches the family in Russian); a withdrawn entry leaves the march. The march posts one
portrait per slot in a Telegram group and a Discord channel, through the delivery ledger:
each family is told its slot in its own zone first, each portrait is posted once, and a
restart sends nothing twice. A search in Cyrillic finds an entry submitted in Latin script.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import replace
from typing import Any

import pytest
from PIL import Image

from bot.app import App
from bot.core.domain import Organizer
from bot.core.regiment import EntryStatus
from bot.core.timeutil import FixedClock
from bot.runner import delivery_service
from tests.conftest import NOW
from tests.fakes.discord_server import FakeDiscordServer
from tests.fakes.telegram_server import FakeTelegramServer
from tests.flows.drivers import (
    Bot,
    DiscordChat,
    TelegramChat,
    discord_text,
    start_telegram,
)

pytestmark = pytest.mark.slow

GPS = 0x8825


def jpeg_with_gps() -> bytes:
    """A portrait as a phone takes it: EXIF with the camera and the place (Liège)."""
    image = Image.new("RGB", (320, 400), (120, 110, 100))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "Phone 12"  # Model
    exif.get_ifd(GPS).update({1: "N", 2: (50.0, 37.0, 57.0), 3: "E", 4: (5.0, 34.0, 1.0)})
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (200, 260), (90, 90, 90)).save(out, "PNG")
    return out.getvalue()


def has_metadata(data: bytes) -> bool:
    """Whether an image still carries EXIF (any tag, the GPS block included)."""
    with Image.open(io.BytesIO(data)) as image:
        return bool(image.getexif()) or "exif" in image.info


async def test_families_submit_an_organizer_moderates_and_the_march_posts_once(
    app: App, clock: FixedClock, tg: FakeTelegramServer, dc: FakeDiscordServer
) -> None:
    from bot.adapters.discord import DiscordAdapter
    from tests.flows.drivers import DISCORD_OPTIONS

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
        # -- a family on Telegram, in Russian, in Moscow -------------------------------------
        nadia_user = tg.add_user("Надежда", username="nadia", language_code="ru")
        nadia = TelegramChat(telegram, tg, nadia_user)
        await nadia.send("/timezone Europe/Moscow")
        first = await nadia.send("/regiment new")
        assert "полное имя" in first.lower() or "имя" in first.lower()
        await nadia.send("Мария Ивановна Смирнова")
        await nadia.press("▶")  # no other spelling
        await nadia.send("1921–1998")
        await nadia.send("Санинструктор, 250-я стрелковая дивизия")
        await nadia.send("бабушка")
        await nadia.send("Выносила раненых под Вязьмой.")
        # a file that is not an image: refused at this step, the question stays
        before = len(tg.sent(nadia.chat))
        tg.send_user_file(
            nadia_user,
            nadia.chat,
            b"%PDF-1.4 not a photo",
            as_photo=False,
            file_name="portrait.jpg",
            mime_type="image/jpeg",
        )
        refused = await nadia._answer(before)
        assert "JPEG, PNG" in refused and "WebP" in refused
        # the phone's photo, sent as a file: its GPS position must not survive
        before = len(tg.sent(nadia.chat))
        tg.send_user_file(
            nadia_user, nadia.chat, jpeg_with_gps(), as_photo=False, file_name="IMG_0042.jpg"
        )
        await nadia._answer(before)
        preview = await nadia.press("Опубликовать без")
        assert "Мария Ивановна Смирнова" in preview
        done = await nadia.press("✔")
        assert "Смирнова" in done
        # a second relative, whose photo will not do
        await nadia.send("/regiment new")
        await nadia.send("Пётр Смирнов")
        await nadia.press("▶")
        await nadia.send("1919-?")
        await nadia.press("▶")
        await nadia.press("▶")
        await nadia.send("Пропал без вести в 1942 году.")
        before = len(tg.sent(nadia.chat))
        tg.send_user_file(nadia_user, nadia.chat, png(), as_photo=True)
        await nadia._answer(before)
        await nadia.press("Опубликовать без")
        await nadia.press("✔")

        # -- a family on Discord, in French, in a direct message ----------------------------
        claire_user = dc.add_user("claire", locale="fr")
        dm = dc.dm_channel(claire_user)
        claire = DiscordChat(telegram, dc, None, dm, claire_user)
        await claire.send("/regiment new")
        await claire.send("Ivan Gvozdarev")
        await claire.send("Иван Гвоздарев")
        await claire.send("1914–1944")
        await claire.press("▶")
        await claire.send("arrière-grand-père")
        await claire.send("Partisan soviétique en Belgique, tombé dans les Ardennes.")
        upload = {"filename": "ivan.png", "content_type": "image/png", "data": png()}
        handle = await dc.slash_command(None, dm, claire_user, "answer", {"file": upload})
        claire._seen(await handle.response(timeout=5))
        await claire.press("Signer")
        await claire.press("✔")
        # and a second one, which she will withdraw before the march
        await claire.send("/regiment new")
        await claire.send("Anna Gvozdareva")
        await claire.press("▶")
        await claire.send("1918-1990")
        await claire.press("▶")
        await claire.press("▶")
        await claire.send("Elle attendait son frère.")
        upload = {"filename": "anna.png", "content_type": "image/png", "data": png()}
        handle = await dc.slash_command(None, dm, claire_user, "answer", {"file": upload})
        claire._seen(await handle.response(timeout=5))
        await claire.press("Publier sans")
        await claire.press("✔")

        regiment = app.core.regiment
        assert regiment is not None
        entries = {
            e.full_name: e for e in await regiment.repository.with_status(EntryStatus.PENDING)
        }
        assert set(entries) == {
            "Мария Ивановна Смирнова",
            "Пётр Смирнов",
            "Ivan Gvozdarev",
            "Anna Gvozdareva",
        }
        stored = regiment.photo_path(entries["Мария Ивановна Смирнова"])
        assert stored is not None and not has_metadata(stored.read_bytes())

        # -- nothing is public before moderation --------------------------------------------
        assert "Gvozdarev" not in await nadia.send("/regiment search Гвоздарев")

        # -- the bot's organizer moderates on Telegram --------------------------------------
        olga_user = tg.add_user("Olga", username="olga", language_code="en")
        await app.core.organizers.add_organizer(Organizer("telegram", str(olga_user.id), "Olga"))
        olga = TelegramChat(telegram, tg, olga_user)
        queue = await olga.send("/regiment queue")
        assert "4 entries are waiting" in queue and "Мария Ивановна Смирнова" in queue
        assert "Approve" in queue
        after = await olga.press("Approve")
        assert "Approved: Мария Ивановна Смирнова" in after and "Пётр Смирнов" in after
        asked = await olga.press("Reject")
        assert "Why is it rejected?" in asked
        assert "Rejected: Пётр Смирнов" in await olga.press("The photo is unclear")
        await olga.press("Approve")  # Ivan Gvozdarev
        # a second organizer moderates on Discord, in a direct message
        moderator_user = dc.add_user("moderator", locale="en-US")
        await app.core.organizers.add_organizer(
            Organizer("discord", str(moderator_user.id), "Moderator")
        )
        moderator_dm = dc.dm_channel(moderator_user)
        moderator = DiscordChat(telegram, dc, None, moderator_dm, moderator_user)
        handle = await dc.slash_command(
            None, moderator_dm, moderator_user, "regiment", {"action": "queue"}
        )
        callback = await handle.response(timeout=5)
        shown = discord_text(callback)
        assert "Anna Gvozdareva" in shown and "Approve" in shown
        assert callback.message is not None and callback.message.attachments  # the portrait
        moderator.question = callback.message
        assert "Approved: Anna Gvozdareva" in await moderator.press("Approve")
        assert "Nothing is waiting" in (await olga.send("/regiment queue"))
        # in a group, a family is sent to the private chat
        pointed = await TelegramChat(
            telegram, tg, olga_user, tg.add_group("Elsewhere", creator=olga_user)
        ).send("/regiment new")
        assert "private chat" in pointed
        # a member who is not an organizer sees no queue
        stranger = TelegramChat(telegram, tg, tg.add_user("Stranger", language_code="en"))
        assert "Only the bot's organizers" in await stranger.send("/regiment queue")

        # -- where the march goes: a Telegram group and a Discord channel that follow -------
        group = tg.add_group("Citadel volunteers", creator=olga_user)
        in_group = TelegramChat(telegram, tg, olga_user, group)
        await in_group.send("/subscribe 09:00")
        owner = dc.add_user("proprietaire", locale="fr")
        guild = dc.add_guild("Mémoire", preferred_locale="fr", owner=owner, channels=["general"])
        channel = guild.channel("general")
        french = DiscordChat(telegram, dc, guild, channel, owner)
        await french.send("/subscribe 08:00")

        # Claire withdraws Anna before the march
        [anna] = [
            e
            for e in await regiment.repository.entries_of("discord", str(claire_user.id))
            if e.full_name == "Anna Gvozdareva"
        ]
        asked = await claire.send(f"/regiment withdraw {anna.public_id}")
        assert "Anna Gvozdareva" in asked
        assert "Anna Gvozdareva" in await claire.press("✔")

        # -- the organizer schedules the march from the group --------------------------------
        assert "On which day" in await in_group.send("/regiment march")
        await in_group.send("10.05.2026")
        await in_group.send("11:00")
        await in_group.press("2 minutes")
        await in_group.press("All five languages")
        await in_group.press("every chat")
        card = await in_group.press("same moment everywhere")
        assert "2 approved portraits so far" in card
        scheduled = await in_group.press("Schedule the march")
        assert "is scheduled" in scheduled and "2 portraits" in scheduled

        async def tick(at: dt.datetime) -> None:
            service = delivery_service(
                app,
                {"telegram": telegram.adapter.sender, "discord": discord_adapter.sender},
                clock=FixedClock(at),
                env={},
            )
            await service.tick()

        # -- the families are told: outcomes, and their slot in their own zone --------------
        await tick(NOW + dt.timedelta(minutes=1))
        told = "\n".join(m.text or "" for m in tg.sent(nadia.chat))
        assert "Причина" in told and "Фото нечёткое" in told  # the reason, in Russian
        assert "12:00" in told and "Europe/Moscow" in told  # 11:00 in Brussels
        claire_told = "\n".join(
            "\n".join(str(e.get("description") or "") for e in m.embeds) + m.content
            for m in dc.messages(dm)
        )
        assert "Ivan Gvozdarev" in claire_told and "11:02" in claire_told

        # -- the march: one portrait per slot, once ------------------------------------------
        start = dt.datetime(2026, 5, 10, 9, 0, tzinfo=dt.UTC)  # 11:00 in Brussels

        def group_photos() -> list[Any]:
            return [m for m in tg.sent(group) if m.kind == "photo"]

        await tick(start)
        [smirnova] = group_photos()
        assert "Мария Ивановна Смирнова" in (smirnova.text or "")
        assert smirnova.photo is not None
        assert not has_metadata(tg.photo_uploads[str(smirnova.photo["file_id"])])
        await tick(start + dt.timedelta(minutes=2))
        assert len(group_photos()) == 2 and "Ivan Gvozdarev" in (group_photos()[1].text or "")
        await tick(start + dt.timedelta(minutes=4))  # Anna's slot: withdrawn, nothing posted
        assert len(group_photos()) == 2
        posted = [m for m in dc.messages(channel) if m.attachments]
        assert len(posted) == 2
        assert all(not has_metadata(data) for data in dc.uploads)

        # -- a restart sends nothing twice ---------------------------------------------------
        await telegram.restart()
        app = telegram.app
        await tick(start + dt.timedelta(minutes=5))
        assert len(group_photos()) == 2
        assert len([m for m in dc.messages(channel) if m.attachments]) == 2

        # -- the chronicle: Cyrillic finds Latin ---------------------------------------------
        found = await nadia.send("/regiment search Гвоздарев")
        assert "Ivan Gvozdarev" in found and "Anna" not in found
    finally:
        await discord_adapter.stop()
        await telegram.close()
