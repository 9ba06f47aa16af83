from django.apps import AppConfig


class DuesConfig(AppConfig):
    name = "dues"
    verbose_name = "Renewal dues"

    # What the dues' permissions give each role (portal/roles.py syncs the groups after every migrate).
    _SEE = ["view_collections", "view_bill", "view_payment", "view_ledgerentry", "view_assessment",
            "view_assessmentrun"]
    # Reminder campaigns (dues/reminders.py): starting one is creating a notices campaign (notices.add_batch), seeing
    # their reports is reading campaigns (notices.view_batch); the reminders page itself needs view_collections.
    _REMIND = ["notices.add_batch", "notices.view_batch"]
    role_permissions = {
        "finance": _SEE + ["view_tariffbook"] + _REMIND,
        "admin": _SEE + ["view_tariffbook", "add_tariffbook", "change_tariffbook", "delete_tariffbook"] + _REMIND,
    }

    def ready(self):
        from dues import checks  # noqa: F401  (importing it registers the payment settings' system checks)
        from dues.sheet import build
        from parcels.sheet import SheetSection, register_section

        register_section(SheetSection(
            key="dues", title_fa="عوارض نوسازی", title_en="Renewal dues", url_name="dues:parcel_dues",
            build=build, template="dues/sheet_section.html", script="dues/sheet.js", order=50,
        ))
        # renewal-dues reminders by SMS (the notices event) and the dues of a citizen's "My properties" page
        from dues import properties, reminders

        reminders.register_event()
        properties.register()
        # the city-wide assessment as a long job started from the finance page (jobs/)
        from dues import jobs

        jobs.register_kind()
        # the approved tariff books in the open-data catalogue (transparency/), with their files
        from dues import public_pages

        public_pages.register()
        from dues import certificate  # the dues status on the parcel certificate (documents/sections.py)

        certificate.register()
        # bills and receipts as issued documents: printed once, verifiable (documents/)
        from dues import documents

        documents.register()
        from dues import dashboards  # its public dashboard panels (transparency)

        dashboards.register()
