from django.apps import AppConfig


class TransparencyConfig(AppConfig):
    """The city in the open: council decisions and municipal projects with public comments, performance dashboards
    and the open-data catalogue. Apps above register their dashboard panels and datasets (transparency/registry.py);
    the tariff books and rulebooks' public pages are their own apps' (dues, zoning)."""

    name = "transparency"
    verbose_name = "Transparency"

    # What the decisions' and projects' permissions give each role (portal/roles.py): administrators keep them and
    # moderate the comments; planners keep the projects and decisions (and moderate) but delete nothing.
    role_permissions = {
        "admin": ["view_decision", "add_decision", "change_decision", "delete_decision",
                  "view_project", "add_project", "change_project", "delete_project",
                  "view_attachment", "add_attachment", "change_attachment", "delete_attachment",
                  "view_update", "add_update", "change_update", "delete_update",
                  "view_comment", "change_comment", "moderate_comment"],
        "planner": ["view_decision", "add_decision", "change_decision", "view_project", "add_project",
                    "change_project", "view_attachment", "add_attachment", "view_update", "add_update",
                    "change_update", "view_comment", "moderate_comment"],
    }

    def ready(self):
        # decisions and projects: their notices and their entries in the open-data catalogue
        from transparency import civic_datasets, events

        events.register_events()
        civic_datasets.register_datasets()
