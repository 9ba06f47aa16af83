"""The public map's view of reports (reports/layers.py publishes it as the layer "reports": vector tiles, OGC API
Features, exports): only what anyone may see. The place is `public_geom` (a report about a home: its block); no
reporter, no phone number, no description at all (a home's description could name it); merged reports (duplicates
of another one) are left out. Its base tables, reports_report and reports_category, carry the layers' data-version
triggers (layers/versions.py adds them after migrate), so the layer's tiles and ETags follow both."""

from django.db import migrations

VIEW = """
CREATE VIEW reports_public_report AS
SELECT r.id,
       r.public_geom AS geom,
       r.tracking_code AS code,
       c.code AS category,
       c.name AS category_name,
       coalesce(nullif(c.name_en, ''), c.name) AS category_name_en,
       c.colour,
       c.private_place AS approximate,
       r.status,
       r.status IN ('submitted', 'accepted', 'assigned', 'in_progress') AS open,
       r.created_at,
       r.resolved_at,
       round((extract(epoch FROM r.resolved_at - r.created_at) / 86400)::numeric, 1)::float8 AS days_to_fix,
       r.voices
FROM reports_report r
JOIN reports_category c ON c.id = r.category_id
WHERE r.status <> 'merged'
"""


class Migration(migrations.Migration):

    dependencies = [
        ("reports", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(VIEW, "DROP VIEW IF EXISTS reports_public_report"),
    ]
