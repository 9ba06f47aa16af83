from django.apps import AppConfig


class DuesConfig(AppConfig):
    name = "dues"
    verbose_name = "Renewal dues"

    # What the dues' permissions give each role (portal/roles.py syncs the groups after every migrate).
    _SEE = ["view_collections", "view_bill", "view_payment", "view_ledgerentry", "view_assessment",
            "view_assessmentrun"]
    role_permissions = {
        "finance": _SEE + ["view_tariffbook"],
        "admin": _SEE + ["view_tariffbook", "add_tariffbook", "change_tariffbook", "delete_tariffbook"],
    }

    def ready(self):
        from dues.sheet import build
        from parcels.sheet import SheetSection, register_section

        register_section(SheetSection(
            key="dues", title_fa="عوارض نوسازی", title_en="Renewal dues", url_name="dues:parcel_dues",
            build=build, template="dues/sheet_section.html", script="dues/sheet.js", order=50,
        ))
