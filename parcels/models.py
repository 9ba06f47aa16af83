"""The cadastre: districts, zones, blocks, parcels, streets, buildings, owners, ownerships, addresses.

All geometry is stored in the municipality's projected CRS (common.fields: the current municipality's), so areas and
lengths are in metres. Facts derived from geometry (frontage, streets fronted, corner) are computed in PostGIS
by parcels/derived.py and kept fresh by parcels/signals.py and by imports.
"""

from decimal import Decimal

from django.conf import settings
from django.contrib.gis.db import models
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db.models import F, Func, Q, Sum, Value
from django.db.models.functions import Replace
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from common.fields import MunicipalLineStringField, MunicipalMultiPolygonField
from parcels import identifiers
from parcels import lookups  # noqa: F401  (registers geom__isempty)

DANG_PER_WHOLE = Decimal(6)  # six dang make a whole property (DOMAIN.md 1)


def _valid_geometry(model_name: str, field: str = "geom") -> list:
    """CHECK constraints: geometry valid and not empty, enforced by PostGIS itself."""
    return [
        models.CheckConstraint(condition=Q(**{f"{field}__isvalid": True}), name=f"{model_name}_{field}_valid"),
        models.CheckConstraint(condition=Q(**{f"{field}__isempty": False}), name=f"{model_name}_{field}_not_empty"),
    ]


# --- Reference data (loaded from data/reference/*.csv) ---------------------------------------------


class LandUse(models.Model):
    """A land-use class (کاربری), e.g. residential (مسکونی). Codes are shared by the cadastre (current use),
    the zoning rulebook (allowed uses) and the dues tariff."""

    code = models.CharField(max_length=40, primary_key=True)
    name_fa = models.CharField(max_length=100)
    name_en = models.CharField(max_length=100)
    planning_class = models.BooleanField(default=True, help_text=_("A class of the approved plan, not only a current use."))
    confidence = models.CharField(max_length=1, default="H")

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return f"{self.name_fa} ({self.code})"


class StructureType(models.Model):
    """Building structure type (نوع سازه): steel, concrete, masonry, … (the tariff book values each)."""

    code = models.CharField(max_length=40, primary_key=True)
    name_fa = models.CharField(max_length=100)
    name_en = models.CharField(max_length=100)

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return f"{self.name_fa} ({self.code})"


class ImportRun(models.Model):
    """One run of an import (or of the demo-city loader): what, from where, by whom, with what result.
    Records written by bulk paths point at the run that last wrote them."""

    layer = models.CharField(max_length=40)
    source = models.CharField(max_length=500)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    run_by = models.CharField(max_length=150, blank=True)
    is_demo = models.BooleanField(default=False, help_text=_("Generated demo data, marked as such on screen."))
    committed = models.BooleanField(default=False)
    report = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self):
        return f"{self.layer} from {self.source} ({self.started_at:%Y-%m-%d %H:%M})"

    @classmethod
    def demo_data_loaded(cls) -> bool:
        return cls.objects.filter(is_demo=True, committed=True).exists()


# --- Administrative divisions ---------------------------------------------------------------------


class District(models.Model):
    """Municipal district (منطقه), the first segment of the renewal code."""

    code = models.CharField(max_length=10, unique=True)
    name = models.CharField(max_length=100)
    name_en = models.CharField(max_length=100, blank=True)
    geom = MunicipalMultiPolygonField()
    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]
        constraints = _valid_geometry("district")

    def __str__(self):
        return self.name


class CadastralZone(models.Model):
    """Zone (حوزه / ناحیه) within a district, the second segment of the renewal code.
    Not to be confused with zoning.Zone, the planning zone of the detailed plan."""

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="zones")
    code = models.CharField(max_length=20, unique=True, help_text=_("district-zone, e.g. 2-3"))
    name = models.CharField(max_length=100)
    name_en = models.CharField(max_length=100, blank=True)
    geom = MunicipalMultiPolygonField()
    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]
        constraints = _valid_geometry("cadastralzone")

    def __str__(self):
        return f"{self.name} ({self.code})"


