"""Reports counted per fine grid square and calendar month, for the cluster tiles and the heat map with a period
(reports/clusters.py): the months wholly inside the period are read as sums from reports_cluster_month, and only the
reports of the period's partial months (its first and last days) one by one, so a year of a city's reports is a few
tens of thousands of rows of sums instead of a scan of every report in the tile.

reports_cluster_month holds what reports_cluster_cell (migration 0003) holds, per month too: per GRID × GRID metre
square of the city's CRS, UTC calendar month of `created_at` (its first day: months in UTC, so that the table does not
depend on a session's time zone; the reader splits a period at UTC month starts), category and open/closed, the
number of visible reports and the sums of their coordinates. The same row trigger keeps both tables exact, now also
on a change of `created_at`; TRUNCATE empties both."""

from django.db import migrations

GRID = 100.0  # metres; reports/clusters.py GRID must be the same
OPEN = "('submitted', 'accepted', 'assigned', 'in_progress')"
MONTH = "(date_trunc('month', {0}.created_at AT TIME ZONE 'UTC'))::date"

SQL = f"""
CREATE TABLE reports_cluster_month (
    month date NOT NULL,
    gx integer NOT NULL,
    gy integer NOT NULL,
    category_id bigint NOT NULL,
    open boolean NOT NULL,
    n integer NOT NULL,
    sx double precision NOT NULL,
    sy double precision NOT NULL,
    PRIMARY KEY (month, gx, gy, category_id, open)
);

INSERT INTO reports_cluster_month (month, gx, gy, category_id, open, n, sx, sy)
SELECT {MONTH.format('r')}, floor(ST_X(public_geom) / {GRID})::int, floor(ST_Y(public_geom) / {GRID})::int,
       category_id, status IN {OPEN}, count(*), sum(ST_X(public_geom)), sum(ST_Y(public_geom))
FROM reports_report r
WHERE status <> 'merged' AND public_geom IS NOT NULL
GROUP BY 1, 2, 3, 4, 5;
ANALYZE reports_cluster_month;

CREATE OR REPLACE FUNCTION reports_cluster_cell_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status <> 'merged' AND OLD.public_geom IS NOT NULL THEN
        UPDATE reports_cluster_cell
           SET n = n - 1, sx = sx - ST_X(OLD.public_geom), sy = sy - ST_Y(OLD.public_geom)
         WHERE gx = floor(ST_X(OLD.public_geom) / {GRID})::int AND gy = floor(ST_Y(OLD.public_geom) / {GRID})::int
           AND category_id = OLD.category_id AND open = (OLD.status IN {OPEN});
        UPDATE reports_cluster_month
           SET n = n - 1, sx = sx - ST_X(OLD.public_geom), sy = sy - ST_Y(OLD.public_geom)
         WHERE month = {MONTH.format('OLD')}
           AND gx = floor(ST_X(OLD.public_geom) / {GRID})::int AND gy = floor(ST_Y(OLD.public_geom) / {GRID})::int
           AND category_id = OLD.category_id AND open = (OLD.status IN {OPEN});
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.status <> 'merged' AND NEW.public_geom IS NOT NULL THEN
        INSERT INTO reports_cluster_cell AS c (gx, gy, category_id, open, n, sx, sy)
        VALUES (floor(ST_X(NEW.public_geom) / {GRID})::int, floor(ST_Y(NEW.public_geom) / {GRID})::int,
                NEW.category_id, NEW.status IN {OPEN}, 1, ST_X(NEW.public_geom), ST_Y(NEW.public_geom))
        ON CONFLICT (gx, gy, category_id, open)
        DO UPDATE SET n = c.n + 1, sx = c.sx + EXCLUDED.sx, sy = c.sy + EXCLUDED.sy;
        INSERT INTO reports_cluster_month AS c (month, gx, gy, category_id, open, n, sx, sy)
        VALUES ({MONTH.format('NEW')}, floor(ST_X(NEW.public_geom) / {GRID})::int,
                floor(ST_Y(NEW.public_geom) / {GRID})::int, NEW.category_id, NEW.status IN {OPEN}, 1,
                ST_X(NEW.public_geom), ST_Y(NEW.public_geom))
        ON CONFLICT (month, gx, gy, category_id, open)
        DO UPDATE SET n = c.n + 1, sx = c.sx + EXCLUDED.sx, sy = c.sy + EXCLUDED.sy;
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER reports_cluster_cell_update ON reports_report;
CREATE TRIGGER reports_cluster_cell_update AFTER UPDATE OF status, category_id, public_geom, created_at
    ON reports_report
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.category_id IS DISTINCT FROM NEW.category_id
                       OR OLD.public_geom::text IS DISTINCT FROM NEW.public_geom::text
                       OR OLD.created_at IS DISTINCT FROM NEW.created_at)
    EXECUTE FUNCTION reports_cluster_cell_count();

CREATE OR REPLACE FUNCTION reports_cluster_cell_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE reports_cluster_cell, reports_cluster_month;
    RETURN NULL;
END
$$;
"""

REVERSE = f"""
CREATE OR REPLACE FUNCTION reports_cluster_cell_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE reports_cluster_cell;
    RETURN NULL;
END
$$;
DROP TRIGGER reports_cluster_cell_update ON reports_report;
CREATE TRIGGER reports_cluster_cell_update AFTER UPDATE OF status, category_id, public_geom ON reports_report
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.category_id IS DISTINCT FROM NEW.category_id
                       OR OLD.public_geom::text IS DISTINCT FROM NEW.public_geom::text)
    EXECUTE FUNCTION reports_cluster_cell_count();
CREATE OR REPLACE FUNCTION reports_cluster_cell_count() RETURNS trigger LANGUAGE plpgsql AS $$
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
DROP TABLE IF EXISTS reports_cluster_month;
"""


class Migration(migrations.Migration):
    dependencies = [("reports", "0004_photo_processing")]

    operations = [migrations.RunSQL(SQL, REVERSE)]
