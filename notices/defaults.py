"""The default templates (data/notices/templates.toml) and what loading them would change."""

import tomllib
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction

from notices import rendering
from notices.models import Template

DEFAULT_FILE = Path(settings.BASE_DIR) / "data" / "notices" / "templates.toml"
CREATE, UPDATE, KEEP_EDITED, UNCHANGED = "create", "update", "keep", "unchanged"


@dataclass(frozen=True)
class Change:
    event: str
    channel: str
    language: str
    action: str  # create | update | keep (edited by staff) | unchanged
    subject: str
    body: str


def read(path: Path = DEFAULT_FILE) -> list[dict]:
    with open(path, "rb") as f:
        data = tomllib.load(f)
    rows = []
    seen = set()
    for i, item in enumerate(data.get("template", []), 1):
        missing = {"event", "channel", "language", "body"} - set(item)
        if missing:
            raise ValueError(f"{path}: template #{i} lacks {', '.join(sorted(missing))}")
        ident = (item["event"], item["channel"], item["language"])
        if ident in seen:
            raise ValueError(f"{path}: template #{i} repeats {'/'.join(ident)}")
        seen.add(ident)
        rendering.check_syntax(item["body"])
        rendering.check_syntax(item.get("subject", ""))
        rows.append({"event": item["event"], "channel": item["channel"], "language": item["language"],
                     "subject": item.get("subject", ""), "body": item["body"]})
    return rows


def plan(rows: list[dict], replace: bool = False) -> list[Change]:
    existing = {(t.event, t.channel, t.language): t for t in Template.objects.all()}
    changes = []
    for row in rows:
        current = existing.get((row["event"], row["channel"], row["language"]))
        if current is None:
            action = CREATE
        elif current.subject == row["subject"] and current.body == row["body"]:
            action = UNCHANGED
        elif current.updated_by_id is not None and not replace:
            action = KEEP_EDITED
        else:
            action = UPDATE
        changes.append(Change(row["event"], row["channel"], row["language"], action, row["subject"], row["body"]))
    return changes


def apply(changes: list[Change]) -> int:
    n = 0
    with transaction.atomic():
        for c in changes:
            if c.action in (CREATE, UPDATE):
                Template.objects.update_or_create(
                    event=c.event, channel=c.channel, language=c.language,
                    defaults={"subject": c.subject, "body": c.body, "updated_by": None})
                n += 1
    return n


def load(path: Path = DEFAULT_FILE, replace: bool = False) -> int:
    """Load the defaults (tests, ./run demo); returns how many templates were written."""
    return apply(plan(read(path), replace))
