"""SMS providers behind one interface (base.py): local.py keeps messages in the database, http.py speaks the REST
shape of Iranian gateways. settings.NOTICES_SMS_BACKEND names the one in use."""

from django.conf import settings
from django.utils.module_loading import import_string

_instances: dict[str, object] = {}


def get_sms_provider(path: str | None = None):
    """The provider named by settings.NOTICES_SMS_BACKEND (or `path`), one instance per process."""
    path = path or settings.NOTICES_SMS_BACKEND
    provider = _instances.get(path)
    if provider is None:
        provider = _instances[path] = import_string(path)()
    return provider


def reset() -> None:
    """Forget the instances (tests that change settings)."""
    _instances.clear()
