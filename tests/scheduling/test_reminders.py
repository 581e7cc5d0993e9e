"""An organizer's event: announced once, then its three reminders once each, a restart of the
bot in between changing nothing; a follower of another country hears nothing."""

from __future__ import annotations

import datetime as dt

from bot.app import App, open_app
from bot.core.context import ChatRef, Incoming, UserRef
from bot.core.domain import ChatKind, Event
from bot.core.timeutil import FixedClock
from tests.conftest import NOW
from tests.scheduling.support import RecordingSender, service

OPERATOR = ChatRef("console", ChatKind.PRIVATE)
START = NOW + dt.timedelta(days=8)


async def _publish(app: App) -> Event:
    """The console's operator announces a ceremony at Rebecq, eight days from now."""
    local = START.astimezone(dt.timezone(dt.timedelta(hours=2)))
    for text in (
        "/event new",
        "Wreath-laying at Rebecq",
        "Rebecq",
        local.strftime("%d.%m.%Y"),
        local.strftime("%H:%M"),
        "Flowers at the National Memorial.",
        "all",
        "default",
        "publish",
    ):
        reply = await app.dispatcher.handle(
            Incoming("console", OPERATOR, UserRef("console"), text=text)
        )
        assert reply is not None
    [event] = [e for e in await app.core.events.all_events() if e.created_by]
    assert event.starts_at == START
    return event


async def test_the_announcement_and_each_reminder_reach_a_follower_once(app: App) -> None:
    await app.core.subscribe("console", "reader", language="en", timezone="Europe/Brussels")
    await app.core.subscribe("console", "faraway", language="en", timezone="Europe/Moscow")
    await app.core.set_follow(
        "console", "faraway", "country:RU", language="en", timezone="Europe/Moscow"
    )
    event = await _publish(app)
    sender = RecordingSender()
    current = app

    async def tick(at: dt.datetime) -> None:
        current.core.clock = FixedClock(at)
        await service(current, {"console": sender}, at=at).tick()

    moments = [
        NOW + dt.timedelta(minutes=1),
        START - dt.timedelta(days=7) + dt.timedelta(minutes=1),
        START - dt.timedelta(days=1) + dt.timedelta(minutes=1),
        START - dt.timedelta(hours=2) + dt.timedelta(minutes=1),
    ]
    for number, moment in enumerate(moments):
        await tick(moment)
        if number == 1:  # the bot restarts between the first and the second reminder
            restarted = await open_app(app.settings, clock=FixedClock(moment))
            current = restarted
        await tick(moment + dt.timedelta(minutes=1))
    await restarted.close()

    about = [s for s in sender.sent if "Wreath-laying at Rebecq" in s.text]
    headings = [s.text.splitlines()[0] for s in about]
    assert headings == [
        "New event: Wreath-laying at Rebecq",
        "In 7 days: Wreath-laying at Rebecq",
        "Tomorrow: Wreath-laying at Rebecq",
        "Today: Wreath-laying at Rebecq",
    ]
    assert {s.chat_id for s in about} == {"reader"}  # not the follower of Russia
    assert event.id is not None
