"""Data versions of layers and of their tiles: an edit changes the version of the tiles it touches, and only theirs.

Each table a layer reads (its `table` and the tables its SQL joins or queries, `Layer.reads`; a view's base tables)
has a statement-level trigger that bumps the table's row in layers_tableversion on every write (`layers_bump_version`,
layers migrations 0003 and 0007). A layer's version is the sum of the versions of the tables it reads: it grows
whenever any of them is written (cached OGC counts and pages, exports, TileJSON follow it).

Tiles have finer versions. The tables that are a layer's own `table` and have a `geom` column also get three
statement triggers with transition tables (`layers_tile_regions`, migration 0007): the edit regions (tiles at
settings.TILE_EDIT_ZOOM, "zr") the old and new geometries of the statement's rows touch, widened by the tiles' drawing
margin, are upserted into layers_tileregion with the table's new version, in one statement. A write not traced to
regions (a table without geometry, a TRUNCATE, a statement touching more than TILE_EDIT_MAX_REGIONS regions, or a
table listing more than TILE_EDIT_REGIONS_KEPT) moves the table's `base` up to its version and empties its list. The
version of tile z/x/y of a layer is then the sum over the tables it reads of
  - for its own table: the greatest of the base and of the versions of the regions under the tile (z >= zr: the one
    region it lies in; z < zr: every region inside it or within its drawing margin);
  - for every other table it reads (joined owners, a view's base tables): the table's version (any write changes every
    tile: correct, if coarse, for joins whose effect on a tile no geometry of theirs tells).
Every part only grows, and the part of a table an edit touched grows past its previous value: a tile's version
changes whenever its content may have changed, and a tile far from an edit keeps its version (and its caches).
`tile_state` gives the map all it needs to build every tile's versioned URL without asking per tile.

The triggers come from the registry, not from a list kept by hand: after every migrate `install_triggers` gives each
table any registered layer reads the triggers it lacks (with the current settings), so an app that registers a layer
reading a new table needs nothing else. tests/test_layer_versions.py checks, for every layer, that the tables
PostgreSQL's plan of the layer's query reads are all declared, and that each has its trigger.
"""

import logging
import math

from django.conf import settings
from django.db import connections

logger = logging.getLogger(__name__)

# The share of a tile's width drawn around it (layers/tiles.py BUFFER / EXTENT; the trigger function uses the same):
# a feature that close to a tile is in it, so an edit there changes the tile.
DRAWING_MARGIN = 64 / 4096

TRIGGER = """
CREATE TRIGGER "{table}_bump_version" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "{table}"
    FOR EACH STATEMENT EXECUTE FUNCTION layers_bump_version({args})
"""
# One trigger per event: PostgreSQL allows transition tables only on one-event triggers. Their names sort after
# _bump_version, so they fire after it and see the table's new version.
REGION_TRIGGERS = {
    "insert": "AFTER INSERT ON \"{table}\" REFERENCING NEW TABLE AS new_rows",
    "update": "AFTER UPDATE ON \"{table}\" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "delete": "AFTER DELETE ON \"{table}\" REFERENCING OLD TABLE AS old_rows",
}
REGION_TRIGGER = """
CREATE TRIGGER "{table}_tile_regions_{event}" {when}
    FOR EACH STATEMENT EXECUTE FUNCTION layers_tile_regions({args})
"""


def edit_zoom() -> int:
    return settings.TILE_EDIT_ZOOM


def region_args() -> list[str]:
    return [str(settings.TILE_EDIT_ZOOM), str(settings.TILE_EDIT_MAX_REGIONS), str(settings.TILE_EDIT_REGIONS_KEPT)]


def version_sql(layer) -> str:
    """An SQL expression: the layer's data version (0 when none of its tables was ever written)."""
    names = ", ".join(f"'{name}'" for name in layer.sources)  # names checked by registry.register
    return f"(SELECT coalesce(sum(version), 0)::bigint FROM layers_tableversion WHERE table_name IN ({names}))"


def layer_version(layer, using: str = "default") -> int:
    with connections[using].cursor() as cursor:
        cursor.execute(f"SELECT {version_sql(layer)}")
        return cursor.fetchone()[0]


def layer_versions(layers, using: str = "default") -> dict[str, int]:
    """The data version of every given layer, in one query."""
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT table_name, version FROM layers_tableversion")
        by_table = dict(cursor.fetchall())
    return {layer.name: sum(by_table.get(name, 0) for name in layer.sources) for layer in layers}


