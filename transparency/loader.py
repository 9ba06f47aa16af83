"""Reading a decisions-and-projects file (data/transparency/demo.toml's shape) and loading it, all or nothing.

    demo = true              # optional: every row is demo data (marked so on every page)
    place_crs = "extent"     # optional: the frame of the places (transparency/places.py), per row too

    [[project]]
    code = "mehr-park"       # the project's key: a rerun updates it
    title = "…"  title_en = "…"  description = "…"
    status = "in_progress"   # planned | in_progress | done | suspended
    budget = 12000000000     # rials; spent likewise
    starts = 1403-03-01      # or "1403/03/01" (Jalali) / "2024-05-21"
    ends = "1404/06/31"
    department = "…"  progress = 40
    place = "POLYGON((…))"

    [[decision]]
    number = "112"           # unique within the Jalali year of its date: (year, number) is its key
    date = "1403/02/15"      # required: a decision without a date is refused
    session = "…"  title = "…"  title_en = "…"  text = "…"
    status = "approved"      # under_review | approved | rejected | amended | revoked
    budget = 5000000000
    place = "POINT(…)"
    projects = ["mehr-park"] # codes of projects in this file or already loaded

`read` checks every row and refuses the file naming each bad row ("decision #3 (112): no date"); `load` writes it
in one transaction (a row the database refuses undoes the whole file, named likewise). A status that changes tells
the followers, as a change made in the admin does."""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from common import params
from common.errors import BadParameter
from transparency import places, service
from transparency.models import Decision, Project, jalali_year

DEMO_FILE = Path(__file__).resolve().parent.parent / "data" / "transparency" / "demo.toml"
PROJECT_KEYS = {"code", "title", "title_en", "description", "status", "budget", "spent", "starts", "ends",
                "department", "progress", "place", "place_crs"}
DECISION_KEYS = {"number", "date", "session", "title", "title_en", "text", "status", "budget", "place", "place_crs",
                 "projects"}
MONEY_MAX = 10 ** 17  # rials: a bigint with room; more is a typo


