from django import template
from django.utils.translation import gettext

register = template.Library()


@register.filter
def translated(msgid):
    """A label kept in a document's subject as its English msgid (marked with gettext_noop where it was written),
    in the page's language."""
    return gettext(str(msgid)) if msgid else ""
