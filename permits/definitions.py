"""A case type's workflow as data, checked: the one place that says which step follows which, who acts there, what
they may do, what must be attached, what is paid, and how many days each step has. Pure Python (no Django): the
loader (permits/loader.py) checks a file with `parse` before anything is stored, the service (permits/service.py)
asks `Definition` what an action does, so the staff pages, the API and the tests follow the same path.

A definition (data/permits/*.toml, one case type per file) has:

- `code`, `name`, `name_en`, `order`, `demo`; `issues` (what the last step issues: permit, completion_certificate,
  certificate, inquiry, decision or none) and `validity_days` of it; `check` (the engine run while the applicant
  types: "eligibility", "subdivision" or "none"); `needs_ownership` (the applicant owns the parcel, or an engineer
  has the owner's consent); `works` (kinds of work, e.g. new building / extension / renovation);
- `[[documents]]`: `code`, `name`, `name_en`, `types` (of FILE_TYPES), `max_mb`, `required_at` (the step by whose
  end it must be attached; the first step: before submitting), `by` (applicant or staff);
- `[[fees]]`: `code`, `label_fa`, `label_en`, `formula` (the tariff formula language, over FEE_FACTS, the works'
  flags `work_<code>` and earlier lines), `legal_basis`;
- `[[steps]]`, in order: `code`, `name`, `name_en`, `desk` (a desk code, or "applicant"), `days` (SLA), `kind`:
    - "apply": the applicant fills and submits (the first step; a returned case comes back here);
    - "review": staff act: `actions` of approve, return, reject, site_visit; `fields` they record on approving
      (e.g. the planning position's frontage and setbacks), each {code, name, name_en, type: number|text|choice,
      choices, required};
    - "visit": an inspection (a site-visit form); approving it goes back to the step that asked for it, or on;
    - "payment": entering it issues the fee bill; the payment moves the case on;
    - "issue": the end: the document of `issues` is made;
  and `notice` (false: no notice to the applicant on entering it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from common.text import MessageError, gettext_noop

APPLICANT = "applicant"
KINDS = ("apply", "review", "visit", "payment", "issue")
ACTIONS = ("approve", "return", "reject", "site_visit")
ISSUES = ("permit", "completion_certificate", "certificate", "inquiry", "decision", "none")
CHECKS = ("eligibility", "subdivision", "none")
FIELD_TYPES = ("number", "text", "choice")
# what a document may be, by its content (permits/files.py maps each to libmagic's types)
FILE_TYPES = ("pdf", "jpeg", "png", "dwg", "dxf")
# facts fee formulas may use: the proposal's (zoning's PROPOSAL_FIELDS, numbers) and the parcel's area
FEE_FACTS = ("floors", "gross_floor_area", "footprint_area", "units", "parking_spaces", "height", "lot_area")
MAX_DAYS = 365


class DefinitionError(MessageError):
    """A definition that cannot be used; `problems` lists each, naming the entry (English, with their values)."""

    def __init__(self, problems: list[tuple[str, dict]]):
        self.problems = problems
        super().__init__(gettext_noop("%(count)s problems in the definition"), {"count": len(problems)})

    def __str__(self):
        return "; ".join(msgid % params for msgid, params in self.problems)


@dataclass(frozen=True)
class Field:
    code: str
    name: str
    name_en: str
    type: str
    choices: tuple[str, ...] = ()
    required: bool = True


@dataclass(frozen=True)
class Step:
    code: str
    name: str
    name_en: str
    kind: str
    desk: str
    days: int
    actions: tuple[str, ...] = ()
    fields: tuple[Field, ...] = ()
    notice: bool = True

    @property
    def by_applicant(self) -> bool:
        return self.desk == APPLICANT


@dataclass(frozen=True)
class DocumentType:
    code: str
    name: str
    name_en: str
    types: tuple[str, ...]
    max_mb: int
    required_at: str | None
    by: str = APPLICANT


@dataclass(frozen=True)
class Definition:
    code: str
    name: str
    name_en: str
    issues: str
    validity_days: int | None
    check: str
    needs_ownership: bool
    works: tuple[dict, ...]
    steps: tuple[Step, ...]
    documents: tuple[DocumentType, ...]
    fees: tuple[dict, ...]
    demo: bool = False
    order: int = 100
    raw: dict = field(default_factory=dict, compare=False, repr=False)

    # -- the path -------------------------------------------------------------------------------------------------

    def step(self, code: str) -> Step:
        for s in self.steps:
            if s.code == code:
                return s
        raise KeyError(code)

    @property
    def first(self) -> Step:
        return self.steps[0]

    def after(self, code: str) -> Step:
        """The step that follows `code` (the issue step is the last)."""
        codes = [s.code for s in self.steps]
        return self.steps[codes.index(code) + 1]

    def visit_step(self) -> Step | None:
        return next((s for s in self.steps if s.kind == "visit"), None)

    def actions_at(self, code: str) -> tuple[str, ...]:
        s = self.step(code)
        if s.kind == "review":
            return s.actions
        if s.kind == "visit":
            return ("approve", "return", "reject")
        return ()

    def documents_due(self, step_code: str) -> list[DocumentType]:
        """The documents that must be attached by the end of `step_code` (those due at it or before)."""
        codes = [s.code for s in self.steps]
        upto = codes.index(step_code)
        return [d for d in self.documents if d.required_at is not None and codes.index(d.required_at) <= upto]

    def document(self, code: str) -> DocumentType:
        for d in self.documents:
            if d.code == code:
                return d
        raise KeyError(code)

    def fee_names(self) -> set[str]:
        return set(FEE_FACTS) | {f"work_{w['code']}" for w in self.works}

    def has_payment(self) -> bool:
        return any(s.kind == "payment" for s in self.steps)


def _text(entry: dict, key: str, where: str, problems: list, required=True) -> str:
    value = entry.get(key, "")
    if not isinstance(value, str) or (required and not value.strip()):
        problems.append((gettext_noop("%(where)s needs %(key)s (text)"), {"where": where, "key": key}))
        return ""
    return value.strip()


def parse(data: dict, desks: set[str]) -> Definition:
    """A checked Definition from a file's data, or DefinitionError naming every problem. `desks`: the desk codes
    known (the applicant is always one)."""
    problems: list[tuple[str, dict]] = []
    code = _text(data, "code", "the case type", problems)
    where = code or "the case type"
    name = _text(data, "name", where, problems)
    name_en = _text(data, "name_en", where, problems, required=False)
    issues = data.get("issues", "none")
    if issues not in ISSUES:
        problems.append((gettext_noop("%(where)s: issues must be one of %(choices)s"),
                         {"where": where, "choices": ", ".join(ISSUES)}))
    check = data.get("check", "none")
    if check not in CHECKS:
        problems.append((gettext_noop("%(where)s: check must be one of %(choices)s"),
                         {"where": where, "choices": ", ".join(CHECKS)}))
    validity = data.get("validity_days")
    if validity is not None and (not isinstance(validity, int) or not 1 <= validity <= 3660):
        problems.append((gettext_noop("%(where)s: validity_days must be a whole number from 1 to 3660"),
                         {"where": where}))
    works = []
    for i, w in enumerate(data.get("works", []), 1):
        wcode = _text(w, "code", f"{where} work #{i}", problems)
        works.append({"code": wcode, "name": _text(w, "name", f"{where} work {wcode}", problems),
                      "name_en": w.get("name_en", "")})

    steps: list[Step] = []
    seen_steps: set[str] = set()
    for i, s in enumerate(data.get("steps", []), 1):
        scode = _text(s, "code", f"{where} step #{i}", problems)
        swhere = f"{where} step {scode or i}"
        if scode in seen_steps:
            problems.append((gettext_noop("%(where)s is given twice"), {"where": swhere}))
        seen_steps.add(scode)
        kind = s.get("kind", "review")
        if kind not in KINDS:
            problems.append((gettext_noop("%(where)s: kind must be one of %(choices)s"),
                             {"where": swhere, "choices": ", ".join(KINDS)}))
        desk = s.get("desk", "")
        if kind in ("apply", "payment"):
            desk = APPLICANT
        elif kind == "issue":
            desk = desk or ""
        if kind in ("review", "visit") and desk not in desks:
            problems.append((gettext_noop("%(where)s names an unknown desk %(desk)s"), {"where": swhere, "desk": desk}))
        days = s.get("days", 0)
        if not isinstance(days, int) or not 0 <= days <= MAX_DAYS:
            problems.append((gettext_noop("%(where)s: days must be a whole number from 0 to 365"), {"where": swhere}))
            days = 0
        actions = tuple(s.get("actions", ("approve", "return", "reject") if kind == "review" else ()))
        for a in actions:
            if a not in ACTIONS:
                problems.append((gettext_noop("%(where)s: unknown action %(action)s"), {"where": swhere, "action": a}))
        if kind == "review" and "approve" not in actions:
            problems.append((gettext_noop("%(where)s: a review step needs the approve action"), {"where": swhere}))
        fields = []
        for j, f in enumerate(s.get("fields", []), 1):
            fcode = _text(f, "code", f"{swhere} field #{j}", problems)
            ftype = f.get("type", "text")
            if ftype not in FIELD_TYPES:
                problems.append((gettext_noop("%(where)s: field %(field)s has an unknown type"),
                                 {"where": swhere, "field": fcode}))
            choices = tuple(f.get("choices", ()))
            if ftype == "choice" and not choices:
                problems.append((gettext_noop("%(where)s: field %(field)s needs choices"),
                                 {"where": swhere, "field": fcode}))
            fields.append(Field(fcode, _text(f, "name", f"{swhere} field {fcode}", problems), f.get("name_en", ""),
                                ftype, choices, bool(f.get("required", True))))
        steps.append(Step(scode, _text(s, "name", swhere, problems), s.get("name_en", ""), kind, desk, days,
                          actions, tuple(fields), bool(s.get("notice", True))))

    if not steps:
        problems.append((gettext_noop("%(where)s has no steps"), {"where": where}))
    else:
        if steps[0].kind != "apply":
            problems.append((gettext_noop("%(where)s: the first step must be of kind apply"), {"where": where}))
        if steps[-1].kind != "issue":
            problems.append((gettext_noop("%(where)s: the last step must be of kind issue"), {"where": where}))
        for s in steps[1:]:
            if s.kind == "apply":
                problems.append((gettext_noop("%(where)s: only the first step may be of kind apply"), {"where": where}))
        for s in steps[:-1]:
            if s.kind == "issue":
                problems.append((gettext_noop("%(where)s: only the last step may be of kind issue"), {"where": where}))
        if any("site_visit" in s.actions for s in steps) and not any(s.kind == "visit" for s in steps):
            problems.append((gettext_noop("%(where)s: a step asks for site visits but no step is of kind visit"),
                             {"where": where}))

    documents = []
    seen_docs: set[str] = set()
    for i, d in enumerate(data.get("documents", []), 1):
        dcode = _text(d, "code", f"{where} document #{i}", problems)
        dwhere = f"{where} document {dcode or i}"
        if dcode in seen_docs:
            problems.append((gettext_noop("%(where)s is given twice"), {"where": dwhere}))
        seen_docs.add(dcode)
        types = tuple(d.get("types", ()))
        if not types or any(t not in FILE_TYPES for t in types):
            problems.append((gettext_noop("%(where)s: types must be some of %(choices)s"),
                             {"where": dwhere, "choices": ", ".join(FILE_TYPES)}))
        max_mb = d.get("max_mb", 20)
        if not isinstance(max_mb, int) or not 1 <= max_mb <= 200:
            problems.append((gettext_noop("%(where)s: max_mb must be a whole number from 1 to 200"), {"where": dwhere}))
        required_at = d.get("required_at")
        if required_at is not None and required_at not in seen_steps:
            problems.append((gettext_noop("%(where)s: required_at names an unknown step %(step)s"),
                             {"where": dwhere, "step": required_at}))
        by = d.get("by", APPLICANT)
        documents.append(DocumentType(dcode, _text(d, "name", dwhere, problems), d.get("name_en", ""), types,
                                      max_mb if isinstance(max_mb, int) else 20, required_at,
                                      by if by in (APPLICANT, "staff") else APPLICANT))

    fees = []
    for i, f in enumerate(data.get("fees", []), 1):
        fcode = _text(f, "code", f"{where} fee #{i}", problems)
        fees.append({"code": fcode, "label_fa": _text(f, "label_fa", f"{where} fee {fcode}", problems),
                     "label_en": f.get("label_en", ""), "formula": _text(f, "formula", f"{where} fee {fcode}", problems),
                     "legal_basis": f.get("legal_basis", "")})
    if fees and not any(s.kind == "payment" for s in steps):
        problems.append((gettext_noop("%(where)s has fees but no payment step"), {"where": where}))

    if problems:
        raise DefinitionError(problems)
    return Definition(code, name, name_en, issues, validity, check, bool(data.get("needs_ownership", True)),
                      tuple(works), tuple(steps), tuple(documents), tuple(fees), bool(data.get("demo", False)),
                      int(data.get("order", 100)), raw=data)