class Block(models.Model):
    """Block (بلوک): street-bounded land; its code is the first three segments of the renewal code."""

    code = models.CharField(max_length=30, unique=True, help_text=_("district-zone-block, e.g. 2-3-045"))
    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="blocks", null=True, blank=True)
    zone = models.ForeignKey(CadastralZone, on_delete=models.PROTECT, related_name="blocks", null=True, blank=True)
    land_price = models.BigIntegerField(
        null=True, blank=True, validators=[MinValueValidator(0)],
        help_text=_("Regional land price (ارزش منطقه‌ای) in rials per m²."),
    )
    geom = MunicipalMultiPolygonField()
    import_run = models.ForeignKey(ImportRun, on_delete=models.SET_NULL, null=True, blank=True, editable=False)
    history = HistoricalRecords(excluded_fields=["import_run"])

    class Meta:
        ordering = ["code"]
        constraints = _valid_geometry("block") + [
            models.CheckConstraint(condition=Q(land_price__gte=0), name="block_land_price_not_negative"),
        ]

    def __str__(self):
        return self.code


# --- Streets ------------------------------------------------------------------------------------------


class Street(models.Model):
    """A street centerline segment (between intersections) with its existing and planned width.
    The planned width (عرض طرح) drives road widening (عقب‌نشینی) of the parcels that front it."""

    class Kind(models.TextChoices):
        MAIN = "main", _("Main road")
        LOCAL = "local", _("Local street")
        DEAD_END = "dead_end", _("Dead end")

    source_id = models.CharField(max_length=100, unique=True, null=True, blank=True)
    name = models.CharField(max_length=200, blank=True, db_index=True)
    name_en = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.LOCAL)
    existing_width = models.FloatField(validators=[MinValueValidator(1), MaxValueValidator(200)], help_text="m")
    planned_width = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(200)], help_text="m"
    )
    geom = MunicipalLineStringField()
    attributes = models.JSONField(default=dict, blank=True)
    import_run = models.ForeignKey(ImportRun, on_delete=models.SET_NULL, null=True, blank=True, editable=False)
    history = HistoricalRecords(excluded_fields=["import_run"])

    class Meta:
        constraints = _valid_geometry("street") + [
            models.CheckConstraint(
                condition=Q(existing_width__gte=1, existing_width__lte=200), name="street_existing_width_range"
            ),
            models.CheckConstraint(
                condition=Q(planned_width__isnull=True) | Q(planned_width__gte=1, planned_width__lte=200),
                name="street_planned_width_range",
            ),
        ]
        # The search finds streets by any part of their name, half-spaces counting as spaces (ILIKE '%…%' on this
        # expression, parcels/search.py): a trigram index on the same expression (pg_trgm, migration 0006).
        indexes = [
            GinIndex(OpClass(Replace(F("name"), Value("\u200c"), Value(" ")), name="gin_trgm_ops"),
                     name="street_name_plain_trgm"),
        ]

    def __str__(self):
        return self.name or f"street {self.pk}"

    @property
    def widening(self) -> float:
        """Metres the plan adds to the existing width (0 when no widening is planned)."""
        if self.planned_width is None:
            return 0.0
        return max(0.0, self.planned_width - self.existing_width)


# --- Parcels ------------------------------------------------------------------------------------------


class ParcelQuerySet(models.QuerySet):
    def with_area_mismatch(self):
        """Annotate `area_mismatch`: measured area differs from the deed area by more than the tolerance."""
        tol = settings.AREA_MISMATCH_TOLERANCE
        return self.annotate(
            area_mismatch=models.ExpressionWrapper(
                Q(deed_area__isnull=False)
                & Q(deed_area__gt=0)
                & (
                    Q(measured_area__gt=F("deed_area") * (1 + tol))
                    | Q(measured_area__lt=F("deed_area") * (1 - tol))
                ),
                output_field=models.BooleanField(),
            )
        )


