"""Data versions of layers: a layer's version follows every table it reads.

Each table a layer reads (its `table` and the tables its SQL joins or queries, `Layer.reads`; a view's base tables)
has a statement-level trigger that bumps the table's row in layers_tableversion on every write (`layers_bump_version`,
layers migration 0003). A layer's version is the sum of the versions of the tables it reads: it grows whenever any of
them is written, so tile URLs (?v=), ETags, the tile cache and cached OGC counts follow every one of them (the owners
of `parcel_owners`, the streets and frontages of `road_widening`), not only the layer's main table.

The triggers come from the registry, not from a list kept by hand: after every migrate `install_triggers` gives each
table any registered layer reads the trigger it lacks, so an app that registers a layer reading a new table needs
nothing else. tests/test_layer_versions.py checks, for every layer, that the tables PostgreSQL's plan of the layer's
query reads are all declared, and that each has its trigger.
"""

import logging

from django.db import connections

logger = logging.getLogger(__name__)

TRIGGER = """
CREATE TRIGGER "{table}_bump_version" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "{table}"
    FOR EACH STATEMENT EXECUTE FUNCTION layers_bump_version()
"""


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


def tables_read(layers) -> list[str]:
    """Every table or view the given layers read, once."""
    return sorted({name for layer in layers for name in layer.sources})


def missing_triggers(layers, using: str = "default") -> list[str]:
    """The base tables the layers read that have no version trigger (views are skipped: their base tables count)."""
    with connections[using].cursor() as cursor:
        cursor.execute(
            """SELECT c.relname FROM pg_class c
               WHERE c.relname = ANY(%s) AND c.relkind IN ('r', 'p') AND pg_table_is_visible(c.oid)
                 AND NOT EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgrelid = c.oid
                                 AND g.tgname = c.relname || '_bump_version')
               ORDER BY c.relname""", [tables_read(layers)])
        return [row[0] for row in cursor.fetchall()]


def install_triggers(layers, using: str = "default") -> list[str]:
    """Give every base table the layers read its version trigger, if it has none yet; returns the tables done.
    Tables not created yet (a partial migrate) and views are left alone."""
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT to_regprocedure('layers_bump_version()') IS NOT NULL")
        if not cursor.fetchone()[0]:
            return []  # layers' migrations are not applied (yet)
    done = missing_triggers(layers, using)
    with connections[using].cursor() as cursor:
        for table in done:
            cursor.execute(TRIGGER.format(table=table))
    if done:
        logger.info("Layer version triggers added on %s", ", ".join(done))
    return done


def install_after_migrate(sender, using="default", **kwargs) -> None:
    from layers.registry import LAYERS

    install_triggers(LAYERS.values(), using)
