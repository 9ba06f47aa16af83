"""The admin of council decisions and municipal projects: data kept by staff with its history (django-simple-history)
and a Leaflet map for the place; attachments checked as every upload is (transparency/attachments.py); updates that
tell followers when published; and comments moderated (publish / reject, with the moderate_comment permission). A
change of status made here tells the followers (transparency/service.py), as the loader's does.

Who wrote a comment is not shown here either: moderators judge the words, under the pseudonym the public sees."""

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from leaflet.admin import LeafletGeoAdminMixin
from simple_history.admin import SimpleHistoryAdmin

from common.errors import ApiError
from transparency import attachments, service
from transparency.models import DATE_REQUIRED, Attachment, Comment, Decision, Project, Update


class AttachmentForm(forms.ModelForm):
    class Meta:
        model = Attachment
        fields = ["title", "file"]

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if upload is None or not hasattr(upload, "content_type"):  # unchanged: the stored file
            return upload
        try:
            attachments.fill(self.instance, upload)
        except ApiError as exc:
            raise forms.ValidationError(exc.message) from None
        return self.instance.file


class AttachmentInline(admin.TabularInline):
    model = Attachment
    form = AttachmentForm
    extra = 0
    fields = ["title", "file", "size", "scan"]
    readonly_fields = ["size", "scan"]


class UpdateInline(admin.StackedInline):
    model = Update
    extra = 0
    fields = ["text", "published", "published_at"]
    readonly_fields = ["published_at"]


class TellsFollowers:
    """Saving a changed status or publishing an update tells the followers (in the admin's transaction)."""

    def save_model(self, request, obj, form, change):
        before = type(obj).objects.filter(pk=obj.pk).values_list("status", flat=True).first() if change else None
        super().save_model(request, obj, form, change)
        if before is not None and before != obj.status:
            told = service.status_changed(obj, before)
            if told:
                self.message_user(request, _("%(count)s followers are told of the new status.") % {"count": told})

    def save_formset(self, request, form, formset, change):
        instances = formset.save(commit=False)
        for instance in instances:
            if isinstance(instance, Update) and instance.by_id is None and request.user.is_authenticated:
                instance.by = request.user
            if isinstance(instance, Attachment) and instance.uploaded_by_id is None:
                instance.uploaded_by = request.user
            instance.save()
            if isinstance(instance, Update) and instance.published and instance.published_at is None:
                service.update_published(instance)
        for obj in formset.deleted_objects:
            obj.delete()
        formset.save_m2m()


class DecisionForm(forms.ModelForm):
    class Meta:
        model = Decision
        fields = "__all__"
        error_messages = {"decided_on": {"required": DATE_REQUIRED}}


@admin.register(Decision)
class DecisionAdmin(TellsFollowers, LeafletGeoAdminMixin, SimpleHistoryAdmin):
    form = DecisionForm
    list_display = ["number", "year", "decided_on", "title", "status", "demo"]
    list_filter = ["status", "year", "demo"]
    search_fields = ["number", "title", "title_en", "text", "session"]
    filter_horizontal = ["projects"]
    readonly_fields = ["year"]
    inlines = [AttachmentInline, UpdateInline]
    settings_overrides = {"DEFAULT_ZOOM": 15}


@admin.register(Project)
class ProjectAdmin(TellsFollowers, LeafletGeoAdminMixin, SimpleHistoryAdmin):
    list_display = ["code", "title", "status", "progress", "budget", "spent", "starts_on", "ends_on", "demo"]
    list_filter = ["status", "demo"]
    search_fields = ["code", "title", "title_en", "description", "department"]
    inlines = [AttachmentInline, UpdateInline]
    settings_overrides = {"DEFAULT_ZOOM": 15}


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ["pseudonym", "short_body", "about", "state", "created_at"]
    list_filter = ["state"]
    search_fields = ["body", "pseudonym"]
    fields = ["pseudonym", "body", "decision", "project", "state", "created_at", "moderated_at", "reason"]
    readonly_fields = ["pseudonym", "body", "decision", "project", "state", "created_at", "moderated_at"]
    actions = ["publish", "reject"]

    @admin.display(description=gettext_lazy("comment"))
    def short_body(self, obj):
        return obj.body[:80]

    @admin.display(description=gettext_lazy("on"))
    def about(self, obj):
        return obj.target

    def has_add_permission(self, request):
        return False

    def has_moderate_permission(self, request):
        return service.may_moderate(request.user)

    def _moderate(self, request, queryset, action):
        for comment in queryset:
            service.moderate(comment, action, request.user)
        self.message_user(request, _("%(count)s comments done.") % {"count": queryset.count()}, messages.SUCCESS)

    @admin.action(description=gettext_lazy("Publish the selected comments"), permissions=["moderate"])
    def publish(self, request, queryset):
        self._moderate(request, queryset, "publish")

    @admin.action(description=gettext_lazy("Reject the selected comments"), permissions=["moderate"])
    def reject(self, request, queryset):
        self._moderate(request, queryset, "reject")
