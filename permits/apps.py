from django.apps import AppConfig


class PermitsConfig(AppConfig):
    name = "permits"
    verbose_name = "Permits and certificates"

    # What the permits' permissions give each role (portal/roles.py). Permit-office staff act at the desks they
    # sit at (Desk.staff); the admin role acts at every desk and keeps the desks and case types.
    role_permissions = {
        "admin": ["view_case", "change_case", "act_on_case", "act_at_any_desk", "view_archive", "view_document",
                  "view_desk", "add_desk", "change_desk", "view_casetype", "add_casetype", "change_casetype",
                  "view_workflow", "add_workflow", "view_engineer", "add_engineer", "change_engineer",
                  "view_issued", "change_issued"],
        "permits": ["view_case", "act_on_case", "view_archive", "view_document", "view_desk", "view_casetype",
                    "view_workflow", "view_engineer", "view_issued"],
    }

    def ready(self):
        from dues import api as dues_api
        from permits import events, service

        events.register_events()
        from permits import layers  # the layers permit_cases (staff) and issued_permits (public)

        layers.register_layers()
        dues_api.bill_paid.connect(service.on_bill_paid, dispatch_uid="permits.bill_paid")
        from permits import sheet  # the parcel sheet's and "My properties"' permit sections (the citizen side)

        sheet.register()
        from permits import issuing  # issued permits and certificates are a kind of the documents' register

        issuing.register_kind()
        from permits import dashboards  # its public dashboard panels (transparency)

        dashboards.register()
