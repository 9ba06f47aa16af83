"""The municipality the running code works for, and the registry of those the deployment serves.

A deployment may serve several municipalities, each with its own projected CRS, renewal-code widths, names and
time zone. Code reads these values from `current()` when it runs, never at import: a module constant, a cached SQL
text or a default argument would freeze the first municipality's values for every other one.

- `registry()`: slug -> Municipality, in the order of the setting MUNICIPALITIES (read from the TOML file
  MUNICIPALITIES_FILE names, by `read_file`). Without that file the registry holds one municipality made from the
  settings MUNICIPALITY_SRID, MUNICIPALITY_NAME, ... as they are when it is read, so a test's override_settings of
  them is followed (the registry is made again when one of them changes).
- `current()`: the municipality of the current context (a thread, an asyncio task), the registry's first one unless
  `activate` chose another. `activate` is a context manager; `set_current` / `reset` are the same pair for code
  whose start and end are two calls (a middleware).
- `get(slug)`: one municipality, UnknownMunicipality for a slug the registry does not hold.

Each municipality has its own database (the connection alias `database`, built by the settings from its
`database_url`): common/tenancy.py makes Django's connection "default" that of the current municipality, and picks
the municipality of each request by host name or path prefix (README, "Many municipalities"). A process that is not
a request (a job worker, a command) works for the municipality the environment variable MUNICIPALITY names
(settings.MUNICIPALITY), else for the first one.
"""

import re
import tomllib
import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass, field, fields
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

DEFAULT_RENEWAL_CODE_WIDTHS = (1, 1, 3, 3, 1, 1, 1)
DEFAULT_TIME_ZONE = "Asia/Tehran"
SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
PATH_PREFIX = re.compile(r"^(?:/[a-z0-9][a-z0-9-]*)+$")


@dataclass(frozen=True)
class Municipality:
    """What differs between municipalities. `database` is the connection alias of its database ("default" for
    the first); `hosts` and `path_prefix` are how a request will name it (no host, no prefix: any request)."""

    slug: str
    name: str
    name_en: str
    srid: int
    renewal_code_widths: tuple[int, ...]
    time_zone: str
    database: str = "default"
    hosts: tuple[str, ...] = ()
    path_prefix: str = ""
    bill_company_code: str = ""  # the bank network's 3-digit code for its bills; "" until one is given
    open311_jurisdiction: str = ""  # the jurisdiction_id Open311 apps send (its web domain, or its slug)
    # its database (postgis://…); "" for the first: DATABASE_URL; for another: DATABASE_URL's server, database
    # <DATABASE_URL's name>_<slug> (settings.py builds DATABASES[database] from it)
    database_url: str = field(default="", repr=False)  # it may hold a password
    # its document-signing key and certificate (PEM files) and the file of the key's passphrase (documents/signing.py);
    # "" : the first municipality's are the settings DOCUMENTS_SIGNING_*, another's a demo key of its own
    signing_key: str = ""
    signing_cert: str = ""
    signing_passphrase_file: str = ""


class UnknownMunicipality(LookupError):
    pass


def slug_of(name_en: str) -> str:
    """A slug from an English name: its ASCII letters and digits, lower case, words joined by '-' ("" for none)."""
    return "-".join("".join(c if c.isascii() and c.isalnum() else " " for c in name_en.lower()).split())


# -- the registry -------------------------------------------------------------------------------------------------

_SOURCE_SETTINGS = {"MUNICIPALITIES", "MUNICIPALITY", "MUNICIPALITY_SLUG", "MUNICIPALITY_SRID", "MUNICIPALITY_NAME",
                    "MUNICIPALITY_NAME_EN", "RENEWAL_CODE_WIDTHS", "TIME_ZONE", "DUES_BILL_COMPANY_CODE",
                    "REPORTS_OPEN311_JURISDICTION"}
_registry: dict[str, Municipality] | None = None


def registry() -> dict[str, Municipality]:
    global _registry
    if _registry is None:
        listed = getattr(settings, "MUNICIPALITIES", None)
        _registry = {m.slug: m for m in (listed or [_from_settings()])}
    return _registry


