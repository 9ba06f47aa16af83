"""The admin: citizens, their claims on owner records (staff confirm or reject pending ones with an action) and the
read-only audit log. Owners' names and national IDs follow parcels/privacy.py: only staff with the personal-data
permission see them, and each look is recorded."""

from django.contrib import admin, messages
from django.utils.html import format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import service
from accounts.models import AuditEvent, Citizen, PropertyLink
from parcels.models import Owner
from parcels.privacy import may_see_personal_data, record_access


def _masked_id(value: str) -> str:
    return f"{value[:3]}****{value[-3:]}" if value and len(value) > 6 else (value or "")


class _PrivacyMixin:
    """Keeps the request, so list columns know who is looking."""

    def changelist_view(self, request, extra_context=None):
        self._request = request
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        self._request = request
        return super().change_view(request, object_id, form_url, extra_context)

    def _sees_personal_data(self) -> bool:
        return may_see_personal_data(getattr(self, "_request", None) and self._request.user)


@admin.register(Citizen)
class CitizenAdmin(_PrivacyMixin, admin.ModelAdmin):
    list_display = ("mobile", "shown_national_id", "language", "created_at")
    list_filter = ("language",)
    search_fields = ("mobile",)
    readonly_fields = ("user", "mobile", "shown_national_id", "created_at")
    fields = ("user", "mobile", "shown_national_id", "language", "created_at")

    @admin.display(description=gettext_lazy("national ID"))
    def shown_national_id(self, obj):
        if obj.national_id and self._sees_personal_data():
            return obj.national_id
        return _masked_id(obj.national_id)

    def has_add_permission(self, request):
        return False  # citizens make their own accounts by signing in


@admin.register(PropertyLink)
class PropertyLinkAdmin(_PrivacyMixin, admin.ModelAdmin):
    list_display = ("citizen", "shown_national_id", "status", "method", "created_at", "decided_by", "decided_at")
    list_filter = ("status", "method")
    search_fields = ("citizen__mobile",)
    readonly_fields = ("citizen", "shown_national_id", "status", "method", "decided_by", "decided_at", "created_at",
                       "owner_records")
    fields = readonly_fields
    actions = ["confirm", "reject"]

    @admin.display(description=gettext_lazy("national ID"))
    def shown_national_id(self, obj):
        return obj.national_id if self._sees_personal_data() else _masked_id(obj.national_id)

    @admin.display(description=gettext_lazy("owner records with this national ID"))
    def owner_records(self, obj):
        """Names and mobile numbers of the owner records the claim is on, to decide it (personal data)."""
        owners = list(Owner.objects.filter(national_id=obj.national_id).order_by("id"))
        if not owners:
            return _("none")
        if not self._sees_personal_data():
            return _("%(n)d owner record(s); seeing names needs the personal-data permission.") % {"n": len(owners)}
        for owner in owners:
            record_access(self._request, "propertylink", owner=owner)
        return format_html_join("", "<div>{} — {}</div>", ((o.display_name, o.phone or "—") for o in owners))

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def _decide(self, request, queryset, approve: bool):
        done = {"verified": 0, "rejected": 0, "not_pending": 0, "taken": 0}
        for link_id in queryset.values_list("pk", flat=True):
            done[service.decide_link(link_id, approve, request.user, request=request)] += 1
        if done["verified"] or done["rejected"]:
            self.message_user(request, _("%(verified)d confirmed, %(rejected)d rejected.") % done, messages.SUCCESS)
        if done["not_pending"]:
            self.message_user(request, _("%(not_pending)d were not pending and were left as they were.") % done,
                              messages.WARNING)
        if done["taken"]:
            self.message_user(request, _("%(taken)d not confirmed: that national ID is linked to another citizen "
                                         "already.") % done, messages.ERROR)

    @admin.action(description=gettext_lazy("Confirm the selected pending links"), permissions=["change"])
    def confirm(self, request, queryset):
        self._decide(request, queryset, True)

    @admin.action(description=gettext_lazy("Reject the selected pending links"), permissions=["change"])
    def reject(self, request, queryset):
        self._decide(request, queryset, False)


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("at", "kind", "user", "phone", "address", "detail")
    list_filter = ("kind", ("at", admin.DateFieldListFilter))
    search_fields = ("phone", "user__username", "address")
    date_hierarchy = "at"
    list_select_related = ("user",)

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in AuditEvent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
