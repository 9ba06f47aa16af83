"""GeoDjango admin for the cadastre: Leaflet map widgets to edit geometry, edit history on every record, and
owners' personal data only for staff allowed to see it, with each view recorded (privacy.RecordsPersonalData: every
admin that shows personal data uses it, which tests/test_privacy_recording.py checks)."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from leaflet.admin import LeafletGeoAdminMixin
from simple_history.admin import SimpleHistoryAdmin

from common.jalali import jalali
from parcels import privacy
from parcels.models import (
    Address, Block, Building, CadastralZone, District, ImportRun, LandUse, Owner, Ownership, Parcel,
    PersonalDataAccess, Street, StructureType,
)


class CadastreAdmin(LeafletGeoAdminMixin, SimpleHistoryAdmin):
    """A map widget for the geometry and a History button with before/after of every change."""

    settings_overrides = {"DEFAULT_ZOOM": 17}


class AddressInline(admin.TabularInline):
    model = Address
    extra = 0
    autocomplete_fields = ["street"]


class OwnershipInline(admin.TabularInline):
    model = Ownership
    extra = 0
    autocomplete_fields = ["owner"]

    def has_view_permission(self, request, obj=None):
        return privacy.may_see_personal_data(request.user) and super().has_view_permission(request, obj)


class BuildingInline(admin.TabularInline):
    model = Building
    extra = 0
    fields = ["floors_above", "floors_below", "structure_type", "year_built", "use", "gross_floor_area", "units"]
    show_change_link = True


@admin.register(Parcel)
class ParcelAdmin(privacy.RecordsPersonalData, CadastreAdmin):
    """Open to every role with the parcel permissions; the change page shows owners (the inline) to staff allowed to
    see them, and is then recorded with the parcel and its owners."""

    personal_data_only = False
    personal_pages = ("view",)
    list_display = ["renewal_code", "plate", "postal_code", "land_use", "deed_area", "measured_area_m2",
                    "area_mismatch_flag", "frontage_length", "widest_street_width", "is_corner"]
    list_filter = ["land_use", "district", "is_corner"]
    search_fields = ["renewal_code", "postal_code", "source_id"]
    readonly_fields = ["measured_area", "frontage_length", "widest_street_width", "is_corner", "import_run"]
    raw_id_fields = ["block"]
    list_select_related = ["land_use"]
    inlines = [AddressInline, BuildingInline, OwnershipInline]
    fieldsets = [
        (None, {"fields": ["renewal_code", "source_id", ("district", "zone", "block")]}),
        (_("Registered plate"), {"fields": [("plate_section", "plate_main", "plate_sub")]}),
        (None, {"fields": ["postal_code", "land_use", ("deed_area", "measured_area")]}),
        (_("Derived from geometry"), {"fields": [("frontage_length", "widest_street_width", "is_corner")]}),
        (None, {"fields": ["geom", "attributes", "import_run"]}),
    ]

    @admin.display(description=_("measured area (m²)"), ordering="measured_area")
    def measured_area_m2(self, obj):
        return None if obj.measured_area is None else round(obj.measured_area, 1)

    @admin.display(description=_("deed ≠ measured"), boolean=True)
    def area_mismatch_flag(self, obj):
        return obj.area_mismatch

    def personal_objects(self, objects, kind):
        return [*objects, *Ownership.objects.filter(parcel__in=objects)]


@admin.register(Street)
class StreetAdmin(CadastreAdmin):
    list_display = ["name", "kind", "existing_width", "planned_width", "source_id"]
    list_filter = ["kind"]
    search_fields = ["name", "name_en", "source_id"]


@admin.register(Building)
class BuildingAdmin(CadastreAdmin):
    list_display = ["__str__", "parcel", "floors_above", "floors_below", "structure_type", "year_built", "use"]
    list_filter = ["structure_type", "use", "floors_above"]
    raw_id_fields = ["parcel"]
    search_fields = ["source_id", "parcel__renewal_code"]


@admin.register(Block)
class BlockAdmin(CadastreAdmin):
    list_display = ["code", "district", "zone", "land_price"]
    list_filter = ["district"]
    search_fields = ["code"]


@admin.register(District)
class DistrictAdmin(CadastreAdmin):
    list_display = ["code", "name", "name_en"]


@admin.register(CadastralZone)
class CadastralZoneAdmin(CadastreAdmin):
    list_display = ["code", "name", "district"]
    list_filter = ["district"]


@admin.register(Owner)
class OwnerAdmin(privacy.RecordsPersonalData, SimpleHistoryAdmin):
    """Personal data: open only with parcels.view_personal_data; every page showing it is recorded."""

    list_display = ["display_name", "kind", "national_id", "phone"]
    list_filter = ["kind"]
    search_fields = ["last_name", "first_name", "legal_name", "national_id"]


@admin.register(Ownership)
class OwnershipAdmin(privacy.RecordsPersonalData, SimpleHistoryAdmin):
    """Shares name their owner: open only with parcels.view_personal_data; every page is recorded with the owners
    and parcels it showed."""

    list_display = ["parcel", "owner", "share_dang"]
    raw_id_fields = ["parcel", "owner"]
    list_select_related = ["parcel", "owner"]


@admin.register(LandUse)
class LandUseAdmin(admin.ModelAdmin):
    list_display = ["code", "name_fa", "name_en", "planning_class", "confidence"]


@admin.register(StructureType)
class StructureTypeAdmin(admin.ModelAdmin):
    list_display = ["code", "name_fa", "name_en"]


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def jalali_column(field: str, description):
    """An admin list column showing a date field in the Jalali calendar, sortable by the field."""

    @admin.display(description=description, ordering=field)
    def column(obj):
        return jalali(getattr(obj, field))

    return column


@admin.register(ImportRun)
class ImportRunAdmin(ReadOnlyAdmin):
    list_display = [jalali_column("started_at", _("started")), "layer", "source", "run_by", "committed", "is_demo"]
    list_filter = ["layer", "committed", "is_demo"]


def _record_link(model, pk):
    """A link to a record by its id only: the access log names whose data was seen without showing it (opening the
    owner's page is itself recorded there)."""
    if pk is None:
        return "—"
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[pk])
    return format_html('<a href="{}">#{}</a>', url, pk)


@admin.register(PersonalDataAccess)
class PersonalDataAccessAdmin(ReadOnlyAdmin):
    """The record of who saw owners' data. It shows owners and parcels by id, never their names."""

    list_display = [jalali_column("at", _("when")), "user", "action", "owner_ref", "parcel_ref", "path"]
    list_filter = ["action"]
    fields = ["at", "user", "action", "owner_ref", "parcel_ref", "subjects", "path"]
    readonly_fields = fields

    @admin.display(description=_("owner"), ordering="owner_id")
    def owner_ref(self, obj):
        return _record_link(Owner, obj.owner_id)

    @admin.display(description=_("parcel"), ordering="parcel_id")
    def parcel_ref(self, obj):
        return _record_link(Parcel, obj.parcel_id)
