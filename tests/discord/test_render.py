"""The pure renderer: escaping, headings, venues, limits, buttons, events. No network."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from bot.adapters.discord.render import (
    CONTENT_LIMIT,
    DESCRIPTION_LIMIT,
    EMBED_TOTAL_LIMIT,
    ActionButton,
    action_custom_id,
    build_view,
    embed_size,
    heading,
    markdown_chunks,
    pack_rows,
    parse_custom_id,
    render,
    units,
)
from bot.core.domain import Event, EventStatus, GeoPoint
from bot.core.i18n import translator
from bot.core.reply import Button, Reply, ReplyBuilder, Span, Style, Venue, text_reply
from handlers.events import event_card

ZWSP = "\u200b"


def test_markdown_and_mentions_in_data_are_escaped() -> None:
    text = "@everyone @here <@&123456789012345678> <@123456789012345678> **bold** _x_ `c` ~~s~~"
    reply = ReplyBuilder().text(text).build()
    description = render(reply).messages[0].embeds[0].description or ""
    assert "@everyone" not in description
    assert f"@{ZWSP}everyone" in description
    assert f"@{ZWSP}here" in description
    assert f"<@{ZWSP}&123456789012345678>" in description
    assert f"<@{ZWSP}123456789012345678>" in description
    assert r"\*\*bold\*\*" in description
    assert r"\_x\_" in description
    assert r"\`c\`" in description
    assert r"\~\~s\~\~" in description


def test_styles_wrap_escaped_text_and_keep_spaces_outside() -> None:
    reply = Reply(
        spans=(
            Span("Plain "),
            Span(" bold* ", Style.BOLD),
            Span("it_al", Style.ITALIC),
            Span(" "),
            Span("co`de", Style.CODE),
            Span(" "),
            Span("a [map]", Style.LINK, "https://example.org/a(b) c"),
        )
    )
    chunks = markdown_chunks(reply.spans, DESCRIPTION_LIMIT)
    assert chunks == [
        r"Plain  **bold\*** _it\_al_ `` co`de `` [a \[map\]](https://example.org/a%28b%29%20c)"
    ]


def test_a_link_that_is_not_http_is_plain_text() -> None:
    chunks = markdown_chunks((Span("click", Style.LINK, "javascript:alert(1)"),), 100)
    assert chunks == ["click"]


def test_lines_starting_like_markdown_blocks_are_escaped() -> None:
    reply = (
        ReplyBuilder().line("# not a heading").line("- not a list").text("> not a quote").build()
    )
    description = render(reply).messages[0].embeds[0].description or ""
    assert description.splitlines() == [r"\# not a heading", r"\- not a list", r"\> not a quote"]


def test_command_names_become_command_mentions() -> None:
    reply = (
        ReplyBuilder().text("Send /help or /unsubscribe, not /unknown or Europe/Brussels").build()
    )
    description = render(reply, commands={"help": 11, "unsubscribe": 12}).messages[0].embeds[0]
    assert description.description == (
        "Send </help:11> or </unsubscribe:12>, not /unknown or Europe/Brussels"
    )
    assert render(reply).messages[0].embeds[0].description == (
        "Send /help or /unsubscribe, not /unknown or Europe/Brussels"
    )


def test_a_bold_first_line_is_the_embed_title() -> None:
    reply = ReplyBuilder().bold("On this day, 9 May").line().line().text("Victory Day").build()
    assert heading(reply)[0] == "On this day, 9 May"
    embed = render(reply).messages[0].embeds[0]
    assert embed.title == "On this day, 9 May"
    assert embed.description == "Victory Day"
    titled = Reply(spans=(Span("Body"),), title="Explicit **title**")
    assert render(titled).messages[0].embeds[0].title == r"Explicit \*\*title\*\*"
    mixed = ReplyBuilder().bold("1945").text(" (81 years ago) — ").bold("Victory").build()
    assert heading(mixed)[0] is None
    assert render(mixed).messages[0].embeds[0].title is None


def test_a_venue_carries_coordinates_and_a_map_link() -> None:
    venue = Venue(GeoPoint(50.6655, 4.1321), "Memorial @everyone", "Rebecq, Belgium")
    reply = ReplyBuilder().bold("Memorial").line().text("A monument").build(venue=venue)
    embed = render(reply).messages[0].embeds[0]
    assert embed.title == "Memorial"
    assert embed.url is not None
    assert "mlat=50.66550" in embed.url
    [field] = embed.fields
    assert field.name == "📍 Rebecq, Belgium"
    assert field.value is not None
    assert field.value.startswith("[50.66550, 4.13210](https://www.openstreetmap.org/")


def test_a_short_ephemeral_notice_is_content_and_a_long_one_is_split() -> None:
    notice = text_reply("Usage: /today [MM-DD] @everyone", ephemeral=True)
    rendered = render(notice)
    assert rendered.ephemeral
    [message] = rendered.messages
    assert message.embeds == ()
    assert message.content == f"Usage: /today [MM-DD] @{ZWSP}everyone"
    long = text_reply("\n".join(f"line {n} " + "x" * 90 for n in range(60)), ephemeral=True)
    parts = render(long).messages
    assert len(parts) >= 3
    assert all(units(part.content or "") <= CONTENT_LIMIT for part in parts)
    joined = "\n".join(part.content or "" for part in parts)
    assert joined == long.plain_text()


def test_a_long_reply_is_split_within_every_embed_limit() -> None:
    paragraph = "Victory *day* — " + " ".join(f"word{n}" for n in range(400))
    builder = ReplyBuilder().bold("Heading").line()
    for _ in range(8):
        builder.line().line(paragraph)
    builder.text("x" * 5000)  # one line longer than a description
    reply = builder.row(Button("▶", action="today:2026-05-10")).build()
    rendered = render(reply)
    assert len(rendered.messages) >= 4
    for message in rendered.messages:
        assert 1 <= len(message.embeds) <= 10
        assert sum(embed_size(embed) for embed in message.embeds) <= EMBED_TOTAL_LIMIT
        for embed in message.embeds:
            assert units(embed.description or "") <= DESCRIPTION_LIMIT
    assert [bool(message.rows) for message in rendered.messages][-1]
    assert not any(message.rows for message in rendered.messages[:-1])
    text = "\n".join(
        embed.description or "" for message in rendered.messages for embed in message.embeds
    )
    assert text.count("word399") == 8
    assert text.replace("\n", "").count("x") >= 5000


def test_a_long_title_is_cut() -> None:
    reply = Reply(spans=(Span("body"),), title="T" * 400)
    title = render(reply).messages[0].embeds[0].title or ""
    assert units(title) == 256
    assert title.endswith("…")


def test_astral_characters_count_twice() -> None:
    assert units("🎖") == 2
    chunks = markdown_chunks((Span("🎖" * 3000),), CONTENT_LIMIT)
    assert all(units(chunk) <= CONTENT_LIMIT for chunk in chunks)
    assert "".join(chunks) == "🎖" * 3000


def test_rows_are_packed_into_five_by_five() -> None:
    rows = [(Button("Map", url="https://osm.org/"),)] + [
        (Button(f"Memorial {n}", action=f"m:slug-{n}"),) for n in range(4)
    ]
    rows.append((Button("More results ▶", action="ms:5:liege"),))
    packed = pack_rows(rows)
    assert len(packed) == 5
    assert packed[0] == (Button("Map", url="https://osm.org/"),)
    assert [len(row) for row in packed] == [1, 2, 1, 1, 1]
    wide = pack_rows([tuple(Button(str(n), action=f"x:{n}") for n in range(7))])
    assert [len(row) for row in wide] == [5, 2]
    many = pack_rows([(Button(str(n), action=f"x:{n}"),) for n in range(40)])
    assert len(many) == 5
    assert sum(len(row) for row in many) == 25


def test_labels_are_cut_and_bad_urls_dropped() -> None:
    packed = pack_rows([(Button("L" * 100, action="m:a"), Button("bad", url="ftp://x"))])
    assert [b.label for row in packed for b in row] == ["L" * 79 + "…"]


def test_buttons_carry_their_action_in_the_custom_id() -> None:
    view = build_view(
        [
            (Button("A", action="m:rebecq"), Button("Again", action="m:rebecq")),
            (Button("Map", url="https://osm.org/"),),
        ]
    )
    assert view is not None
    components = view.to_components()
    ids = [c.get("custom_id") for row in components for c in row["components"]]
    assert ids == ["cb:m:rebecq", "cb~1:m:rebecq", None]
    assert [parse_custom_id(i) for i in ids if i] == ["m:rebecq", "m:rebecq"]
    assert parse_custom_id("memorial:subscribe") is None
    assert parse_custom_id(action_custom_id("ms:5:Liège cemetery")) == "ms:5:Liège cemetery"
    assert all(isinstance(item, ActionButton) for item in view.children[:2])


def test_the_event_card_shows_discord_timestamps_and_local_time() -> None:
    start = dt.datetime(2026, 5, 10, 12, 0, tzinfo=dt.UTC)
    event = Event(
        slug="march",
        starts_at=start,
        timezone="Europe/Moscow",
        title={"en": "Immortal Regiment **@everyone**", "ru": "Бессмертный полк"},
        place={"en": "Citadel"},
        status=EventStatus.MOVED,
    )
    t = translator("en")
    out = ReplyBuilder().bold(event.title["en"]).line()
    reply = event_card(out, t, event, "Europe/Brussels").build()
    [message] = render(reply).messages
    [embed] = message.embeds
    text = (embed.title or "") + "\n" + (embed.description or "")
    unix = int(start.timestamp())
    assert f"<t:{unix}:F> (" in text  # each reader's own time, then the chat's
    assert "3:00" in text  # 15:00 in Moscow, the place's local time
    assert "Place: Citadel" in text
    assert "_moved_" in text
    assert "@" + ZWSP + "everyone" in text
    # Elsewhere the same card reads as text.
    assert "<t:" not in reply.plain_text()
    assert "2:00" in reply.plain_text()  # 14:00 in Brussels


@pytest.mark.parametrize("limit", [40, 256, 2000])
def test_chunks_never_exceed_the_limit(limit: int) -> None:
    spans = (
        Span("a*b " * 300, Style.BOLD),
        Span("\n"),
        Span("_" * 500, Style.ITALIC),
        Span("x y " * 200),
    )
    chunks = markdown_chunks(spans, limit)
    assert chunks
    assert all(units(chunk) <= limit for chunk in chunks)
    assert all(re.fullmatch(r"\s*", chunk) is None for chunk in chunks)