def _from_settings() -> Municipality:
    """The one municipality of a deployment without MUNICIPALITIES_FILE, from the settings of one city."""
    return Municipality(
        slug=settings.MUNICIPALITY_SLUG, name=settings.MUNICIPALITY_NAME, name_en=settings.MUNICIPALITY_NAME_EN,
        srid=int(settings.MUNICIPALITY_SRID), renewal_code_widths=tuple(settings.RENEWAL_CODE_WIDTHS),
        time_zone=settings.TIME_ZONE, bill_company_code=settings.DUES_BILL_COMPANY_CODE or "",
        open311_jurisdiction=settings.REPORTS_OPEN311_JURISDICTION)


def _forget_registry(*, setting, **kwargs):
    global _registry, _process_default
    if setting in _SOURCE_SETTINGS:
        _registry = _process_default = None


setting_changed.connect(_forget_registry)


def get(slug: str) -> Municipality:
    try:
        return registry()[slug]
    except KeyError:
        raise UnknownMunicipality(
            f"No municipality {slug!r}: this deployment serves {', '.join(map(repr, registry()))}") from None


def first() -> Municipality:
    """The default municipality: the first of the registry (its database is the connection "default")."""
    return next(iter(registry().values()))


def several() -> bool:
    """Whether this deployment serves more than one municipality."""
    return len(registry()) > 1


# -- the current municipality -------------------------------------------------------------------------------------

_current: ContextVar[Municipality | None] = ContextVar("municipality", default=None)
_process_default: Municipality | None = None


def process_default() -> Municipality:
    """The municipality of code outside any request or `activate`: the one settings.MUNICIPALITY (the environment
    variable MUNICIPALITY) names, so that `MUNICIPALITY=shiraz manage.py …` works for Shiraz; else the first."""
    global _process_default
    if _process_default is None:
        slug = getattr(settings, "MUNICIPALITY", "")
        _process_default = get(slug) if slug else first()
    return _process_default


def current() -> Municipality:
    return _current.get() or _process_default or process_default()


def set_current(municipality: Municipality | str) -> tuple[Token, object]:
    """Make `municipality` (or the one of that slug) current in this context, and its time zone Django's current one
    (dates shown, "today", the Jalali year's end follow it: django.utils.timezone.localtime/localdate); give the
    token to `reset`."""
    from django.utils import timezone

    chosen = get(municipality) if isinstance(municipality, str) else municipality
    previous_zone = timezone.get_current_timezone()
    token = _current.set(chosen)
    timezone.activate(zoneinfo.ZoneInfo(chosen.time_zone))
    return token, previous_zone


def reset(token: tuple[Token, object]) -> None:
    from django.utils import timezone

    municipality_token, previous_zone = token
    _current.reset(municipality_token)
    timezone.activate(previous_zone)


def is_first(municipality: Municipality | None = None) -> bool:
    """Whether `municipality` (default: the current one) is the registry's first, which keeps what a deployment of
    one city has: its cache keys, session cookie, folders and signing settings as they were."""
    return (municipality or current()).slug == first().slug


def own_folder(municipality: Municipality | None = None) -> str:
    """A municipality's sub-folder in every place the municipalities share (VAR_DIR, MEDIA_ROOT, an object
    storage's keys): "" for the first, "municipalities/<slug>" for another."""
    m = municipality or current()
    return "" if is_first(m) else f"municipalities/{m.slug}"


def var_dir(municipality: Municipality | None = None) -> Path:
    """Where a municipality's own generated files go (job results, rasters, its demo signing key): VAR_DIR for the
    first, VAR_DIR/municipalities/<slug> for another, so that two databases' job 7 never share a folder and a
    municipality's backup takes its own files."""
    return Path(settings.VAR_DIR) / own_folder(municipality)


def media_root(municipality: Municipality | None = None) -> Path:
    """The folder of a municipality's uploaded files (Django's default storage, common/storage.py): MEDIA_ROOT for the
    first; for another, MEDIA_ROOT's place inside its var_dir when MEDIA_ROOT is under VAR_DIR (the default VAR_DIR/media
    gives VAR_DIR/municipalities/<slug>/media: a backup and restore keep the same layout), else
    MEDIA_ROOT/municipalities/<slug>."""
    m = municipality or current()
    root = Path(settings.MEDIA_ROOT)
    if is_first(m):
        return root
    try:
        return var_dir(m) / root.relative_to(Path(settings.VAR_DIR))
    except ValueError:
        return root / own_folder(m)


