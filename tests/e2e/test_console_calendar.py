"""The README's first command (``commemoration-bot run``, the console when no token is set)
followed by ``/today`` on dates across the year: each shows at least one anniversary."""

from __future__ import annotations

import re

from tests.e2e.conftest import Runner

DATES = ("01-27", "02-29", "04-11", "06-22", "09-03", "12-03")


def test_today_on_dates_across_the_year_shows_anniversaries(run_cli: Runner) -> None:
    script = "".join(f"/today {date}\n" for date in DATES)
    result = run_cli("run", stdin=script)
    assert result.returncode == 0, result.stderr
    replies = [part for part in result.stdout.split("On this day, ") if part.strip()]
    assert len(replies) == len(DATES), result.stdout
    for date, reply in zip(DATES, replies, strict=True):
        assert "Memorial of the day" not in reply, (date, reply)
        assert "Nothing is recorded" not in reply, (date, reply)
        assert "Source" in reply, (date, reply)
    assert not re.search(r"\d{3}_[0-9a-f]{16}\.txt", result.stdout)
