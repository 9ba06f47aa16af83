from django.contrib import admin

from parcels.admin import CadastreAdmin
from zoning.models import Overlay, Zone


@admin.register(Zone)
class ZoneAdmin(CadastreAdmin):
    list_display = ["code", "name", "name_en", "source_id"]
    list_filter = ["code"]
    search_fields = ["code", "name", "source_id"]


@admin.register(Overlay)
class OverlayAdmin(CadastreAdmin):
    list_display = ["kind", "name", "name_en"]
    list_filter = ["kind"]
