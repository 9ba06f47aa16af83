"""Reading settings from the environment, with explicit parsing and clear errors."""

import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str | None:
    """A string from the environment; `NAME_FILE` (a path) is read instead when set, for secrets."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        with open(path, encoding="utf-8") as fh:
            return fh.read().strip()
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {raw!r}") from None


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {raw!r}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def csp_origin(url_template: str) -> list[str]:
    """The Content-Security-Policy source of an XYZ tile URL template ([] for none): its scheme and host, a `{s}`
    subdomain becoming `*.`, e.g. https://{s}.tile.example.org/{z}/{x}/{y}.png → https://*.tile.example.org."""
    from urllib.parse import urlsplit

    if not url_template:
        return []
    parts = urlsplit(url_template if "//" in url_template else "//" + url_template)
    host = parts.netloc
    if "{" in host:
        host = "*." + host.split(".", 1)[1] if "." in host else "*"
    return [f"{parts.scheme}://{host}" if parts.scheme else host]


def env_time_zone(name: str, default: str) -> str:
    """An IANA time zone name (e.g. Asia/Tehran) from the environment, refused when the system does not know it."""
    import zoneinfo

    raw = os.environ.get(name)
    value = default if raw is None or raw.strip() == "" else raw.strip()
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ImproperlyConfigured(
            f"{name} {value!r} is not a known time zone: give an IANA name such as Asia/Tehran or Europe/Berlin "
            "(the list: python3 -c 'import zoneinfo; print(sorted(zoneinfo.available_timezones()))')") from None
    return value
