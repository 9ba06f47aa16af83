"""The interface's language: Persian first, English second."""

from django.utils.translation import get_language


def is_persian() -> bool:
    """Whether the active language is Persian (also when none is active: Persian is the default)."""
    return (get_language() or "fa").startswith("fa")
