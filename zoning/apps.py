from django.apps import AppConfig


class ZoningConfig(AppConfig):
    name = "zoning"
    verbose_name = "Zoning"

    def ready(self):
        from parcels import derived
        from parcels.importing import postload
        from parcels.sheet import SheetSection, register_section
        from zoning import overlays, signals, terrain  # noqa: F401  (signal receivers)
        from zoning.views import sheet_section

        if overlays.refresh_after_frontages not in derived.AFTER_REFRESH:
            derived.AFTER_REFRESH.append(overlays.refresh_after_frontages)
            postload.register("zoning", overlays.post_load_zoning)
            postload.register("overlays", overlays.post_load_overlays)
            postload.register("parcels", terrain.post_load_parcels)
        register_section(SheetSection(
            key="eligibility", title_fa="چه می‌توان ساخت؟", title_en="What can be built here?",
            url_name="zoning:parcel_eligibility", build=sheet_section, template="zoning/sheet_section.html",
            script="zoning/sheet.js", order=20,
        ))
