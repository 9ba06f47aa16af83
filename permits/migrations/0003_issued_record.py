"""Issued permits and certificates join the register of issued documents (documents/): every Issued row gets its
IssuedDocument, with the same number, verification code, dates, revocation and stored PDF (not signed: printed before
documents were signed), and an earlier one of the same kind for the same parcel is marked replaced by the next."""

import django.db.models.deletion
from django.db import migrations, models


KIND_MSGIDS = {"permit": "Permit", "completion_certificate": "Completion certificate", "certificate": "Certificate",
               "inquiry": "Answer to an inquiry", "decision": "Decision"}


def register_issued(apps, schema_editor):
    Issued = apps.get_model("permits", "Issued")
    IssuedDocument = apps.get_model("documents", "IssuedDocument")
    latest = {}
    for issued in (Issued.objects.filter(record__isnull=True).select_related("parcel", "case__case_type", "document")
                   .order_by("issued_at", "pk")):
        doc = issued.document
        record = IssuedDocument.objects.create(
            kind="permit", number=issued.number, verification_code=issued.verification_code, parcel=issued.parcel,
            renewal_code=issued.parcel.renewal_code or "", source=f"permits.issued:{issued.pk}",
            subject={"title": KIND_MSGIDS.get(issued.kind, issued.kind),
                     "facts": [["Application", issued.case.case_type.name],
                               ["Tracking code", issued.case.tracking_code]]},
            issued_at=issued.issued_at, valid_until=issued.valid_until, revoked_at=issued.revoked_at,
            revoked_reason=issued.revoked_reason, file=doc.file.name if doc else "",
            sha256=issued.sha256 if doc else "", size=doc.size if doc else 0,
            rendered_at=issued.issued_at if doc else None)
        issued.record = record
        issued.save(update_fields=["record"])
        key = (issued.parcel_id, issued.kind)
        if issued.revoked_at is None:
            if key in latest:
                IssuedDocument.objects.filter(pk=latest[key]).update(superseded_by=record)
            latest[key] = record.pk


class Migration(migrations.Migration):

    dependencies = [
        ('documents', '0001_initial'),
        ('permits', '0002_layer_views'),
    ]

    operations = [
        migrations.AddField(
            model_name='issued',
            name='record',
            field=models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='documents.issueddocument'),
        ),
        migrations.RunPython(register_issued, migrations.RunPython.noop),
    ]
