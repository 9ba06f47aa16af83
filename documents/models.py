"""The register of issued documents: one row per document the municipality issued (a parcel certificate, a permit,
a bill, a receipt ...), whichever app issued it. The row is what the public verification page shows; the PDF is
printed once from it (documents/rendering.py), signed, stored, and never changed."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from parcels.models import Parcel


class IssuedDocument(models.Model):
    kind = models.CharField(_("kind"), max_length=40, help_text=_("A kind registered by an app (documents/kinds.py)"))
    number = models.CharField(_("number"), max_length=40, unique=True)
    verification_code = models.CharField(_("verification code"), max_length=16, unique=True)
    # a parcel deleted since keeps its documents verifiable: the renewal code is kept in `renewal_code`
    parcel = models.ForeignKey(Parcel, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    renewal_code = models.CharField(_("renewal code"), max_length=40, blank=True)
    subject = models.JSONField(_("what was issued"), default=dict, blank=True,
                               help_text=_("Public facts of the document, shown on the verification page"))
    content = models.JSONField(default=dict, blank=True, help_text=_("What the document prints (frozen at issue)"))
    source = models.CharField(max_length=80, blank=True, db_index=True,
                              help_text=_("The issuing app's record, e.g. dues.bill:<id>"))
    issued_at = models.DateTimeField(_("issued at"))
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    superseded_by = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_reason = models.TextField(_("reason"), blank=True)
    file = models.FileField(upload_to="documents/issued/%Y/%m/", blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    size = models.PositiveIntegerField(default=0)
    signed_by = models.CharField(max_length=300, blank=True, help_text=_("The signing certificate's subject"))
    demo_signature = models.BooleanField(default=False)
    rendered_at = models.DateTimeField(null=True, blank=True)
    render_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-issued_at"]
        indexes = [models.Index(fields=["parcel", "kind", "-issued_at"], name="documents_parcel_kind")]
        constraints = [
            models.CheckConstraint(condition=Q(revoked_at__isnull=True) | ~Q(revoked_reason=""),
                                   name="documents_revoked_reason"),
            models.CheckConstraint(condition=Q(sha256="") | Q(rendered_at__isnull=False),
                                   name="documents_sha_when_rendered"),
        ]
        verbose_name = _("issued document")
        verbose_name_plural = _("issued documents")

    def __str__(self):
        return self.number
