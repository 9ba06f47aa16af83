from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    """Issued documents: the register of every document the municipality issues (parcel certificates, permits, bills,
    receipts), each with a verification code, a QR code to the public verification page, a PDF printed once in the
    job queue, signed (PAdES) and served from storage. Apps above register their kinds (documents/kinds.py) and the
    certificate's sections (documents/sections.py)."""

    name = "documents"
    verbose_name = "Issued documents"
    role_permissions = {"admin": ["view_issueddocument", "change_issueddocument"],
                        "service": ["view_issueddocument"]}

    def ready(self):
        from documents import certificate
        from documents.certificate_views import sheet_section
        from parcels.sheet import SheetSection, register_section

        certificate.register()
        # the parcel sheet's button that asks for the certificate (the portal's panel and the text-only page)
        register_section(SheetSection(
            key="certificate", title_fa="شناسنامه ملک", title_en="Parcel certificate",
            url_name="documents:certificate_section", build=sheet_section,
            template="documents/sheet_section.html", script="documents/sheet.js", order=90))
