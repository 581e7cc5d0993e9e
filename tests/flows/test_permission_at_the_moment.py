"""Permission is checked on the server at the moment an action is carried out, not only when
its form was opened: an organizer removed while confirming cancels nothing."""

from __future__ import annotations

from bot.app import App
from bot.core.context import ChatRef, Incoming, UserRef
from bot.core.domain import ChatKind, EventStatus, Organizer
from bot.core.reply import Reply

CHAT = ChatRef("7", ChatKind.PRIVATE)
USER = UserRef("7", "Org")


def _button(reply: Reply | None, label: str) -> str:
    assert reply is not None
    for row in reply.buttons:
        for button in row:
            if button.action and label in button.label:
                return button.action
    raise AssertionError(f"no {label!r} button in {reply.plain_text()!r}")


async def test_an_organizer_removed_mid_form_cancels_nothing(app: App) -> None:
    [event] = await app.core.upcoming_events(1)
    assert event.id is not None and event.status is not EventStatus.CANCELLED
    await app.core.organizers.add_organizer(Organizer("telegram", "7", "Org"))
    question = await app.dispatcher.handle(
        Incoming("telegram", CHAT, USER, text=f"/event cancel {event.id}")
    )
    confirm = _button(question, "Cancel the event")
    await app.core.organizers.remove_organizer("telegram", "7")
    refusal = await app.dispatcher.handle(Incoming("telegram", CHAT, USER, action=confirm))
    assert refusal is not None
    assert "organizer" in refusal.plain_text().lower()
    after = await app.core.events.get_event(event.id)
    assert after is not None and after.status is event.status


async def test_a_stranger_pressing_an_organizers_button_is_refused(app: App) -> None:
    [event] = await app.core.upcoming_events(1)
    assert event.id is not None
    stranger = UserRef("8", "Eve")
    for action in (f"rg:ok:{event.id}", "rg:q:0", f"rg:no:{event.id}"):
        reply = await app.dispatcher.handle(
            Incoming("telegram", ChatRef("8", ChatKind.PRIVATE), stranger, action=action)
        )
        assert reply is not None
        assert reply.ask is None, action