class Parcel(models.Model):
    """A parcel (قطعه / ملک): the unit the municipality codes, taxes and permits."""

    renewal_code = models.CharField(
        _("renewal code"), max_length=40, null=True, blank=True,
        validators=[identifiers.validate_renewal_code],
        help_text=_("کد نوسازی: district-zone-block-property-building-apartment-business"),
    )
    source_id = models.CharField(
        max_length=100, null=True, blank=True, help_text=_("The parcel's id in the file it was imported from."),
    )
    district = models.ForeignKey(District, on_delete=models.PROTECT, null=True, blank=True, related_name="parcels")
    zone = models.ForeignKey(CadastralZone, on_delete=models.PROTECT, null=True, blank=True, related_name="parcels")
    block = models.ForeignKey(Block, on_delete=models.PROTECT, null=True, blank=True, related_name="parcels")
    # Registered plate (پلاک ثبتی): sources disagree on which side of the slash is main, so three fields.
    plate_section = models.PositiveSmallIntegerField(_("registry section"), null=True, blank=True)
    plate_main = models.PositiveIntegerField(_("main plate"), null=True, blank=True)
    plate_sub = models.PositiveIntegerField(_("sub plate"), null=True, blank=True)
    postal_code = models.CharField(
        _("postal code"), max_length=10, null=True, blank=True,
        validators=[identifiers.validate_postal_code],
    )
    deed_area = models.DecimalField(
        _("deed area"), max_digits=12, decimal_places=2, null=True, blank=True,
        validators=[MinValueValidator(Decimal("0.01"))], help_text="m²",
    )
    measured_area = models.GeneratedField(
        expression=Func(F("geom"), function="ST_Area", output_field=models.FloatField()),
        output_field=models.FloatField(),
        db_persist=True,
        verbose_name=_("measured area"),
    )
    # No index: about twenty values, and queries by land use are city-wide scans anyway (zoning issue);
    # it would cost a second per million parcels on every first load.
    land_use = models.ForeignKey(
        LandUse, on_delete=models.PROTECT, null=True, blank=True, related_name="parcels", db_index=False
    )
    geom = MunicipalMultiPolygonField()
    attributes = models.JSONField(
        default=dict, blank=True, help_text=_("Fields of the source file with no column of their own.")
    )
    # Derived from geometry in PostGIS (parcels/derived.py).
    frontage_length = models.FloatField(null=True, blank=True, editable=False, help_text="m")
    widest_street_width = models.FloatField(null=True, blank=True, editable=False, help_text="m")
    is_corner = models.BooleanField(default=False, editable=False)
    fronted_streets = models.ManyToManyField(Street, through="Frontage", related_name="fronting_parcels")
    import_run = models.ForeignKey(
        ImportRun, on_delete=models.SET_NULL, null=True, blank=True, editable=False, db_index=False
    )

    history = HistoricalRecords(
        excluded_fields=["measured_area", "frontage_length", "widest_street_width", "is_corner", "import_run"]
    )
    objects = ParcelQuerySet.as_manager()

    class Meta:
        constraints = _valid_geometry("parcel") + [
            models.CheckConstraint(condition=Q(deed_area__gt=0), name="parcel_deed_area_positive"),
            models.UniqueConstraint(
                fields=["plate_section", "plate_main", "plate_sub"], name="parcel_registered_plate_unique"
            ),
            # One index per column: varchar_pattern_ops serves both = and the prefix LIKE of type-ahead search,
            # where Django would build a plain and a pattern-ops index. source_id is only ever matched exactly.
            models.UniqueConstraint(
                fields=["renewal_code"], opclasses=["varchar_pattern_ops"], name="parcel_renewal_code_unique"
            ),
            models.UniqueConstraint(fields=["source_id"], name="parcel_source_id_unique"),
        ]
        indexes = [
            models.Index(fields=["postal_code"], opclasses=["varchar_pattern_ops"], name="parcel_postal_code_idx"),
            # A plate typed as two numbers is "section/main" or "main/sub" (parcels/search.py): the second reading
            # needs its own index, the plate's unique index serving only the first.
            models.Index(fields=["plate_main", "plate_sub"], name="parcel_plate_main_sub_idx"),
        ]

    def __str__(self):
        return self.renewal_code or self.source_id or f"parcel {self.pk}"

    @property
    def plate(self) -> str:
        """The registered plate as usually written: section / main / sub."""
        parts = [self.plate_section, self.plate_main, self.plate_sub]
        return " / ".join("" if p is None else str(p) for p in parts) if any(p is not None for p in parts) else ""

    @property
    def area_mismatch(self) -> bool:
        if self.deed_area in (None, 0) or self.measured_area is None:
            return False
        ratio = self.measured_area / float(self.deed_area)
        return abs(ratio - 1) > settings.AREA_MISMATCH_TOLERANCE

    def clean_fields(self, exclude=None):
        # Normalise what people type (Persian digits, separators) before the validators see it.
        if self.renewal_code:
            try:
                self.renewal_code = identifiers.normalize_renewal_code(self.renewal_code)
            except ValidationError:
                pass  # the field validator reports it
        if self.postal_code:
            self.postal_code = identifiers.normalize_postal_code(self.postal_code)
        super().clean_fields(exclude)

    def clean(self):
        if self.geom is not None and not self.geom.valid:
            raise ValidationError({"geom": _("The parcel's geometry is invalid: %(reason)s") % {"reason": self.geom.valid_reason}})
        if self.geom is not None and self.geom.empty:
            raise ValidationError({"geom": _("The parcel's geometry is empty.")})


