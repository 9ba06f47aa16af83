from django.apps import AppConfig

# The zones covering a parcel, largest share first, as the parcel sheet shows them (in the sheet's one statement).
ZONES_ON_SHEET = """SELECT coalesce(json_agg(json_build_object('code', code, 'name', name, 'name_en', name_en,
                                              'share', round(share::numeric, 3)) ORDER BY share DESC), '[]')
    FROM (SELECT z.code, z.name, z.name_en, ST_Area(ST_Intersection(z.geom, p.geom)) / NULLIF(ST_Area(p.geom), 0) AS share
          FROM zoning_zone z WHERE ST_Intersects(z.geom, p.geom)) zones
    WHERE share >= 0.01"""


class ZoningConfig(AppConfig):
    name = "zoning"
    verbose_name = "Zoning"

    # What zoning's permissions give each role (portal/roles.py syncs the groups after every migrate).
    role_permissions = {
        "engineer": ["view_zone", "view_overlay", "view_rulebook", "view_rule"],
        "planner": ["view_zone", "add_zone", "change_zone", "view_overlay", "add_overlay", "change_overlay",
                    "view_rulebook", "view_rule"],
        "admin": [f"{action}_{model}" for model in ("zone", "overlay", "rulebook", "rule")
                  for action in ("view", "add", "change", "delete")],
    }

    def ready(self):
        from parcels import derived
        from parcels.importing import postload
        from parcels.sheet import SheetSection, register_field, register_section
        from zoning import overlays, signals, terrain  # noqa: F401  (signal receivers)
        from zoning.import_specs import register_import_specs
        from zoning.layers import register_layers
        from zoning.views import sheet_section

        if overlays.refresh_after_frontages not in derived.AFTER_REFRESH:
            derived.AFTER_REFRESH.append(overlays.refresh_after_frontages)
            postload.register("zoning", overlays.post_load_zoning)
            postload.register("overlays", overlays.post_load_overlays)
            postload.register("parcels", terrain.post_load_parcels)
            register_layers()
            register_import_specs()
        register_field("zoning", ZONES_ON_SHEET)
        register_section(SheetSection(
            key="eligibility", title_fa="چه می‌توان ساخت؟", title_en="What can be built here?",
            url_name="zoning:parcel_eligibility", build=sheet_section, template="zoning/sheet_section.html",
            script="zoning/sheet.js", order=20,
        ))
        # the rulebook versions in the open-data catalogue (transparency/), with their files
        from zoning import public_pages

        public_pages.register()
        # the zone, its rules, what may be built and the hazards on the parcel certificate (documents/sections.py)
        from zoning import certificate

        certificate.register()
