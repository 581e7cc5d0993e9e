"""The pure renderer, without a network: escaping, emphasis, links, splitting, keyboards.

The fake server's ``parse_html`` (a port of TDLib's parser) is the oracle for "Telegram
accepts this HTML and shows this text".
"""

from __future__ import annotations

import pytest

from bot.adapters.telegram.render import (
    CAPTION_LIMIT,
    TEXT_LIMIT,
    acceptable_url,
    deep_link,
    keyboard,
    render,
    split_html,
    utf16_len,
)
from bot.core.domain import GeoPoint
from bot.core.reply import Button, Reply, ReplyBuilder, Span, Style, Venue
from tests.fakes.telegram_server import parse_html


def html_of(reply: Reply) -> str:
    [text] = render(reply).texts
    return text


def test_data_is_escaped_everywhere() -> None:
    reply = (
        ReplyBuilder()
        .text("Tom & Jerry <script> \"quoted\" 'single'")
        .bold(" <b>not bold</b>")
        .link('a "link" & <more>', 'https://example.org/?q="x"&y=<1>')
        .build()
    )
    rendered = html_of(reply)
    assert rendered == (
        "Tom &amp; Jerry &lt;script&gt; &quot;quoted&quot; &#x27;single&#x27;"
        "<b> &lt;b&gt;not bold&lt;/b&gt;</b>"
        '<a href="https://example.org/?q=&quot;x&quot;&amp;y=&lt;1&gt;">'
        "a &quot;link&quot; &amp; &lt;more&gt;</a>"
    )
    text, entities = parse_html(rendered)
    assert text == reply.plain_text()
    assert [e["type"] for e in entities] == ["bold", "text_link"]
    assert entities[1]["url"] == 'https://example.org/?q="x"&y=<1>'


def test_each_style_has_its_tag() -> None:
    reply = Reply(
        spans=(
            Span("plain "),
            Span("bold", Style.BOLD),
            Span(" "),
            Span("italic", Style.ITALIC),
            Span(" "),
            Span("code", Style.CODE),
            Span(" "),
            Span("map", Style.LINK, "https://www.openstreetmap.org/?mlat=1&mlon=2"),
        )
    )
    assert html_of(reply) == (
        "plain <b>bold</b> <i>italic</i> <code>code</code> "
        '<a href="https://www.openstreetmap.org/?mlat=1&amp;mlon=2">map</a>'
    )


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "http://localhost:8080/", "ftp://example.org", "", None]
)
def test_a_link_telegram_would_refuse_is_plain_text(url: str | None) -> None:
    reply = Reply(spans=(Span("the <map>", Style.LINK, url),))
    assert html_of(reply) == "the &lt;map&gt;"
    assert not acceptable_url(url)


def test_acceptable_urls() -> None:
    for url in (
        "https://www.openstreetmap.org/#map=16/50.1/5.2",
        "http://192.168.1.1/x",
        "https://пример.рф/",
        "tg://resolve?domain=x",
    ):
        assert acceptable_url(url), url


def test_the_title_is_a_bold_first_line() -> None:
    reply = Reply(spans=(Span("body"),), title="Victory & Day")
    assert html_of(reply) == "<b>Victory &amp; Day</b>\nbody"


def test_multi_line_spans_keep_their_style_on_every_line() -> None:
    reply = Reply(spans=(Span("one\ntwo", Style.BOLD), Span("\nthree")))
    assert html_of(reply) == "<b>one</b>\n<b>two</b>\nthree"


def test_a_message_at_the_limit_is_one_chunk() -> None:
    reply = ReplyBuilder().bold("&" * TEXT_LIMIT).build()
    [chunk] = split_html(reply)
    text, _ = parse_html(chunk)
    assert text == "&" * TEXT_LIMIT


def _long_reply(lines: int = 300) -> Reply:
    out = ReplyBuilder()
    for number in range(lines):
        out.text(f"{number} <&> ").bold(f"bold {number} & more").text(" ").italic("“italic”")
        out.text(" ").link("map", "https://www.openstreetmap.org/?a=1&b=2").line()
    return out.build()


def test_long_text_is_split_between_lines_into_valid_chunks() -> None:
    reply = _long_reply()
    chunks = split_html(reply)
    assert len(chunks) > 1
    texts = []
    for chunk in chunks:
        text, entities = parse_html(chunk)  # raises on a broken tag or entity
        assert utf16_len(text) <= TEXT_LIMIT
        assert sum(e["type"] == "text_link" for e in entities) == text.count("map")
        texts.append(text)
    assert "\n".join(texts) == reply.plain_text()
    assert all(text.split(" ", 1)[0].isdigit() for text in texts), "chunks start a line"