class Frontage(models.Model):
    """A street a parcel fronts, with the length of boundary along it (derived; parcels/derived.py)."""

    parcel = models.ForeignKey(Parcel, on_delete=models.CASCADE, related_name="frontages")
    street = models.ForeignKey(Street, on_delete=models.CASCADE, related_name="frontages")
    length = models.FloatField(help_text="m")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["parcel", "street"], name="frontage_unique")]


# --- Buildings ----------------------------------------------------------------------------------------


class Building(models.Model):
    """A building footprint on a parcel, with what the dues and eligibility engines need to know."""

    source_id = models.CharField(max_length=100, unique=True, null=True, blank=True)
    parcel = models.ForeignKey(Parcel, on_delete=models.CASCADE, null=True, blank=True, related_name="buildings")
    geom = MunicipalMultiPolygonField()
    floors_above = models.PositiveSmallIntegerField(default=1, validators=[MaxValueValidator(100)])
    floors_below = models.PositiveSmallIntegerField(default=0, validators=[MaxValueValidator(10)])
    structure_type = models.ForeignKey(StructureType, on_delete=models.PROTECT, null=True, blank=True)
    year_built = models.PositiveSmallIntegerField(
        _("year built (Jalali)"), null=True, blank=True, validators=[MinValueValidator(1200), MaxValueValidator(1500)]
    )
    use = models.ForeignKey(LandUse, on_delete=models.PROTECT, null=True, blank=True, related_name="buildings")
    gross_floor_area = models.FloatField(null=True, blank=True, validators=[MinValueValidator(0)], help_text="m²")
    units = models.PositiveIntegerField(null=True, blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    import_run = models.ForeignKey(ImportRun, on_delete=models.SET_NULL, null=True, blank=True, editable=False)
    history = HistoricalRecords(excluded_fields=["import_run"])

    class Meta:
        constraints = _valid_geometry("building") + [
            models.CheckConstraint(condition=Q(floors_above__lte=100), name="building_floors_above_range"),
            models.CheckConstraint(condition=Q(floors_below__lte=10), name="building_floors_below_range"),
            models.CheckConstraint(condition=Q(year_built__gte=1200, year_built__lte=1500), name="building_year_built_jalali"),
            models.CheckConstraint(condition=Q(gross_floor_area__gte=0), name="building_gross_floor_area_not_negative"),
        ]

    def __str__(self):
        return f"building {self.source_id or self.pk}"


# --- Owners and ownership (personal data) --------------------------------------------------------------


class Owner(models.Model):
    """An owner: a person (national ID, کد ملی) or a legal entity (شناسه ملی). Personal data: never shown to
    anonymous users; staff access is recorded (parcels.privacy)."""

    class Kind(models.TextChoices):
        PERSON = "person", _("Person")
        LEGAL = "legal", _("Legal entity")

    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.PERSON)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    legal_name = models.CharField(max_length=300, blank=True)
    national_id = models.CharField(max_length=11, unique=True, null=True, blank=True)
    phone = models.CharField(max_length=11, blank=True, validators=[identifiers.validate_phone])
    source_id = models.CharField(max_length=100, unique=True, null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        permissions = [("view_personal_data", "Can view owners' names, national IDs and phones")]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=["person", "legal"]), name="owner_kind_valid"),
        ]

    def __str__(self):
        return self.display_name

    @property
    def display_name(self) -> str:
        if self.kind == self.Kind.LEGAL:
            return self.legal_name
        return f"{self.first_name} {self.last_name}".strip()

    def clean_fields(self, exclude=None):
        if self.phone:
            self.phone = identifiers.normalize_phone(self.phone)
        if self.national_id:
            self.national_id = identifiers.to_ascii_digits(self.national_id).strip()
        super().clean_fields(exclude)

    def clean(self):
        if self.national_id:
            validator = (
                identifiers.validate_legal_entity_id if self.kind == self.Kind.LEGAL else identifiers.validate_national_id
            )
            try:
                validator(self.national_id)
            except ValidationError as exc:
                raise ValidationError({"national_id": exc.messages}) from None
        if self.kind == self.Kind.PERSON and not self.last_name:
            raise ValidationError({"last_name": _("A person needs a last name.")})
        if self.kind == self.Kind.LEGAL and not self.legal_name:
            raise ValidationError({"legal_name": _("A legal entity needs its registered name.")})


