"""Per-tile data versions (layers/versions.py): a table's base version, the edit regions written since, and the
trigger functions that keep them. The triggers themselves are added after every migrate by layers/versions.py (from
the registry and settings.TILE_EDIT_ZOOM)."""

from django.db import migrations, models

# A write not traced to regions (a table without geometry, a TRUNCATE) moves the table's base up to its new version:
# every tile of it changes. A table whose trigger says 'regions' leaves its base alone: layers_tile_regions, fired
# after this one (triggers fire by name: _bump_version before _tile_regions_*), records the regions it touched.
BUMP = """
CREATE OR REPLACE FUNCTION layers_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    whole boolean := TG_NARGS = 0 OR TG_OP = 'TRUNCATE';
BEGIN
    INSERT INTO layers_tableversion AS tv (table_name, version, base, changed_at)
    VALUES (TG_TABLE_NAME, 1, CASE WHEN whole THEN 1 ELSE 0 END, now())
    ON CONFLICT (table_name) DO UPDATE SET version = tv.version + 1, changed_at = now(),
        base = CASE WHEN whole THEN tv.version + 1 ELSE tv.base END;
    IF whole AND TG_NARGS > 0 THEN
        DELETE FROM layers_tileregion WHERE table_name = TG_TABLE_NAME;
    END IF;
    RETURN NULL;
END $$;
"""

OLD_BUMP = """
CREATE OR REPLACE FUNCTION layers_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO layers_tableversion (table_name, version, changed_at) VALUES (TG_TABLE_NAME, 1, now())
    ON CONFLICT (table_name) DO UPDATE SET version = layers_tableversion.version + 1, changed_at = now();
    RETURN NULL;
END $$;
"""

# The edit regions (tiles at zoom TG_ARGV[0]) a statement's old and new geometries touch, widened by the tiles'
# drawing margin (layers/tiles.py BUFFER/EXTENT: a feature that close to a tile is drawn in it), get the table's
# version. A statement touching more than TG_ARGV[1] regions (an import) moves the base instead, and so does a table
# keeping more than TG_ARGV[2] regions (the list the map downloads stays short). One statement per trigger call,
# however many rows were written. Transition tables are per event (PostgreSQL allows them only on one-event
# triggers): three triggers call this function.
REGIONS = """
CREATE OR REPLACE FUNCTION layers_tile_regions() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    zr int := TG_ARGV[0]::int;
    most int := TG_ARGV[1]::int;
    keep int := TG_ARGV[2]::int;
    touched text := CASE TG_OP WHEN 'INSERT' THEN 'SELECT geom FROM new_rows'
                               WHEN 'DELETE' THEN 'SELECT geom FROM old_rows'
                               ELSE 'SELECT geom FROM old_rows UNION ALL SELECT geom FROM new_rows' END;
    ranges text;
    current bigint;
    cells bigint;
BEGIN
    SELECT version INTO current FROM layers_tableversion WHERE table_name = TG_TABLE_NAME;
    -- the Web Mercator box of each geometry (its envelope densified, so that the box holds the curved image of the
    -- envelope's edges), widened by the margin at zoom zr, as ranges of region columns and rows
    ranges := format($r$
        SELECT greatest(0, least(n - 1, floor((ST_XMin(b) - pad + half) / size)))::int AS x0,
               greatest(0, least(n - 1, floor((ST_XMax(b) + pad + half) / size)))::int AS x1,
               greatest(0, least(n - 1, floor((half - ST_YMax(b) - pad) / size)))::int AS y0,
               greatest(0, least(n - 1, floor((half - ST_YMin(b) + pad) / size)))::int AS y1
        FROM (SELECT ST_Transform(ST_Segmentize(ST_Envelope(geom), 500), 3857)::box2d AS b
              FROM (%s) touched WHERE geom IS NOT NULL AND NOT ST_IsEmpty(geom) LIMIT %s) boxes,
             (SELECT 2 ^ %s AS n, 20037508.342789244 AS half, 40075016.685578488 / 2 ^ %s AS size,
                     40075016.685578488 / 2 ^ %s * 64 / 4096 AS pad) grid
    $r$, touched, most + 1, zr, zr, zr);
    BEGIN
        EXECUTE format('SELECT coalesce(sum((x1 - x0 + 1)::bigint * (y1 - y0 + 1)), 0) FROM (%s) r', ranges)
            INTO cells;
    EXCEPTION WHEN OTHERS THEN  -- a box PROJ cannot transform (far outside the CRS's area): every tile changes
        cells := most + 1;
    END;
    IF cells <= most THEN
        EXECUTE format($i$
            INSERT INTO layers_tileregion (table_name, x, y, version)
            SELECT DISTINCT $1, x, y, $2::bigint
            FROM (%s) r, generate_series(r.x0, r.x1) x, generate_series(r.y0, r.y1) y
            ON CONFLICT (table_name, x, y) DO UPDATE SET version = excluded.version
        $i$, ranges) USING TG_TABLE_NAME, current;
    END IF;
    IF cells > most OR (SELECT count(*) FROM layers_tileregion WHERE table_name = TG_TABLE_NAME) > keep THEN
        UPDATE layers_tableversion SET base = current WHERE table_name = TG_TABLE_NAME;
        DELETE FROM layers_tileregion WHERE table_name = TG_TABLE_NAME;
    END IF;
    RETURN NULL;
END $$;
"""


class Migration(migrations.Migration):

    dependencies = [
        ('layers', '0006_road_widening_view_uses_the_strip_function'),
    ]

    operations = [
        migrations.AddField(
            model_name='tableversion',
            name='base',
            field=models.BigIntegerField(default=0),
        ),
        migrations.CreateModel(
            name='TileRegion',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('table_name', models.CharField(max_length=100)),
                ('x', models.IntegerField()),
                ('y', models.IntegerField()),
                ('version', models.BigIntegerField()),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('table_name', 'x', 'y'),
                                                       name='layers_tileregion_cell')],
            },
        ),
        # until now every write changed every tile: each table's base is its version
        migrations.RunSQL("UPDATE layers_tableversion SET base = version", migrations.RunSQL.noop),
        migrations.RunSQL(BUMP, OLD_BUMP),
        migrations.RunSQL(REGIONS, "DROP FUNCTION layers_tile_regions()"),
    ]
