"""The admin of reports: departments (with their staff), categories and routing rules are data kept here, each change
in their history (django-simple-history); reports and photos are looked at here and moved only through the workflow.

A report's status is never edited as a field: it is read-only, and the actions (accept, mark in progress, close)
call reports.service.change_status, which refuses a move out of order like everywhere else; the staff page
(/reports/staff/<code>/) has every action. The reporter's number is personal data (parcels/privacy.py): masked for
staff without the personal-data permission, and every page that shows it in full is recorded (RecordsPersonalData)."""

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.admin import SimpleHistoryAdmin

from accounts.signin import is_mobile
from common.errors import ApiError
from parcels.privacy import RecordsPersonalData, masked, masked_column, owners_named_by, viewer_sees_personal_data
from reports import public, service, workflow
from reports.models import Category, Department, Event, Photo, Report, Routing


def _shown_user(user) -> str:
    """A user by name; a citizen's user name is their mobile number: masked unless the viewer may see it."""
    if user is None:
        return "—"
    name = user.username
    return masked(name) if is_mobile(name) and not viewer_sees_personal_data() else name


@admin.register(Department)
class DepartmentAdmin(SimpleHistoryAdmin):
    list_display = ["code", "name", "name_en", "active", "staff_count"]
    list_filter = ["active"]
    search_fields = ["code", "name", "name_en"]
    filter_horizontal = ["staff"]

    @admin.display(description=gettext_lazy("staff"))
    def staff_count(self, obj):
        return obj.staff.count()

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "staff":  # only staff accounts (a citizen's user name is their mobile number)
            kwargs["queryset"] = get_user_model().objects.filter(is_staff=True).order_by("username")
        return super().formfield_for_manytomany(db_field, request, **kwargs)


@admin.register(Category)
class CategoryAdmin(SimpleHistoryAdmin):
    list_display = ["code", "name", "name_en", "department", "sla_days", "needs_parcel", "private_place", "order",
                    "active"]
    list_filter = ["department", "active", "needs_parcel", "private_place"]
    search_fields = ["code", "name", "name_en", "group"]


@admin.register(Routing)
class RoutingAdmin(SimpleHistoryAdmin):
    list_display = ["category", "district", "department"]
    list_filter = ["category", "department", "district"]


class EventInline(admin.TabularInline):
    """The report's whole timeline (public steps and staff-only ones, with who did them): read-only."""

    model = Event
    extra = 0
    can_delete = False
    fields = ["at", "kind", "from_status", "to_status", "who", "note", "public"]
    readonly_fields = fields

    @admin.display(description=gettext_lazy("who"))
    def who(self, obj):
        return _shown_user(obj.actor) if obj.actor_id else "—"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Report)
