"""Loading desks and case types (data/permits/: desks.toml and one file per case type). Everything is checked
first (permits/definitions.py for the path, dues' formula language for the fees) and written in one transaction:
a file with a problem is refused whole, naming each problem, and nothing is written. A case type whose definition
changed gets a new workflow version; an unchanged one is left alone (loading twice writes nothing); cases keep the
version they started with."""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction
from django.utils.translation import gettext as _

from dues import api as dues_api
from permits import definitions
from permits.models import CaseType, Desk, Workflow

DEFAULT_DIR = Path(__file__).resolve().parent.parent / "data" / "permits"
DESKS_FILE = "desks.toml"


class PermitTypesError(ValueError):
    pass


@dataclass
class Loaded:
    desks: list[dict]
    types: list[tuple[Path, dict, definitions.Definition]]


def _toml(path: Path) -> dict:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise PermitTypesError(_("%(file)s cannot be read: %(error)s") % {"file": path, "error": exc}) from None


def sha256_of(data: dict) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def check_definition(data: dict, desk_codes: set[str]) -> definitions.Definition:
    """The checked definition, or PermitTypesError listing every problem (in the reader's language)."""
    try:
        definition = definitions.parse(data, desk_codes)
    except definitions.DefinitionError as exc:
        raise PermitTypesError("; ".join(_(msgid) % params for msgid, params in exc.problems)) from None
    if definition.fees:
        try:
            dues_api.check_fee_formulas(list(definition.fees), definition.fee_names())
        except dues_api.FeeError as exc:
            raise PermitTypesError(_("%(type)s: %(problem)s") % {"type": definition.code, "problem": exc.message}) \
                from None
    return definition


def read(path: Path) -> Loaded:
    """A folder (desks.toml + case types) or one case-type file, checked."""
    path = Path(path)
    files = sorted(p for p in path.glob("*.toml") if p.name != DESKS_FILE) if path.is_dir() else [path]
    desks = _toml(path / DESKS_FILE).get("desk", []) if path.is_dir() and (path / DESKS_FILE).exists() else []
    problems = []
    seen = set()
    for i, d in enumerate(desks, 1):
        if not d.get("code") or not d.get("name"):
            problems.append(_("desk #%(n)s needs a code and a name") % {"n": i})
        elif d["code"] in seen:
            problems.append(_("desk %(code)s is given twice") % {"code": d["code"]})
        seen.add(d.get("code"))
    desk_codes = seen | set(Desk.objects.values_list("code", flat=True))
    types, codes = [], set()
    for f in files:
        data = _toml(f)
        try:
            definition = check_definition(data, desk_codes)
        except PermitTypesError as exc:
            problems.append(f"{f.name}: {exc}")
            continue
        if definition.code in codes:
            problems.append(_("%(file)s: case type %(code)s is given twice") % {"file": f.name, "code": definition.code})
        codes.add(definition.code)
        types.append((f, data, definition))
    if not files:
        problems.append(_("%(path)s holds no case type files") % {"path": path})
    if problems:
        raise PermitTypesError("; ".join(problems))
    return Loaded(desks, types)


@transaction.atomic
def load(loaded: Loaded, *, by=None) -> dict:
    """Write what `read` checked; returns counts: desks, types, new versions, unchanged."""
    for d in loaded.desks:
        Desk.objects.update_or_create(code=d["code"], defaults={
            "name": d["name"], "name_en": d.get("name_en", ""), "active": d.get("active", True)})
    new_versions = unchanged = 0
    for path, data, definition in loaded.types:
        case_type, _created = CaseType.objects.update_or_create(code=definition.code, defaults={
            "name": definition.name, "name_en": definition.name_en, "order": definition.order})
        if save_version(case_type, data, definition, source=str(path.name), by=by) is None:
            unchanged += 1
        else:
            new_versions += 1
    return {"desks": len(loaded.desks), "types": len(loaded.types), "new_versions": new_versions,
            "unchanged": unchanged}


def save_version(case_type: CaseType, data: dict, definition: definitions.Definition, *, source="", by=None,
                 note="") -> Workflow | None:
    """A new workflow version of `case_type` unless its current one has the same definition (then None)."""
    digest = sha256_of(data)
    current = CaseType.objects.select_for_update().get(pk=case_type.pk).current()
    if current is not None and current.sha256 == digest:
        return None
    return Workflow.objects.create(case_type=case_type, version=(current.version + 1) if current else 1,
                                   definition=data, sha256=digest, source=source, is_demo=definition.demo,
                                   loaded_by=by if getattr(by, "is_authenticated", False) else None, note=note)
