"""Raster datasets the system keeps (the demo city's DEM; later hillshades and orthophotos), and the data version
of each published table (for tile caching)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Raster(models.Model):
    class Kind(models.TextChoices):
        DEM = "dem", _("Elevation model")
        HILLSHADE = "hillshade", _("Hillshade")
        ORTHOPHOTO = "orthophoto", _("Orthophoto")

    slug = models.SlugField(unique=True)
    title = models.CharField(max_length=200)
    title_en = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    path = models.CharField(max_length=500, help_text=_("GeoTIFF file on the server."))
    srid = models.IntegerField(null=True, blank=True)
    is_demo = models.BooleanField(default=False)

    def __str__(self):
        return self.title


class TableVersion(models.Model):
    """Bumped by a statement-level trigger on every write to a published table: layer versions (OGC counts, exports,
    TileJSON) follow it; tiles follow `base` and the edit regions (TileRegion, layers/versions.py). Statement-level,
    so a bulk import costs one bump."""

    table_name = models.CharField(max_length=100, unique=True)
    version = models.BigIntegerField(default=0)
    # The version every tile of the table has at least (layers/versions.py): moved up to `version` by writes that are
    # not traced to edit regions (a table without geometry, a TRUNCATE, a statement touching too many regions).
    base = models.BigIntegerField(default=0)
    changed_at = models.DateTimeField(null=True)

    def __str__(self):
        return f"{self.table_name} v{self.version}"


class TileRegion(models.Model):
    """An edit region (a tile at settings.TILE_EDIT_ZOOM) a write touched since the table's base version, and the
    table's version at that write: the tiles over it are the only ones that changed (layers/versions.py). Written by
    the tables' statement triggers, never by Django."""

    table_name = models.CharField(max_length=100)
    x = models.IntegerField()
    y = models.IntegerField()
    version = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["table_name", "x", "y"], name="layers_tileregion_cell")]

    def __str__(self):
        return f"{self.table_name} {self.x}/{self.y} v{self.version}"
