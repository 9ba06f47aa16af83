"""Field mapping, attribute conversion and validation, and the CSV attribute join.

Conversion works on whole Arrow columns with Arrow's compute kernels (C++), so a million rows cost no Python loop;
only values that fail a fast vectorised check go through the exact Python validators to get their message.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from django.apps import apps
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, pgettext_lazy

from common import municipality
from common.jalali import gregorian_to_jalali_years
from parcels import identifiers
from parcels.importing.errors import ImportError_
from parcels.importing.specs import LayerSpec

_FOREIGN_DIGITS = "۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩"
_ASCII_DIGITS = "01234567890123456789"


def resolve_mapping(spec: LayerSpec, given: dict[str, str], source_fields: list[str]) -> dict[str, str]:
    """target field -> source field. Explicit entries win; other target fields map to a source field of the same
    name (case-insensitive). Unknown names on either side are errors that list what exists."""
    unknown_targets = [t for t in given if t not in spec.field_names]
    if unknown_targets:
        raise ImportError_(
            _("Unknown %(layer)s field(s) in the mapping: %(unknown)s. Fields: %(fields)s")
            % {"layer": spec.name, "unknown": ", ".join(unknown_targets), "fields": ", ".join(spec.field_names)}
        )
    unknown_sources = [s for s in given.values() if s not in source_fields and not is_pseudo_source(s)]
    if unknown_sources:
        raise ImportError_(
            _("The file has no field(s) %(unknown)s. Its fields: %(fields)s")
            % {"unknown": ", ".join(map(repr, unknown_sources)), "fields": ", ".join(source_fields)}
        )
    mapping = dict(given)
    by_lower = {s.lower(): s for s in source_fields}
    for f in spec.fields:
        if f.name not in mapping and f.name.lower() in by_lower and by_lower[f.name.lower()] not in mapping.values():
            mapping[f.name] = by_lower[f.name.lower()]
    missing = [f.name for f in spec.fields if f.required and f.name not in mapping]
    if missing:
        raise ImportError_(_("Required field(s) not mapped: %(fields)s; add --map FIELD=SOURCE_FIELD")
                           % {"fields": ", ".join(missing)})
    return mapping


def is_pseudo_source(source: str) -> bool:
    """`@fid` (the feature's id in the file, for files without an id field) or `=text` (a constant)."""
    return source == "@fid" or source.startswith("=")


_SQL_TYPES = {
    "str": "text", "renewal_code": "text", "postal_code": "text", "ref": "text", "code_ref": "text",
    "parcel_ref": "text", "int": "bigint", "float": "double precision", "decimal": "numeric",
}


def field_defaults(spec: LayerSpec, mapping: dict[str, str]) -> tuple[dict[str, object], set[str]]:
    """For the mapped fields of NOT NULL columns: ({field: the model's default}, {fields that have none and so are
    required}). Nullable columns keep a missing value as NULL."""
    defaults, required = {}, set()
    model = spec.model
    for f in spec.fields:
        if f.name not in mapping:
            continue
        try:
            model_field = model._meta.get_field(f.name)
        except FieldDoesNotExist:
            continue
        if model_field.null:
            continue
        if not model_field.is_relation and (model_field.has_default() or model_field.empty_strings_allowed):
            defaults[f.name] = model_field.get_default()  # "" for text fields without a default
        else:
            required.add(f.name)
    return defaults, required


# The calendars a source may count years in (--calendar); a year field declares its own (specs.Field.calendar).
CALENDARS = ("jalali", "gregorian")
CALENDAR_NAMES = {"jalali": pgettext_lazy("calendar", "Jalali"), "gregorian": pgettext_lazy("calendar", "Gregorian")}


# --- Column helpers --------------------------------------------------------------------------------


def as_text(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Source values as trimmed strings, null for missing or blank; whole floats lose their '.0'."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    t = col.type
    if pa.types.is_floating(t):
        values = col.to_numpy(zero_copy_only=False)
        whole = np.isfinite(values) & (values == np.round(values))
        if whole[~np.isnan(values)].all():
            col = pa.array(np.where(np.isnan(values), 0, values).astype(np.int64), mask=np.isnan(values))
    if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
        col = pc.cast(col, pa.string()) if not pa.types.is_null(col.type) else pa.nulls(len(col), pa.string())
    col = pc.utf8_trim_whitespace(col)
    return pc.if_else(pc.equal(col, ""), pa.scalar(None, pa.string()), col)


def ascii_digits(col: pa.Array) -> pa.Array:
    """Persian and Arabic-Indic digits to ASCII, vectorised (skipped when the column is plain ASCII)."""
    if len(col) == 0 or not pc.any(pc.match_substring_regex(col, r"[^\x00-\x7f]")).as_py():
        return col
    for src, dst in zip(_FOREIGN_DIGITS, _ASCII_DIGITS):
        col = pc.replace_substring(col, src, dst)
    return col


def _mask(arr) -> np.ndarray:
    """A boolean Arrow array as numpy, null -> False."""
    return pc.fill_null(arr, False).to_numpy(zero_copy_only=False).astype(bool)


def _null_where(col: pa.Array, bad: np.ndarray) -> pa.Array:
    return pc.if_else(pa.array(bad), pa.scalar(None, col.type), col) if bad.any() else col


class FieldChecker:
    """Converts a batch's source attributes into target values, and says which rows fail and why.

    The one place where a layer's field rules are applied, for both load paths (the bulk COPY into an empty table
    and the staged merge): conversion, ranges and choices (specs.py), required fields, and the defaults of NOT NULL
    columns. A missing value in a NOT NULL column becomes the model's default (a street without a name gets "", a
    building without floors its default floor count); a NOT NULL column without a default makes the value required,
    and a row without it is reported instead of reaching the database."""

    def __init__(self, spec: LayerSpec, mapping: dict[str, str], value_maps: dict[str, dict[str, str]],
                 calendar: str | None = None):
        self.spec = spec
        self.mapping = mapping
        self.value_maps = {k: {str(a): str(b) for a, b in v.items()} for k, v in value_maps.items()}
        if calendar not in (None, *CALENDARS):
            raise ImportError_(_("Unknown calendar %(calendar)r; use one of: %(calendars)s")
                               % {"calendar": calendar, "calendars": ", ".join(CALENDARS)})
        self.calendar = calendar  # the source's calendar for year fields (None: the field's own)
        self._ref_values: dict[str, pa.Array] = {}
        self.defaults, self.required = field_defaults(spec, mapping)

    def staging_columns(self, keep_unmapped: bool) -> list[tuple[str, str]]:
        """(name, SQL type) of the staging table after fid, ok and geom."""
        cols = [(f.name, _SQL_TYPES[f.kind]) for f in self.spec.fields if f.name in self.mapping]
        if keep_unmapped:
            cols.append(("attributes", "jsonb"))
        return cols

    def preload(self) -> None:
        """Read the reference codes now (database access stays in the main thread)."""
        for f in self.spec.fields:
            if f.name in self.mapping and f.kind in ("ref", "code_ref"):
                self._allowed(f)

    def _allowed(self, f) -> pa.Array:
        column = "pk" if f.kind == "ref" else "code"
        key = f"{f.ref_model}.{column}"
        if key not in self._ref_values:
            model = apps.get_model(f.ref_model)
            values = sorted(str(v) for v in model._default_manager.values_list(column, flat=True))
            self._ref_values[key] = pa.array(values, pa.string())
        return self._ref_values[key]

    def convert(self, attrs: dict[str, pa.Array], n: int):
        """Return ({field: Arrow array}, {field: (bad-row mask, messages)})."""
        values: dict[str, pa.Array] = {}
        errors: dict[str, tuple[np.ndarray, list[str]]] = {}
        for f in self.spec.fields:
            if f.name not in self.mapping:
                continue
            source = attrs[self.mapping[f.name]]
            if f.kind in ("int", "float", "decimal") and f.name not in self.value_maps and _is_number(source):
                converted, bad, messages = _check_number(f, _numbers(source), [""] * n, np.zeros(n, dtype=bool),
                                                         self.calendar)
            else:
                text = as_text(source)
                if f.name in self.value_maps:
                    vm = self.value_maps[f.name]
                    keys = pa.array(list(vm), pa.string())
                    idx = pc.index_in(text, value_set=keys)
                    mapped = pc.take(pa.array(list(vm.values()), pa.string()), idx)
                    text = pc.coalesce(mapped, text)
                converted, bad, messages = _convert(f, text, self, n)
            converted, bad = self._missing(f, converted, bad, messages)
            values[f.name] = converted
            if bad.any():
                errors[f.name] = (bad, messages)
        return values, errors

    def _missing(self, f, converted: pa.Array, bad: np.ndarray, messages: list):
        """Missing values (not the bad ones: they are reported as such): required, or the column's default."""
        empty = ~_mask(pc.is_valid(converted)) & ~bad
        if not empty.any():
            return converted, bad
        if f.required or f.name in self.required:
            required = _("%(name)s is required") % {"name": f.name}
            for i in np.flatnonzero(empty):
                messages[i] = required
            return converted, bad | empty
        if f.name in self.defaults:
            default = pa.scalar(self.defaults[f.name]).cast(converted.type)
            converted = pc.if_else(pa.array(empty), default, converted)
        return converted, bad

    def attributes_json(self, table: pa.Table) -> pa.Array:
        """Source fields with no column of their own, kept as JSON so an import loses nothing."""
        unmapped = [c for c in table.column_names if c not in set(self.mapping.values())]
        if not unmapped:
            return pa.array(["{}"] * table.num_rows, pa.string())
        frame = table.select(unmapped).to_pandas()
        text = frame.to_json(orient="records", lines=True, force_ascii=False, date_format="iso")
        return pa.array(text.splitlines(), pa.string())


def _convert(f, text: pa.Array, checker: FieldChecker, n: int):
    bad = np.zeros(n, dtype=bool)
    messages = [""] * n
    kind = f.kind
    present = _mask(pc.is_valid(text))
    if kind in ("int", "float", "decimal"):
        cleaned = pc.replace_substring(ascii_digits(text), ",", "")
        num = pd.to_numeric(cleaned.to_pandas(), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        not_number = present & np.isnan(num)
        template = _("%(field)s %(value)r is not a number")
        for i in np.flatnonzero(not_number):
            messages[i] = template % {"field": f.name, "value": text[i].as_py()}
        bad |= not_number
        return _check_number(f, num, messages, bad, checker.calendar)
    return _convert_text(f, kind, text, checker, n, bad, messages, present)


def _is_number(col) -> bool:
    t = col.type
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)


def _numbers(col) -> np.ndarray:
    return pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False).astype(float)


def _check_number(f, num: np.ndarray, messages: list, bad: np.ndarray, calendar: str | None = None):
    """Range and whole-number rules on numbers; returns (Arrow array, bad mask, messages).

    A year field counts years in its own calendar (f.calendar); a source that declares another one (--calendar) has
    its years converted first, and a range message names the calendar either way."""
    n = len(num)
    shown = num
    source_calendar = calendar or f.calendar
    if f.calendar and source_calendar != f.calendar:
        num = _convert_years(num, source_calendar, f.calendar)
    with np.errstate(invalid="ignore"):
        out_of_range = np.zeros(n, dtype=bool)
        if f.min is not None:
            out_of_range |= num < f.min
        if f.max is not None:
            out_of_range |= num > f.max
        if f.kind == "int":
            fractional = ~np.isnan(shown) & (shown != np.round(shown))
            template = _("%(field)s %(value)s is not a whole number")
            for i in np.flatnonzero(fractional & ~bad):
                messages[i] = template % {"field": f.name, "value": shown[i]}
            bad |= fractional
    if not f.calendar:
        template = _("%(field)s %(value)g is out of range [%(min)g, %(max)g]")
    elif source_calendar == f.calendar:
        template = _("%(field)s %(value)g is out of range [%(min)g, %(max)g] (%(calendar)s years; if the file counts "
                     "years in another calendar, declare it with --calendar)")
    else:
        template = _("%(field)s %(value)g (%(source_calendar)s) is %(converted)g in the %(calendar)s calendar, "
                     "out of range [%(min)g, %(max)g]")
    names = {"calendar": CALENDAR_NAMES.get(f.calendar, f.calendar),
             "source_calendar": CALENDAR_NAMES.get(source_calendar, source_calendar)}
    for i in np.flatnonzero(out_of_range & ~bad):
        messages[i] = template % {"field": f.name, "value": shown[i], "converted": num[i], "min": f.min,
                                  "max": f.max, **names}
    bad |= out_of_range
    missing = np.isnan(num) | bad
    if f.kind == "int":
        return pa.array(np.where(missing, 0, num).astype(np.int64), mask=missing), bad, messages
    return pa.array(np.where(missing, 0.0, num), mask=missing), bad, messages


def _convert_years(years: np.ndarray, source: str, target: str) -> np.ndarray:
    """Whole years from one calendar to the other (each distinct year once: a million rows hold few years)."""
    if (source, target) != ("gregorian", "jalali"):
        raise ImportError_(_("Cannot convert %(source)s years to %(target)s years")
                           % {"source": source, "target": target})
    out = np.full(len(years), np.nan)
    whole = np.isfinite(years) & (years == np.round(years)) & (years >= 1) & (years <= 9999)
    if whole.any():
        distinct, inverse = np.unique(years[whole].astype(np.int64), return_inverse=True)
        out[whole] = np.asarray(gregorian_to_jalali_years(distinct.tolist()), dtype=float)[inverse]
    return np.where(whole, out, years)


def _convert_text(f, kind, text, checker, n, bad, messages, present):
    if kind == "renewal_code":
        text = ascii_digits(text)
        pattern = "^" + "-".join(r"\d{%d}" % w for w in municipality.current().renewal_code_widths) + "$"
        odd = present & ~_mask(pc.match_substring_regex(text, pattern))
        fixed = {}
        for i in np.flatnonzero(odd):  # typed by hand: separators, padding; parse exactly
            try:
                fixed[i] = identifiers.normalize_renewal_code(text[i].as_py())
            except ValidationError as exc:
                bad[i] = True
                messages[i] = exc.messages[0]
        if fixed:
            values = text.to_pylist()
            for i, v in fixed.items():
                values[i] = v
            text = pa.array(values, pa.string())
        return _null_where(text, bad), bad, messages

    if kind == "postal_code":
        text = pc.replace_substring_regex(ascii_digits(text), r"[\s\-]", "")
        shape = _mask(pc.match_substring_regex(text, r"^[13-9]{4}[1346-9][013-9]{5}$"))
        first = pc.utf8_slice_codeunits(text, 0, 1)
        same4 = _mask(pc.equal(pc.utf8_slice_codeunits(text, 0, 4), pc.binary_join_element_wise(
            first, first, first, first, "")))
        wrong = present & (~shape | same4)  # DOMAIN.md: no 0 or 2 in the first five; not four equal digits first
        template = _("postal code %(value)r is not valid (10 digits, no 0 or 2 in the first five)")
        for i in np.flatnonzero(wrong):
            bad[i] = True
            messages[i] = template % {"value": text[i].as_py()}
        return _null_where(text, bad), bad, messages

    if kind in ("ref", "code_ref"):
        allowed = checker._allowed(f)
        unknown = present & ~_mask(pc.is_in(text, value_set=allowed))
        known = ", ".join(allowed.to_pylist()[:12])
        template = _("%(field)s %(value)r is not a known code (known: %(known)s…)")
        for i in np.flatnonzero(unknown):
            bad[i] = True
            messages[i] = template % {"field": f.name, "value": text[i].as_py(), "known": known}
        return _null_where(text, bad), bad, messages

    if f.choices:
        wrong = present & ~_mask(pc.is_in(text, value_set=pa.array(list(f.choices))))
        template = _("%(field)s %(value)r is not one of %(choices)s")
        for i in np.flatnonzero(wrong):
            bad[i] = True
            messages[i] = template % {"field": f.name, "value": text[i].as_py(), "choices": ", ".join(f.choices)}
        text = _null_where(text, bad)
    if f.max_length:
        long = present & (pc.fill_null(pc.utf8_length(text), 0).to_numpy(zero_copy_only=False) > f.max_length)
        too_long = _("%(name)s is longer than %(max)s characters") % {"name": f.name, "max": f.max_length}
        for i in np.flatnonzero(long):
            bad[i] = True
            messages[i] = too_long
    return text, bad, messages


# --- CSV attribute join -------------------------------------------------------------------------------

# The join's figures are kept under these English keys (in the report and ImportRun.report) and translated when
# the summary is printed.
MATCHED = gettext_noop("features matched")
UNMATCHED = gettext_noop("features without a CSV row")


class Join:
    """Attributes from a CSV, joined on a key: the first CSV row per key (several rows per key are reported)."""

    def __init__(self, file_key: str, table: pa.Table, keys: pa.Array, columns: list[str], stats: dict):
        self.file_key = file_key
        self.table = table
        self.keys = keys
        self.columns = columns
        self.stats = stats

    def apply(self, attrs: dict[str, pa.Array]) -> dict[str, pa.Array]:
        keys = as_text(attrs[self.file_key])
        idx = pc.index_in(keys, value_set=self.keys)
        matched = _mask(pc.is_valid(idx))
        self.stats[MATCHED] += int(matched.sum())
        self.stats[UNMATCHED] += int((~matched & _mask(pc.is_valid(keys))).sum())
        joined = self.table.take(idx)
        out = dict(attrs)
        for name in self.columns:
            out[name] = joined.column(name).combine_chunks()
        return out


def load_join(opts, info) -> Join:
    if not opts.join_on:
        raise ImportError_(_("--join-csv needs --join-on FILE_FIELD[=CSV_COLUMN]"))
    file_key, _sep, csv_key = opts.join_on.partition("=")
    csv_key = csv_key or file_key
    fields = [str(f) for f in info["fields"]]
    if file_key not in fields:
        raise ImportError_(_("--join-on: the file has no field %(field)r; its fields: %(fields)s")
                           % {"field": file_key, "fields": ", ".join(fields)})
    try:
        frame = pd.read_csv(opts.join_csv, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise ImportError_(_("Cannot read the join CSV %(path)s: %(error)s")
                           % {"path": opts.join_csv, "error": exc}) from None
    if csv_key not in frame.columns:
        raise ImportError_(_("The join CSV has no column %(column)r; its columns: %(columns)s")
                           % {"column": csv_key, "columns": ", ".join(frame.columns)})
    frame[csv_key] = frame[csv_key].str.strip()
    rows = len(frame)
    frame = frame[frame[csv_key].notna() & (frame[csv_key] != "")]
    counts = frame[csv_key].value_counts()
    first = frame.drop_duplicates(csv_key, keep="first")
    rename = {c: (f"{c}_csv" if c in fields else c) for c in first.columns if c != csv_key}
    table = pa.Table.from_pandas(first.drop(columns=[csv_key]).rename(columns=rename), preserve_index=False)
    table = table.cast(pa.schema([(name, pa.string()) for name in table.column_names]))
    stats = {
        gettext_noop("csv rows"): rows,
        gettext_noop("distinct keys"): int(len(counts)),
        gettext_noop("keys with several rows (first used)"): int((counts > 1).sum()),
        MATCHED: 0,
        UNMATCHED: 0,
    }
    return Join(file_key, table, pa.array(first[csv_key].tolist(), pa.string()), table.column_names, stats)
