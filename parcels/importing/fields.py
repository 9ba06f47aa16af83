"""Field mapping, attribute conversion and validation, and the CSV attribute join.

Conversion is vectorised with pandas; only values that fail a fast check go through the slower, exact validators,
so a million rows stay fast.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from django.apps import apps
from django.core.exceptions import ValidationError

from parcels import identifiers
from parcels.importing.specs import LayerSpec


def resolve_mapping(spec: LayerSpec, given: dict[str, str], source_fields: list[str]) -> dict[str, str]:
    """target field -> source field. Explicit entries win; other target fields map to a source field of the same
    name (case-insensitive). Unknown names on either side are errors that list what exists."""
    from parcels.importing.core import ImportError_

    unknown_targets = [t for t in given if t not in spec.field_names]
    if unknown_targets:
        raise ImportError_(
            f"Unknown {spec.name} field(s) in the mapping: {', '.join(unknown_targets)}. "
            f"Fields: {', '.join(spec.field_names)}"
        )
    unknown_sources = [s for s in given.values() if s not in source_fields and not is_pseudo_source(s)]
    if unknown_sources:
        raise ImportError_(
            f"The file has no field(s) {', '.join(map(repr, unknown_sources))}. Its fields: {', '.join(source_fields)}"
        )
    mapping = dict(given)
    by_lower = {s.lower(): s for s in source_fields}
    for f in spec.fields:
        if f.name not in mapping and f.name.lower() in by_lower and by_lower[f.name.lower()] not in mapping.values():
            mapping[f.name] = by_lower[f.name.lower()]
    missing = [f.name for f in spec.fields if f.required and f.name not in mapping]
    if missing:
        raise ImportError_(f"Required field(s) not mapped: {', '.join(missing)}; add --map FIELD=SOURCE_FIELD")
    return mapping


def is_pseudo_source(source: str) -> bool:
    """`@fid` (the feature's id in the file, for files without an id field) or `=text` (a constant)."""
    return source == "@fid" or source.startswith("=")


def add_pseudo_sources(attrs: pd.DataFrame, mapping: dict[str, str], fids) -> pd.DataFrame:
    for source in set(mapping.values()):
        if source == "@fid":
            attrs[source] = [str(f) for f in fids]
        elif source.startswith("="):
            attrs[source] = source[1:]
    return attrs


_SQL_TYPES = {
    "str": "text", "renewal_code": "text", "postal_code": "text", "ref": "text", "code_ref": "text",
    "parcel_ref": "text", "int": "bigint", "float": "double precision", "decimal": "numeric",
}


class FieldChecker:
    """Converts a batch's source attributes into target values, and says which rows fail and why."""

    def __init__(self, spec: LayerSpec, mapping: dict[str, str], value_maps: dict[str, dict[str, str]]):
        self.spec = spec
        self.mapping = mapping
        self.value_maps = {k: {str(a): b for a, b in v.items()} for k, v in value_maps.items()}
        self._ref_values: dict[str, set[str]] = {}

    def staging_columns(self, keep_unmapped: bool) -> list[tuple[str, str]]:
        """(name, SQL type) of the staging table after fid and geom."""
        cols = [(f.name, _SQL_TYPES[f.kind]) for f in self.spec.fields if f.name in self.mapping]
        if keep_unmapped:
            cols.append(("attributes", "jsonb"))
        return cols

    def _allowed(self, model_label: str, column: str) -> set[str]:
        cache_key = f"{model_label}.{column}"
        if cache_key not in self._ref_values:
            model = apps.get_model(model_label)
            self._ref_values[cache_key] = {str(v) for v in model._default_manager.values_list(column, flat=True)}
        return self._ref_values[cache_key]

    def convert(self, attrs: pd.DataFrame):
        """Return ({field: converted Series}, {field: (bad-row mask, messages)})."""
        values: dict[str, pd.Series] = {}
        errors: dict[str, tuple[np.ndarray, list[str]]] = {}
        n = len(attrs)
        for f in self.spec.fields:
            if f.name not in self.mapping:
                continue
            raw = attrs[self.mapping[f.name]]
            if f.name in self.value_maps:
                value_map = self.value_maps[f.name]
                raw = _map_text(_as_text(raw), lambda v: value_map.get(v, v))
            converted, bad, messages = _convert(f, raw, self)
            if f.required:
                empty = converted.isna().to_numpy() & ~bad
                if empty.any():
                    messages = [m if b else (f"{f.name} is required" if e else "") for m, b, e in zip(messages, bad, empty)]
                    bad = bad | empty
            values[f.name] = converted
            if bad.any():
                errors[f.name] = (bad, messages)
        return values, errors

    def attributes_json(self, attrs: pd.DataFrame) -> pd.Series:
        """Source fields with no column of their own, kept as JSON so an import loses nothing."""
        unmapped = [c for c in attrs.columns if c not in set(self.mapping.values())]
        if not unmapped:
            return pd.Series(["{}"] * len(attrs), index=attrs.index)
        text = attrs[unmapped].to_json(orient="records", lines=True, force_ascii=False, date_format="iso")
        return pd.Series(text.splitlines(), index=attrs.index)


def _as_text(raw: pd.Series) -> pd.Series:
    """Source values as stripped strings (None for missing); integers stored as floats lose their '.0'."""
    def one(v):
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
            return None
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        text = str(v).strip()
        return text or None
    # A list, not Series.map: pandas 3 would infer its string dtype and turn None back into NaN.
    return pd.Series([one(v) for v in raw.astype(object)], index=raw.index, dtype=object)


def _map_text(text: pd.Series, fn) -> pd.Series:
    """Apply fn to the non-missing strings of a text Series, keeping object dtype and None."""
    return pd.Series([None if v is None else fn(v) for v in text], index=text.index, dtype=object)


def _convert(f, raw: pd.Series, checker: FieldChecker):
    n = len(raw)
    bad = np.zeros(n, dtype=bool)
    messages = [""] * n
    kind = f.kind
    if kind in ("int", "float", "decimal"):
        text = _map_text(_as_text(raw), lambda s: identifiers.to_ascii_digits(s).replace(",", ""))
        num = pd.to_numeric(text, errors="coerce")
        not_number = text.notna().to_numpy() & num.isna().to_numpy()
        for i in np.flatnonzero(not_number):
            messages[i] = f"{f.name} {text.iloc[i]!r} is not a number"
        bad |= not_number
        arr = num.to_numpy(dtype=float, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            out_of_range = np.zeros(n, dtype=bool)
            if f.min is not None:
                out_of_range |= arr < f.min
            if f.max is not None:
                out_of_range |= arr > f.max
            if kind == "int":
                fractional = ~np.isnan(arr) & (arr != np.round(arr))
                for i in np.flatnonzero(fractional & ~bad):
                    messages[i] = f"{f.name} {arr[i]} is not a whole number"
                bad |= fractional
        for i in np.flatnonzero(out_of_range & ~bad):
            messages[i] = f"{f.name} {arr[i]:g} is out of range [{f.min:g}, {f.max:g}]"
        bad |= out_of_range
        if kind == "int":
            converted = pd.array(np.where(np.isnan(arr) | bad, 0, arr).astype(np.int64), dtype="Int64")
            converted[np.isnan(arr) | bad] = pd.NA
            return pd.Series(converted, index=raw.index), bad, messages
        return pd.Series(np.where(bad, np.nan, arr), index=raw.index), bad, messages

    text = _as_text(raw)
    if kind == "renewal_code":
        canonical = re.compile(_canonical_renewal_pattern())
        out = text.copy()
        for i, value in enumerate(text):
            if value is None or canonical.fullmatch(value):
                continue
            try:
                out.iloc[i] = identifiers.normalize_renewal_code(value)
            except ValidationError as exc:
                bad[i] = True
                messages[i] = exc.messages[0]
        return out.where(~pd.Series(bad, index=out.index), None), bad, messages
    if kind == "postal_code":
        out = _map_text(text, identifiers.normalize_postal_code)
        ok = out.isna() | out.str.match(identifiers.POSTAL_CODE_RE.pattern, na=False)
        for i in np.flatnonzero(~ok.to_numpy()):
            bad[i] = True
            messages[i] = f"postal code {out.iloc[i]!r} is not valid (10 digits, no 0 or 2 in the first five)"
        return out.where(ok, None), bad, messages
    if kind in ("ref", "code_ref"):
        allowed = checker._allowed(f.ref_model, "pk" if kind == "ref" else "code")
        unknown = text.notna() & ~text.isin(allowed)
        for i in np.flatnonzero(unknown.to_numpy()):
            bad[i] = True
            messages[i] = f"{f.name} {text.iloc[i]!r} is not a known code (known: {', '.join(sorted(allowed)[:12])}…)"
        return text.where(~unknown, None), bad, messages
    if f.choices:
        wrong = text.notna() & ~text.isin(f.choices)
        for i in np.flatnonzero(wrong.to_numpy()):
            bad[i] = True
            messages[i] = f"{f.name} {text.iloc[i]!r} is not one of {', '.join(f.choices)}"
        text = text.where(~wrong, None)
    if f.max_length:
        long = text.notna() & (text.str.len() > f.max_length)
        for i in np.flatnonzero(long.to_numpy()):
            bad[i] = True
            messages[i] = f"{f.name} is longer than {f.max_length} characters"
    return text, bad, messages


def _canonical_renewal_pattern() -> str:
    from django.conf import settings

    return "-".join(r"\d{%d}" % w for w in settings.RENEWAL_CODE_WIDTHS)


# --- CSV attribute join -------------------------------------------------------------------------------


@dataclass
class Join:
    file_key: str
    csv_key: str
    frame: pd.DataFrame  # indexed by key, first row per key
    columns: list[str]
    rename: dict[str, str]
    stats: dict

    def apply(self, attrs: pd.DataFrame) -> pd.DataFrame:
        keys = _as_text(attrs[self.file_key])
        joined = self.frame.reindex(keys.to_numpy())
        joined.index = attrs.index
        matched = keys.isin(self.frame.index)
        self.stats["features matched"] += int(matched.sum())
        self.stats["features without a CSV row"] += int((~matched & keys.notna()).sum())
        return pd.concat([attrs, joined.rename(columns=self.rename)], axis=1)


def load_join(opts, info) -> Join:
    """Read the CSV once. Several CSV rows per key (e.g. condominium units sharing one parcel) are reported; the
    first is joined."""
    from parcels.importing.core import ImportError_

    if not opts.join_on:
        raise ImportError_("--join-csv needs --join-on FILE_FIELD[=CSV_COLUMN]")
    file_key, _, csv_key = opts.join_on.partition("=")
    csv_key = csv_key or file_key
    fields = [str(f) for f in info["fields"]]
    if file_key not in fields:
        raise ImportError_(f"--join-on: the file has no field {file_key!r}; its fields: {', '.join(fields)}")
    try:
        frame = pd.read_csv(opts.join_csv, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise ImportError_(f"Cannot read the join CSV {opts.join_csv}: {exc}") from None
    if csv_key not in frame.columns:
        raise ImportError_(f"The join CSV has no column {csv_key!r}; its columns: {', '.join(frame.columns)}")
    frame[csv_key] = frame[csv_key].str.strip()
    rows = len(frame)
    frame = frame[frame[csv_key].notna()]
    counts = frame[csv_key].value_counts()
    first = frame.drop_duplicates(csv_key, keep="first").set_index(csv_key)
    rename = {c: (f"{c}_csv" if c in fields else c) for c in first.columns}
    stats = {
        "csv rows": rows,
        "distinct keys": int(len(counts)),
        "keys with several rows (first used)": int((counts > 1).sum()),
        "features matched": 0,
        "features without a CSV row": 0,
    }
    return Join(file_key, csv_key, first, [rename[c] for c in first.columns], rename, stats)


def dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False)