def regions_under(z: int, x: int, y: int, zr: int | None = None) -> tuple[int, int, int, int]:
    """The edit regions (x0, x1, y0, y1, inclusive) whose edits may change tile z/x/y: the region it lies in from zoom
    zr on; below, every region inside it or within its drawing margin."""
    zr = edit_zoom() if zr is None else zr
    if z >= zr:
        shift = z - zr
        return x >> shift, x >> shift, y >> shift, y >> shift
    shift = zr - z
    margin = math.ceil(2**shift * DRAWING_MARGIN)
    x0, y0 = (x << shift) - margin, (y << shift) - margin
    return x0, ((x + 1) << shift) - 1 + margin, y0, ((y + 1) << shift) - 1 + margin


def tile_version_sql(layer, z: int | None = None) -> str:
    """An SQL expression: the version of one tile of the layer at zoom z (parameters of tile_version_params; z None:
    of what a page over the same regions reads). Of the regional tables only those the tile draws count
    (Layer.regional_tables_at: the overview's at its bands, else the layer's own)."""
    drawn = layer.regional_tables_at(z)
    # names checked by registry.register
    names = ", ".join(f"'{name}'" for name in layer.sources if name not in layer.regional_tables or name in drawn)
    regional = ", ".join(f"'{name}'" for name in drawn)
    return f"""(SELECT coalesce(sum(CASE WHEN tv.table_name IN ({regional}) THEN greatest(tv.base, (
                    SELECT max(r.version) FROM layers_tileregion r WHERE r.table_name = tv.table_name
                       AND r.x BETWEEN %(tv_x0)s AND %(tv_x1)s AND r.y BETWEEN %(tv_y0)s AND %(tv_y1)s))
                  ELSE tv.version END), 0)::bigint
               FROM layers_tableversion tv WHERE tv.table_name IN ({names}))"""


def tile_version_params(z: int, x: int, y: int) -> dict:
    x0, x1, y0, y1 = regions_under(z, x, y)
    return {"tv_x0": x0, "tv_x1": x1, "tv_y0": y0, "tv_y1": y1}


def tile_version(layer, z: int, x: int, y: int, using: str = "default") -> int:
    with connections[using].cursor() as cursor:
        cursor.execute(f"SELECT {tile_version_sql(layer, z)}", tile_version_params(z, x, y))
        return cursor.fetchone()[0]


def tile_state(layers, using: str = "default") -> dict:
    """What a map needs to compute the version of any tile of the given layers (the same sum as tile_version_sql):
    for each layer the sum of the versions of the other tables it reads, its own table and, for a layer with an
    overview, the overview's table and the zooms it is drawn at (its tiles there count that table instead); for each
    such table its base and the regions edited since, as [x, y, version]."""
    layers = list(layers)
    own = sorted({name for layer in layers for name in layer.regional_tables})
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT table_name, version, base FROM layers_tableversion")
        rows = {name: (version, base) for name, version, base in cursor.fetchall()}
        cursor.execute("SELECT table_name, x, y, version FROM layers_tileregion WHERE table_name = ANY(%s) "
                       "ORDER BY table_name, x, y", [own])
        regions: dict[str, list] = {}
        for name, x, y, version in cursor.fetchall():
            regions.setdefault(name, []).append([x, y, version])
    return {
        "zoom": edit_zoom(), "margin": DRAWING_MARGIN,
        "layers": {layer.name: {"tables": list(layer.regional_tables_at(None)),
                                "base": sum(rows.get(name, (0, 0))[0] for name in layer.sources
                                            if name not in layer.regional_tables),
                                **({"overview": {"tables": [layer.overview.table],
                                                 "zooms": [layer.overview.bands[0], layer.overview.bands[-1]]}}
                                   if layer.overview else {})}
                   for layer in layers},
        "tables": {name: {"base": rows.get(name, (0, 0))[1], "regions": regions.get(name, [])} for name in own},
    }


