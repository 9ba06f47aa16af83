"""Planning zones of the detailed plan (طرح تفصیلی) and the overlays drawn on them.

The rulebook (rules per zone code, versioned, with citations) is built on these by the zoning issue; this module
holds the geometry that imports and the demo city load.
"""

from django.conf import settings
from django.contrib.gis.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from parcels.models import ImportRun

SRID = settings.MUNICIPALITY_SRID


class Zone(models.Model):
    """A zoning district of the plan, e.g. R121 (residential, medium density), C2, M1, G."""

    code = models.CharField(max_length=40, db_index=True)
    name = models.CharField(max_length=200, blank=True)
    name_en = models.CharField(max_length=200, blank=True)
    source_id = models.CharField(max_length=100, unique=True, null=True, blank=True)
    geom = models.MultiPolygonField(srid=SRID)
    attributes = models.JSONField(default=dict, blank=True)
    import_run = models.ForeignKey(ImportRun, on_delete=models.SET_NULL, null=True, blank=True, editable=False)
    history = HistoricalRecords(excluded_fields=["import_run"])

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(geom__isvalid=True), name="zone_geom_valid"),
            models.CheckConstraint(condition=Q(geom__isempty=False), name="zone_geom_not_empty"),
        ]

    def __str__(self):
        return f"{self.code} {self.name}".strip()


class Overlay(models.Model):
    """An overlay the rules look at: historic core, river and floodplain, fault line, … (any geometry type)."""

    class Kind(models.TextChoices):
        HISTORIC_CORE = "historic_core", _("Historic core")
        RIVER = "river", _("River")
        FLOODPLAIN = "floodplain", _("Floodplain")
        FAULT_LINE = "fault_line", _("Fault line")
        OTHER = "other", _("Other")

    kind = models.CharField(max_length=30, choices=Kind.choices, db_index=True)
    source_id = models.CharField(max_length=100, unique=True, null=True, blank=True)
    name = models.CharField(max_length=200, blank=True)
    name_en = models.CharField(max_length=200, blank=True)
    geom = models.GeometryField(srid=SRID)
    import_run = models.ForeignKey(ImportRun, on_delete=models.SET_NULL, null=True, blank=True, editable=False)
    history = HistoricalRecords(excluded_fields=["import_run"])

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(geom__isvalid=True), name="overlay_geom_valid"),
            models.CheckConstraint(condition=Q(geom__isempty=False), name="overlay_geom_not_empty"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.name}"
