from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from parcels.admin import CadastreAdmin
from zoning.models import Overlay, Rule, Rulebook, Zone


@admin.register(Zone)
class ZoneAdmin(CadastreAdmin):
    list_display = ["code", "name", "name_en", "source_id"]
    list_filter = ["code"]
    search_fields = ["code", "name", "source_id"]


@admin.register(Overlay)
class OverlayAdmin(CadastreAdmin):
    list_display = ["kind", "name", "name_en"]
    list_filter = ["kind"]


class RuleInline(admin.TabularInline):
    model = Rule
    extra = 0
    fields = ["zone_code", "key", "value", "document", "article", "effective_from"]


@admin.register(Rulebook)
class RulebookAdmin(SimpleHistoryAdmin):
    """Versions of the plan's rules. A municipality loads its approved plan with `manage.py load_rulebook`; the
    admin is for corrections and amendments, each kept in the history."""

    list_display = ["code", "title", "effective_from", "effective_to", "is_demo"]
    search_fields = ["code", "title", "document"]
    inlines = [RuleInline]


@admin.register(Rule)
class RuleAdmin(SimpleHistoryAdmin):
    list_display = ["zone_code", "key", "value", "article", "effective_from", "rulebook"]
    list_filter = ["rulebook", "zone_code", "key"]
    search_fields = ["zone_code", "key", "article", "document"]