class ReportAdmin(RecordsPersonalData, admin.ModelAdmin):
    """Reports, read-only: status changes only through the workflow (the actions here, the staff page)."""

    personal_data_only = False  # staff without the personal-data permission see numbers masked
    personal_pages = ("list", "view", "action")

    list_display = ["tracking_code", "category", "department", "status", "district", "created_at", "due_at",
                    "shown_phone"]
    list_filter = ["status", "category", "department", "district", "source"]
    search_fields = ["=tracking_code"]
    date_hierarchy = "created_at"
    list_select_related = ["category", "department", "district"]
    inlines = [EventInline]
    actions = ["accept", "mark_in_progress", "close"]
    fields = ["tracking_code", "staff_page", "category", "department", "status", "district", "parcel", "address",
              "description", "shown_phone", "reporter_shown", "source", "language", "created_at", "updated_at",
              "due_at", "accepted_at", "resolved_at", "closed_at", "crew", "assignee_shown", "status_note",
              "merged_into", "voices", "rating", "rating_comment", "reopened"]
    readonly_fields = fields

    shown_phone = masked_column("reporter_phone", gettext_lazy("reporter's mobile number"))

    @admin.display(description=gettext_lazy("reporter"))
    def reporter_shown(self, obj):
        return _shown_user(obj.reporter)

    @admin.display(description=gettext_lazy("assigned to"))
    def assignee_shown(self, obj):
        return _shown_user(obj.assignee)

    @admin.display(description=gettext_lazy("staff page"))
    def staff_page(self, obj):
        return format_html('<a href="{}">{}</a>', reverse("reports:staff_report", args=[obj.tracking_code]),
                           _("Open the report's staff page (every action)"))

    def personal_objects(self, objects, kind):
        return [*objects, *owners_named_by(phones=[obj.reporter_phone for obj in objects])]

    def has_add_permission(self, request):
        return False  # reports come from citizens, Open311 clients and the phone line

    def has_delete_permission(self, request, obj=None):
        return False  # a report's record stays (a duplicate is merged, a wrong one rejected)

    def _move(self, request, queryset, new: str):
        done, refused = 0, []
        for report in queryset.select_related("department"):
            try:
                service.change_status(report, new, by=request.user)
                done += 1
            except ApiError as exc:  # out of order (409) or another department's (403): said, nothing changed
                refused.append(f"{report.tracking_code}: {exc.message}")
        if done:
            self.message_user(request, _("%(n)d report(s) changed.") % {"n": done}, messages.SUCCESS)
        for line in refused:
            self.message_user(request, line, messages.WARNING)

    @admin.action(description=gettext_lazy("Accept the selected reports"), permissions=["change"])
    def accept(self, request, queryset):
        self._move(request, queryset, workflow.ACCEPTED)

    @admin.action(description=gettext_lazy("Mark the selected reports in progress"), permissions=["change"])
    def mark_in_progress(self, request, queryset):
        self._move(request, queryset, workflow.IN_PROGRESS)

    @admin.action(description=gettext_lazy("Close the selected resolved reports"), permissions=["change"])
    def close(self, request, queryset):
        self._move(request, queryset, workflow.CLOSED)


@admin.register(Photo)
class PhotoAdmin(admin.ModelAdmin):
    """Photos and their moderation: a photo is public only once approved (reports.photos.moderate)."""

    list_display = ["thumb", "report", "kind", "moderation", "created_at", "moderated_by", "moderated_at"]
    list_filter = ["moderation", "kind", "state"]
    search_fields = ["=report__tracking_code"]
    list_select_related = ["report", "moderated_by"]
    actions = ["approve", "reject"]
    fields = ["thumb", "report", "kind", "state", "refusal", "moderation", "width", "height", "bytes", "sha256",
              "created_at", "moderated_by", "moderated_at"]
    readonly_fields = fields

    @admin.display(description=gettext_lazy("photo"))
    def thumb(self, obj):
        if obj.state != obj.State.READY:  # nothing of it is served before the job made its clean JPEG
            return obj.get_state_display()
        return format_html('<a href="{}"><img src="{}" alt="" style="max-height:80px"></a>', public.photo_url(obj),
                           public.photo_url(obj, thumb=True))

    def has_add_permission(self, request):
        return False

    def _moderate(self, request, queryset, approve: bool):
        from reports import photos

        if not request.user.has_perm("reports.moderate_photo"):
            self.message_user(request, _("Moderating photos needs the photo moderation permission."), messages.ERROR)
            return
        n = 0
        for photo in queryset.select_related("report"):
            photos.moderate(photo, approve, request.user)
            n += 1
        self.message_user(request, _("%(n)d photo(s) moderated.") % {"n": n}, messages.SUCCESS)

    @admin.action(description=gettext_lazy("Approve the selected photos (they become public)"),
                  permissions=["change"])
    def approve(self, request, queryset):
        self._moderate(request, queryset, True)

    @admin.action(description=gettext_lazy("Reject the selected photos"), permissions=["change"])
    def reject(self, request, queryset):
        self._moderate(request, queryset, False)
