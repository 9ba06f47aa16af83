"""The land-use overview the parcels layer's tiles read at zooms 10-14 (parcels/overview.py): rows in EPSG:3857, the
tile's CRS, one band of rows per zoom, each band with its own spatial index (the tile SQL names its band as a
constant, so the planner uses the band's partial index even in a generic plan). Not a Django model: its geometry is
deliberately not in the municipality's CRS (gis_portal/checks.py lets this one table be), and nothing but SQL
reads it. The stale table lists the blocks and regions single edits touched, for the job that rebuilds them."""

from django.db import migrations

BANDS = (10, 11, 12, 13, 14)

CREATE = """
CREATE TABLE parcels_landuse_overview (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    band smallint NOT NULL,
    block_id bigint,
    region_x integer,
    region_y integer,
    land_use varchar(40),
    parcels integer NOT NULL,
    area double precision NOT NULL,
    geom geometry(MultiPolygon, 3857) NOT NULL
);
CREATE INDEX parcels_landuse_overview_block ON parcels_landuse_overview (band, block_id);
CREATE INDEX parcels_landuse_overview_region ON parcels_landuse_overview (band, region_x, region_y);
""" + "".join(f"CREATE INDEX parcels_landuse_overview_geom_{band} ON parcels_landuse_overview USING gist (geom) "
              f"WHERE band = {band};\n" for band in BANDS) + """
CREATE TABLE parcels_landuse_overview_stale (
    band smallint NOT NULL,
    block_id bigint,
    region_x integer,
    region_y integer,
    UNIQUE NULLS NOT DISTINCT (band, block_id, region_x, region_y)
);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("parcels", "0006_search_indexes"),
    ]

    operations = [
        migrations.RunSQL(CREATE, "DROP TABLE parcels_landuse_overview; DROP TABLE parcels_landuse_overview_stale;"),
    ]
