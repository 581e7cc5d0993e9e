"""The operator's ``events --all`` and ``event show|publish|cancel``, and the console operator
creating an event as a draft that the CLI then publishes and cancels."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.conftest import Runner

CREATE_A_DRAFT = "\n".join(
    (
        "/event new",
        "Wreath-laying at Rebecq",
        "Rebecq",
        "12.10.2099",
        "11:00",
        "Flowers at the National Memorial.",
        "1",  # all five languages
        "1",  # the default reminders
        "2",  # keep as a draft
        "",
    )
)


def test_an_operator_drafts_publishes_and_cancels(run_cli: Runner, tmp_path: Path) -> None:
    console = run_cli("run", "--platform", "console", stdin=CREATE_A_DRAFT)
    assert console.returncode == 0, console.stderr
    assert "Saved as draft #" in console.stdout
    listed = run_cli("events", "--all", "--json")
    [draft] = [e for e in json.loads(listed.stdout)["events"] if e["status"] == "draft"]
    assert draft["title"] == "Wreath-laying at Rebecq"
    assert draft["memorial_slug"] == "rebecq-national-memorial"
    assert draft["announced_at"] is None and draft["sequence"] == 0
    assert draft["rsvp"] == {"yes": 0, "no": 0}
    assert draft["starts_at"] == "2099-10-12T11:00:00+02:00"
    # A draft is not among the upcoming events anyone sees.
    upcoming = json.loads(run_cli("events", "--json").stdout)["events"]
    assert draft["id"] not in {e["id"] for e in upcoming}
    number = str(draft["id"])
    card = run_cli("run", "--platform", "console", stdin=f"/event {number}\n")
    assert f"📎 event-{number}.ics" in card.stdout
    saved = tmp_path / "data" / "files" / f"event-{number}.ics"
    assert b"BEGIN:VEVENT" in saved.read_bytes()
    shown = run_cli("event", "show", number)
    assert shown.returncode == 0 and "status: draft" in shown.stdout
    published = json.loads(run_cli("event", "publish", number, "--json").stdout)
    assert (published["status"], published["sequence"]) == ("scheduled", 1)
    assert published["announced_at"]
    again = run_cli("event", "publish", number)
    assert again.returncode == 1 and "already published" in again.stderr
    cancelled = json.loads(run_cli("event", "cancel", number, "--json").stdout)
    assert (cancelled["status"], cancelled["sequence"]) == ("cancelled", 2)
    missing = run_cli("event", "show", "999")
    assert missing.returncode == 1 and "no such event" in missing.stderr
    assert run_cli("event", "frobnicate", "1").returncode == 2
