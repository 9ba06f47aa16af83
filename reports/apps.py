from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = "Reports (137)"

    # What the reports' permissions give each role (portal/roles.py). Department staff get "handle_report" by a
    # role and see their departments' inboxes (Department.staff); the admin role handles every department.
    role_permissions = {
        "admin": ["view_report", "change_report", "handle_report", "handle_all_reports", "moderate_photo",
                  "view_photo", "change_photo", "view_category", "add_category", "change_category",
                  "view_department", "add_department", "change_department", "view_routing", "add_routing",
                  "change_routing", "delete_routing"],
        "service": ["view_report", "handle_report", "view_photo", "view_category", "view_department"],
        "engineer": ["view_report", "handle_report", "view_category", "view_department"],
    }

    def ready(self):
        from reports import events

        events.register_events()
        # each part registers what it publishes (layers, sheet sections, jobs) from its own module:
        # reports/layers.py (the public map's layers), ...
        from reports import layers

        layers.register_layers()
        from reports import dashboards  # its public dashboard panels (transparency)

        dashboards.register()
