"""One search box: renewal code (whole or a prefix), the city's own parcel key (source_id), registered plate, postal
code, street and plaque; owner names only for staff allowed to see personal data (and then the search is recorded).

What people type is normalised first (parcels.identifiers.normalize_text): Persian and Arabic digits, ي/ی and ك/ک,
half-spaces, hyphens, spaces or slashes between code segments.
"""

import re
from types import SimpleNamespace

from django.db.models import Q

from common import municipality
from common.db import prepared_fetchall
from parcels import identifiers, privacy
from parcels.models import Owner, Ownership, Parcel

LIMIT = 10

# Half-space (ZWNJ) in stored street names counts as a space. The expression is written out (not a parameter) so that
# it is the one the trigram index on street names is built on (migration 0006): ILIKE '%…%' uses that index.
PLAIN_STREET_NAME = "replace(s.name, '\u200c', ' ')"


def search(query: str, request=None, limit: int = LIMIT) -> list[dict]:
    """The answer to what was typed: one statement (prepared) finds every kind of parcel hit and the streets, each
    kind in its own order and limit, a parcel found by an earlier kind not repeated, the first `limit` kept; only
    those rows are joined to their land use and get a point."""
    text = identifiers.normalize_text(query or "")
    if not text:
        return []
    branches: list[tuple[str, str, list]] = []  # (kind, SELECT of parcel ids in the kind's order, its parameters)

    def add(kind: str, where: str, order: str, params: list, join: str = "") -> None:
        branches.append((kind, f"SELECT p.id FROM parcels_parcel p {join} WHERE {where} ORDER BY {order} LIMIT %s",
                         [*params, limit]))

    # The city's own key for the parcel (source_id, kept by the import), as typed or normalised: an exact match on
    # its unique index, whatever its shape.
    add("source_id", "p.source_id IN (%s, %s)", "p.id", [text, (query or "").strip()])

    plate = re.fullmatch(r"(\d+)\s*/\s*(\d+)(?:\s*/\s*(\d+))?", text)
    if plate:
        section, main, sub = (int(v) if v else None for v in plate.groups())
        order = "p.plate_section, p.plate_main, p.plate_sub"
        if sub is not None:
            add("plate", "p.plate_section = %s AND p.plate_main = %s AND p.plate_sub = %s", order, [section, main, sub])
        else:
            add("plate", "(p.plate_section = %s AND p.plate_main = %s) OR (p.plate_main = %s AND p.plate_sub = %s)",
                order, [section, main, section, main])

    if re.fullmatch(r"\d+(?:[\s\-_.]+\d+)*", text):
        parts = re.split(r"[\s\-_.]+", text)
        compact = "".join(parts)
        widths = municipality.current().renewal_code_widths
        if len(parts) == len(widths) or (len(parts) == 1 and len(compact) == sum(widths)):
            try:
                add("renewal_code", "p.renewal_code = %s", "p.id", [identifiers.normalize_renewal_code(text)])
            except identifiers.ValidationError:
                pass
        if 1 < len(parts) < len(widths) and all(len(p) <= w for p, w in zip(parts, widths)):
            # A prefix typed segment by segment: the last segment may still be partial.
            full = [p.zfill(w) for p, w in zip(parts[:-1], widths)]
            prefix = "-".join(full + [parts[-1]])
            add("renewal_code", _PREFIX.format(column="p.renewal_code"), "p.renewal_code", _prefix_params(prefix))
        if len(parts) == 1 and 5 <= len(compact) <= 10:
            add("postal_code", _PREFIX.format(column="p.postal_code"), "p.postal_code", _prefix_params(compact))

    staff = request is not None and privacy.may_see_personal_data(request.user)
    owners = None
    if staff and re.fullmatch(r"\d{10,11}", text):
        owners = Owner.objects.filter(national_id=text)

    streets = None
    address = re.fullmatch(r"(.*?\D)\s*(?:پلاک\s*)?(\d+)", text)
    if address and len(address.group(1).strip()) >= 2:
        street, plaque = address.group(1).strip(), address.group(2)
        if owners is not None:
            _add_owners(add, owners)
        # a join, as the ORM's filter across the relation: a parcel with two such addresses comes twice (and once
        # in the answer)
        add("address", f"a.plaque = %s AND a.street_id IN (SELECT s.id FROM parcels_street s "
            f"WHERE {PLAIN_STREET_NAME} ILIKE %s)", "p.renewal_code", [plaque, _like_contains(street)],
            join="JOIN parcels_address a ON a.parcel_id = p.id")
    else:
        if owners is not None:
            _add_owners(add, owners)
        if not re.search(r"\d", text) and len(text) >= 2:
            if staff:
                owners = Owner.objects.all()
                for word in text.split():  # every word of the name must match
                    owners = owners.filter(Q(last_name__icontains=word) | Q(first_name__icontains=word)
                                           | Q(legal_name__icontains=word))
                _add_owners(add, owners)
            streets = _like_contains(text)

    rows = prepared_fetchall(*_statement(branches, streets, limit))
    found: list[dict] = []
    for kind, pid, code, source_id, postal, section, main, sub, use, lon, lat, *_ in rows:
        if kind == "street":
            if len(found) < limit:
                found.append({"type": "street", "street_id": pid, "name": code, "lon": round(lon, 7),
                              "lat": round(lat, 7)})
        else:
            plate = Parcel.plate.fget(SimpleNamespace(plate_section=section, plate_main=main, plate_sub=sub))
            found.append({"type": kind, "parcel_id": pid, "renewal_code": code, "source_id": source_id,
                          "postal_code": postal, "plate": plate, "land_use": use,
                          "lon": round(lon, 7), "lat": round(lat, 7)})
    shown = [row["parcel_id"] for row in found if row["type"] == "owner"]
    if shown:  # the answer tells whose parcels these are: recorded with them and their owners
        privacy.record_access(request, "owner_search", objects=list(
            Ownership.objects.filter(parcel_id__in=shown, owner__in=owners).only("id", "owner_id", "parcel_id")))
    return found[:limit]


