"""Reading a categories file (data/reports/categories.toml's shape) and loading it: departments and categories are
created or updated by code, in one transaction; a file that names an unknown department, repeats a code or has an
out-of-range SLA is refused whole, naming the entry."""

import tomllib
from pathlib import Path

from django.db import transaction
from django.utils.translation import gettext as _

from reports.models import Category, Department

DEFAULT_FILE = Path(__file__).resolve().parent.parent / "data" / "reports" / "categories.toml"
CATEGORY_FIELDS = ("name", "name_en", "description", "description_en", "group", "sla_days", "needs_parcel",
                   "private_place", "colour", "order", "active")


class CategoriesFileError(ValueError):
    pass


def read(path: Path) -> dict:
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CategoriesFileError(_("%(file)s cannot be read: %(error)s") % {"file": path, "error": exc}) from None
    departments, categories = data.get("department", []), data.get("category", [])
    problems = []
    seen = set()
    for i, d in enumerate(departments, 1):
        if not d.get("code") or not d.get("name"):
            problems.append(_("department #%(n)s needs a code and a name") % {"n": i})
        elif d["code"] in seen:
            problems.append(_("department %(code)s is given twice") % {"code": d["code"]})
        seen.add(d.get("code"))
    known = seen | set(Department.objects.values_list("code", flat=True))
    codes = set()
    for i, c in enumerate(categories, 1):
        label = c.get("code") or f"#{i}"
        if not c.get("code") or not c.get("name"):
            problems.append(_("category %(code)s needs a code and a name") % {"code": label})
        if c.get("code") in codes:
            problems.append(_("category %(code)s is given twice") % {"code": label})
        codes.add(c.get("code"))
        if c.get("department") not in known:
            problems.append(_("category %(code)s names an unknown department %(department)s")
                            % {"code": label, "department": c.get("department")})
        sla = c.get("sla_days", 7)
        if not isinstance(sla, int) or not 1 <= sla <= 365:
            problems.append(_("category %(code)s: sla_days must be a whole number of days from 1 to 365")
                            % {"code": label})
    if problems:
        raise CategoriesFileError("; ".join(problems))
    return {"departments": departments, "categories": categories}


@transaction.atomic
def load(data: dict) -> tuple[int, int]:
    """Create or update the departments and categories; returns (departments, categories) written."""
    for d in data["departments"]:
        Department.objects.update_or_create(code=d["code"], defaults={
            "name": d["name"], "name_en": d.get("name_en", ""), "active": d.get("active", True)})
    departments = {d.code: d for d in Department.objects.all()}
    for c in data["categories"]:
        values = {k: c[k] for k in CATEGORY_FIELDS if k in c}
        Category.objects.update_or_create(code=c["code"], defaults={
            **values, "department": departments[c["department"]]})
    return len(data["departments"]), len(data["categories"])
