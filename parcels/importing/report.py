"""What an import found and did: each problem row (Issue), the report people read at the end of a run
(ImportReport), the problems of one batch's rows as they are found (RowIssues), and the whole-file duplicate checks
(UniqueTracker).

Issue messages are written in the language active while the file is read (a command's --language). Issue kinds,
join figures, post-load steps and timings are stable English keys, which tests and ImportRun.report keep; they are
translated only when the summary is printed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

REPORT_DETAIL_LIMIT = 5_000  # issues kept in ImportRun.report; the full list goes to --report-file

# What people read for the stable keys, each in a context of its own: short words like these mean other things
# elsewhere in the catalogue.
ISSUE_KINDS = {
    "invalid_geometry": pgettext_lazy("import problem", "invalid geometry"),
    "empty_geometry": pgettext_lazy("import problem", "empty geometry"),
    "wrong_geometry_type": pgettext_lazy("import problem", "wrong geometry type"),
    "null_key": pgettext_lazy("import problem", "empty key"),
    "duplicate_key": pgettext_lazy("import problem", "duplicate key"),
    "duplicate_value": pgettext_lazy("import problem", "duplicate value"),
    "bad_value": pgettext_lazy("import problem", "bad value"),
    "fixed": pgettext_lazy("import problem", "repaired"),
    "duplicate_dropped": pgettext_lazy("import problem", "duplicate dropped"),
    "duplicate_merged": pgettext_lazy("import problem", "duplicate merged"),
}

TIMED_STEPS = {
    "open": pgettext_lazy("import step", "opening"),
    "read_validate_copy": pgettext_lazy("import step", "reading, checking and copying"),
    "waiting_for_reader": pgettext_lazy("import step", "waiting for the reader"),
    "bulk_finish": pgettext_lazy("import step", "indexes and constraints"),
    "merge": pgettext_lazy("import step", "merge"),
    "post_load": pgettext_lazy("import step", "after-load steps"),
    "total": pgettext_lazy("import step", "total"),
}


def issue_kind_label(kind: str) -> str:
    return str(ISSUE_KINDS.get(kind, kind))


@dataclass
class Issue:
    fid: int
    key: str | None
    kind: str  # a key of ISSUE_KINDS
    message: str
    field: str | None = None


@dataclass
class ImportReport:
    layer: str
    source: str
    driver: str = ""
    source_layer: str = ""
    source_crs: str = ""
    target_srid: int = 0
    key: str = ""
    mapping: dict[str, str] = field(default_factory=dict)
    unmapped_fields: list[str] = field(default_factory=list)
    unmapped_kept: bool = True  # kept in the rows' attributes (JSON), or dropped
    features_read: int = 0
    rows_ok: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    issues: list[Issue] = field(default_factory=list)
    fixed: list[Issue] = field(default_factory=list)
    duplicate_policy: str = "refuse"
    duplicates: list[Issue] = field(default_factory=list)  # rows a duplicate policy dropped or merged (not problems)
    join: dict = field(default_factory=dict)
    post_load: dict = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    committed: bool = False
    dry_run: bool = True
    abort_reason: str = ""
    refusal: str = ""  # why a commit is (or, in a dry run, would be) refused; "" when it would be written
    import_run_id: int | None = None

    def count(self, kind: str) -> int:
        return sum(1 for i in self.issues if i.kind == kind)

    @property
    def counts_by_kind(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for issue in self.issues:
            out[issue.kind] = out.get(issue.kind, 0) + 1
        return out

    def to_json(self, limit: int | None = REPORT_DETAIL_LIMIT) -> dict:
        data = asdict(self)
        data["issue_counts"] = self.counts_by_kind
        if limit is not None:
            data["issues_truncated"] = len(self.issues) > limit
            data["issues"] = data["issues"][:limit]
            data["fixed"] = data["fixed"][:limit]
            data["duplicates"] = data["duplicates"][:limit]
        return data

    def write_issues_csv(self, path: str | Path) -> None:
        rows = [asdict(i) for i in self.issues + self.fixed + self.duplicates]
        pd.DataFrame(rows, columns=["fid", "key", "kind", "field", "message"]).to_csv(path, index=False)

    def summary(self, detail: int = 30) -> str:
        """The report as people read it at the end of a run, in the active language."""
        if self.dry_run:
            state = _("DRY RUN: nothing written")
        else:
            state = _("COMMITTED") if self.committed else _("NOT COMMITTED")
        lines = [
            _("%(state)s — %(layer)s from %(source)s") % {"state": state, "layer": self.layer, "source": self.source},
            "  " + _("format %(driver)s, layer %(layer)r, CRS %(crs)s -> EPSG:%(srid)s") % {
                "driver": self.driver, "layer": self.source_layer, "crs": self.source_crs, "srid": self.target_srid},
            "  " + _("key: %(key)s; mapping: %(mapping)s") % {
                "key": self.key, "mapping": ", ".join(f"{t}<-{s}" for t, s in self.mapping.items())},
        ]
        if self.unmapped_fields:
            unmapped = (_("unmapped source fields (kept in attributes): %(fields)s") if self.unmapped_kept
                        else _("unmapped source fields (dropped): %(fields)s"))
            lines.append("  " + unmapped % {"fields": ", ".join(self.unmapped_fields)})
        if self.join:
            lines.append("  " + _("join: %(figures)s") % {"figures": _figures(self.join)})
        if self.dry_run:
            counts = _("features read %(read)s; ok %(ok)s; would insert %(inserted)s, would update %(updated)s, "
                       "unchanged %(unchanged)s, skipped %(skipped)s")
        else:
            counts = _("features read %(read)s; ok %(ok)s; inserted %(inserted)s, updated %(updated)s, "
                       "unchanged %(unchanged)s, skipped %(skipped)s")
        lines.append("  " + counts % {"read": self.features_read, "ok": self.rows_ok, "inserted": self.inserted,
                                      "updated": self.updated, "unchanged": self.unchanged, "skipped": self.skipped})
        for kind, n in sorted(self.counts_by_kind.items()):
            lines.append(f"  {issue_kind_label(kind)}: {n}")
        if self.fixed:
            lines.append("  " + _("repaired geometries (--fix): %(count)s") % {"count": len(self.fixed)})
        if self.duplicates:
            kept = len({i.key for i in self.duplicates})
            text = (_("duplicate keys (--duplicates merge): %(rows)s rows merged into %(kept)s")
                    if self.duplicate_policy == "merge" else
                    _("duplicate keys (--duplicates %(policy)s): %(rows)s rows dropped, %(kept)s kept"))
            lines.append("  " + text % {"policy": self.duplicate_policy, "rows": len(self.duplicates), "kept": kept})
        listed = self.issues + self.fixed + self.duplicates
        fid_only, fid_and_key = _("fid %(fid)s"), _("fid %(fid)s key %(key)r")
        for issue in listed[:detail]:
            where = (fid_only if issue.key in (None, "") else fid_and_key) % {"fid": issue.fid, "key": issue.key}
            what = f" [{issue.field}]" if issue.field else ""
            lines.append(f"    {issue_kind_label(issue.kind):<20} {where}{what}: {issue.message}")
        if len(listed) > detail:
            lines.append("    " + _("… %(count)s more (use --report-file for all)") % {"count": len(listed) - detail})
        if self.post_load:
            lines.append("  " + _("after load: %(figures)s") % {"figures": _figures(self.post_load)})
        if self.abort_reason:
            lines.append("  " + _("REFUSED: %(reason)s") % {"reason": self.abort_reason})
        elif self.refusal and self.dry_run:
            lines.append("  " + _("A COMMIT WOULD BE REFUSED: %(reason)s") % {"reason": self.refusal})
        step_time = _("%(step)s %(seconds).1fs")
        lines.append("  " + _("time: %(steps)s") % {"steps": ", ".join(
            step_time % {"step": TIMED_STEPS.get(k, k), "seconds": v} for k, v in self.timings.items())})
        return "\n".join(lines)


def _figures(figures: dict) -> str:
    # The keys are English msgids marked with gettext_noop where they are made (join, post-load steps).
    return ", ".join(f"{_(k)} {v}" for k, v in figures.items())


class RowIssues:
    """The rows of one batch as the report sees them: their feature ids and keys, which rows are still good (`ok`),
    and each problem found, written into the report."""

    def __init__(self, report: ImportReport, fids: np.ndarray, keys):
        self.report = report
        self.fids = fids
        self.keys = keys  # indexable; read only for the rows a problem is reported on
        self.ok = np.ones(len(fids), dtype=bool)

    def flag(self, mask: np.ndarray, kind: str, messages, field_name: str | None = None) -> None:
        """The rows in `mask` are bad: one message for all of them, or a list with one per row of the batch."""
        for i in np.flatnonzero(mask):
            msg = messages if isinstance(messages, str) else messages[i]
            self.report.issues.append(Issue(int(self.fids[i]), self.keys[i], kind, msg, field_name))
        self.ok[mask] = False

    def flag_row(self, i: int, kind: str, message: str) -> None:
        self.report.issues.append(Issue(int(self.fids[i]), self.keys[i], kind, message))
        self.ok[i] = False

    def repaired(self, i: int, message: str) -> None:
        self.report.fixed.append(Issue(int(self.fids[i]), self.keys[i], "fixed", message))


@dataclass
class Resolution:
    """What a duplicate-key policy did with the rows of one key: `kept` stays (with the merged geometry under
    "merge"), `others` are dropped or merged into it. `ranks` are the rows' places among the key's good rows in
    file order (the bulk path finds its rows by them: ids follow the order of COPY)."""

    key: str
    kept: int
    others: list[int]
    kept_rank: int
    other_ranks: list[int]


class UniqueTracker:
    """Duplicate keys (and duplicates of the layer's other unique fields) across the whole file, found in memory
    from the batches' values: a million keys take a few tens of MB.

    Rows sharing a key follow the import's duplicate policy (options.DUPLICATE_POLICIES): "refuse" reports every copy
    as a problem; "first", "largest" and "merge" keep one row per key (the first in the file, the largest, or the first
    with the union of all copies' geometries) and say which rows went where (`resolutions`). The other unique fields
    are then checked on the rows that remain."""

    def __init__(self, spec, key: str, policy: str = "refuse"):
        self.key = key
        self.policy = policy
        self.groups = [(key,)] + [g for g in spec.within_file_unique if key not in g]
        self.parts: list[pa.Table] = []
        self._found = None
        self._resolutions = None

    def add(self, batch) -> None:
        # Every row counts, including rows with other problems: "key X also on fid …" must name them all.
        names = sorted({n for g in self.groups for n in g if n in batch.values})
        cols = {"fid": pa.array(batch.fids), "__ok": pa.array(batch.ok)}
        if self.policy == "largest":
            cols["__size"] = pa.array(batch.size)
        for n in names:
            cols[n] = pc.coalesce(batch.values[n], batch.keys) if n == self.key else batch.values[n]
        self.parts.append(pa.table(cols))
        self._found = self._resolutions = None

    def _table(self) -> pd.DataFrame:
        table = pa.concat_tables(self.parts).to_pandas()
        table["__order"] = np.arange(len(table))  # file order
        return table

    def resolutions(self) -> list[Resolution]:
        """The key groups among the good rows, and which row each keeps (empty under "refuse")."""
        if self._resolutions is not None:
            return self._resolutions
        out: list[Resolution] = []
        if self.policy != "refuse" and self.parts:
            table = self._table()
            good = table[table["__ok"] & table[self.key].notna()]
            dup = good[good.duplicated([self.key], keep=False)]
            for key, rows in dup.groupby(self.key, sort=False):
                rows = rows.sort_values("__order")
                fids = rows["fid"].tolist()
                kept_rank = 0
                if self.policy == "largest":
                    kept_rank = int(np.argmax(rows["__size"].to_numpy()))  # the first of equals
                kept = int(fids[kept_rank])
                others = [(r, int(f)) for r, f in enumerate(fids) if r != kept_rank]
                out.append(Resolution(str(key), kept, [f for _, f in others], kept_rank + 1,
                                      [r + 1 for r, _ in others]))
        self._resolutions = out
        return out

    def resolved_away(self) -> set[int]:
        """The fids a duplicate policy drops or merges into another row."""
        return {f for r in self.resolutions() for f in r.others}

    def resolution_issues(self) -> list[Issue]:
        """One line per row a policy dropped or merged, naming the row kept, for the report."""
        if self.policy == "merge":
            kind, text = "duplicate_merged", _("%(field)s %(value)r: geometry merged into fid %(kept)s (--duplicates "
                                               "merge)")
        else:
            kind, text = "duplicate_dropped", _("%(field)s %(value)r: dropped, fid %(kept)s kept (--duplicates "
                                                "%(policy)s)")
        out = []
        for r in self.resolutions():
            for fid in r.others:
                out.append(Issue(fid, r.key, kind, text % {"field": self.key, "value": r.key, "kept": r.kept,
                                                           "policy": self.policy}, self.key))
        return out

    def _find(self):
        if self._found is not None:
            return self._found
        found = []
        if self.parts:
            table = self._table()
            away = self.resolved_away()
            if away:
                table = table[~table["fid"].isin(away)]
            for group in self.groups:
                if not all(n in table for n in group):
                    continue
                if group == (self.key,) and self.policy != "refuse":
                    continue  # resolved by the policy (rows with other problems are reported for those)
                sub = table.dropna(subset=list(group))
                dup = sub[sub.duplicated(list(group), keep=False)]
                for _key, rows in dup.groupby(list(group), sort=False):
                    fids = rows["fid"].tolist()
                    values = rows.iloc[0][list(group)].tolist()
                    found.append((group, values, fids))
        self._found = found
        return found

    def issues(self) -> list[Issue]:
        out = []
        same_key = _("%(field)s %(value)r also on fid %(fids)s")
        same_values = _("%(fields)s %(values)s also on fid %(fids)s")
        for group, values, fids in self._find():
            label = "+".join(group)
            shown = "/".join(str(v) for v in values)
            for fid in fids:
                others = ", ".join(str(f) for f in fids if f != fid)
                if group == (self.key,):
                    out.append(Issue(int(fid), str(values[0]), "duplicate_key",
                                     same_key % {"field": self.key, "value": values[0], "fids": others}, self.key))
                else:
                    out.append(Issue(int(fid), None, "duplicate_value",
                                     same_values % {"fields": label, "values": shown, "fids": others}, label))
        return out

    def bad_fids(self) -> set[int]:
        return {int(f) for _group, _values, fids in self._find() for f in fids}
