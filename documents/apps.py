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
