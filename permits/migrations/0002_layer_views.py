"""The permits' layers (permits/layers.py) read two views, so that only their listed columns can ever leave:

- permits_open_case_layer: each open case (in progress, returned, awaiting payment) as a point on its parcel, with
  its tracking code, case type, step, desk, due time and whether it is overdue; no applicant, no mobile. Protected
  (staff with permits.view_case).
- permits_issued_layer: each issued permit or certificate not revoked, as its parcel, with its number, kind, issued
  date, validity and the parcel's renewal code; public, no personal data.

Their base tables carry the layers' data-version triggers (layers/versions.py adds them after migrate)."""

from django.db import migrations

OPEN_CASES = """
CREATE VIEW permits_open_case_layer AS
SELECT c.id,
       ST_PointOnSurface(p.geom) AS geom,
       c.tracking_code,
       t.code AS case_type,
       coalesce(nullif(t.name_en, ''), t.name) AS case_type_en,
       t.name AS case_type_fa,
       c.step,
       c.status,
       coalesce(d.code, '') AS desk,
       c.step_due_at AS due_at,
       coalesce(c.step_due_at < now(), false) AS overdue
FROM permits_case c
JOIN parcels_parcel p ON p.id = c.parcel_id
JOIN permits_casetype t ON t.id = c.case_type_id
LEFT JOIN permits_desk d ON d.id = c.desk_id
WHERE c.status IN ('open', 'returned', 'awaiting_payment')
"""

ISSUED = """
CREATE VIEW permits_issued_layer AS
SELECT i.id,
       p.geom,
       i.number,
       i.kind,
       i.issued_at,
       i.valid_until,
       coalesce(p.renewal_code, '') AS renewal_code
FROM permits_issued i
JOIN parcels_parcel p ON p.id = i.parcel_id
WHERE i.revoked_at IS NULL
"""


class Migration(migrations.Migration):

    dependencies = [
        ("permits", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(OPEN_CASES, "DROP VIEW IF EXISTS permits_open_case_layer"),
        migrations.RunSQL(ISSUED, "DROP VIEW IF EXISTS permits_issued_layer"),
    ]