def test_a_split_prefers_a_blank_line() -> None:
    out = ReplyBuilder()
    for paragraph in range(10):
        for line in range(10):
            out.line(f"P{paragraph} line {line} " + "x" * 50)  # 10 lines of about 60
        out.line()
    chunks = [parse_html(chunk)[0] for chunk in split_html(out.build())]
    assert len(chunks) == 2
    assert chunks[0].endswith("P5 line 9 " + "x" * 50), "a whole paragraph fits no more"
    assert chunks[1].startswith("P6 line 0 ")


def test_one_overlong_line_is_cut_at_spaces_never_inside_an_entity() -> None:
    reply = ReplyBuilder().bold("&<> " * 2500).build()  # 10 000 characters, one line
    chunks = split_html(reply)
    texts = [parse_html(chunk)[0] for chunk in chunks]
    assert len(chunks) == 3
    assert all(len(text) <= TEXT_LIMIT for text in texts)
    assert all(chunk.startswith("<b>") and chunk.endswith("</b>") for chunk in chunks)
    assert "".join(texts) == "&<> " * 2500
    assert all(text.endswith("&<> ") for text in texts), "cut after a space"


def test_limits_count_utf16_code_units() -> None:
    medals = "🎖" * 3000  # 3000 characters, 6000 UTF-16 code units
    reply = ReplyBuilder().text(medals).build()
    texts = [parse_html(chunk)[0] for chunk in split_html(reply)]
    assert [utf16_len(text) for text in texts] == [4096, 1904]
    assert "".join(texts) == medals


def test_a_photo_caption_takes_the_first_1024_characters() -> None:
    out = ReplyBuilder()
    for number in range(100):
        out.line(f"{number:03d} " + "x" * 45)
    reply = out.build(image_url="https://example.org/photo.jpg")
    rendered = render(reply)
    assert rendered.photo_url == "https://example.org/photo.jpg"
    assert rendered.caption is not None
    caption, _ = parse_html(rendered.caption)
    assert len(caption) <= CAPTION_LIMIT
    assert len(caption) > CAPTION_LIMIT - 50
    assert [parse_html(t)[0] for t in rendered.texts] != []
    pieces = [caption, *(parse_html(t)[0] for t in rendered.texts)]
    assert "\n".join(pieces) == reply.plain_text()


def test_keyboards_carry_actions_and_urls() -> None:
    buttons = (
        (Button("◀", action="ev:0"), Button("▶", action="ev:10")),
        (Button("Open the map", url="https://www.openstreetmap.org/"),),
        (Button("bad", url="http://localhost/"), Button("  ", action="x:1")),
        tuple(Button(str(n), action=f"n:{n}") for n in range(10)),
    )
    markup = keyboard(buttons)
    assert markup is not None
    rows = markup.to_dict()["inline_keyboard"]
    assert rows[0] == [
        {"text": "◀", "callback_data": "ev:0"},
        {"text": "▶", "callback_data": "ev:10"},
    ]
    assert rows[1] == [{"text": "Open the map", "url": "https://www.openstreetmap.org/"}]
    assert [len(row) for row in rows[2:]] == [8, 2], "8 buttons a row at most; bad ones left out"
    assert keyboard(()) is None


def test_callback_data_may_use_all_64_bytes() -> None:
    action = "ms:5:" + "é" * 29 + "x"  # 5 + 58 + 1 = 64 bytes
    assert len(action.encode()) == 64
    markup = keyboard(((Button("More", action=action),),))
    assert markup is not None
    assert markup.inline_keyboard[0][0].callback_data == action
    with pytest.raises(ValueError, match="64 bytes"):
        Button("More", action=action + "x")


def test_a_venue_follows_the_text() -> None:
    venue = Venue(GeoPoint(50.6, 5.5), "Citadel <Liège>", "")
    rendered = render(Reply(spans=(Span("card"),), venue=venue))
    assert rendered.texts == ("card",)
    assert rendered.venue == venue
    assert not rendered.editable


def test_deep_links() -> None:
    assert deep_link("my_bot", "memorial_liege-citadel") == (
        "https://t.me/my_bot?start=memorial_liege-citadel"
    )
    assert deep_link("my_bot", "memorial_é") is None
    assert deep_link("my_bot", "x" * 65) is None
    assert deep_link("", "memorial_x") is None


def test_an_empty_reply_has_no_text() -> None:
    assert render(ReplyBuilder().line().line("  ").build()).texts == ()
