"""The notices events of decisions and projects (their default texts: data/notices/templates.toml), told to those
who follow one (transparency/service.py)."""

from notices.events import Event, register

STATUS_CHANGED, UPDATE_PUBLISHED = "transparency.status_changed", "transparency.update_published"
SAMPLE = {"kind": "project", "kind_fa": "پروژه", "kind_en": "Project", "title": "بهسازی میدان امام",
          "title_en": "Imam Square renewal", "status": "in_progress", "status_fa": "در حال اجرا",
          "status_en": "In progress", "text": "آسفالت خیابان اصلی انجام شد.", "path": "/transparency/projects/1/"}


def register_events() -> None:
    register(Event(STATUS_CHANGED, "تغییر وضعیت مصوبه یا پروژه", "Decision or project status changed",
                   "transactional", channels=("sms", "inbox"), sample_context=SAMPLE))
    register(Event(UPDATE_PUBLISHED, "خبر تازه از مصوبه یا پروژه", "News on a decision or project",
                   "transactional", channels=("sms", "inbox"), sample_context=SAMPLE))