class TransparencyFileError(ValueError):
    """The file is refused; `problems` names every bad row."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass
class Loaded:
    projects: list[dict] = field(default_factory=list)
    decisions: list[dict] = field(default_factory=list)
    demo: bool = False


def _label(kind: str, i: int, key) -> str:
    name = _("project") if kind == "project" else _("decision")
    return f"{name} #{i}" + (f" ({key})" if key not in (None, "") else "")


def _date(value, name: str) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        raise ValueError(_("%(name)s is a day, not a time") % {"name": name})
    try:
        return params.date({name: value if isinstance(value, dt.date) else str(value)}, name)
    except BadParameter as exc:
        raise ValueError(exc.message) from None


def _money(value, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MONEY_MAX:
        raise ValueError(_("%(name)s is a whole number of rials, not negative") % {"name": name})
    return value


def _text(row: dict, name: str, *, required=False, max_length=None) -> str:
    value = row.get(name, "")
    if not isinstance(value, str):
        raise ValueError(_("%(name)s is text") % {"name": name})
    value = value.strip()
    if required and not value:
        raise ValueError(_("%(name)s is missing") % {"name": name})
    if max_length and len(value) > max_length:
        raise ValueError(_("%(name)s is longer than %(max)s characters") % {"name": name, "max": max_length})
    if "\x00" in value:
        raise ValueError(_("%(name)s holds a NUL character") % {"name": name})
    return value


def _status(row: dict, choices, default: str) -> str:
    value = row.get("status", default)
    if value not in choices.values:
        raise ValueError(_("status %(status)s is not one of %(known)s")
                         % {"status": str(value)[:40], "known": ", ".join(choices.values)})
    return value


def _place(row: dict, default_frame: str, box):
    if row.get("place") in (None, ""):
        return None
    return places.parse(row["place"], row.get("place_crs", default_frame), box)


def _project(row: dict, frame: str, box) -> dict:
    code = _text(row, "code", required=True, max_length=60)
    if not all(c.isascii() and (c.isalnum() or c in "-_") for c in code):
        raise ValueError(_("code is letters, digits and dashes"))
    progress = row.get("progress", 0)
    if isinstance(progress, bool) or not isinstance(progress, int) or not 0 <= progress <= 100:
        raise ValueError(_("progress is a whole percentage from 0 to 100"))
    starts, ends = _date(row.get("starts"), "starts"), _date(row.get("ends"), "ends")
    if starts and ends and ends < starts:
        raise ValueError(_("it ends before it starts"))
    return {"code": code, "title": _text(row, "title", required=True, max_length=200),
            "title_en": _text(row, "title_en", max_length=200), "description": _text(row, "description"),
            "status": _status(row, Project.Status, Project.Status.PLANNED),
            "budget": _money(row.get("budget"), "budget"), "spent": _money(row.get("spent"), "spent"),
            "starts_on": starts, "ends_on": ends, "department": _text(row, "department", max_length=200),
            "progress": progress, "geom": _place(row, frame, box)}


def _decision(row: dict, frame: str, box) -> dict:
    number = row.get("number")
    if isinstance(number, int) and not isinstance(number, bool):
        number = str(number)
    if not isinstance(number, str) or not number.strip() or len(number.strip()) > 40:
        raise ValueError(_("number is missing (the decision's number, at most 40 characters)"))
    day = _date(row.get("date"), "date")
    if day is None:
        raise ValueError(str(Decision._meta.get_field("decided_on").error_messages["blank"]))
    projects = row.get("projects", [])
    if not isinstance(projects, list) or not all(isinstance(p, str) for p in projects):
        raise ValueError(_("projects is a list of project codes"))
    return {"number": number.strip(), "decided_on": day, "year": jalali_year(day),
            "session": _text(row, "session", max_length=120),
            "title": _text(row, "title", required=True, max_length=300),
            "title_en": _text(row, "title_en", max_length=300), "text": _text(row, "text", required=True),
            "status": _status(row, Decision.Status, Decision.Status.UNDER_REVIEW),
            "budget": _money(row.get("budget"), "budget"), "geom": _place(row, frame, box), "projects": projects}


def read(path: Path) -> Loaded:
    """Every row of the file checked; TransparencyFileError naming each bad one."""
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise TransparencyFileError([_("%(file)s cannot be read: %(error)s") % {"file": path, "error": exc}]) from None
    problems: list[str] = []
    unknown_tables = set(data) - {"demo", "place_crs", "project", "decision"}
    if unknown_tables:
        problems.append(_("unknown keys at the top of the file: %(keys)s")
                        % {"keys": ", ".join(sorted(unknown_tables))})
    frame = data.get("place_crs", "EPSG:4326")
    box = places.city_box()
    loaded = Loaded(demo=bool(data.get("demo", False)))
    for kind, rows, keys, check, into in (("project", data.get("project", []), PROJECT_KEYS, _project,
                                           loaded.projects),
                                          ("decision", data.get("decision", []), DECISION_KEYS, _decision,
                                           loaded.decisions)):
        if not isinstance(rows, list):
            problems.append(_("%(kind)s must be a list of tables ([[%(kind)s]])") % {"kind": kind})
            continue
        for i, row in enumerate(rows, 1):
            label = _label(kind, i, row.get("code") if kind == "project" else row.get("number"))
            extra = set(row) - keys
            if extra:
                problems.append(f"{label}: " + _("unknown keys %(keys)s") % {"keys": ", ".join(sorted(extra))})
                continue
            try:
                values = check(row, frame, box)
            except ValueError as exc:
                problems.append(f"{label}: {exc}")
                continue
            values["_label"] = label
            into.append(values)
    codes = [p["code"] for p in loaded.projects]
    for p in loaded.projects:
        if codes.count(p["code"]) > 1:
            problems.append(f"{p['_label']}: " + _("the code is given twice in the file"))
    known = set(codes) | set(Project.objects.values_list("code", flat=True))
    keys = [(d["year"], d["number"]) for d in loaded.decisions]
    for d in loaded.decisions:
        if keys.count((d["year"], d["number"])) > 1:
            problems.append(f"{d['_label']}: " + _("number %(number)s is given twice for the year %(year)s")
                            % {"number": d["number"], "year": d["year"]})
        missing = [c for c in d["projects"] if c not in known]
        if missing:
            problems.append(f"{d['_label']}: " + _("unknown projects %(codes)s") % {"codes": ", ".join(missing)})
    if problems:
        raise TransparencyFileError(list(dict.fromkeys(problems)))
    return loaded


def _save(obj, label: str, problems: list[str]) -> bool:
    try:
        obj.full_clean(exclude=["year"])  # Decision.clean() works the year out and checks the number in it
    except ValidationError as exc:
        problems.append(f"{label}: " + "; ".join(f"{k}: {' '.join(v)}" if k != "__all__" else " ".join(v)
                                                   for k, v in exc.message_dict.items()))
        return False
    obj.save()
    return True


def _assign(obj, values: dict) -> bool:
    """Set the values on `obj`; whether anything changed (a new row always has): an unchanged row is not saved
    again, so a rerun of the same file adds no history."""
    changed = obj.pk is None
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


def load(loaded: Loaded) -> dict:
    """Create or update the projects (by code) and decisions (by year and number), in one transaction; counts of
    the rows in the file, of those new, and of the followers told of a status change."""
    counts = {"projects": 0, "decisions": 0, "created": 0, "told": 0}
    problems: list[str] = []
    changes = []   # (row, its status before) of the rows that were there already
    with transaction.atomic():
        by_code = {}
        for values in loaded.projects:
            label = values.pop("_label")
            project = Project.objects.filter(code=values["code"]).first() or Project()
            before = project.status if project.pk else None
            counts["created"] += project.pk is None
            if _assign(project, {**values, "demo": project.demo or loaded.demo}) and not _save(project, label,
                                                                                               problems):
                continue
            by_code[project.code] = project
            counts["projects"] += 1
            changes.append((project, before))
        for values in loaded.decisions:
            label = values.pop("_label")
            codes = values.pop("projects")
            decision = Decision.objects.filter(year=values["year"], number=values["number"]).first() or Decision()
            before = decision.status if decision.pk else None
            counts["created"] += decision.pk is None
            if _assign(decision, {**values, "demo": decision.demo or loaded.demo}) and not _save(decision, label,
                                                                                                 problems):
                continue
            if {p.code for p in decision.projects.all()} != set(codes):
                decision.projects.set([by_code.get(c) or Project.objects.get(code=c) for c in codes])
            counts["decisions"] += 1
            changes.append((decision, before))
        if problems:  # leaving the block by the exception undoes every row written
            raise TransparencyFileError(problems)
        for row, before in changes:
            if before is not None:
                counts["told"] += service.status_changed(row, before)
    return counts
