"""An announcement is pinned in the Telegram groups where the bot may pin, and unpinned after
the event; where it may not, it is delivered all the same."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from bot.app import App
from bot.core.domain import Event, EventStatus
from bot.core.timeutil import FixedClock
from bot.runner import delivery_service
from tests.conftest import NOW
from tests.fakes.telegram_server import FakeTelegramServer
from tests.flows.drivers import Bot, start_telegram

pytestmark = pytest.mark.slow

START = NOW + dt.timedelta(days=3)


async def test_announcements_are_pinned_where_the_bot_may_and_unpinned_after(
    app: App, clock: FixedClock, tg: FakeTelegramServer
) -> None:
    settings = replace(app.settings, telegram_token=tg.token, telegram_api_base_url=tg.base_url)
    telegram = Bot(app, settings, clock, start_telegram)
    await telegram.open()
    try:
        olga = tg.add_user("Olga", username="olga", language_code="en")
        may_pin = tg.add_supergroup("Volunteers", creator=olga, bot_status="administrator")
        may_not = tg.add_group("Readers", creator=olga)  # the bot is a plain member
        for group in (may_pin, may_not):
            await app.core.subscribe(
                "telegram", str(group.id), language="en", timezone="Europe/Brussels"
            )
        event = await app.core.events.save_event(
            Event(
                slug="wreath-laying-at-rebecq",
                starts_at=START,
                timezone="Europe/Brussels",
                title={"en": "Wreath-laying at Rebecq"},
                status=EventStatus.SCHEDULED,
                memorial="rebecq-national-memorial",
                sequence=1,
                announced_at=NOW,
                reminders=(),
            )
        )

        async def tick(at: dt.datetime) -> None:
            sender = telegram.adapter.sender
            await delivery_service(app, {"telegram": sender}, clock=FixedClock(at), env={}).tick()

        await tick(NOW + dt.timedelta(minutes=1))
        [announcement] = [m for m in tg.sent(may_pin) if "Rebecq" in (m.text or "")]
        assert tg.pinned(may_pin) == [announcement.message_id]
        assert [m for m in tg.sent(may_not) if "Rebecq" in (m.text or "")]  # delivered
        assert tg.pinned(may_not) == []
        await tick(START + dt.timedelta(hours=1))  # during the event: still pinned
        assert tg.pinned(may_pin) == [announcement.message_id]
        await tick(START + dt.timedelta(hours=2, minutes=1))
        assert tg.pinned(may_pin) == []
        assert await app.core.pins.due_pins("telegram", START + dt.timedelta(days=1)) == []
        assert event.id is not None
    finally:
        await telegram.close()
