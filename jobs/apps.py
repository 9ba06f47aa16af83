from django.apps import AppConfig


class JobsConfig(AppConfig):
    """The job queue (procrastinate, in PostgreSQL) and the long jobs users start from the portal, with progress."""

    name = "jobs"
    verbose_name = "Jobs"

    # Everyone sees and cancels their own jobs; these let staff see and cancel everybody's.
    role_permissions = {
        "admin": ["view_job", "change_job"],
    }
