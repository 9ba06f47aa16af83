from django.apps import AppConfig


class NoticesConfig(AppConfig):
    """Notices to citizens and staff: one notify() service, templates as data, channels (SMS, e-mail, in-app inbox),
    providers behind an interface, a transactional outbox delivered by the job queue."""

    name = "notices"
    verbose_name = "Notices"

    # What the notices' permissions give each role (portal/roles.py syncs the groups after every migrate).
    role_permissions = {
        "admin": ["view_template", "change_template", "view_message", "retry_message", "view_batch",
                  "view_localsms", "view_preference", "change_preference"],
        "finance": ["view_batch", "view_message"],
    }

    def ready(self):
        from notices.events import Event, register

        register(Event(
            code="notices.test", title_fa="پیام آزمایشی", title_en="Test notice", kind="transactional",
            channels=("sms", "email", "inbox"), sample_context={"name": "سامانه"},
        ))