def _add_owners(add, owners) -> None:
    """Parcels of the owners (an Owner queryset, its own SQL), in renewal-code order."""
    sql, params = owners.values("pk").query.sql_with_params()
    add("owner", f"p.id IN (SELECT o.parcel_id FROM parcels_ownership o WHERE o.owner_id IN ({sql}))",
        "p.renewal_code", list(params))


def _statement(branches: list, streets: str | None, limit: int) -> tuple[str, list]:
    """One SELECT: the parcel hits of every kind (each kind's ids in its order, as an array with ordinality; a
    parcel found by an earlier kind dropped), the first `limit` of them with their facts, then the streets named
    like the text (when there is one), by name. Rows: kind, id, code or name, source_id, postal, plate (3),
    land use, lon, lat."""
    params: list = []
    kinds = []
    for n, (kind, sql, branch_params) in enumerate(branches):
        kinds.append(f"SELECT {n} AS branch, '{kind}'::text AS kind, t.id, t.rank "  # kind: one of ours, not typed
                     f"FROM unnest(ARRAY({sql})) WITH ORDINALITY AS t(id, rank)")
        params += branch_params
    params.append(limit)
    parcels = f"""
        SELECT h.kind, p.id, p.renewal_code, p.source_id, p.postal_code, p.plate_section, p.plate_main, p.plate_sub,
               u.name_fa, ST_X(pt.pt), ST_Y(pt.pt), h.branch, h.rank
        FROM (SELECT * FROM (SELECT DISTINCT ON (id) * FROM ({" UNION ALL ".join(kinds)}) k
                             ORDER BY id, branch, rank) d
              ORDER BY branch, rank LIMIT %s) h
        JOIN parcels_parcel p ON p.id = h.id
        LEFT JOIN parcels_landuse u ON u.code = p.land_use_id
        CROSS JOIN LATERAL (SELECT ST_Transform(ST_PointOnSurface(p.geom), 4326) AS pt) pt"""
    if streets is not None:
        params += [len(branches), streets, limit]
        parcels += f"""
        UNION ALL
        SELECT 'street', s.id, s.name, NULL, NULL, NULL, NULL, NULL, NULL, ST_X(pt.pt), ST_Y(pt.pt), %s, n
        FROM (SELECT s.id, s.name, s.geom, row_number() OVER (ORDER BY s.name, s.id) AS n FROM parcels_street s
              WHERE {PLAIN_STREET_NAME} ILIKE %s ORDER BY s.name, s.id LIMIT %s) s
        CROSS JOIN LATERAL (SELECT ST_Transform(ST_PointOnSurface(s.geom), 4326) AS pt) pt"""
    return f"SELECT * FROM ({parcels}) r ORDER BY 12, 13", params


# "Starts with": LIKE 'x%' uses the column's pattern_ops index only when the pattern is a constant, which a prepared
# statement's parameter is not (the serving connections plan once, generically); the same rows as a range in the
# pattern operators' (byte) order use it with parameters. The LIKE stays, so that the answer is LIKE's exactly.
_PREFIX = "{column} ~>=~ %s AND {column} ~<~ %s AND {column} LIKE %s"


def _prefix_params(prefix: str) -> list:
    following = prefix[:-1] + chr(ord(prefix[-1]) + 1)  # the first string after every one that starts with prefix
    return [prefix, following, _like_escape(prefix) + "%"]


def _like_contains(text: str) -> str:
    return "%" + _like_escape(text) + "%"


def _like_escape(text: str) -> str:
    """LIKE's wildcards and its escape character taken literally, as the ORM's startswith/icontains do."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