def version_in_state(state: dict, name: str, z: int, x: int, y: int) -> int:
    """The version of tile z/x/y of layer `name` from a tile_state (what tile_versions.js computes in the map)."""
    layer = state["layers"][name]
    x0, x1, y0, y1 = regions_under(z, x, y, state["zoom"])
    version = layer["base"]
    overview = layer.get("overview")
    drawn = overview["tables"] if overview and overview["zooms"][0] <= z <= overview["zooms"][1] else layer["tables"]
    for table in (state["tables"].get(t, {"base": 0, "regions": []}) for t in drawn):
        version += max([table["base"], *(v for rx, ry, v in table["regions"] if x0 <= rx <= x1 and y0 <= ry <= y1)])
    return version


def tables_read(layers) -> list[str]:
    """Every table or view the given layers read, once."""
    return sorted({name for layer in layers for name in layer.sources})


def _wanted_triggers(layers, cursor) -> dict[str, dict[str, list[str]]]:
    """For each base table the layers read: {trigger name: its arguments}. A layer's own table with a `geom` column
    keeps edit regions; every other table (no geometry; joined by another table's layer) bumps its base."""
    cursor.execute(
        """SELECT c.relname, c.relname = ANY(%s) AND EXISTS (
                      SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'geom'
                         AND NOT a.attisdropped AND a.atttypid = 'geometry'::regtype)
           FROM pg_class c WHERE c.relname = ANY(%s) AND c.relkind IN ('r', 'p') AND pg_table_is_visible(c.oid)""",
        [sorted({name for layer in layers for name in layer.regional_tables}), tables_read(layers)])
    wanted = {}
    for table, regions in cursor.fetchall():
        triggers = {f"{table}_bump_version": ["regions"] if regions else []}
        if regions:
            triggers.update({f"{table}_tile_regions_{event}": region_args() for event in REGION_TRIGGERS})
        wanted[table] = triggers
    return wanted


def _present_triggers(tables, cursor) -> dict[str, dict[str, list[str]]]:
    """For each of the tables: {version trigger's name: its arguments}."""
    cursor.execute(
        """SELECT c.relname, g.tgname, g.tgargs FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid
           WHERE c.relname = ANY(%s) AND pg_table_is_visible(c.oid)
             AND (g.tgname LIKE '%%\\_bump\\_version' OR g.tgname LIKE '%%\\_tile\\_regions\\_%%')""", [list(tables)])
    present: dict[str, dict[str, list[str]]] = {}
    for table, name, args in cursor.fetchall():
        present.setdefault(table, {})[name] = [a for a in bytes(args).decode().split("\x00") if a]
    return present


def missing_triggers(layers, using: str = "default") -> list[str]:
    """The base tables the layers read whose version triggers are missing or set up otherwise than wanted (views are
    skipped: their base tables count)."""
    with connections[using].cursor() as cursor:
        wanted = _wanted_triggers(layers, cursor)
        present = _present_triggers(wanted, cursor)
    return sorted(table for table, triggers in wanted.items()
                  if present.get(table, {}) != triggers)


def install_triggers(layers, using: str = "default") -> list[str]:
    """Give every base table the layers read its version triggers, as wanted now; returns the tables done. A table
    whose edit regions were kept with other settings (another TILE_EDIT_ZOOM) starts again from its version. Tables
    not created yet (a partial migrate) and views are left alone."""
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT to_regprocedure('layers_tile_regions()') IS NOT NULL")
        if not cursor.fetchone()[0]:
            return []  # layers' migrations are not applied (yet)
        wanted = _wanted_triggers(layers, cursor)
        present = _present_triggers(wanted, cursor)
        done = []
        for table, triggers in sorted(wanted.items()):
            if present.get(table, {}) == triggers:
                continue
            for name in present.get(table, {}):
                cursor.execute(f'DROP TRIGGER "{name}" ON "{table}"')
            args = ", ".join(f"'{a}'" for a in region_args())
            regions = len(triggers) > 1
            cursor.execute(TRIGGER.format(table=table, args="'regions'" if regions else ""))
            if regions:
                for event, when in REGION_TRIGGERS.items():
                    cursor.execute(REGION_TRIGGER.format(table=table, event=event, when=when.format(table=table),
                                                         args=args))
            cursor.execute("UPDATE layers_tableversion SET base = version WHERE table_name = %s", [table])
            cursor.execute("DELETE FROM layers_tileregion WHERE table_name = %s", [table])
            done.append(table)
    if done:
        logger.info("Layer version triggers set up on %s", ", ".join(done))
    return done


def install_after_migrate(sender, using="default", **kwargs) -> None:
    from layers.registry import LAYERS

    install_triggers(LAYERS.values(), using)