def time_zone() -> zoneinfo.ZoneInfo:
    """The current municipality's time zone (for SQL that groups by local day or month: pass its name)."""
    return zoneinfo.ZoneInfo(current().time_zone)


@contextmanager
def activate(municipality: Municipality | str) -> Iterator[Municipality]:
    """`with activate("shiraz"):` runs the block for that municipality; the one before is current again after it."""
    token = set_current(municipality)
    try:
        yield current()
    finally:
        reset(token)


# -- MUNICIPALITIES_FILE ------------------------------------------------------------------------------------------

_REQUIRED = ("slug", "name", "srid", "renewal_code_widths")
_KEYS = {f.name for f in fields(Municipality)}


def read_file(path: str | Path) -> tuple[Municipality, ...]:
    """The municipalities of a TOML file, one `[[municipality]]` table each, the default one first; every mistake
    is an ImproperlyConfigured naming the file and the entry (see README, "Many municipalities")."""
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise ImproperlyConfigured(f"MUNICIPALITIES_FILE {str(path)!r} cannot be read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ImproperlyConfigured(f"MUNICIPALITIES_FILE {str(path)!r} is not valid TOML: {exc}") from None
    extra = set(data) - {"municipality"}
    tables = data.get("municipality")
    if extra or not isinstance(tables, list) or not tables:
        raise ImproperlyConfigured(
            f"MUNICIPALITIES_FILE {str(path)!r} must hold one [[municipality]] table per municipality and nothing "
            f"else{f' (found {sorted(extra)})' if extra else ''}")
    found = tuple(_parse(table, i, path) for i, table in enumerate(tables))
    if found[0].database != "default":
        raise ImproperlyConfigured(f"MUNICIPALITIES_FILE {str(path)!r}: the first municipality is the default one, "
                                   f"its database must be \"default\", not {found[0].database!r}")
    for attribute, what in (("slug", "slug"), ("database", "database"), ("path_prefix", "path prefix"),
                            ("hosts", "host")):
        seen: dict[str, str] = {}
        for m in found:
            values = getattr(m, attribute)
            for value in values if isinstance(values, tuple) else [values] if values else []:
                if value in seen:
                    raise ImproperlyConfigured(
                        f"MUNICIPALITIES_FILE {str(path)!r}: the {what} {value!r} is given to both {seen[value]!r} "
                        f"and {m.slug!r}")
                seen[value] = m.slug
    return found


def _parse(table, index: int, path) -> Municipality:
    where = f"MUNICIPALITIES_FILE {str(path)!r}, municipality {index + 1}"
    if not isinstance(table, dict):
        raise ImproperlyConfigured(f"{where}: not a table")
    if "slug" in table:
        where += f" ({table['slug']!r})"
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise ImproperlyConfigured(f"{where}: unknown key(s) {unknown}; the keys are {sorted(_KEYS)}")
    missing = [key for key in _REQUIRED if key not in table]
    if missing:
        raise ImproperlyConfigured(f"{where}: {', '.join(missing)} must be given")

    def text(key, default=""):
        value = table.get(key, default)
        if not isinstance(value, str):
            raise ImproperlyConfigured(f"{where}: {key} must be a string, not {value!r}")
        return value.strip()

    slug = text("slug")
    if not SLUG.match(slug):
        raise ImproperlyConfigured(f"{where}: slug {slug!r} must be lower-case letters, digits and '-'")
    srid = table["srid"]
    if not isinstance(srid, int) or isinstance(srid, bool):
        raise ImproperlyConfigured(f"{where}: srid must be an EPSG code (an integer), not {srid!r}")
    problem = srid_problem(srid)
    if problem:
        raise ImproperlyConfigured(f"{where}: srid {problem}")
    widths = table["renewal_code_widths"]
    if (not isinstance(widths, list) or len(widths) != len(DEFAULT_RENEWAL_CODE_WIDTHS)
            or not all(isinstance(w, int) and not isinstance(w, bool) and 1 <= w <= 6 for w in widths)):
        raise ImproperlyConfigured(f"{where}: renewal_code_widths must be 7 widths of 1-6 digits, not {widths!r}")
    time_zone = text("time_zone", DEFAULT_TIME_ZONE)
    try:
        zoneinfo.ZoneInfo(time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ImproperlyConfigured(f"{where}: time_zone {time_zone!r} is not a known IANA time zone") from None
    hosts = table.get("hosts", [])
    if not isinstance(hosts, list) or not all(isinstance(h, str) and h.strip() for h in hosts):
        raise ImproperlyConfigured(f"{where}: hosts must be a list of host names, not {hosts!r}")
    path_prefix = text("path_prefix")
    if path_prefix and not PATH_PREFIX.match(path_prefix):
        raise ImproperlyConfigured(
            f"{where}: path_prefix {path_prefix!r} must look like /name (lower-case, no '/' at the end)")
    code = text("bill_company_code")
    if code and not (len(code) == 3 and code.isascii() and code.isdigit()):
        raise ImproperlyConfigured(f"{where}: bill_company_code must be 3 digits, not {code!r}")
    name_en = text("name_en")
    signing = {key: text(key) for key in ("signing_key", "signing_cert", "signing_passphrase_file")}
    if bool(signing["signing_key"]) != bool(signing["signing_cert"]):
        raise ImproperlyConfigured(f"{where}: signing_key and signing_cert are given together (a key and its "
                                   f"certificate), or neither (a demo key)")
    if signing["signing_passphrase_file"] and not signing["signing_key"]:
        raise ImproperlyConfigured(f"{where}: signing_passphrase_file without signing_key")
    database_url = text("database_url")
    if database_url and "://" not in database_url:
        raise ImproperlyConfigured(f"{where}: database_url must be a URL (postgis://user:password@host:port/name)")
    return Municipality(
        slug=slug, name=text("name"), name_en=name_en, srid=srid, renewal_code_widths=tuple(widths),
        time_zone=time_zone, database=text("database", "default" if index == 0 else slug),
        hosts=tuple(h.strip().lower() for h in hosts), path_prefix=path_prefix, bill_company_code=code,
        open311_jurisdiction=text("open311_jurisdiction", slug_of(name_en) or slug), database_url=database_url,
        **signing)


def toml_table(m: Municipality) -> str:
    """`m` as a [[municipality]] table of MUNICIPALITIES_FILE (what read_file reads back as `m`)."""
    import json

    def value(v):
        if isinstance(v, str):
            return json.dumps(v, ensure_ascii=False)  # a JSON string is a TOML basic string
        if isinstance(v, (tuple, list)):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return str(v)

    lines = ["[[municipality]]"]
    for f in fields(Municipality):
        v = getattr(m, f.name)
        if f.name == "database" and v in ("default", m.slug):
            continue  # what the file gives without it
        if v in ("", ()) and f.name not in _REQUIRED:
            continue
        lines.append(f"{f.name} = {value(v)}")
    return "\n".join(lines) + "\n"


def database_url_for(base_url: str, slug: str) -> str:
    """The database URL of a municipality whose table gives none: the server of `base_url` (DATABASE_URL), the
    database <base_url's database>_<slug with '_' for '-'>."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(base_url)
    name = parts.path.lstrip("/") or "postgres"
    return urlunsplit(parts._replace(path=f"/{name}_{slug.replace('-', '_')}"))


SRID_UNKNOWN, SRID_NOT_PROJECTED, SRID_NOT_METRES = "unknown", "not projected", "not metres"


def srid_fault(srid: int) -> tuple[str, str]:
    """Why an EPSG code cannot be a municipality's CRS, as (one of the SRID_ kinds, a message); ("", "") when it can:
    every area and length is measured in it, so it must be projected and in metres."""
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        crs = CRS.from_epsg(srid)
    except CRSError:
        return SRID_UNKNOWN, f"{srid} is not a known EPSG code"
    if not crs.is_projected:
        return SRID_NOT_PROJECTED, f"{srid} ({crs.name}) is not a projected CRS; areas and lengths need metres"
    units = {axis.unit_name for axis in crs.axis_info}
    if units != {"metre"}:
        return SRID_NOT_METRES, f"{srid} ({crs.name}) measures in {', '.join(sorted(units))}, not metres"
    return "", ""


def srid_problem(srid: int) -> str:
    """srid_fault's message ("" when the CRS will do)."""
    return srid_fault(srid)[1]
