from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from documents import api
from documents.models import IssuedDocument


@admin.register(IssuedDocument)
class IssuedDocumentAdmin(admin.ModelAdmin):
    """Issued documents are never edited: staff with the right permission revoke one, with a reason."""

    list_display = ("number", "kind", "renewal_code", "issued_at", "valid_until", "revoked_at", "rendered_at")
    list_filter = ("kind", ("revoked_at", admin.EmptyFieldListFilter))
    search_fields = ("number", "verification_code", "renewal_code", "source")
    readonly_fields = [f.name for f in IssuedDocument._meta.fields if f.name != "revoked_reason"]
    date_hierarchy = "issued_at"

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        """Only a revocation is saved here: a reason typed for a document not yet revoked revokes it now."""
        if "revoked_reason" in form.changed_data and obj.revoked_at is None and obj.revoked_reason.strip():
            api.revoke(obj, obj.revoked_reason)
            messages.warning(request, _("The document is revoked: its verification page says so from now on."))
        elif "revoked_reason" in form.changed_data:
            messages.error(request, _("A revoked document stays revoked with its reason; nothing was changed."))
