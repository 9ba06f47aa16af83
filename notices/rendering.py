"""Templates rendered: (event, channel, language) -> (subject, body), Django template syntax without HTML escaping
(an SMS is plain text; pages escape the inbox's text when they show it). The persian filters (digits,
localized_date, ...) are built in."""

from django.template import Context, Engine
from django.utils import translation

from notices.models import Template

FALLBACK_LANGUAGE = "fa"

_engine = Engine(autoescape=False, builtins=["django.templatetags.i18n", "common.templatetags.persian"])


class NoTemplate(LookupError):
    """No template for an event on a channel, in the language asked or Persian."""


def find(event: str, channel: str, language: str) -> Template:
    rows = {t.language: t for t in Template.objects.filter(
        event=event, channel=channel, language__in={language, FALLBACK_LANGUAGE})}
    template = rows.get(language) or rows.get(FALLBACK_LANGUAGE)
    if template is None:
        raise NoTemplate(f"no template for {event} on {channel} ({language} or {FALLBACK_LANGUAGE})")
    return template


_compiled: dict[str, object] = {}  # source text -> compiled template (an edit is new text: no stale entry)


def _compile(source: str):
    template = _compiled.get(source)
    if template is None:
        if len(_compiled) > 500:
            _compiled.clear()
        template = _compiled[source] = _engine.from_string(source)
    return template


def render_text(source: str, context: dict, language: str) -> str:
    with translation.override(language):
        return _compile(source).render(Context(context, autoescape=False)).strip()


def render(event: str, channel: str, language: str, context: dict) -> tuple[str, str]:
    """(subject, body) of the event's template for the channel, in the language (else Persian)."""
    template = find(event, channel, language)
    return (render_text(template.subject, context, template.language) if template.subject else "",
            render_text(template.body, context, template.language))


def render_row(subject: str, body: str, language: str, context: dict) -> tuple[str, str]:
    """(subject, body) of a template row already read (notify() reads every channel's in one statement)."""
    return (render_text(subject, context, language) if subject else "", render_text(body, context, language))


def check_syntax(source: str) -> None:
    """Raise django.template.TemplateSyntaxError when the source does not compile."""
    _engine.from_string(source)
