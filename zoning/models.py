"""Planning zones of the detailed plan (طرح تفصیلی) and the overlays drawn on them.

The rulebook (rules per zone code, versioned, with citations) is built on these by the zoning issue; this module
holds the geometry that imports and the demo city load.
"""

from django.contrib.gis.db import models
from django.core.validators import RegexValidator
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from common.fields import MunicipalGeometryField, MunicipalMultiPolygonField
from parcels.models import ImportRun



class Zone(models.Model):
    """A zoning district of the plan, e.g. R121 (residential, medium density), C2, M1, G."""

    code = models.CharField(max_length=40, db_index=True)
    name = models.CharField(max_length=200, blank=True)
    name_en = models.CharField(max_length=200, blank=True)
    # The zone code's colour on the map, in its legend and in exported QGIS styles (`--map colour=FIELD` on import,
    # or edited here); zones of a code without one get a colour of the fallback palette (zoning/layers.py).
    colour = models.CharField(max_length=7, blank=True, validators=[RegexValidator(r"^#[0-9A-Fa-f]{6}$")],
                              help_text=_("#rrggbb; empty: a colour of the fallback palette"))
    source_id = models.CharField(max_length=100, unique=True, null=True, blank=True)
    geom = MunicipalMultiPolygonField()
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
    geom = MunicipalGeometryField()
    import_run = models.ForeignKey(ImportRun, on_delete=models.SET_NULL, null=True, blank=True, editable=False)
    history = HistoricalRecords(excluded_fields=["import_run"])

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(geom__isvalid=True), name="overlay_geom_valid"),
            models.CheckConstraint(condition=Q(geom__isempty=False), name="overlay_geom_not_empty"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.name}"


class Rulebook(models.Model):
    """One approved version of the plan's rules (a detailed plan, or an amendment of it), in force from a date.

    Versions are kept: a past decision is reproduced with the rulebook (and rule amendments) in force on its date.
    Loaded from a file by `manage.py load_rulebook`; editable in the admin with history."""

    code = models.SlugField(max_length=60, unique=True, help_text=_("e.g. darab-detailed-plan-1403"))
    title = models.CharField(max_length=300)
    title_en = models.CharField(max_length=300, blank=True)
    document = models.CharField(max_length=300, help_text=_("the approved document rules cite by default"))
    effective_from = models.DateField()
    effective_to = models.DateField(null=True, blank=True, help_text=_("empty while in force"))
    is_demo = models.BooleanField(default=False, help_text=_("Illustrative rules, marked as such on screen."))
    source = models.CharField(max_length=500, blank=True, help_text=_("the file it was loaded from"))
    loaded_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-effective_from"]
        constraints = [
            models.CheckConstraint(condition=Q(effective_to__isnull=True) | Q(effective_to__gt=models.F("effective_from")),
                                   name="rulebook_dates_ordered"),
        ]

    def __str__(self):
        return f"{self.title} ({self.effective_from})"


class Rule(models.Model):
    """One rule of a zone (or of every zone, zone_code '*'): its value, citation and the date it took effect.

    `key` is one of zoning.rules.RULE_KINDS; `value` is JSON checked by that kind. An amendment inside a rulebook is
    another row with the same zone and key and a later effective_from."""

    rulebook = models.ForeignKey(Rulebook, on_delete=models.CASCADE, related_name="rules")
    zone_code = models.CharField(max_length=40, db_index=True, help_text=_("a zone code, or * for every zone"))
    key = models.CharField(max_length=40)
    value = models.JSONField()
    document = models.CharField(max_length=300)
    article = models.CharField(max_length=200)
    effective_from = models.DateField()
    history = HistoricalRecords()

    class Meta:
        ordering = ["zone_code", "key", "effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["rulebook", "zone_code", "key", "effective_from"], name="rule_unique"),
        ]

    def __str__(self):
        return f"{self.zone_code} {self.key} = {self.value}"

    def clean(self):
        from django.core.exceptions import ValidationError

        from zoning.rules import RuleValueError, check_value

        try:
            check_value(self.key, self.value)
        except RuleValueError as exc:
            # The rule's message template with its values, worded when the form shows it: in the admin user's language.
            # No code "invalid": a model form would show its field's own "invalid" message (Enter a valid JSON) instead.
            raise ValidationError({"value": ValidationError(_(exc.msgid), params=exc.params)}) from None
        if self.rulebook_id and self.effective_from and self.effective_from < self.rulebook.effective_from:
            raise ValidationError({"effective_from": _("before the rulebook takes effect")})


class ParcelOverlay(models.Model):
    """Facts of each parcel derived from geometry, maintained set-based (zoning/overlays.py): its planning zone,
    the road-widening strip (عقب‌نشینی), the hazard and heritage overlays it touches, and its terrain.

    Widening, zone and overlay facts are refreshed after imports and edits (with the frontages); terrain by
    `manage.py compute_terrain` from the DEM."""

    parcel = models.OneToOneField("parcels.Parcel", on_delete=models.CASCADE, primary_key=True,
                                  related_name="overlay")
    zone_code = models.CharField(max_length=40, blank=True, db_index=True,
                                 help_text=_("the zone covering the largest share of the parcel"))
    zone_share = models.FloatField(null=True, blank=True)
    widening_area = models.FloatField(default=0, help_text="m²")
    widening_depth = models.FloatField(default=0, help_text=_("m: how far the planned street reaches into the lot"))
    widening_geom = MunicipalMultiPolygonField(null=True, blank=True)
    in_historic_core = models.BooleanField(default=False)
    in_floodplain = models.BooleanField(default=False)
    fault_distance = models.FloatField(null=True, blank=True, help_text=_("m to the nearest fault line"))
    elevation_mean = models.FloatField(null=True, blank=True)
    elevation_max = models.FloatField(null=True, blank=True)
    slope_mean = models.FloatField(null=True, blank=True, help_text="%")
    slope_max = models.FloatField(null=True, blank=True, help_text="%")

    class Meta:
        indexes = [models.Index(fields=["widening_area"], name="overlay_widening_idx",
                                condition=Q(widening_area__gt=0))]

    def __str__(self):
        return f"overlay of parcel {self.parcel_id}"
