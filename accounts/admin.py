"""The admin: citizens, their claims on owner records (staff confirm or reject pending ones with an action) and the
read-only audit log. Owners' names and national IDs follow parcels/privacy.py: only staff with the personal-data
permission see them (others see them masked), and each page showing them is recorded (RecordsPersonalData)."""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User
from django.template.response import TemplateResponse
from django.utils.html import format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import service
from accounts.signin import is_mobile
from accounts.models import ApiToken, AuditEvent, Citizen, PropertyLink
from parcels.models import Owner
from parcels.privacy import RecordsPersonalData, masked, masked_column, owners_named_by, viewer_sees_personal_data


class _PrivacyMixin(RecordsPersonalData):
    """Masks national IDs and mobile numbers for staff without the personal-data permission; for the others each
    page is recorded, with the owner records the shown national IDs and numbers belong to."""

    personal_data_only = False

    def personal_objects(self, objects, kind):
        """A national ID shown is an owner's (a claim's, or a citizen's verified one), and so may a mobile number be:
        the owners they name are recorded with the page (the claim's page also lists their names: owner_records)."""
        mobiles = [getattr(obj, "mobile", None) or getattr(getattr(obj, "citizen", None), "mobile", "")
                   for obj in objects]
        return [*objects, *owners_named_by(phones=mobiles, national_ids=[obj.national_id for obj in objects])]

    def _sees_personal_data(self) -> bool:
        return viewer_sees_personal_data()


@admin.register(Citizen)
class CitizenAdmin(_PrivacyMixin, admin.ModelAdmin):
    personal_pages = ("list", "view", "delete", "action")

    list_display = ("shown_mobile", "shown_national_id", "language", "created_at")
    list_filter = ("language",)
    search_fields = ("=mobile",)
    readonly_fields = ("shown_mobile", "shown_national_id", "created_at")
    fields = ("shown_mobile", "shown_national_id", "language", "created_at")

    shown_mobile = masked_column("mobile", gettext_lazy("mobile number"))

    @admin.display(description=gettext_lazy("national ID"))
    def shown_national_id(self, obj):
        if obj.national_id and self._sees_personal_data():
            return obj.national_id
        return masked(obj.national_id)

    def has_add_permission(self, request):
        return False  # citizens make their own accounts by signing in


@admin.register(PropertyLink)
class PropertyLinkAdmin(_PrivacyMixin, admin.ModelAdmin):
    personal_pages = ("list", "view", "action")

    list_display = ("citizen", "shown_national_id", "status", "method", "created_at", "decided_by", "decided_at")
    list_filter = ("status", "method")
    search_fields = ("citizen__mobile",)
    readonly_fields = ("citizen", "shown_national_id", "status", "method", "decided_by", "decided_at", "created_at",
                       "owner_records")
    fields = readonly_fields
    actions = ["confirm", "reject"]

    @admin.display(description=gettext_lazy("national ID"))
    def shown_national_id(self, obj):
        return obj.national_id if self._sees_personal_data() else masked(obj.national_id)

    @admin.display(description=gettext_lazy("owner records with this national ID"))
    def owner_records(self, obj):
        """Names and mobile numbers of the owner records the claim is on, to decide it (personal data)."""
        owners = list(Owner.objects.filter(national_id=obj.national_id).order_by("id"))
        if not owners:
            return _("none")
        if not self._sees_personal_data():
            return _("%(n)d owner record(s); seeing names needs the personal-data permission.") % {"n": len(owners)}
        # recorded with the page (personal_objects)
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
    """Read-only. Numbers are masked when stored; a citizen's user (named by their mobile number) is masked too."""

    list_display = ("at", "kind", "who", "phone", "address", "detail")
    list_filter = ("kind", ("at", admin.DateFieldListFilter))
    search_fields = ("phone", "user__username", "address")
    date_hierarchy = "at"
    list_select_related = ("user",)

    def get_readonly_fields(self, request, obj=None):
        return [("who" if f.name == "user" else f.name) for f in AuditEvent._meta.fields]

    def get_fields(self, request, obj=None):
        return self.get_readonly_fields(request, obj)

    @admin.display(description=gettext_lazy("user"), ordering="user__username")
    def who(self, obj):
        name = obj.user.username if obj.user_id else ""
        return masked(name) if is_mobile(name) else name

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Personal API tokens (accounts/apitokens.py): made here (by superusers for anyone, by other admins for
    themselves; the token is shown once, on the page that follows), revoked by an action; only the SHA-256 is kept."""

    list_display = ("prefix", "name", "user", "created_at", "last_used_at", "expires_at", "revoked_at", "two_factor")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter), "two_factor")
    search_fields = ("prefix", "name", "user__username")
    list_select_related = ("user",)
    actions = ["revoke"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # a token acts as its user: only superusers make them for others (else an admin could act as a superuser)
        if db_field.name == "user" and not request.user.is_superuser:
            kwargs["queryset"] = db_field.related_model._default_manager.filter(pk=request.user.pk)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["user", "name", "expires_at"]
        return ["user", "name", "prefix", "created_at", "created_by", "last_used_at", "expires_at", "revoked_at",
                "two_factor"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["user", "prefix", "created_at", "created_by", "last_used_at", "revoked_at", "two_factor"]

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        from accounts import apitokens

        # a token made for oneself in a session verified by a TOTP code counts as two-factor verified
        verified = getattr(request.user, "is_verified", None)
        two_factor = obj.user_id == request.user.pk and bool(verified and verified())
        row, token = apitokens.create(obj.user, obj.name, expires_at=obj.expires_at, created_by=request.user,
                                      two_factor=two_factor, request=request)
        obj.pk, obj.prefix, obj.digest, obj.created_at = row.pk, row.prefix, row.digest, row.created_at
        request._new_api_token = token  # noqa: SLF001 (shown once by response_add, kept nowhere)

    def response_add(self, request, obj, post_url_continue=None):
        token = getattr(request, "_new_api_token", None)
        if token is None:
            return super().response_add(request, obj, post_url_continue)
        response = TemplateResponse(request, "accounts/admin_api_token_created.html", {
            **self.admin_site.each_context(request), "opts": self.model._meta, "token": token, "row": obj,
            "title": _("API token created")})
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description=gettext_lazy("Revoke the selected tokens"), permissions=["change"])
    def revoke(self, request, queryset):
        from accounts import apitokens

        done = sum(apitokens.revoke(row, by=request.user, request=request) for row in queryset.select_related("user"))
        self.message_user(request, _("%(count)d tokens revoked.") % {"count": done}, messages.SUCCESS)


admin.site.unregister(User)


@admin.register(User)
class PeopleAwareUserAdmin(RecordsPersonalData, UserAdmin):
    """Django's user admin, with citizens' user names (their mobile numbers) treated as the personal data they are:
    each page that shows one is recorded, with the owner records the number belongs to."""

    personal_data_only = False

    def personal_objects(self, objects, kind):
        citizens = [user for user in objects if is_mobile(user.username)]
        return [*citizens, *owners_named_by(phones=[user.username for user in citizens])] if citizens else []

    def record_shown(self, request, kind, objects):
        if self.personal_objects([obj for obj in objects if obj is not None], kind):  # staff accounts only: none
            super().record_shown(request, kind, objects)
