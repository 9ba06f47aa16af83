"""Raster datasets the system keeps (the demo city's DEM; later hillshades and orthophotos)."""

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
