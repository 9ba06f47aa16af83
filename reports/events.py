"""The notices events of reports (their default texts: data/notices/templates.toml)."""

from notices.events import Event, register

SAMPLE = {"tracking_code": "4012345678", "category": "چاله در آسفالت", "category_en": "Pothole", "status": "resolved",
          "status_fa": "رفع شد", "status_en": "Resolved",
          "note": "", "into": "4012345686"}


def register_events() -> None:
    register(Event("reports.received", "دریافت گزارش", "Report received", "transactional",
                   channels=("sms", "inbox"), sample_context=SAMPLE))
    register(Event("reports.status_changed", "تغییر وضعیت گزارش", "Report status changed", "transactional",
                   channels=("sms", "inbox"), sample_context=SAMPLE))
    register(Event("reports.merged", "ادغام گزارش", "Report merged", "transactional",
                   channels=("sms", "inbox"), sample_context=SAMPLE))
