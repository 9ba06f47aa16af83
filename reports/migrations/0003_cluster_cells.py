"""Reports counted per fine grid cell, for the cluster tiles at low zoom (reports/clusters.py): a whole city of
reports in one tile is read as a few thousand rows of sums instead of a scan of every report.

reports_cluster_cell holds, per GRID × GRID metre square of the city's CRS (gx = floor(x / GRID), gy likewise, on
the stored coordinates of `public_geom`), category and open/closed, the number of visible reports (merged ones left
out, as in the public view) and the sums of their coordinates (their mean place). A row trigger on reports_report
keeps it exact on every insert, delete and change of status, category or place (in the same transaction and
statement as the change: the layer's data version moves with it); TRUNCATE empties it. Rows whose count fell to 0
stay (a later report in that square reuses them) and are skipped by the reader.

The open statuses are listed here as in the public view (migration 0002): a change to reports.workflow.OPEN needs a
migration of both."""

from django.db import migrations

GRID = 100.0  # metres; reports/clusters.py GRID must be the same

OPEN = "('submitted', 'accepted', 'assigned', 'in_progress')"

SQL = f"""
CREATE TABLE reports_cluster_cell (
    gx integer NOT NULL,
    gy integer NOT NULL,
    category_id bigint NOT NULL,
    open boolean NOT NULL,
    n integer NOT NULL,
    sx double precision NOT NULL,
    sy double precision NOT NULL,
    PRIMARY KEY (gx, gy, category_id, open)
);

INSERT INTO reports_cluster_cell (gx, gy, category_id, open, n, sx, sy)
SELECT floor(ST_X(public_geom) / {GRID})::int, floor(ST_Y(public_geom) / {GRID})::int, category_id,
       status IN {OPEN}, count(*), sum(ST_X(public_geom)), sum(ST_Y(public_geom))
FROM reports_report
WHERE status <> 'merged' AND public_geom IS NOT NULL
GROUP BY 1, 2, 3, 4;

CREATE FUNCTION reports_cluster_cell_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status <> 'merged' AND OLD.public_geom IS NOT NULL THEN
        UPDATE reports_cluster_cell
           SET n = n - 1, sx = sx - ST_X(OLD.public_geom), sy = sy - ST_Y(OLD.public_geom)
         WHERE gx = floor(ST_X(OLD.public_geom) / {GRID})::int AND gy = floor(ST_Y(OLD.public_geom) / {GRID})::int
           AND category_id = OLD.category_id AND open = (OLD.status IN {OPEN});
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.status <> 'merged' AND NEW.public_geom IS NOT NULL THEN
        INSERT INTO reports_cluster_cell AS c (gx, gy, category_id, open, n, sx, sy)
        VALUES (floor(ST_X(NEW.public_geom) / {GRID})::int, floor(ST_Y(NEW.public_geom) / {GRID})::int,
                NEW.category_id, NEW.status IN {OPEN}, 1, ST_X(NEW.public_geom), ST_Y(NEW.public_geom))
        ON CONFLICT (gx, gy, category_id, open)
        DO UPDATE SET n = c.n + 1, sx = c.sx + EXCLUDED.sx, sy = c.sy + EXCLUDED.sy;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER reports_cluster_cell_insert_delete AFTER INSERT OR DELETE ON reports_report
    FOR EACH ROW EXECUTE FUNCTION reports_cluster_cell_count();
-- geometries compared as their text (hex EWKB): a dump's trigger is restored with an empty search_path, where
-- IS DISTINCT FROM on two geometries cannot find PostGIS's = operator (pg_restore fails); casts resolve by type
CREATE TRIGGER reports_cluster_cell_update AFTER UPDATE OF status, category_id, public_geom ON reports_report
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.category_id IS DISTINCT FROM NEW.category_id
                       OR OLD.public_geom::text IS DISTINCT FROM NEW.public_geom::text)
    EXECUTE FUNCTION reports_cluster_cell_count();

CREATE FUNCTION reports_cluster_cell_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE reports_cluster_cell;
    RETURN NULL;
END
$$;
CREATE TRIGGER reports_cluster_cell_truncate AFTER TRUNCATE ON reports_report
    FOR EACH STATEMENT EXECUTE FUNCTION reports_cluster_cell_truncate();
"""

REVERSE = """
DROP TRIGGER IF EXISTS reports_cluster_cell_truncate ON reports_report;
DROP TRIGGER IF EXISTS reports_cluster_cell_update ON reports_report;
DROP TRIGGER IF EXISTS reports_cluster_cell_insert_delete ON reports_report;
DROP FUNCTION IF EXISTS reports_cluster_cell_truncate();
DROP FUNCTION IF EXISTS reports_cluster_cell_count();
DROP TABLE IF EXISTS reports_cluster_cell;
"""


class Migration(migrations.Migration):
    dependencies = [("reports", "0002_public_report_view")]

    operations = [migrations.RunSQL(SQL, REVERSE)]
