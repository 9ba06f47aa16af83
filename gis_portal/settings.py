"""Settings for the land and property information system.

Everything that differs between machines or municipalities comes from the environment (see README,
"Configuration"). The local demo works with nothing set; production refuses to start without a secret key.
"""

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from gis_portal.env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY (or SECRET_KEY_FILE) must be set when DEBUG is off. "
            "`./run demo` generates one for the local demo in .local/secret_key."
        )
    SECRET_KEY = "insecure-local-debug-key-never-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# --- The municipality --------------------------------------------------------------------------
# Its projected CRS: every geometry is stored in it, areas and lengths are measured in it (metres).
# Set before the first `migrate`: the geometry columns are created with it.
MUNICIPALITY_SRID = env_int("MUNICIPALITY_SRID", 32640)  # UTM 40N, Darab
MUNICIPALITY_NAME = env_str("MUNICIPALITY_NAME", "شهرداری داراب")
MUNICIPALITY_NAME_EN = env_str("MUNICIPALITY_NAME_EN", "Darab Municipality")
# Digits per segment of the renewal code (district-zone-block-property-building-apartment-business).
# Widths differ between cities (DOMAIN.md, confidence L), hence a setting.
RENEWAL_CODE_WIDTHS = [int(w) for w in env_list("RENEWAL_CODE_WIDTHS", ["1", "1", "3", "3", "1", "1", "1"])]
# A parcel whose measured area differs from its deed area by more than this share is flagged.
AREA_MISMATCH_TOLERANCE = env_float("AREA_MISMATCH_TOLERANCE", 0.10)
# Frontage: a parcel fronts a street when its boundary runs within half the street's width plus this
# tolerance (metres) of the centerline, for at least FRONTAGE_MIN_LENGTH metres.
FRONTAGE_TOLERANCE = env_float("FRONTAGE_TOLERANCE", 1.5)
FRONTAGE_MIN_LENGTH = env_float("FRONTAGE_MIN_LENGTH", 2.0)
# A corner parcel fronts two streets whose directions differ by at least this angle (degrees).
CORNER_MIN_ANGLE = env_float("CORNER_MIN_ANGLE", 30.0)
# Batch jobs (imports, assessments) may use parallel query; serving connections do not (PERFORMANCE.md).
BATCH_PARALLEL_WORKERS = env_int("BATCH_PARALLEL_WORKERS", 2)
# Renewal dues (dues/): the municipality's 3-digit company code in the national bill ID (given by the bank
# network), and the payment gateway backend (the local sandbox until a bank's backend is configured).
DUES_BILL_COMPANY_CODE = env_str("DUES_BILL_COMPANY_CODE", "401")
DUES_GATEWAY = env_str("DUES_GATEWAY", "dues.gateways.SandboxGateway")
# The headless Chromium that prints bills to PDF.
DUES_CHROMIUM = env_str("DUES_CHROMIUM", "/usr/bin/chromium")

# --- Database ----------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
if not DATABASE_URL:
    raise ImproperlyConfigured(
        "DATABASE_URL is not set. `./run demo` and `./run test` start a project-local PostgreSQL and set it; "
        "otherwise give e.g. postgis://user:password@host:5432/dbname"
    )
_db = dj_database_url.parse(
    DATABASE_URL,
    engine="django.contrib.gis.db.backends.postgis",
    conn_max_age=env_int("CONN_MAX_AGE", 60),
    conn_health_checks=True,
)
_db.setdefault("OPTIONS", {})
# Serving connections: parallel query start-up costs 10-30 ms per small map query on 2 cores, and JIT compilation
# 100-300 ms on a low-zoom vector tile whose estimated cost passes jit_above_cost (measured: bench/tiles.py).
# Batch jobs turn both back on (common.db.batch_session).
# The hot reads are server-side prepared statements (common.db.prepared_fetchone). Left to choose, PostgreSQL
# re-plans the parcel sheet's statement on every click (its generic plan's estimate looks worse), and planning it
# costs 2 ms, more than running it: generic plans always (measured: bench/map_click.py). Only prepared statements
# and PL/pgSQL's cached plans are affected; Django's own queries are planned with their values as before.
_db["OPTIONS"]["options"] = "-c max_parallel_workers_per_gather=0 -c jit=off -c plan_cache_mode=force_generic_plan"
# The SRID is part of the test database's name so suites run with different municipalities don't clash.
_db["TEST"] = {"NAME": f"test_{_db['NAME']}_{MUNICIPALITY_SRID}"}
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Applications ------------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "leaflet",
    "simple_history",
    "gis_portal.apps.GisPortalConfig",
    # the layers, bottom up (README, "Where things are"; checked by import-linter, .importlinter)
    "common",
    "parcels",
    "layers",
    "zoning",
    "dues",
    "portal",  # last: the site layer composes the apps above (its post_migrate runs after theirs)
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "common.middleware.PersianFirstLocaleMiddleware",
    "common.edge.ErrorMiddleware",  # errors as JSON on API routes, pages elsewhere, in the user's language
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]

