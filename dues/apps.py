from django.apps import AppConfig


class DuesConfig(AppConfig):
    name = "dues"
    verbose_name = "Renewal dues"

    def ready(self):
        from dues.sheet import build
        from parcels.sheet import SheetSection, register_section

        register_section(SheetSection(
            key="dues", title_fa="عوارض نوسازی", title_en="Renewal dues", url_name="dues:parcel_dues",
            build=build, template="dues/sheet_section.html", script="dues/sheet.js", order=50,
        ))
