"""Self-tests of the fake Telegram Bot API server, driven by the real python-telegram-bot code."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    LinkPreviewOptions,
    MenuButtonCommands,
    ReplyParameters,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    RetryAfter,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    InlineQueryHandler,
)

from tests.fakes.telegram_server import (
    FakeTelegramServer,
    FakeUser,
    FloodLimits,
    free_tcp_port,
    parse_html,
)

Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[None]]


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    # PTB 22 warns (PTBDeprecationWarning) whenever it builds RetryAfter unless time periods
    # are opted in to datetime.timedelta; with warnings as errors that warning would replace
    # the RetryAfter exception.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer() as server:
        yield server


@pytest.fixture
async def bot(tg: FakeTelegramServer) -> AsyncIterator[Bot]:
    async with Bot(tg.token, base_url=tg.base_url, base_file_url=tg.base_file_url) as instance:
        yield instance


@pytest.fixture
def alice(tg: FakeTelegramServer) -> FakeUser:
    user = tg.add_user("Alice", username="alice", language_code="en")
    tg.private_chat(user)
    return user


def build_app(tg: FakeTelegramServer) -> Application[Any, Any, Any, Any, Any, Any]:
    return (
        ApplicationBuilder()
        .token(tg.token)
        .base_url(tg.base_url)
        .base_file_url(tg.base_file_url)
        .job_queue(None)
        .build()
    )


@contextlib.asynccontextmanager
async def polling(
    app: Application[Any, Any, Any, Any, Any, Any],
) -> AsyncIterator[list[BaseException]]:
    """Run ``app`` with ``updater.start_polling`` (not run_polling); yields handler errors."""
    errors: list[BaseException] = []

    async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert context.error is not None
        errors.append(context.error)

    app.add_error_handler(on_error)
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0.0, timeout=dtm.timedelta(seconds=5))
        try:
            yield errors
        finally:
            await app.updater.stop()
            await app.stop()
    assert not errors, errors


def lowered(exc: BaseException) -> str:
    return str(exc).lower()


# ------------------------------------------------------------------------------ basics


async def test_get_me_and_authorization(tg: FakeTelegramServer, bot: Bot) -> None:
    me = await bot.get_me()
    assert me.id == tg.bot.id
    assert me.is_bot
    assert me.username == "commemoration_test_bot"
    assert me.can_join_groups
    assert me.supports_inline_queries

    wrong = f"{tg.bot.id}:AAwrongwrongwrongwrongwrongwrongwrong"
    with pytest.raises(InvalidToken, match=r"was rejected by the server"):
        async with Bot(wrong, base_url=tg.base_url):
            pass

    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("noSuchMethod")

    async with aiohttp.ClientSession() as session:
        async with session.get(f"{tg.base_url}not-a-token/getMe") as response:
            assert response.status == 404
            assert await response.json() == {
                "ok": False,
                "error_code": 404,
                "description": "Not Found",
            }
        async with session.get(f"{tg.base_url}{wrong}/getMe") as response:
            assert response.status == 401
            assert await response.json() == {
                "ok": False,
                "error_code": 401,
                "description": "Unauthorized",
            }
        async with session.post(f"{tg.api_url}/noSuchMethod") as response:
            assert response.status == 404
            assert (await response.json())["description"] == "Not Found"


async def test_raw_http_encodings_and_error_shape(tg: FakeTelegramServer, alice: FakeUser) -> None:
    api = tg.api_url
    async with aiohttp.ClientSession() as session:
        # GET with a query string, method name in another case
        async with session.get(
            f"{api}/SENDMESSAGE", params={"chat_id": str(alice.id), "text": "via GET"}
        ) as response:
            body = await response.json()
            assert response.status == 200
            assert body["ok"] is True
            assert body["result"]["text"] == "via GET"
        # JSON body with native types (and a nested object)
        markup = {"inline_keyboard": [[{"text": "Go", "callback_data": "go"}]]}
        async with session.post(
            f"{api}/sendMessage",
            json={"chat_id": alice.id, "text": "via JSON", "reply_markup": markup},
        ) as response:
            body = await response.json()
            assert body["result"]["reply_markup"] == markup
        # form-urlencoded with the nested object JSON-serialized, as PTB sends it
        async with session.post(
            f"{api}/sendMessage",
            data={"chat_id": str(alice.id), "text": "via form", "reply_markup": json.dumps(markup)},
        ) as response:
            assert (await response.json())["result"]["text"] == "via form"
        # multipart with a file upload
        form = aiohttp.FormData()
        form.add_field("chat_id", str(alice.id))
        form.add_field("caption", "via multipart")
        form.add_field("photo", b"\x89PNG fake bytes", filename="p.png", content_type="image/png")
        async with session.post(f"{api}/sendPhoto", data=form) as response:
            body = await response.json()
            assert body["ok"] is True, body
            assert body["result"]["caption"] == "via multipart"
        # the exact error shape
        async with session.post(
            f"{api}/sendMessage", json={"chat_id": 42, "text": "x"}
        ) as response:
            assert response.status == 400
            assert await response.json() == {
                "ok": False,
                "error_code": 400,
                "description": "Bad Request: chat not found",
            }
        async with session.post(f"{api}/sendMessage", json={"chat_id": alice.id}) as response:
            assert (await response.json())["description"] == "Bad Request: message text is empty"
        async with session.post(f"{api}/sendMessage", json={"text": "x"}) as response:
            assert (await response.json())["description"] == "Bad Request: chat_id is empty"
        async with session.post(
            f"{api}/sendMessage",
            data={"chat_id": str(alice.id), "text": "x", "link_preview_options": "{oops"},
        ) as response:
            assert (await response.json())["description"] == (
                "Bad Request: can't parse link preview options JSON object"
            )

    sent = tg.sent(alice)
    assert [m.text for m in sent] == ["via GET", "via JSON", "via form", "via multipart"]
    assert sent[3].kind == "photo"
    assert sent[3].photo is not None
    assert sent[3].photo["source"] == "upload"
    assert sent[3].photo["filename"] == "p.png"
    assert tg.stats.errors[400] == 4


# ---------------------------------------------------------------------- polling & commands


async def test_polling_receives_command_and_reply_is_recorded(
    tg: FakeTelegramServer, alice: FakeUser
) -> None:
    app = build_app(tg)

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None and update.effective_user is not None
        await update.effective_message.reply_html(
            f"Welcome, <b>{update.effective_user.first_name}</b>! args={context.args}"
        )

    app.add_handler(CommandHandler("start", start))
    group = tg.add_group("Veterans", members=[alice])
    async with polling(app):
        update = tg.send_user_message(alice, None, "/start hello")
        assert update["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
        [reply] = await tg.wait_for_messages(1, chat_id=alice)
        assert reply.text == "Welcome, Alice! args=['hello']"
        assert reply.parse_mode == "HTML"
        assert reply.entities == [{"type": "bold", "offset": 9, "length": 5}]
        assert reply.html == "Welcome, <b>Alice</b>! args=['hello']"
        await tg.wait_until_consumed(update)

        addressed = "/start@commemoration_test_bot now"
        update = tg.send_user_message(alice, group, addressed)
        assert update["message"]["entities"] == [
            {"type": "bot_command", "offset": 0, "length": len("/start@commemoration_test_bot")}
        ]
        tg.send_user_message(alice, group, "/start@some_other_bot")
        [group_reply] = await tg.wait_for_messages(1, chat_id=group)
        assert group_reply.text == "Welcome, Alice! args=['now']"
        ignored = tg.send_user_message(alice, group, "/start@some_other_bot again")
        await tg.wait_until_consumed(ignored)
    assert len(tg.sent(group)) == 1
    assert tg.pending_updates == []


async def test_wait_for_messages_times_out_with_what_was_sent(
    tg: FakeTelegramServer, bot: Bot, alice: FakeUser
) -> None:
    await bot.send_message(alice.id, "only one")
    with pytest.raises(TimeoutError, match=r"expected 2 message\(s\).*\['only one'\]"):
        await tg.wait_for_messages(2, chat_id=alice, timeout=0.05)


# ------------------------------------------------------------------------------ formatting


@pytest.mark.parametrize(
    ("markup", "description"),
    [
        ("<b>bold</i>", 'Unmatched end tag at byte offset 7, expected "</b>", found "</i>"'),
        ("<p>para</p>", 'Unsupported start tag "p" at byte offset 0'),
        ("<br/>line", 'Unsupported start tag "br/" at byte offset 0'),
        ("<b>open", 'Can\'t find end tag corresponding to start tag "b"'),
        ("close</b>", "Unexpected end tag at byte offset 5"),
        ("<b>x</b", "Unclosed end tag at byte offset 4"),
        ("<b", "Unclosed start tag at byte offset 0"),
        ('<span class="x">y</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("<a href>x</a>", 'Expected equal sign in declaration of an attribute of the tag "a"'),
        ("Tom & Jerry", 'Unsupported HTML entity "&" at byte offset 4'),
        ("a&nbsp;b", 'Unsupported HTML entity "&nbsp;" at byte offset 1'),
        ("Дом &copy;", 'Unsupported HTML entity "&copy;" at byte offset 7'),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ('<tg-emoji emoji-id="abc">x</tg-emoji>', "Invalid custom emoji identifier specified"),
    ],
)
async def test_html_validation_rejects_bad_markup(
    tg: FakeTelegramServer, bot: Bot, alice: FakeUser, markup: str, description: str
) -> None:
    with pytest.raises(BadRequest) as caught:
        await bot.send_message(alice.id, markup, parse_mode=ParseMode.HTML)
    assert (tg.calls[-1].method, tg.calls[-1].status) == ("sendMessage", 400)
    expected = f"can't parse entities: {description}".lower()
    assert lowered(caught.value).startswith(expected)
    assert tg.sent() == []


async def test_html_accepts_every_allowed_tag_with_utf16_offsets(
    tg: FakeTelegramServer, bot: Bot, alice: FakeUser
) -> None:
    pieces = [
        ("<b>b</b>", "bold"),
        ("<strong>s</strong>", "bold"),
        ("<i>i</i>", "italic"),
        ("<em>e</em>", "italic"),
        ("<u>u</u>", "underline"),
        ("<ins>n</ins>", "underline"),
        ("<s>s</s>", "strikethrough"),
        ("<strike>k</strike>", "strikethrough"),
        ("<del>d</del>", "strikethrough"),
        ('<span class="tg-spoiler">p</span>', "spoiler"),
        ("<tg-spoiler>t</tg-spoiler>", "spoiler"),
        ('<a href="https://example.org/a?x=1&amp;y=2">l</a>', "text_link"),
        ("<code>c</code>", "code"),
        ('<pre><code class="language-python">x = 1</code></pre>', "pre"),
        ("<blockquote>q</blockquote>", "blockquote"),
        ("<blockquote expandable>w</blockquote>", "expandable_blockquote"),
        ('<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>', "custom_emoji"),
    ]
    html = "🎖 " + " ".join(p for p, _ in pieces) + " &lt;&gt;&amp;&quot;&#65;&#x42;"
    message = await bot.send_message(alice.id, html, parse_mode=ParseMode.HTML)
    assert message.text == '🎖 b s i e u n s k d p t l c x = 1 q w 👍 <>&"AB'
    assert [e.type for e in message.entities] == [t for _, t in pieces]
    # 🎖 is two UTF-16 code units, so the first entity starts at 3
    assert [(e.offset, e.length) for e in message.entities[:2]] == [(3, 1), (5, 1)]
    assert message.entities[-1].offset == message.text.index("👍") + 1  # 🎖 counts twice
    assert message.entities[-1].length == 2
    assert message.entities[11].url == "https://example.org/a?x=1&y=2"
    assert message.entities[13].language == "python"
    [recorded] = tg.sent(alice)
    assert recorded.raw_text == html
    assert recorded.html is not None
    assert parse_html(recorded.html) == (message.text, recorded.entities)


async def test_text_length_is_counted_after_entity_parsing(
    bot: Bot, tg: FakeTelegramServer, alice: FakeUser
) -> None:
    await bot.send_message(alice.id, "&amp;" * 4096, parse_mode=ParseMode.HTML)
    assert tg.sent(alice)[-1].text == "&" * 4096
    await bot.send_message(alice.id, "<b>" + "x" * 4096 + "</b>", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match=r"^Message is too long$"):
        await bot.send_message(alice.id, "x" * 4097)
    with pytest.raises(BadRequest, match=r"^Message is too long$"):
        await bot.send_message(alice.id, "&amp;" * 4097, parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match=r"^Message text is empty$"):
        await bot.send_message(alice.id, "<b> </b>\n", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match=r"^Message caption is too long$"):
        await bot.send_photo(alice.id, b"img", caption="y" * 1025)
    await bot.send_photo(alice.id, b"img", caption="<i>" + "y" * 1024 + "</i>", parse_mode="HTML")
    assert len(tg.sent(alice)) == 3


async def test_inline_keyboard_validation(
    bot: Bot, alice: FakeUser, tg: FakeTelegramServer
) -> None:
    def keyboard(**button: str) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup([[InlineKeyboardButton("Press", **button)]])  # type: ignore[arg-type]

    with pytest.raises(BadRequest, match=r"^Button_data_invalid$"):
        await bot.send_message(alice.id, "x", reply_markup=keyboard(callback_data="é" * 33))
    await bot.send_message(alice.id, "x", reply_markup=keyboard(callback_data="é" * 32))
    with pytest.raises(BadRequest) as caught:
        await bot.send_message(alice.id, "x", reply_markup=keyboard(url="http://localhost:8080"))
    assert lowered(caught.value) == (
        "inline keyboard button url 'http://localhost:8080' is invalid: wrong http url"
    )
    with pytest.raises(BadRequest, match=r"(?i)unsupported url protocol"):
        await bot.send_message(alice.id, "x", reply_markup=keyboard(url="ftp://example.com"))
    await bot.send_message(alice.id, "x", reply_markup=keyboard(url="https://example.com/p?q=1"))
    async with aiohttp.ClientSession() as session:
        text_only = {"inline_keyboard": [[{"text": "no action"}]]}
        async with session.post(
            f"{tg.api_url}/sendMessage",
            json={"chat_id": alice.id, "text": "x", "reply_markup": text_only},
        ) as response:
            assert (await response.json())["description"] == (
                "Bad Request: can't parse inline keyboard button: Text buttons are unallowed "
                "in the inline keyboard"
            )
    assert len(tg.sent(alice)) == 2


# ----------------------------------------------------------------- buttons & inline mode


async def test_callback_button_round_trip(tg: FakeTelegramServer, alice: FakeUser) -> None:
    app = build_app(tg)

    async def menu(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(
            "Pick a language",
            reply_markup=InlineKeyboardMarkup(
                [
                    [
                        InlineKeyboardButton("English", callback_data="lang:en"),
                        InlineKeyboardButton("Русский", callback_data="lang:ru"),
                    ]
                ]
            ),
        )

    async def chosen(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None and query.data is not None
        await query.answer(f"Saved {query.data}")
        await query.edit_message_text(f"Language: <b>{query.data[5:]}</b>", parse_mode="HTML")

    app.add_handler(CommandHandler("menu", menu))
    app.add_handler(CallbackQueryHandler(chosen, pattern=r"^lang:"))
    async with polling(app):
        tg.send_user_message(alice, None, "/menu")
        [menu_message] = await tg.wait_for_messages(1, chat_id=alice)
        assert menu_message.callback_data == ["lang:en", "lang:ru"]
        assert menu_message.button_texts == [["English", "Русский"]]
        with pytest.raises(ValueError, match=r"no button with callback_data 'lang:de'"):
            tg.press_button(alice, menu_message, "lang:de")

        press = tg.press_button(alice, menu_message, "lang:ru")
        query_id = press["callback_query"]["id"]
        assert press["callback_query"]["message"]["message_id"] == menu_message.message_id
        answer = await tg.wait_for_callback_answer(query_id)
        assert answer["text"] == "Saved lang:ru"
        [edit] = await tg.wait_for_edits(1, chat_id=alice)
    assert edit.message is menu_message
    assert edit.previous_text == "Pick a language"
    assert menu_message.text == "Language: ru"
    assert menu_message.html == "Language: <b>ru</b>"
    # editMessageText without reply_markup removes the keyboard, as on Telegram
    assert menu_message.reply_markup is None
    assert "reply_markup" not in menu_message.message


async def test_callback_answers_are_validated(
    tg: FakeTelegramServer, bot: Bot, alice: FakeUser
) -> None:
    message = await bot.send_message(
        alice.id,
        "x",
        reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]]),
    )
    press = tg.press_button(alice, message.to_dict(), "a")
    query_id = press["callback_query"]["id"]
    with pytest.raises(BadRequest, match=r"(?i)^message_too_long$"):
        await bot.answer_callback_query(query_id, text="x" * 201)
    assert await bot.answer_callback_query(query_id, text="ok", show_alert=True)
    assert tg.callback_answers[query_id]["show_alert"] is True
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query(query_id)
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query("12345")


async def test_inline_query_answered(tg: FakeTelegramServer, alice: FakeUser) -> None:
    app = build_app(tg)

    async def inline(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.inline_query
        assert query is not None
        await query.answer(
            [
                InlineQueryResultArticle(
                    id=f"day-{n}",
                    title=f"{query.query} #{n}",
                    input_message_content=InputTextMessageContent(
                        f"<b>{query.query}</b> {n}", parse_mode=ParseMode.HTML
                    ),
                )
                for n in (1, 2)
            ],
            cache_time=5,
        )

    app.add_handler(InlineQueryHandler(inline))
    async with polling(app):
        update = tg.inline_query(alice, "9 May")
        answer = await tg.wait_for_inline_answer(update["inline_query"]["id"])
    assert [r["id"] for r in answer["results"]] == ["day-1", "day-2"]
    assert answer["results"][0]["title"] == "9 May #1"
    assert answer["cache_time"] == 5


async def test_inline_answers_are_validated(
    tg: FakeTelegramServer, bot: Bot, alice: FakeUser
) -> None:
    def article(result_id: str, text: str = "t") -> InlineQueryResultArticle:
        return InlineQueryResultArticle(
            id=result_id,
            title="T",
            input_message_content=InputTextMessageContent(text, parse_mode=ParseMode.HTML),
        )

    query_id = tg.inline_query(alice, "q")["inline_query"]["id"]
    with pytest.raises(BadRequest, match=r"(?i)^result_id_duplicate$"):
        await bot.answer_inline_query(query_id, [article("same"), article("same")])
    with pytest.raises(BadRequest, match=r"(?i)^results_too_much$"):
        await bot.answer_inline_query(query_id, [article(str(n)) for n in range(51)])
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.answer_inline_query(query_id, [article("a", "<b>x</i>")])
    assert await bot.answer_inline_query(query_id, [article(str(n)) for n in range(50)])
    assert len(tg.inline_answers[query_id]["results"]) == 50


# ---------------------------------------------------------------------- errors the bot sees


async def test_blocked_user_surfaces_as_forbidden(
    tg: FakeTelegramServer, bot: Bot, alice: FakeUser
) -> None:
    await bot.send_message(alice.id, "before")
    update = tg.block_bot(alice)
    assert update["my_chat_member"]["new_chat_member"]["status"] == "kicked"
    with pytest.raises(Forbidden, match=r"^Forbidden: bot was blocked by the user$"):
        await bot.send_message(alice.id, "after")
    [parsed] = await bot.get_updates()
    assert parsed.my_chat_member is not None
    assert parsed.my_chat_member.new_chat_member.status == "kicked"
    assert parsed.my_chat_member.from_user.id == alice.id

    stranger = tg.add_user("Bob")
    tg.private_chat(stranger, started=False)
    with pytest.raises(Forbidden, match=r"can't initiate conversation"):
        await bot.send_message(stranger.id, "hello")

    tg.send_user_message(alice, None, "/start")  # writing to the bot again unblocks it
    await bot.send_message(alice.id, "welcome back")
    assert [m.text for m in tg.sent(alice)] == ["before", "welcome back"]


async def test_injected_429_surfaces_as_retry_after(
    tg: FakeTelegramServer, bot: Bot, alice: FakeUser
) -> None:
    tg.inject_flood(alice, 7)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(alice.id, "one")
    assert caught.value.retry_after == dtm.timedelta(seconds=7)
    await bot.send_message(alice.id, "two")
    assert [m.text for m in tg.sent(alice)] == ["two"]
    assert tg.stats.flood_rejections == 1

    tg.fail_next("getChat", error_code=500, description="Internal Server Error")
    with pytest.raises(Exception, match=r"Internal Server Error"):
        await bot.get_chat(alice.id)
    assert (await bot.get_chat(alice.id)).id == alice.id


async def test_flood_control_off_by_default(
    tg: FakeTelegramServer, bot: Bot, alice: FakeUser
) -> None:
    for n in range(40):
        await bot.send_message(alice.id, str(n))
    assert len(tg.stats.send_times[alice.id]) == 40
    assert tg.stats.flood_rejections == 0


async def test_flood_control_limits() -> None:
    async with (
        FakeTelegramServer(flood_control=True) as tg,
        Bot(tg.token, base_url=tg.base_url) as bot,
    ):
        users = [tg.add_user(f"U{n}") for n in range(3)]
        for user in users:
            tg.private_chat(user)
        group = tg.add_group()
        # 1 message per second per private chat
        await bot.send_message(users[0].id, "first")
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(users[0].id, "second")
        assert caught.value.retry_after == dtm.timedelta(seconds=1)
        await bot.send_message(users[1].id, "another chat is fine")
        # 20 messages per minute per group
        for n in range(20):
            await bot.send_message(group.id, f"g{n}")
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(group.id, "too many")
        wait = caught.value.retry_after
        assert isinstance(wait, dtm.timedelta)
        assert dtm.timedelta(seconds=59) <= wait <= dtm.timedelta(seconds=60)
        assert tg.stats.flood_rejections == 2
        assert len(tg.stats.send_times[group.id]) == 20

    async with (
        FakeTelegramServer(flood_control=FloodLimits(enabled=True, global_per_second=5)) as tg,
        Bot(tg.token, base_url=tg.base_url) as bot,
    ):
        users = [tg.add_user(f"U{n}") for n in range(6)]
        for user in users[:5]:
            tg.private_chat(user)
            await bot.send_message(user.id, "hi")
        tg.private_chat(users[5])
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(users[5].id, "over the global ceiling")
        assert caught.value.retry_after == dtm.timedelta(seconds=1)
        assert tg.stats.sends == 5


async def test_migrated_group_surfaces_as_chat_migrated(
    tg: FakeTelegramServer, bot: Bot, alice: FakeUser
) -> None:
    group = tg.add_group("Regiment", creator=alice)
    await bot.send_message(group.id, "in the old group")
    supergroup = tg.migrate_group(group, -1001234567890)
    assert supergroup.id == -1001234567890
    with pytest.raises(ChatMigrated) as caught:
        await bot.send_message(group.id, "lost")
    assert caught.value.new_chat_id == supergroup.id
    await bot.send_message(supergroup.id, "in the supergroup")
    updates = await bot.get_updates()
    messages = [u.message for u in updates if u.message is not None]
    assert [(m.chat.id, m.migrate_to_chat_id, m.migrate_from_chat_id) for m in messages] == [
        (group.id, supergroup.id, None),
        (supergroup.id, None, group.id),
    ]
    assert messages[1].chat.type == "supergroup"


async def test_chat_not_found_and_usernames(tg: FakeTelegramServer, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"^Chat not found$"):
        await bot.send_message(424242, "x")
    with pytest.raises(BadRequest, match=r"^Chat not found$"):
        await bot.send_message("@nobody_here", "x")
    channel = tg.add_channel("Memory", username="memory_channel")
    message = await bot.send_message("@memory_channel", "post")
    assert message.chat.id == channel.id
    assert message.sender_chat is not None and message.sender_chat.id == channel.id
    left = tg.add_supergroup("Left", bot_status="left")
    with pytest.raises(Forbidden, match=r"bot is not a member of the supergroup chat"):
        await bot.send_message(left.id, "x")
    reader = tg.add_channel("Read only", bot_status="member")
    with pytest.raises(BadRequest, match=r"(?i)need administrator rights in the channel chat"):
        await bot.send_message(reader.id, "x")


# ---------------------------------------------------------------------------- commands


async def test_set_my_commands_per_language_code_and_scope(
    tg: FakeTelegramServer, bot: Bot, alice: FakeUser
) -> None:
    english = [BotCommand("start", "Start"), BotCommand("today", "On this day")]
    russian = [BotCommand("start", "Начать"), BotCommand("today", "В этот день")]
    assert await bot.set_my_commands(english)
    assert await bot.set_my_commands(russian, language_code="ru")
    chat_scope = BotCommandScopeChat(alice.id)
    assert await bot.set_my_commands([BotCommand("admin", "Admin tools")], scope=chat_scope)

    assert await bot.get_my_commands() == tuple(english)
    assert await bot.get_my_commands(language_code="ru") == tuple(russian)
    assert await bot.get_my_commands(language_code="de") == ()
    assert [c.command for c in await bot.get_my_commands(scope=chat_scope)] == ["admin"]
    assert tg.commands(language_code="ru") == [c.to_dict() for c in russian]

    assert await bot.delete_my_commands(language_code="ru")
    assert await bot.get_my_commands(language_code="ru") == ()
    assert await bot.get_my_commands() == tuple(english)

    with pytest.raises(BadRequest, match=r"(?i)^bot_command_invalid$"):
        await bot.set_my_commands([BotCommand("Today", "Capital letters are not allowed")])
    with pytest.raises(BadRequest, match=r"(?i)^command length must not exceed 32$"):
        await bot.set_my_commands([BotCommand("x" * 33, "too long")])
    with pytest.raises(BadRequest, match=r"(?i)description length must not exceed 256"):
        await bot.set_my_commands([BotCommand("long", "d" * 257)])
    with pytest.raises(BadRequest, match=r"(?i)description must be non-empty"):
        await bot.set_my_commands([BotCommand("empty", " ")])
    with pytest.raises(BadRequest, match=r"(?i)invalid language code"):
        await bot.set_my_commands(english, language_code="eng")
    with pytest.raises(BadRequest, match=r"(?i)^chat not found$"):
        await bot.set_my_commands(english, scope=BotCommandScopeChat(99999))
    assert await bot.get_my_commands() == tuple(english)


# ----------------------------------------------------------------------------- webhook


async def test_webhook_mode_delivers_with_secret_and_rejects_wrong_secret(
    tg: FakeTelegramServer, alice: FakeUser
) -> None:
    app = build_app(tg)
    handled: list[str] = []

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None and update.effective_message.text
        handled.append(update.effective_message.text)
        await update.effective_message.reply_text("pong")

    app.add_handler(CommandHandler("ping", start))
    port = free_tcp_port()
    secret = "s3cr3t_T0ken-abc"
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_webhook(
            listen="127.0.0.1",
            port=port,
            url_path="hook",
            secret_token=secret,
            webhook_url=f"http://127.0.0.1:{port}/hook",
        )
        try:
            assert tg.webhook_url == f"http://127.0.0.1:{port}/hook"
            assert tg.webhook_secret == secret
            update = tg.send_user_message(alice, None, "/ping 1")
            [reply] = await tg.wait_for_messages(1, chat_id=alice)
            assert reply.text == "pong"
            await tg.wait_until_consumed(update)
            delivery = tg.webhook_deliveries[-1]
            assert (delivery.status, delivery.secret_sent) == (200, secret)
            with pytest.raises(Conflict, match=r"webhook is active"):
                await app.bot.get_updates()

            # the webhook refuses a wrong secret: Telegram keeps the update and retries
            tg.webhook_secret_override = "wrong-secret"
            update = tg.send_user_message(alice, None, "/ping 2")
            await tg.wait_for(
                lambda: [d for d in tg.webhook_deliveries if d.status == 403],
                what="a refused delivery",
            )
            info = await app.bot.get_webhook_info()
            assert info.pending_update_count == 1
            assert info.last_error_message is not None
            assert info.last_error_message.startswith("Wrong response from the webhook: 403")
            assert handled == ["/ping 1"]
            tg.webhook_secret_override = None
            await tg.wait_until_consumed(update)
            await tg.wait_for_messages(2, chat_id=alice)
            assert handled == ["/ping 1", "/ping 2"]
        finally:
            await app.updater.stop()
            await app.stop()


async def test_webhook_management(tg: FakeTelegramServer, bot: Bot, alice: FakeUser) -> None:
    with pytest.raises(BadRequest, match=r"(?i)^bad webhook: failed to resolve host"):
        await bot.set_webhook("https://example.com/hook")  # never leaves the machine
    with pytest.raises(BadRequest, match=r"(?i)secret token contains unallowed characters"):
        await bot.set_webhook("http://127.0.0.1:9/hook", secret_token="bad secret!")
    tg.send_user_message(alice, None, "queued")
    assert await bot.set_webhook("http://127.0.0.1:9/hook", max_connections=5)
    info = await bot.get_webhook_info()
    assert (info.url, info.max_connections) == ("http://127.0.0.1:9/hook", 5)
    await tg.wait_for(lambda: tg.webhook_deliveries, what="a failed delivery")
    assert tg.webhook_deliveries[0].error == "Connection refused"
    assert await bot.delete_webhook(drop_pending_updates=True)
    info = await bot.get_webhook_info()
    assert (info.url, info.pending_update_count) == ("", 0)
    assert await bot.get_updates() == ()


# ------------------------------------------------------------------------- long polling


async def test_get_updates_long_polling_semantics(
    tg: FakeTelegramServer, bot: Bot, alice: FakeUser
) -> None:
    loop = asyncio.get_running_loop()
    started = time.monotonic()
    loop.call_later(0.1, tg.send_user_message, alice, None, "wake up")
    updates = await bot.get_updates(timeout=5)
    assert time.monotonic() - started < 2
    assert [u.message.text for u in updates if u.message] == ["wake up"]

    started = time.monotonic()
    assert await bot.get_updates(offset=updates[-1].update_id + 1, timeout=1) == ()
    assert time.monotonic() - started >= 0.9

    for n in range(5):
        tg.send_user_message(alice, None, f"m{n}")
    first_two = await bot.get_updates(limit=2)
    assert [u.message.text for u in first_two if u.message] == ["m0", "m1"]
    again = await bot.get_updates(limit=2)  # not confirmed yet: the same ones again
    assert [u.update_id for u in again] == [u.update_id for u in first_two]
    rest = await bot.get_updates(offset=first_two[-1].update_id + 1)
    assert [u.message.text for u in rest if u.message] == ["m2", "m3", "m4"]
    last = await bot.get_updates(offset=-1)
    assert [u.message.text for u in last if u.message] == ["m4"]
    assert len(tg.pending_updates) == 1

    # allowed_updates applies to updates created afterwards
    await bot.get_updates(offset=last[-1].update_id + 1, allowed_updates=["message"])
    message = await bot.send_message(
        alice.id,
        "x",
        reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("b", callback_data="b")]]),
    )
    tg.press_button(alice, message.to_dict(), "b")
    tg.send_user_message(alice, None, "kept")
    kept = await bot.get_updates()
    assert [u.message.text for u in kept if u.message] == ["kept"]
    assert len(kept) == 1
    assert len(tg.filtered_updates) == 1


async def test_second_get_updates_terminates_the_first(tg: FakeTelegramServer, bot: Bot) -> None:
    # PTB polls over a one-connection pool, so a second poller is a second bot instance:
    # exactly the "two copies of the bot are running" situation Telegram reports with 409.
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await tg.wait_for(lambda: tg.long_polling, what="the first poll to wait")
    async with Bot(tg.token, base_url=tg.base_url) as other:
        assert await other.get_updates(timeout=0) == ()
    with pytest.raises(Conflict, match=r"terminated by other getUpdates request"):
        await first


# ----------------------------------------------------------- messages, edits, chats


async def test_edit_and_delete(tg: FakeTelegramServer, bot: Bot, alice: FakeUser) -> None:
    message = await bot.send_message(alice.id, "draft")
    with pytest.raises(BadRequest, match=r"(?i)^message is not modified"):
        await bot.edit_message_text("draft", chat_id=alice.id, message_id=message.message_id)
    edited = await bot.edit_message_text(
        "<i>final</i>", chat_id=alice.id, message_id=message.message_id, parse_mode="HTML"
    )
    assert isinstance(edited, type(message))
    assert edited.edit_date is not None
    [record] = tg.sent(alice)
    assert (record.text, record.html, len(record.edits)) == ("final", "<i>final</i>", 1)
    assert tg.edits(alice)[0].previous_text == "draft"
    assert await bot.edit_message_text("inline", inline_message_id="AgAAAB7x")
    assert tg.inline_edits[-1]["text"] == "inline"

    preview = await bot.send_message(
        alice.id,
        "see https://example.org/a",
        link_preview_options=LinkPreviewOptions(is_disabled=True),
    )
    assert preview.link_preview_options == LinkPreviewOptions(is_disabled=True)
    assert [e.type for e in preview.entities] == ["url"]
    assert tg.sent(alice)[-1].link_preview_options == {"is_disabled": True}

    user_message = tg.send_user_message(alice, None, "mine")["message"]
    with pytest.raises(BadRequest, match=r"(?i)^message can't be edited$"):
        await bot.edit_message_text("x", chat_id=alice.id, message_id=user_message["message_id"])
    with pytest.raises(BadRequest, match=r"(?i)^message to edit not found$"):
        await bot.edit_message_text("x", chat_id=alice.id, message_id=9999)

    assert await bot.delete_message(alice.id, message.message_id)
    assert record.deleted
    with pytest.raises(BadRequest, match=r"(?i)^message to delete not found$"):
        await bot.delete_message(alice.id, message.message_id)

    group = tg.add_group(members=[alice])
    posted = tg.send_user_message(alice, group, "spam")["message"]
    with pytest.raises(BadRequest, match=r"(?i)^message can't be deleted$"):
        await bot.delete_message(group.id, posted["message_id"])
    tg.my_chat_member(group, "administrator", by=alice)
    assert await bot.delete_message(group.id, posted["message_id"])


async def test_forum_topics_and_reply_parameters(
    tg: FakeTelegramServer, bot: Bot, alice: FakeUser
) -> None:
    forum = tg.add_supergroup("Forum", is_forum=True, members=[alice])
    topic = tg.add_topic(forum, "May 9")
    update = tg.send_user_message(alice, forum, "/today", message_thread_id=topic)
    assert update["message"]["is_topic_message"] is True
    assert update["message"]["reply_to_message"]["forum_topic_created"]["name"] == "May 9"

    reply = await bot.send_message(forum.id, "in topic", message_thread_id=topic)
    assert reply.message_thread_id == topic and reply.is_topic_message
    with pytest.raises(BadRequest, match=r"(?i)^message thread not found$"):
        await bot.send_message(forum.id, "x", message_thread_id=topic + 100)

    quoted = await bot.send_message(
        forum.id,
        "answer",
        reply_parameters=ReplyParameters(message_id=update["message"]["message_id"]),
    )
    assert quoted.reply_to_message is not None
    assert quoted.reply_to_message.text == "/today"
    assert quoted.message_thread_id == topic  # a reply stays in the replied message's topic
    with pytest.raises(BadRequest, match=r"(?i)^message to be replied not found$"):
        await bot.send_message(forum.id, "x", reply_parameters=ReplyParameters(message_id=999))
    loose = await bot.send_message(
        forum.id,
        "x",
        reply_parameters=ReplyParameters(message_id=999, allow_sending_without_reply=True),
    )
    assert loose.reply_to_message is None
    recorded = tg.sent(forum)
    assert [m.message_thread_id for m in recorded] == [topic, topic, None]
    assert recorded[1].reply_to_message_id == update["message"]["message_id"]


async def test_locations_venues_and_photos(
    tg: FakeTelegramServer, bot: Bot, alice: FakeUser
) -> None:
    await bot.send_location(alice.id, latitude=55.7539, longitude=37.6208)
    await bot.send_venue(
        alice.id, latitude=55.7539, longitude=37.6208, title="Eternal Flame", address="Moscow"
    )
    photo = await bot.send_photo(
        alice.id, b"\xff\xd8 jpeg", caption="<b>Hero</b>", parse_mode="HTML"
    )
    again = await bot.send_photo(alice.id, photo.photo[-1].file_id)
    assert again.photo[-1].width == photo.photo[-1].width
    with pytest.raises(BadRequest, match=r"(?i)wrong file identifier"):
        await bot.send_photo(alice.id, "not-a-file-id")
    with pytest.raises(BadRequest, match=r"(?i)wrong latitude or longitude"):
        await bot.send_location(alice.id, latitude=91, longitude=0)

    kinds = [(m.kind, m.text) for m in tg.sent(alice)]
    assert kinds == [
        ("location", None),
        ("venue", "Eternal Flame"),
        ("photo", "Hero"),
        ("photo", None),
    ]
    assert tg.sent(alice, kind="venue")[0].venue == {
        "location": {"latitude": 55.7539, "longitude": 37.6208},
        "title": "Eternal Flame",
        "address": "Moscow",
    }
    assert tg.sent(alice, kind="photo")[0].html == "<b>Hero</b>"

    tg.share_location(alice, None, 59.93, 30.31)
    [update] = await bot.get_updates()
    assert update.message is not None and update.message.location is not None
    assert update.message.location.latitude == pytest.approx(59.93)


async def test_chats_members_and_administrators(
    tg: FakeTelegramServer, bot: Bot, alice: FakeUser
) -> None:
    bob = tg.add_user("Bob")
    carol = tg.add_user("Carol")
    group = tg.add_supergroup("Council", creator=alice, admins=[bob], members=[carol])
    admins = await bot.get_chat_administrators(group.id)
    assert {(a.user.id, a.status) for a in admins} == {
        (alice.id, "creator"),
        (bob.id, "administrator"),
    }
    tg.set_admin(group, carol)
    assert (await bot.get_chat_member(group.id, carol.id)).status == "administrator"
    tg.set_admin(group, carol, False)
    assert (await bot.get_chat_member(group.id, carol.id)).status == "member"
    stranger = tg.add_user("Dave")
    assert (await bot.get_chat_member(group.id, stranger.id)).status == "left"
    assert (await bot.get_chat_member(group.id, tg.bot.id)).status == "member"
    with pytest.raises(BadRequest, match=r"(?i)there are no administrators in the private chat"):
        await bot.get_chat_administrators(alice.id)

    info = await bot.get_chat(group.id)
    assert (info.id, info.type, info.title) == (group.id, "supergroup", "Council")
    private = await bot.get_chat(alice.id)
    assert (private.type, private.first_name, private.username) == ("private", "Alice", "alice")

    # the bot is promoted, then removed: my_chat_member updates, service message on removal
    tg.my_chat_member(group, "administrator", by=alice)
    assert any(a.user.id == tg.bot.id for a in await bot.get_chat_administrators(group.id))
    tg.my_chat_member(group, "left", by=alice)
    with pytest.raises(Forbidden, match=r"bot is not a member of the supergroup chat"):
        await bot.send_message(group.id, "x")
    new_group = tg.add_group("Newcomers", creator=carol, bot_status="left")
    tg.my_chat_member(new_group, "member", by=carol)
    updates = await bot.get_updates()
    statuses = [
        u.my_chat_member.new_chat_member.status for u in updates if u.my_chat_member is not None
    ]
    assert statuses == ["administrator", "left", "member"]
    service = [u.message for u in updates if u.message is not None]
    assert service[0].left_chat_member is not None
    assert [m.id for m in service[1].new_chat_members] == [tg.bot.id]

    channel = tg.add_channel("Chronicle", username="chronicle")
    assert (await bot.get_chat("@chronicle")).type == "channel"
    tg.channel_post(channel, "#memory post")
    [post] = await bot.get_updates(offset=updates[-1].update_id + 1)
    assert post.channel_post is not None and post.channel_post.text == "#memory post"
    assert post.channel_post.entities[0].type == "hashtag"

    assert await bot.set_chat_menu_button(alice.id, MenuButtonCommands())
    assert tg.menu_buttons[alice.id] == {"type": "commands"}
    assert await bot.send_chat_action(alice.id, "typing")
    assert tg.chat_actions[-1][:2] == (alice.id, "typing")
