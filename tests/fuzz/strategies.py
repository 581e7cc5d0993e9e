"""Hostile text for the fuzz suite: markup and mentions of every platform, formulas, control
and invisible characters, right-to-left marks, emoji, long runs, mixed with ordinary words."""

from __future__ import annotations

from hypothesis import strategies as st

NASTY = (
    "@everyone",
    "@here",
    "<@&123456789012345678>",
    "<@123456789012345678>",
    "<#123456789012345678>",
    "[click](https://evil.example)",
    "[x](<javascript:alert(1)>)",
    "**bold**",
    "__under__",
    "~~strike~~",
    "||spoiler||",
    "`code`",
    "```block```",
    "> quote",
    "# heading",
    "<a href='https://evil.example'>x</a>",
    "<b>",
    "</b>",
    "<tg-spoiler>",
    "&amp;",
    "&lt;",
    "<script>alert(1)</script>",
    '=HYPERLINK("https://evil.example","x")',
    "=cmd|' /C calc'!A0",
    "+1+1",
    "-2+3",
    "@SUM(1)",
    "\t=1",
    "\r=1",
    "/start",
    "/event new",
    "cv:1:back",
    "\u200b",
    "\u202e",
    "\u2066",
    "\ufeff",
    "\x00",
    "\x1b[31m",
    "🇧🇪",
    "👨‍👩‍👧‍👦",
    "Льеж",
    "Liège",
    "'s-Hertogenbosch",
    "\\",
    "%s %d {name} {0}",
    "../../etc/passwd",
    "1945-05-09",
    "50.63 5.57",
    "99999999999999999999",
    "-1",
    "NaN",
    "null",
    "\n\n",
)

hostile_piece = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=12),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=8),
)
hostile_text = st.lists(hostile_piece, max_size=8).map(" ".join)
"""A short hostile string (a command argument, a name, an answer)."""
long_text = st.builds(
    lambda piece, n: (piece + " ") * n, st.sampled_from(NASTY), st.integers(100, 1500)
)
"""A very long one (several thousand characters)."""
any_text = st.one_of(hostile_text, hostile_text, long_text)