class Ownership(models.Model):
    """A share of a parcel in dang (دانگ); six dang make the whole. The shares of one parcel may not exceed six:
    checked in clean() for forms and by a deferred constraint trigger in the database for every write path."""

    parcel = models.ForeignKey(Parcel, on_delete=models.CASCADE, related_name="ownerships")
    owner = models.ForeignKey(Owner, on_delete=models.PROTECT, related_name="ownerships")
    share_dang = models.DecimalField(
        _("share (dang)"), max_digits=7, decimal_places=4,
        validators=[MinValueValidator(Decimal("0.0001")), MaxValueValidator(DANG_PER_WHOLE)],
    )
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["parcel", "owner"], name="ownership_unique"),
            models.CheckConstraint(condition=Q(share_dang__gt=0, share_dang__lte=6), name="ownership_share_range"),
        ]

    def __str__(self):
        return f"{self.share_dang} dang of {self.parcel}"

    def clean(self):
        if self.parcel_id is None or self.share_dang is None:
            return
        others = (
            Ownership.objects.filter(parcel_id=self.parcel_id).exclude(pk=self.pk).aggregate(total=Sum("share_dang"))["total"]
            or Decimal(0)
        )
        if others + self.share_dang > DANG_PER_WHOLE:
            raise ValidationError(
                {"share_dang": _("Shares of this parcel would total %(total)s dang; at most 6 dang make the whole.")
                 % {"total": others + self.share_dang}}
            )


class Address(models.Model):
    """A postal address of a parcel: the street and the plaque (پلاک شهری) on it."""

    parcel = models.ForeignKey(Parcel, on_delete=models.CASCADE, related_name="addresses")
    street = models.ForeignKey(Street, on_delete=models.SET_NULL, null=True, blank=True, related_name="addresses")
    plaque = models.CharField(_("plaque"), max_length=20, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "addresses"
        # the search's "street name + plaque": the few addresses with that plaque, then their streets by name
        indexes = [models.Index(fields=["plaque", "street"], name="address_plaque_street_idx")]

    def __str__(self):
        return f"{self.street or ''} {self.plaque}".strip()


class PersonalDataAccess(models.Model):
    """A record of staff looking at owners' personal data (who, when, what, where)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    action = models.CharField(max_length=30)
    owner = models.ForeignKey(Owner, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    parcel = models.ForeignKey(Parcel, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    path = models.CharField(max_length=500, blank=True)
    # Every record whose personal data the access showed, by model: {"parcels.owner": [ids], "parcels.parcel": [...]}
    # (owner and parcel above name the one owner / parcel when there is only one).
    subjects = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at"]
        verbose_name_plural = "personal data accesses"
