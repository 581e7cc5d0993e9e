"""The console adapter and the CLI, end to end, through a subprocess."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.conftest import Runner

SCRIPT = "/today 10-12\n/memorial Rebecq\n/near 50.66 4.13\n/language ru\n/today 05-09\n"


def test_the_issue_script_answers_every_line(run_cli: Runner, tmp_path: Path) -> None:
    result = run_cli("run", "--platform", "console", stdin=SCRIPT)
    assert result.returncode == 0, result.stderr
    replies = result.stdout.strip().split("\n\n")
    out = result.stdout
    assert "October 12" in replies[0]
    assert "2019" in out and "Rebecq" in out
    assert "National Memorial to the Soviet Armed Partisans" in out
    assert "📍" in out
    assert "Memorials nearest to 50.6600, 4.1300" in out
    assert "Русский" in out
    assert "9 мая" in out
    assert "Traceback" not in result.stderr
    assert (tmp_path / "data" / "commemoration.sqlite3").exists()


def test_run_without_tokens_says_which_variables_enable_platforms(run_cli: Runner) -> None:
    result = run_cli("run", stdin="/help\n")
    assert result.returncode == 0, result.stderr
    assert "TELEGRAM_BOT_TOKEN" in result.stderr and "DISCORD_BOT_TOKEN" in result.stderr
    assert "/memorial" in result.stdout


def test_buttons_are_numbered_and_pressed_by_number(run_cli: Runner) -> None:
    result = run_cli("run", "--platform", "console", stdin="/language\n2\n/today 05-09\n9\n")
    assert result.returncode == 0, result.stderr
    assert "[2] Русский" in result.stdout
    assert "9 мая" in result.stdout
    assert "[нет кнопки 9]" in result.stdout  # in the chat's language, Russian here


def test_choices_persist_across_runs(run_cli: Runner) -> None:
    run_cli("run", "--platform", "console", stdin="/language de\n/subscribe 07:15\n")
    result = run_cli("run", "--platform", "console", stdin="/settings\n")
    assert "Deutsch" in result.stdout
    assert "07:15" in result.stdout or "7:15" in result.stdout


def test_bad_input_gets_usage_not_traceback(run_cli: Runner) -> None:
    result = run_cli("run", "--platform", "console", stdin="/near 200 x\n/today 02-30\n/nope\n")
    assert result.returncode == 0
    assert "Usage: /near" in result.stdout
    assert "Usage: /today" in result.stdout
    assert "/nope" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_today_json_shape(run_cli: Runner) -> None:
    result = run_cli("today", "--date", "10-12", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["date"] == "10-12" and data["language"] == "en"
    item = next(i for i in data["items"] if i["year"] == 2019)
    assert set(item) >= {"id", "slug", "kind", "year", "years_ago", "title", "text"}
    assert "Rebecq" in item["title"] + item["text"]
    ru = json.loads(run_cli("today", "--date", "2026-05-09", "--lang", "ru", "--json").stdout)
    assert ru["date"] == "05-09" and ru["language"] == "ru"
    assert any(i["years_ago"] == 81 for i in ru["items"])


def test_memorial_and_near_json_shapes(run_cli: Runner) -> None:
    result = run_cli("memorial", "Льеж", "--lang", "fr", "--limit", "3", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["query"] == "Льеж"
    first = data["results"][0]
    assert set(first) >= {"id", "slug", "name", "names", "city", "country", "lat", "lon", "score"}
    assert set(first["names"]) == {"en", "ru", "fr", "nl", "de"}
    assert "Liège" in first["city"]
    near = json.loads(run_cli("near", "50.66", "4.13", "--limit", "2", "--json").stdout)
    assert near["results"][0]["slug"] == "rebecq-national-memorial"
    # nearest first; two memorials known only by their town (Rebecq) are equally near
    assert near["results"][0]["distance_km"] <= near["results"][1]["distance_km"]


def test_events_json_shape(run_cli: Runner) -> None:
    result = run_cli("events", "--json")
    assert result.returncode == 0, result.stderr
    events = json.loads(result.stdout)["events"]
    # out of the box: the yearly ceremonies of events.yaml, none presented as confirmed
    assert events
    for event in events:
        assert set(event) >= {"id", "title", "starts_at", "timezone", "place", "memorial_slug"}
        assert event["status"] == "scheduled"
        assert (event["recurrence"], event["confirmed"]) == ("yearly", False)


def test_exit_statuses(run_cli: Runner) -> None:
    assert run_cli("frobnicate").returncode == 2
    assert run_cli("today", "--lang", "xx").returncode == 2
    bad = run_cli("today", "--date", "13-13")
    assert bad.returncode == 1
    assert bad.stderr.strip().count("\n") == 0 and "--date" in bad.stderr
    assert run_cli("near", "100", "0").returncode == 1


def test_configuration_errors_stop_with_one_line(run_cli: Runner) -> None:
    cases = {
        "DEFAULT_LANGUAGE": ("xx", "DEFAULT_LANGUAGE"),
        "DEFAULT_TIMEZONE": ("Nowhere/Land", "DEFAULT_TIMEZONE"),
        "DATABASE_URL": ("not a url", "DATABASE_URL"),
    }
    for variable, (value, word) in cases.items():
        result = run_cli("today", env={variable: value})
        assert result.returncode == 1, variable
        assert word in result.stderr
        assert "Traceback" not in result.stderr
        assert result.stderr.strip().count("\n") == 0, result.stderr


def test_unreachable_database_is_one_line(run_cli: Runner) -> None:
    result = run_cli("today", env={"DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/x"})
    assert result.returncode == 1
    assert "cannot open the database" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0, result.stderr


def test_db_upgrade_and_unimplemented_commands(run_cli: Runner) -> None:
    result = run_cli("db", "upgrade")
    assert result.returncode == 0, result.stderr
    assert "latest schema" in result.stdout


def test_tokens_are_never_echoed(run_cli: Runner) -> None:
    token = "123456:SECRET-token-value"
    result = run_cli(
        "run",
        "--platform",
        "telegram",
        env={"TELEGRAM_BOT_TOKEN": token, "DATABASE_URL": "nonsense://"},
    )
    assert result.returncode == 1
    assert token not in result.stdout + result.stderr


def test_the_consoles_own_words_are_translated(run_cli: Runner) -> None:
    # issue 14, item 2: "[no button 9]" was English whatever the chat's language
    result = run_cli("run", "--platform", "console", stdin="/language ru\n/today 05-09\n9\n")
    assert result.returncode == 0, result.stderr
    assert "[нет кнопки 9]" in result.stdout
    assert "[no button" not in result.stdout
