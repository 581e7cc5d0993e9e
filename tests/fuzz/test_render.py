"""Every field that reaches a renderer, on each platform: any text in any style, titles,
button labels, places, links; the rendered messages stay within the platform's limits and
show the text as typed (``tests.fuzz.safety``)."""

from __future__ import annotations

import datetime as dt
import re

from hypothesis import example, given
from hypothesis import strategies as st

from bot.core.domain import GeoPoint
from bot.core.reply import Button, Reply, Span, Style, Venue
from tests.fuzz.safety import check, telegram_render
from tests.fuzz.strategies import any_text, hostile_text

URLS = (
    "https://example.org/memorial",
    "javascript:alert(1)",
    "https://ok.example/a b",
    "data:text/html,<script>alert(1)</script>",
    "tg://resolve?domain=x",
    "http://[::1",
    "",
)
spans = st.builds(
    Span,
    text=any_text,
    style=st.sampled_from(list(Style)),
    url=st.one_of(st.none(), st.sampled_from(URLS), st.from_regex(r"\d{1,20}", fullmatch=True)),
    moment=st.one_of(st.none(), st.just(dt.datetime(1945, 5, 9, 1, 1, tzinfo=dt.UTC))),
)
labels = hostile_text.map(lambda text: text or "x")
buttons = st.one_of(
    st.builds(Button, label=labels, action=st.just("m:liege")),
    st.builds(Button, label=labels, url=st.sampled_from([u for u in URLS if u])),
)
replies = st.builds(
    Reply,
    spans=st.lists(spans, max_size=12).map(tuple),
    buttons=st.lists(st.lists(buttons, min_size=1, max_size=6).map(tuple), max_size=8).map(tuple),
    venue=st.one_of(
        st.none(),
        st.builds(
            Venue,
            point=st.builds(GeoPoint, st.floats(-90, 90), st.floats(-180, 180)),
            title=hostile_text,
            address=hostile_text,
        ),
    ),
    image_url=st.one_of(st.none(), st.sampled_from(URLS)),
    ephemeral=st.booleans(),
    title=st.one_of(st.none(), any_text),
)


@given(reply=replies)
@example(reply=Reply(spans=(Span("x" * 20_000),), title="@everyone " * 100))
@example(reply=Reply(spans=(Span("<b>" * 3000, Style.BOLD),), ephemeral=True))
@example(reply=Reply(spans=(Span("👨‍👩‍👧‍👦" * 2000),), ephemeral=True))
def test_any_reply_renders_within_the_limits_and_inert(reply: Reply) -> None:
    check(reply)
    for text in telegram_render.render(reply).texts:
        for href in re.findall(r'href="([^"]*)"', text):
            assert href.startswith(("http://", "https://", "tg://")), href


def test_a_chunk_filled_to_the_limit_then_a_blank_line_splits() -> None:
    """Found by the property above: a text exactly as long as a message, a blank line, then
    more text raised IndexError (the blank line was cut into no part at all)."""
    limit = telegram_render.TEXT_LIMIT
    rendered = telegram_render.render(Reply(spans=(Span("x" * limit + "\n\n" + "y"),)))
    assert [len(text) for text in rendered.texts] == [limit, 1]
    caption = telegram_render.CAPTION_LIMIT
    with_image = Reply(
        spans=(Span("x" * caption + "\n\ny"),), image_url="https://example.org/a.jpg"
    )
    assert telegram_render.render(with_image).caption == "x" * caption
