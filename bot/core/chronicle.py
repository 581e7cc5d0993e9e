"""Moving the Immortal Regiment's people's chronicle between installations.

``export`` writes every entry (its names, years, unit, story, status, signature, its
submitter, so that the family can still be told, and its decisions) as one JSON document, and
copies each portrait into a folder beside it; ``import`` reads such a document back. A
portrait travels as a path relative to the document (or absolute); on import it is cleaned
again (``bot.media``), so a hand-edited export cannot bring metadata or a file that is not an
image. The platforms' references to a posted portrait travel too (``refs``): on the same bot
they save an upload. An entry whose public id is already there is left as it is, so an
import can be run twice.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.core.regiment import Action, Decision, Entry, EntryStatus, Regiment, Submitter
from bot.media import PortraitRefused

FORMAT = "commemoration-bot/regiment-chronicle"
VERSION = 1


class ChronicleFileError(ValueError):
    """The file is not a chronicle export this version can read (one line for the operator)."""


@dataclass(slots=True)
class ChronicleImport:
    """What an import did."""

    added: int = 0
    kept: int = 0
    """Entries already there (same public id), left unchanged."""
    errors: list[str] = field(default_factory=list)


def _entry_json(entry: Entry, photo: str | None, decisions: list[Decision]) -> dict[str, Any]:
    submitter = entry.submitter
    return {
        "id": entry.public_id,
        "status": entry.status.value,
        "full_name": entry.full_name,
        "other_spelling": entry.other_spelling,
        "born": entry.born,
        "died": entry.died,
        "rank_unit": entry.rank_unit,
        "relation": entry.relation,
        "story": entry.story,
        "signed": entry.signed,
        "photo": {"path": photo, "refs": dict(entry.photo_refs)} if photo else None,
        "submitter": {
            "platform": submitter.platform,
            "user_id": submitter.user_id,
            "chat_id": submitter.chat_id,
            "name": submitter.name,
            "language": submitter.language,
            "timezone": submitter.timezone,
        },
        "created_at": entry.created_at.isoformat() if entry.created_at else None,
        "updated_at": entry.updated_at.isoformat() if entry.updated_at else None,
        "decisions": [
            {
                "action": d.action.value,
                "actor": d.actor,
                "actor_name": d.actor_name,
                "reason": d.reason,
                "at": d.at.isoformat(),
            }
            for d in decisions
        ],
    }


async def export_chronicle(regiment: Regiment, target: Path) -> int:
    """Write the chronicle to ``target`` (JSON) and its portraits to ``<target stem>-photos/``
    beside it; returns how many entries."""
    photos = target.with_name(target.stem + "-photos")
    entries: list[dict[str, Any]] = []
    for entry in await regiment.repository.all_entries():
        assert entry.id is not None
        source = regiment.photo_path(entry)
        relative: str | None = None
        if source is not None:
            photos.mkdir(parents=True, exist_ok=True)
            await asyncio.to_thread(shutil.copyfile, source, photos / source.name)
            relative = f"{photos.name}/{source.name}"
        decisions = await regiment.repository.decisions(entry.id)
        entries.append(_entry_json(entry, relative, decisions))
    document = {"format": FORMAT, "version": VERSION, "entries": entries}
    text = json.dumps(document, ensure_ascii=False, indent=2)
    await asyncio.to_thread(target.write_text, text, "utf-8")
    return len(entries)


def _text(value: Any, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("a text field is not text")
    return value.strip()[:limit] or None


def _year(value: Any) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 1800 <= value <= 2100:
        raise ValueError(f"{value!r} is not a year")
    return value


def _instant(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    moment = dt.datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


async def import_chronicle(regiment: Regiment, source: Path) -> ChronicleImport:
    """Read an export made by ``export_chronicle``; raise ``ChronicleFileError`` when the
    file is not one."""
    try:
        document = json.loads(await asyncio.to_thread(source.read_text, "utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ChronicleFileError(f"{source}: not a readable JSON file ({error})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ChronicleFileError(f"{source}: not a chronicle export (format {FORMAT!r})")
    if document.get("version") != VERSION:
        raise ChronicleFileError(f"{source}: version {document.get('version')!r} is not {VERSION}")
    items = document.get("entries")
    if not isinstance(items, list):
        raise ChronicleFileError(f"{source}: 'entries' is not a list")
    report = ChronicleImport()
    for number, item in enumerate(items, start=1):
        try:
            added = await _import_one(regiment, source.parent, item)
        except (ValueError, TypeError, KeyError, PortraitRefused, OSError) as error:
            report.errors.append(f"entry {number}: {error}")
            continue
        if added:
            report.added += 1
        else:
            report.kept += 1
    return report


async def _import_one(regiment: Regiment, base: Path, item: Any) -> bool:
    if not isinstance(item, dict):
        raise ValueError("not an object")
    public_id = _text(item.get("id"), 24)
    if not public_id:
        raise ValueError("no id")
    if await regiment.repository.entry_by_public_id(public_id) is not None:
        return False
    name = _text(item.get("full_name"), 120)
    if not name:
        raise ValueError("no full_name")
    who = item.get("submitter")
    if not isinstance(who, dict):
        raise ValueError("no submitter")
    submitter = Submitter(
        platform=str(who["platform"])[:20],
        user_id=str(who["user_id"])[:64],
        chat_id=str(who.get("chat_id") or who["user_id"])[:64],
        name=str(who.get("name") or "")[:200],
        language=str(who.get("language") or "en")[:8],
        timezone=str(who.get("timezone") or "UTC")[:64],
    )
    photo_key, photo_mime, refs = "", "", {}
    photo = item.get("photo")
    if isinstance(photo, dict) and photo.get("path"):
        path = Path(str(photo["path"]))
        path = path if path.is_absolute() else base / path
        data = await asyncio.to_thread(path.read_bytes)
        portrait = await regiment.keep_portrait(data)
        photo_key = await regiment.store(portrait)
        photo_mime = portrait.mime_type
        given = photo.get("refs")
        refs = {str(k): str(v) for k, v in given.items()} if isinstance(given, dict) else {}
    entry = Entry(
        full_name=name,
        submitter=submitter,
        other_spelling=_text(item.get("other_spelling"), 120),
        born=_year(item.get("born")),
        died=_year(item.get("died")),
        rank_unit=_text(item.get("rank_unit"), 200),
        relation=_text(item.get("relation"), 100),
        story=_text(item.get("story"), 4000) or "",
        photo_key=photo_key,
        photo_mime=photo_mime,
        photo_refs=refs,
        signed=bool(item.get("signed")),
        status=EntryStatus(str(item.get("status") or "pending")),
        public_id=public_id,
        created_at=_instant(item.get("created_at")) or regiment.clock.now(),
        updated_at=_instant(item.get("updated_at")) or regiment.clock.now(),
    )
    saved = await regiment.repository.add_entry(entry)
    assert saved.id is not None
    decisions = item.get("decisions") or []
    if not isinstance(decisions, list):
        raise ValueError("'decisions' is not a list")
    for decision in decisions:
        if not isinstance(decision, dict):
            continue
        await regiment.repository.add_decision(
            Decision(
                saved.id,
                Action(str(decision["action"])),
                str(decision.get("actor") or "")[:100],
                _instant(decision.get("at")) or regiment.clock.now(),
                reason=str(decision.get("reason") or "")[:2000],
                actor_name=str(decision.get("actor_name") or "")[:200],
            )
        )
    return True