# Routes whose answers, errors included, are JSON (common.edge); a new app's API under them needs no code.
API_PATH_PREFIXES = env_list("API_PATH_PREFIXES", ["/api/", "/ogc/", "/tiles/"])
CSRF_FAILURE_VIEW = "common.edge.csrf_failure"

ROOT_URLCONF = "gis_portal.urls"
WSGI_APPLICATION = "gis_portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "portal.context_processors.municipality",
            ],
        },
    },
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Language: Persian first, English switch -------------------------------------------------------
LANGUAGE_CODE = "fa"
LANGUAGES = [("fa", "فارسی"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Asia/Tehran"
USE_TZ = True

# --- Static files: front-end packages come from npm (package-lock.json) and are served by the app ----
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [
    ("vendor/leaflet", BASE_DIR / "node_modules" / "leaflet" / "dist"),
    ("vendor/vectorgrid", BASE_DIR / "node_modules" / "leaflet.vectorgrid" / "dist"),
    ("vendor/jalalidatepicker", BASE_DIR / "node_modules" / "@majidh1" / "jalalidatepicker" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = env_bool("WHITENOISE_USE_FINDERS", DEBUG)

# Generated files (demo city GeoPackage and DEM, rasters).
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))

# Vector tiles already made, keyed by the layer's data version (so a write invalidates them): per process, in memory,
# by default; TILE_CACHE_ENTRIES=0 turns it off. Any Django cache backend can be put here (e.g. memcached).
TILE_CACHE_ENTRIES = env_int("TILE_CACHE_ENTRIES", 1000)
OGC_CACHE_ENTRIES = env_int("OGC_CACHE_ENTRIES", 2000)
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "tiles": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "tiles",
              "TIMEOUT": None, "OPTIONS": {"MAX_ENTRIES": TILE_CACHE_ENTRIES, "CULL_FREQUENCY": 4}}
    if TILE_CACHE_ENTRIES > 0 else {"BACKEND": "django.core.cache.backends.dummy.DummyCache"},
    # OGC API pages of public layers, keyed by the layer's data version and the request (layers/ogc.py).
    "ogc": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "ogc",
            "TIMEOUT": None, "OPTIONS": {"MAX_ENTRIES": OGC_CACHE_ENTRIES, "CULL_FREQUENCY": 4}}
    if OGC_CACHE_ENTRIES > 0 else {"BACKEND": "django.core.cache.backends.dummy.DummyCache"},
}

# --- Map ---------------------------------------------------------------------------------------
# An XYZ base map for online use; empty means the map shows only the city's own layers (closed networks).
BASEMAP_URL = env_str("BASEMAP_URL", "")
BASEMAP_ATTRIBUTION = env_str("BASEMAP_ATTRIBUTION", "")
LEAFLET_CONFIG = {
    "DEFAULT_CENTER": (env_float("MAP_CENTER_LAT", 28.755), env_float("MAP_CENTER_LON", 54.553)),
    "DEFAULT_ZOOM": env_int("MAP_DEFAULT_ZOOM", 14),
    "MIN_ZOOM": 3,
    "MAX_ZOOM": 21,
    "TILES": [("Base map", BASEMAP_URL, {"attribution": BASEMAP_ATTRIBUTION, "maxZoom": 21})] if BASEMAP_URL else [],
    "RESET_VIEW": False,
}

LOGIN_URL = "admin:login"

# Debian 12's GDAL is 3.6 (the decided stack); GDAL only ever opens files staff give it, never URLs from users.
SILENCED_SYSTEM_CHECKS = ["gis.W001"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

if not DEBUG:
    SESSION_COOKIE_HTTPONLY = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"
    SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
    CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
