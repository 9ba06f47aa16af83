"""Staff pages: templates (with a preview in both languages), the outbox with a retry action, campaigns with their
report, preferences, and the local SMS backend's outbox."""

from django import forms
from django.contrib import admin, messages
from django.template import TemplateSyntaxError
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from notices import events, rendering, service
from notices.models import Batch, LocalSms, Message, Preference, Template
from notices.sms import parts
from parcels.privacy import RecordsPersonalData, owners_named_by


class _ShowsPhones(RecordsPersonalData):
    """An admin listing people's phone numbers: open only to staff with the personal-data permission, and every page
    showing numbers is recorded, with the owner records they belong to."""

    def personal_objects(self, objects, kind):
        return [*objects, *owners_named_by(phones=[obj.phone for obj in objects])]


class TemplateForm(forms.ModelForm):
    class Meta:
        model = Template
        fields = ["event", "channel", "language", "subject", "body"]

    def clean_body(self):
        body = self.cleaned_data["body"]
        try:
            rendering.check_syntax(body)
        except TemplateSyntaxError as exc:
            raise forms.ValidationError(_("The template does not compile: %(error)s") % {"error": exc}) from exc
        return body

    def clean_subject(self):
        subject = self.cleaned_data["subject"]
        try:
            rendering.check_syntax(subject)
        except TemplateSyntaxError as exc:
            raise forms.ValidationError(_("The template does not compile: %(error)s") % {"error": exc}) from exc
        return subject


@admin.register(Template)
class TemplateAdmin(admin.ModelAdmin):
    form = TemplateForm
    list_display = ["event", "channel", "language", "short_body", "updated_at", "updated_by"]
    list_filter = ["channel", "language", "event"]
    search_fields = ["event", "body", "subject"]
    readonly_fields = ["preview", "updated_at", "updated_by"]
    fields = ["event", "channel", "language", "subject", "body", "preview", "updated_at", "updated_by"]

    @admin.display(description=gettext_lazy("text"))
    def short_body(self, obj):
        return obj.body[:60]

    @admin.display(description=gettext_lazy("preview (the event's sample values)"))
    def preview(self, obj):
        """The saved template and its sibling in the other language, rendered with the event's sample context."""
        if obj is None or not obj.pk:
            return _("Save to see a preview.")
        try:
            sample = events.get(obj.event).sample_context
        except LookupError:
            return _("No event %(event)s is registered: no sample values.") % {"event": obj.event}
        rows = []
        for template in Template.objects.filter(event=obj.event, channel=obj.channel).order_by("language"):
            try:
                subject = rendering.render_text(template.subject, sample, template.language) if template.subject \
                    else ""
                body = rendering.render_text(template.body, sample, template.language)
                size = (_("%(chars)s characters, %(parts)s SMS parts") % {"chars": len(body), "parts": parts(body)}
                        if template.channel == "sms" else "")
            except Exception as exc:  # a broken template shows its error, not a server error
                subject, body, size = "", _("Error: %(error)s") % {"error": exc}, ""
            rows.append((template.get_language_display(), "rtl" if template.language == "fa" else "ltr",
                         subject, body, size))
        return format_html_join(
            "", '<div style="margin-bottom:1em"><strong>{}</strong> <small>{}</small>'
                '<div dir="{}" style="white-space:pre-wrap;border:1px solid #ccc;padding:.4em">{}{}</div></div>',
            ((lang, size, direction, format_html("<strong>{}</strong>\n", subject) if subject else "", body)
             for lang, direction, subject, body, size in rows),
        )

    def save_model(self, request, obj, form, change):
        obj.updated_by = request.user  # load_notice_templates keeps staff edits
        super().save_model(request, obj, form, change)


@admin.register(Message)
class MessageAdmin(_ShowsPhones, admin.ModelAdmin):
    list_display = ["id", "created_at", "event", "channel", "phone", "email", "status", "attempts", "not_before",
                    "provider", "error_kind"]
    list_filter = ["status", "channel", "kind", "event", "error_kind", "provider"]
    search_fields = ["=phone", "=email", "=idempotency_key", "=provider_id"]
    date_hierarchy = "created_at"
    actions = ["retry_messages"]
    list_select_related = ["batch"]

    def get_search_results(self, request, queryset, search_term):
        # numbers as people type them: Persian digits, +98, spaces
        if search_term:
            from parcels.identifiers import normalize_phone
            normal = normalize_phone(search_term)
            if normal.isdigit():
                search_term = normal
        return super().get_search_results(request, queryset, search_term)

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Message._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_retry_permission(self, request):
        return request.user.has_perm("notices.retry_message")

    @admin.action(description=gettext_lazy("Retry the failed and dead ones"), permissions=["retry"])
    def retry_messages(self, request, queryset):
        done = service.retry(queryset.filter(status__in=["failed", "dead"]).values_list("id", flat=True))
        self.message_user(request, _("%(count)s notices queued again.") % {"count": len(done)}, messages.SUCCESS)


@admin.register(Batch)
class BatchAdmin(admin.ModelAdmin):
    list_display = ["name", "event", "created_at", "created_by", "rows", "enqueued", "skipped_opted_out",
                    "skipped_invalid", "skipped_existing"]
    list_filter = ["event"]
    search_fields = ["name"]
    fields = ["name", "event", "created_at", "created_by", "rate", "rows", "enqueued", "skipped_opted_out",
              "skipped_invalid", "skipped_existing", "report"]

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    @admin.display(description=gettext_lazy("messages by status"))
    def report(self, obj):
        from notices.models import Status

        labels = dict(Status.choices)
        return format_html(
            "<table>{}</table>",
            format_html_join("", "<tr><th>{}</th><td>{}</td></tr>",
                             ((labels[status], count) for status, count in obj.report().items())),
        )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Preference)
class PreferenceAdmin(_ShowsPhones, admin.ModelAdmin):
    list_display = ["phone", "user", "language", "by_sms", "by_email", "by_inbox", "reminders_opt_out",
                    "opted_out_at", "opt_out_source"]
    list_filter = ["reminders_opt_out", "language", "opt_out_source"]
    search_fields = ["=phone", "email"]
    raw_id_fields = ["user"]
    readonly_fields = ["opted_out_at", "updated_at"]


@admin.register(LocalSms)
class LocalSmsAdmin(_ShowsPhones, admin.ModelAdmin):
    """The local backend's outbox: what would have gone to the gateway, newest first."""

    list_display = ["created_at", "phone", "body", "parts", "sender", "duplicates", "key"]
    search_fields = ["=phone", "=key"]
    ordering = ["-created_at", "-id"]

    def get_search_results(self, request, queryset, search_term):
        if search_term:
            from parcels.identifiers import normalize_phone
            normal = normalize_phone(search_term)
            if normal.isdigit():
                search_term = normal
        return super().get_search_results(request, queryset, search_term)

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in LocalSms._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
