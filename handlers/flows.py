"""Every conversation the bot can hold, by name: the dispatcher's flow engine resumes a
conversation stored before a restart by finding its flow here. A feature adds its flows to
this table; no adapter changes."""

from __future__ import annotations

from bot.core.conversation import Flow
from handlers import chat_settings, event_forms, memorials, regiment

FLOWS: dict[str, Flow] = {
    flow.name: flow
    for flow in (
        chat_settings.TIMEZONE_FLOW,
        chat_settings.SUBSCRIBE_FLOW,
        chat_settings.SETUP_FLOW,
        memorials.MEMORIAL_FLOW,
        memorials.NEAR_FLOW,
        *event_forms.FLOWS,
        *regiment.FLOWS,
    )
}
