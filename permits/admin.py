"""Admin: desks (with history), case types and their workflow versions (a changed definition is saved as a new
version, checked like a loaded file), engineers, cases (read-mostly: changes go through the service), issued
documents."""

import json

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from parcels.privacy import RecordsPersonalData
from permits import loader
from permits.models import Case, CaseEvent, CaseType, Desk, Document, Engineer, Issued, Workflow


@admin.register(Desk)
class DeskAdmin(SimpleHistoryAdmin):
    list_display = ("code", "name", "name_en", "active")
    filter_horizontal = ("staff",)


class WorkflowForm(forms.ModelForm):
    class Meta:
        model = Workflow
        fields = ("case_type", "definition", "note")

    def clean(self):
        data = super().clean()
        definition = data.get("definition")
        if isinstance(definition, str):
            try:
                definition = json.loads(definition)
            except ValueError as exc:
                raise ValidationError(str(exc)) from None
        from permits.models import Desk as DeskModel
        try:
            self.checked = loader.check_definition(definition or {}, set(DeskModel.objects.values_list("code", flat=True)))
        except loader.PermitTypesError as exc:
            raise ValidationError(str(exc)) from None
        case_type = data.get("case_type")
        if case_type is not None and self.checked.code != case_type.code:
            raise ValidationError(_("The definition's code must be the case type's code."))
        return data


@admin.register(Workflow)
class WorkflowAdmin(admin.ModelAdmin):
    """Adding a version: the definition as JSON (the TOML file's content), checked; versions are never edited."""

    form = WorkflowForm
    list_display = ("case_type", "version", "is_demo", "loaded_at", "loaded_by", "source", "note")
    list_filter = ("case_type",)

    def has_change_permission(self, request, obj=None):
        return False if obj is not None else super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        created = loader.save_version(obj.case_type, form.cleaned_data["definition"], form.checked, source="admin",
                                      by=request.user, note=form.cleaned_data.get("note", ""))
        obj.pk = (created or obj.case_type.current()).pk


@admin.register(CaseType)
class CaseTypeAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "name_en", "order", "active")


class _ShowsPersonalData(RecordsPersonalData):
    """Open to the permit office's admins as before; a page showing a person (an engineer's name, an applicant's
    mobile) records the viewing."""

    personal_data_only = False

    def reveals_personal_data(self, request) -> bool:
        return True


@admin.register(Engineer)
class EngineerAdmin(_ShowsPersonalData, admin.ModelAdmin):
    list_display = ("full_name", "licence_number", "verified_at", "active")
    search_fields = ("licence_number", "full_name")


class EventInline(admin.TabularInline):
    model = CaseEvent
    extra = 0
    can_delete = False
    fields = ("at", "kind", "desk", "from_step", "to_step", "note", "internal")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Case)
class CaseAdmin(_ShowsPersonalData, admin.ModelAdmin):
    personal_pages = ("view", "delete", "history", "version")   # the list shows no mobile
    list_display = ("tracking_code", "case_type", "status", "step", "desk", "submitted_at", "step_due_at")
    list_filter = ("case_type", "status", "desk")
    search_fields = ("tracking_code",)
    readonly_fields = [f.name for f in Case._meta.fields]
    inlines = [EventInline]
    exclude = ()

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Issued)
class IssuedAdmin(admin.ModelAdmin):
    list_display = ("number", "kind", "issued_at", "valid_until", "revoked_at")
    search_fields = ("number", "verification_code")
    readonly_fields = ("case", "parcel", "kind", "number", "verification_code", "issued_at", "valid_until",
                       "approved", "conditions", "document", "sha256")


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ("kind", "name", "version", "content_type", "size", "uploaded_at")
    readonly_fields = [f.name for f in Document._meta.fields]

    def has_add_permission(self, request):
        return False
