"""Settings for the land and property information system.

Everything that differs between machines or municipalities comes from the environment (see README,
"Configuration"). The local demo works with nothing set; production refuses to start without a secret key.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from common.municipality import database_url_for as municipal_database_url, read_file as read_municipalities, slug_of
from gis_portal.env import csp_origin as _csp_origin, env_bool, env_float, env_int, env_list, env_str
from gis_portal.env import env_time_zone

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
# The municipalities this deployment serves (common/municipality.py): from the TOML file MUNICIPALITIES_FILE names
# (README, "Many municipalities"), the default one first; without it, the one municipality of the settings below.
# App code reads these values from common.municipality.current(); the settings below are the default municipality's.
MUNICIPALITIES_FILE = env_str("MUNICIPALITIES_FILE", "")
MUNICIPALITIES = read_municipalities(MUNICIPALITIES_FILE) if MUNICIPALITIES_FILE else None
_PER_MUNICIPALITY = ("MUNICIPALITY_SLUG", "MUNICIPALITY_SRID", "MUNICIPALITY_NAME", "MUNICIPALITY_NAME_EN",
                     "RENEWAL_CODE_WIDTHS", "TIME_ZONE", "DUES_BILL_COMPANY_CODE", "REPORTS_OPEN311_JURISDICTION")
if MUNICIPALITIES and any(os.environ.get(name) for name in _PER_MUNICIPALITY):
    raise ImproperlyConfigured(
        f"MUNICIPALITIES_FILE is set: {', '.join(n for n in _PER_MUNICIPALITY if os.environ.get(n))} must be given "
        "in that file (each municipality's table), not in the environment")
_DEFAULT = MUNICIPALITIES[0] if MUNICIPALITIES else None
# Its projected CRS: every geometry is stored in it, areas and lengths are measured in it (metres).
# Set before the first `migrate`: the geometry columns are created with it.
MUNICIPALITY_SRID = _DEFAULT.srid if _DEFAULT else env_int("MUNICIPALITY_SRID", 32640)  # UTM 40N, Darab
MUNICIPALITY_NAME = _DEFAULT.name if _DEFAULT else env_str("MUNICIPALITY_NAME", "شهرداری داراب")
MUNICIPALITY_NAME_EN = _DEFAULT.name_en if _DEFAULT else env_str("MUNICIPALITY_NAME_EN", "Darab Municipality")
MUNICIPALITY_SLUG = _DEFAULT.slug if _DEFAULT else env_str("MUNICIPALITY_SLUG", slug_of(MUNICIPALITY_NAME_EN) or "city")
# Digits per segment of the renewal code (district-zone-block-property-building-apartment-business).
# Widths differ between cities (DOMAIN.md, confidence L), hence a setting.
RENEWAL_CODE_WIDTHS = list(_DEFAULT.renewal_code_widths) if _DEFAULT else [
    int(w) for w in env_list("RENEWAL_CODE_WIDTHS", ["1", "1", "3", "3", "1", "1", "1"])]
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
# Unset, bills use the placeholder 401 (dues.billid.PLACEHOLDER_COMPANY_CODE): fine for the demo, refused in production
# by the system check dues.E002.
DUES_BILL_COMPANY_CODE = _DEFAULT.bill_company_code if _DEFAULT else env_str("DUES_BILL_COMPANY_CODE", "")
DUES_GATEWAY = env_str("DUES_GATEWAY", "dues.gateways.SandboxGateway")
# The sandbox marks bills paid without money: with DEBUG off it is refused (system check dues.E001, and the sandbox
# pages answer 404) unless the site is declared a staging or demo site here (`./run demo` does); its pages say so.
DUES_ALLOW_SANDBOX_IN_PRODUCTION = env_bool("DUES_ALLOW_SANDBOX_IN_PRODUCTION", False)
# The symbology of the bill's 26-digit barcode: "code128" or "itf" (Interleaved 2 of 5); which one banks' readers
# take is not settled (DOMAIN.md), Code 128 is read by every scanner's default setup (dues/barcode.py, check dues.E005).
DUES_BARCODE_SYMBOLOGY = env_str("DUES_BARCODE_SYMBOLOGY", "code128")
# The headless Chromium that prints bills to PDF.
DUES_CHROMIUM = env_str("DUES_CHROMIUM", "/usr/bin/chromium")

# --- Reports of problems in the city (reports/: the 137 line on the map) --------------------------------------
# Before submitting, open reports of the same category within this many metres, reported in the last this many days,
# are offered to join ("already reported: add your voice").
REPORTS_DUPLICATE_METRES = env_int("REPORTS_DUPLICATE_METRES", 75)
REPORTS_DUPLICATE_DAYS = env_int("REPORTS_DUPLICATE_DAYS", 30)
# A reporter may reopen a resolved report (or rate the fix) for this many days; then it is closed.
REPORTS_REOPEN_DAYS = env_int("REPORTS_REOPEN_DAYS", 14)
# Photos: at most this many per report, each at most this many bytes as sent; stored re-encoded as JPEG (every
# metadata field stripped) with the longer side at most REPORTS_PHOTO_MAX_PIXELS.
REPORTS_PHOTOS_MAX = env_int("REPORTS_PHOTOS_MAX", 3)
REPORTS_PHOTO_MAX_BYTES = env_int("REPORTS_PHOTO_MAX_BYTES", 10 * 1024 * 1024)
REPORTS_PHOTO_MAX_PIXELS = env_int("REPORTS_PHOTO_MAX_PIXELS", 2048)
# Submissions per mobile number and per client address ("count/seconds", all must hold; accounts/ratelimit.py).
REPORTS_RATE_PER_NUMBER = env_list("REPORTS_RATE_PER_NUMBER", ["5/3600", "20/86400"])
REPORTS_RATE_PER_ADDRESS = env_list("REPORTS_RATE_PER_ADDRESS", ["20/3600", "100/86400"])
# Photos uploaded while the form is filled in (POST /api/reports/photos): per number and per address, and how many
# hours an upload waits to be attached to a report before the periodic job deletes it.
REPORTS_PHOTO_RATE_PER_NUMBER = env_list("REPORTS_PHOTO_RATE_PER_NUMBER", ["30/3600", "100/86400"])
REPORTS_PHOTO_RATE_PER_ADDRESS = env_list("REPORTS_PHOTO_RATE_PER_ADDRESS", ["100/3600", "400/86400"])
REPORTS_STAGED_PHOTO_HOURS = env_int("REPORTS_STAGED_PHOTO_HOURS", 6)
# Outside blocks, the public place of a report about a private home is the centre of a grid cell this wide (metres).
REPORTS_PRIVATE_GRID_METRES = env_int("REPORTS_PRIVATE_GRID_METRES", 100)
# Open311 GeoReport v2 (/open311/v2/, reports/open311.py): the jurisdiction_id apps may send (Open311 suggests the
# city's web domain, e.g. darab.ir; default: the municipality's English name as a slug), what discovery.json tells
# about contact and keys, and the submissions each app's API key may make ("count/seconds", all must hold).
REPORTS_OPEN311_JURISDICTION = _DEFAULT.open311_jurisdiction if _DEFAULT else env_str(
    "REPORTS_OPEN311_JURISDICTION", slug_of(MUNICIPALITY_NAME_EN) or "city")
REPORTS_OPEN311_CONTACT = env_str("REPORTS_OPEN311_CONTACT", "")
REPORTS_OPEN311_RATE_PER_KEY = env_list("REPORTS_OPEN311_RATE_PER_KEY", ["300/3600", "3000/86400"])
# Permits, the citizen's side (permits/citizen_views.py, permits/consent.py): tries of the public status page per
# client address and per tracking code ("count/seconds", all must hold: guessing a mobile is slow); an owner's consent
# code: codes asked per engineer and per parcel, its life, its wrong tries, and how long a confirmed consent lasts.
PERMITS_STATUS_RATE_PER_ADDRESS = env_list("PERMITS_STATUS_RATE_PER_ADDRESS", ["20/600", "100/86400"])
PERMITS_STATUS_RATE_PER_CODE = env_list("PERMITS_STATUS_RATE_PER_CODE", ["10/3600", "30/86400"])
PERMITS_CONSENT_RATE = env_list("PERMITS_CONSENT_RATE", ["3/600", "10/86400"])
PERMITS_CONSENT_CODE_TTL_SECONDS = env_int("PERMITS_CONSENT_CODE_TTL_SECONDS", 900)
PERMITS_CONSENT_MAX_TRIES = env_int("PERMITS_CONSENT_MAX_TRIES", 5)
PERMITS_CONSENT_VALID_DAYS = env_int("PERMITS_CONSENT_VALID_DAYS", 30)
# Permits' documents (permits/files.py, permits/document_views.py): a clamd to stream each upload to (unix:/path or
# tcp:host:port; empty: no scan), its timeout in seconds, and whether a file is still taken when clamd cannot answer
# (false: refused with "cannot be scanned now"); the site's public address printed in issued permits' QR codes; and
# lookups of the public verification page per client address.
PERMITS_CLAMD = env_str("PERMITS_CLAMD", "")
PERMITS_CLAMD_TIMEOUT = env_float("PERMITS_CLAMD_TIMEOUT", 30.0)
PERMITS_CLAMD_FAIL_OPEN = env_bool("PERMITS_CLAMD_FAIL_OPEN", False)
PERMITS_PUBLIC_URL = env_str("PERMITS_PUBLIC_URL", "http://127.0.0.1:8000")
PERMITS_VERIFY_RATE = env_list("PERMITS_VERIFY_RATE", ["60/600", "600/86400"])

# --- Issued documents (documents/) ----------------------------------------------------------------------------------
# The site's public address printed on every issued document and in its QR code (the verification page); lookups of
# verification codes per client address; the municipality's signing key and certificate (PEM) and the file holding the
# key's passphrase. With no key configured, a self-signed demo key is made under VAR_DIR/signing/ on first use and
# every verification page says the signature is a demo one.
DOCUMENTS_PUBLIC_URL = env_str("DOCUMENTS_PUBLIC_URL", PERMITS_PUBLIC_URL)
DOCUMENTS_VERIFY_RATE = env_list("DOCUMENTS_VERIFY_RATE", ["60/600", "600/86400"])
# parcel certificates asked for per client address (each builds every section; the same day's identical one is reused)
DOCUMENTS_CERTIFICATE_RATE = env_list("DOCUMENTS_CERTIFICATE_RATE", ["10/600", "60/86400"])
DOCUMENTS_SIGNING_KEY = env_str("DOCUMENTS_SIGNING_KEY", "")
DOCUMENTS_SIGNING_CERT = env_str("DOCUMENTS_SIGNING_CERT", "")
DOCUMENTS_SIGNING_PASSPHRASE_FILE = env_str("DOCUMENTS_SIGNING_PASSPHRASE_FILE", "")
DOCUMENTS_CHECK_MAX_BYTES = env_int("DOCUMENTS_CHECK_MAX_BYTES", 30 * 1024 * 1024)

# --- Transparency: council decisions and municipal projects (transparency/) ------------------------------------
# Comments per citizen and per client address ("count/seconds", all must hold; accounts/ratelimit.py): past them 429.
TRANSPARENCY_COMMENT_RATE_PER_CITIZEN = env_list("TRANSPARENCY_COMMENT_RATE_PER_CITIZEN", ["5/600", "30/86400"])
TRANSPARENCY_COMMENT_RATE_PER_ADDRESS = env_list("TRANSPARENCY_COMMENT_RATE_PER_ADDRESS", ["20/600", "200/86400"])
# Attachments of decisions and projects: at most this many MB each (checked like every upload: common/uploads.py,
# scanned by the clamd PERMITS_CLAMD names when one is set).
TRANSPARENCY_ATTACHMENT_MAX_MB = env_int("TRANSPARENCY_ATTACHMENT_MAX_MB", 20)
# A busy dashboard panel (dues, permits, reports) keeps its rows this many seconds after its data changed (at a million
# parcels the dues panel's statement takes seconds; payments arrive all day); 0: made again after every change.
TRANSPARENCY_DASHBOARD_REFRESH_SECONDS = env_int("TRANSPARENCY_DASHBOARD_REFRESH_SECONDS", 600)

# --- Citizens' sign-in, staff two-factor, notices, the job queue (accounts/, notices/, jobs/) -------------
# One-time sign-in codes sent by SMS: digits, lifetime, wrong tries before the number cools down, and how long.
SIGNIN_CODE_DIGITS = env_int("SIGNIN_CODE_DIGITS", 6)
SIGNIN_CODE_TTL_SECONDS = env_int("SIGNIN_CODE_TTL_SECONDS", 120)
SIGNIN_MAX_TRIES = env_int("SIGNIN_MAX_TRIES", 5)
SIGNIN_COOLDOWN_SECONDS = env_int("SIGNIN_COOLDOWN_SECONDS", 900)
# Rate limits on code requests, kept in PostgreSQL: "count/seconds" pairs, all must hold.
SIGNIN_RATE_PER_NUMBER = env_list("SIGNIN_RATE_PER_NUMBER", ["3/600", "10/86400"])
SIGNIN_RATE_PER_ADDRESS = env_list("SIGNIN_RATE_PER_ADDRESS", ["20/3600", "100/86400"])
# The client address those limits count is REMOTE_ADDR; behind N trusted reverse proxies that append to
# X-Forwarded-For, set ACCOUNTS_TRUSTED_PROXIES=N (the entry the nearest one wrote is taken; left ones can be forged).
ACCOUNTS_TRUSTED_PROXIES = env_int("ACCOUNTS_TRUSTED_PROXIES", 0)
# National IDs a signed-in citizen may try against the owner records ("count/seconds", all must hold).
ACCOUNTS_CLAIM_RATE = env_list("ACCOUNTS_CLAIM_RATE", ["10/3600", "20/86400"])
# Staff: TOTP two-factor is offered; STAFF_OTP_REQUIRED makes it mandatory for the admin and finance pages.
STAFF_OTP_REQUIRED = env_bool("STAFF_OTP_REQUIRED", False)
OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", MUNICIPALITY_NAME_EN)
# Staff sessions end after this many minutes without a request (citizens' after CITIZEN_IDLE_MINUTES).
STAFF_IDLE_MINUTES = env_int("STAFF_IDLE_MINUTES", 30)
CITIZEN_IDLE_MINUTES = env_int("CITIZEN_IDLE_MINUTES", 24 * 60)
# API clients (QGIS, GDAL, scripts) sign in with personal API tokens or HTTP basic (accounts/apiauth.py). Basic
# credentials once verified are remembered this many seconds in the cache API_AUTH_CACHE (0: never; a password change
# forgets them at once). Wrong passwords are limited per client address and per user name ("count/seconds", all must
# hold): past a limit the answer is 429 with Retry-After and no password is checked until the window ends.
API_BASIC_CACHE_SECONDS = env_int("API_BASIC_CACHE_SECONDS", 300)
API_AUTH_CACHE = env_str("API_AUTH_CACHE", "default")
API_AUTH_FAILURES_PER_ADDRESS = env_list("API_AUTH_FAILURES_PER_ADDRESS", ["10/300", "50/3600"])
API_AUTH_FAILURES_PER_USER = env_list("API_AUTH_FAILURES_PER_USER", ["5/300", "20/3600"])
# Notices: the SMS provider (the local backend keeps every message in the database; notices.providers.http.
# RestSmsGateway speaks the common REST shape of Iranian gateways), its address, key, sender line and limits.
NOTICES_SMS_BACKEND = env_str("NOTICES_SMS_BACKEND", "notices.providers.local.LocalSmsBackend")
NOTICES_SMS_URL = env_str("NOTICES_SMS_URL", "")
NOTICES_SMS_API_KEY = env_str("NOTICES_SMS_API_KEY", "")
NOTICES_SMS_SENDER = env_str("NOTICES_SMS_SENDER", "10004346")
NOTICES_SMS_TIMEOUT = env_float("NOTICES_SMS_TIMEOUT", 10.0)
NOTICES_SMS_RATE = env_float("NOTICES_SMS_RATE", 50.0)  # messages per second the gateway allows us
# E-mail goes through Django's e-mail backend (SMTP in production: EMAIL_HOST, EMAIL_PORT, ...).
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "no-reply@localhost")
NOTICES_EMAIL_ENABLED = env_bool("NOTICES_EMAIL_ENABLED", False)  # off until a mail server is configured
# Delivery: attempts before a message is dead (staff may retry it), the first back-off and its cap (seconds).
NOTICES_MAX_ATTEMPTS = env_int("NOTICES_MAX_ATTEMPTS", 8)
NOTICES_BACKOFF_SECONDS = env_int("NOTICES_BACKOFF_SECONDS", 30)
NOTICES_BACKOFF_MAX_SECONDS = env_int("NOTICES_BACKOFF_MAX_SECONDS", 3600)
# The secret in the URL the SMS gateway calls back (delivery reports, replies such as the opt-out keyword).
NOTICES_CALLBACK_TOKEN = env_str("NOTICES_CALLBACK_TOKEN", "")
# Replies that stop reminders (after normalising digits and letters).
NOTICES_OPT_OUT_KEYWORDS = env_list("NOTICES_OPT_OUT_KEYWORDS", ["لغو", "11", "STOP", "OFF"])
# Reminder campaigns are throttled to this many messages per second (below the gateway's own limit).
NOTICES_REMINDER_RATE = env_float("NOTICES_REMINDER_RATE", 20.0)
# The queue's rows of finished jobs are deleted after this many hours.
QUEUE_HISTORY_HOURS = env_int("QUEUE_HISTORY_HOURS", 72)
# A worker's claim on a message lasts this long: a message still "sending" after it (the worker died) is due again.
NOTICES_LEASE_SECONDS = env_int("NOTICES_LEASE_SECONDS", 60)
# How often the periodic sweep sends messages due later (back-offs, throttled campaigns, expired leases): a 6-field
# cron (seconds last); and how long one run of the sender may keep a worker before it yields.
NOTICES_SWEEP_CRON = env_str("NOTICES_SWEEP_CRON", "* * * * * */10")
NOTICES_SEND_MAX_SECONDS = env_int("NOTICES_SEND_MAX_SECONDS", 50)
# The local SMS backend's simulated latency per message (seconds; 0 in production, used by demos and tests).
NOTICES_LOCAL_SMS_DELAY = env_float("NOTICES_LOCAL_SMS_DELAY", 0.0)

# Long jobs (jobs/): results (files under VAR_DIR/jobs/) are deleted after this many days. Workers send a heartbeat
# every JOBS_HEARTBEAT_SECONDS; a job whose worker has been silent JOBS_STALLED_SECONDS is retried by the periodic
# check (JOBS_STALL_CHECK_CRON, 6th field seconds). At most JOBS_MAX_ACTIVE unfinished jobs per user (or browser).
JOBS_RESULT_DAYS = env_int("JOBS_RESULT_DAYS", 7)
JOBS_HEARTBEAT_SECONDS = env_float("JOBS_HEARTBEAT_SECONDS", 10.0)
JOBS_STALLED_SECONDS = env_float("JOBS_STALLED_SECONDS", 60.0)
JOBS_STALL_CHECK_CRON = env_str("JOBS_STALL_CHECK_CRON", "* * * * *")
JOBS_MAX_ACTIVE = env_int("JOBS_MAX_ACTIVE", 3)
PROCRASTINATE_WORKER_DEFAULTS = {"update_heartbeat_interval": JOBS_HEARTBEAT_SECONDS,
                                 "stalled_worker_timeout": JOBS_STALLED_SECONDS}
# Exports bigger than this many features are refused by the direct download (GET /api/layers/export) and made as
# a job (POST /api/layers/export/jobs) instead.
EXPORT_SYNC_MAX_FEATURES = env_int("EXPORT_SYNC_MAX_FEATURES", 50000)

# --- Database ----------------------------------------------------------------------------------
# The first municipality's database: DATABASE_URL, or the database_url of its table in MUNICIPALITIES_FILE.
DATABASE_URL = (_DEFAULT.database_url if _DEFAULT else "") or env_str("DATABASE_URL")
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
_SERVING_OPTIONS = "-c max_parallel_workers_per_gather=0 -c jit=off -c plan_cache_mode=force_generic_plan"
# Behind a pooler (pgbouncer) in transaction mode: "transaction". The hot reads are then sent unprepared (pgbouncer
# 1.18, Debian 12's, keeps no prepared statement across transactions), no server-side cursors, and the serving
# options above are set by the pooler (deploy/pgbouncer/pgbouncer.ini: connect_query), which refuses them at start-up.
DATABASE_POOLER = (env_str("DATABASE_POOLER", "") or "").strip().lower()
if DATABASE_POOLER not in ("", "session", "transaction"):
    raise ImproperlyConfigured(f"DATABASE_POOLER must be empty, session or transaction, not {DATABASE_POOLER!r}")
_db["DISABLE_SERVER_SIDE_CURSORS"] = DATABASE_POOLER == "transaction"  # a cursor WITH HOLD outlives its transaction
if not DATABASE_POOLER:
    _db["OPTIONS"]["options"] = _SERVING_OPTIONS
# The SRID is part of the test database's name so suites run with different municipalities don't clash.
_db["TEST"] = {"NAME": f"test_{_db['NAME']}_{MUNICIPALITY_SRID}"}
DATABASES = {"default": _db}
# Every other municipality's database (common/tenancy.py makes "default" the current municipality's): its
# database_url, or DATABASE_URL's server with the database <its name>_<slug>; the same options as the first's.
for _m in (MUNICIPALITIES or ())[1:]:
    _other = dj_database_url.parse(_m.database_url or municipal_database_url(DATABASE_URL, _m.slug),
                                   engine="django.contrib.gis.db.backends.postgis",
                                   conn_max_age=_db["CONN_MAX_AGE"], conn_health_checks=True)
    _other["OPTIONS"] = {**_db["OPTIONS"], **_other.get("OPTIONS", {})}
    _other["DISABLE_SERVER_SIDE_CURSORS"] = _db["DISABLE_SERVER_SIDE_CURSORS"]
    _other["TEST"] = {"NAME": f"test_{_other['NAME']}_{_m.srid}"}
    DATABASES[_m.database] = _other
# The municipality of this process outside requests (a job worker, a command): `MUNICIPALITY=shiraz manage.py …`;
# unset: the first. Requests are each for the municipality of their host or path prefix (common/tenancy.py).
MUNICIPALITY = env_str("MUNICIPALITY", "")
if MUNICIPALITY and MUNICIPALITY not in ([m.slug for m in MUNICIPALITIES] if MUNICIPALITIES else [MUNICIPALITY_SLUG]):
    raise ImproperlyConfigured(
        f"MUNICIPALITY={MUNICIPALITY!r} is not a municipality of this deployment "
        f"({', '.join(m.slug for m in MUNICIPALITIES) if MUNICIPALITIES else MUNICIPALITY_SLUG})")
# Each municipality's host names are hosts of this site.
if "*" not in ALLOWED_HOSTS:
    ALLOWED_HOSTS += [h for m in MUNICIPALITIES or () for h in m.hosts if h not in ALLOWED_HOSTS]
# Read replicas (common/db_router.py): streaming replicas of the primary, comma-separated postgis:// URLs (each may
# be a pgbouncer in front of one). None: every query goes to DATABASE_URL. The reads of safe requests go to a replica
# whose replay lag is under DATABASE_REPLICA_MAX_LAG_SECONDS (checked at most every DATABASE_REPLICA_CHECK_SECONDS
# per process); one that refuses connections is left alone DATABASE_REPLICA_RETRY_SECONDS; a client that wrote
# reads from the primary for DATABASE_STICKY_SECONDS (a signed cookie).
DATABASE_REPLICA_URLS = env_list("DATABASE_REPLICA_URLS", [])
DATABASE_REPLICA_MAX_LAG_SECONDS = env_float("DATABASE_REPLICA_MAX_LAG_SECONDS", 5.0)
DATABASE_REPLICA_CHECK_SECONDS = env_float("DATABASE_REPLICA_CHECK_SECONDS", 2.0)
DATABASE_REPLICA_RETRY_SECONDS = env_float("DATABASE_REPLICA_RETRY_SECONDS", 15.0)
DATABASE_REPLICA_CONNECT_TIMEOUT = env_int("DATABASE_REPLICA_CONNECT_TIMEOUT", 2)
DATABASE_STICKY_SECONDS = env_int("DATABASE_STICKY_SECONDS", 15)
# The share (0-1) of safe requests that read from the primary anyway: with one replica, 0.5 puts both servers' cores
# to work on reads (0: reads only from replicas, the primary kept for writes).
DATABASE_PRIMARY_READ_SHARE = env_float("DATABASE_PRIMARY_READ_SHARE", 0.0)
# The replicas of each primary (one today; a municipality with its own primary would list its own).
DATABASE_REPLICAS: dict[str, list[str]] = {}
for _i, _url in enumerate(DATABASE_REPLICA_URLS, 1):
    _replica = dj_database_url.parse(_url, engine="django.contrib.gis.db.backends.postgis",
                                     conn_max_age=_db["CONN_MAX_AGE"], conn_health_checks=True)
    _replica["OPTIONS"] = {**_db["OPTIONS"], "connect_timeout": DATABASE_REPLICA_CONNECT_TIMEOUT}
    _replica["DISABLE_SERVER_SIDE_CURSORS"] = _db["DISABLE_SERVER_SIDE_CURSORS"]
    _replica["TEST"] = {"MIRROR": "default"}  # tests read the test database through it
    DATABASES[f"replica_{_i}"] = _replica
    DATABASE_REPLICAS.setdefault("default", []).append(f"replica_{_i}")
DATABASE_ROUTERS = ["common.db_router.ReplicaRouter"] if DATABASE_REPLICAS else []
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
    "procrastinate.contrib.django",  # the job queue (jobs/): its tables live in our database
    "django_otp",
    "django_otp.plugins.otp_totp",  # staff two-factor: TOTP devices
    "gis_portal.apps.GisPortalConfig",
    # the layers, bottom up (README, "Where things are"; checked by import-linter, .importlinter)
    "common",
    "jobs",
    "parcels",
    "layers",
    "notices",
    "accounts",
    "documents",  # issued documents: register, verification, signed PDFs printed once (documents/)
    "transparency",  # decisions, projects, dashboards, open-data catalogue (transparency/)
    "zoning",
    "dues",
    "reports",  # the 137 line: reports of problems on the map (reports/)
    "permits",  # permits and certificates online: cases, desks, documents, issuing (permits/)
    "portal",  # last: the site layer composes the apps above (its post_migrate runs after theirs)
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "common.csp.ContentSecurityPolicyMiddleware",  # the CSP header and the request's nonce (request.csp_nonce)
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "common.middleware.PersianFirstLocaleMiddleware",
    "common.edge.ErrorMiddleware",  # errors as JSON on API routes, pages elsewhere, in the user's language
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.IdleTimeoutMiddleware",  # staff sessions end after STAFF_IDLE_MINUTES without a request
    "accounts.apiauth.ApiAuthMiddleware",  # API paths: the user of an Authorization header (API token, HTTP basic)
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]
if DATABASE_REPLICAS:  # reads of safe requests to replicas, read-your-writes (common/db_router.py); before any read
    MIDDLEWARE.insert(1, "common.db_router.ReadRoutingMiddleware")

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
                "common.csp.nonce",  # {{ csp_nonce }} for an inline <script nonce="...">
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
# The municipality's time zone (an IANA name): dates on bills and pages, the Jalali year's end, "today" for dues.
# With MUNICIPALITIES_FILE: the time zone of this process's municipality (MUNICIPALITY, e.g. a job worker's), else of
# the first; a request's municipality makes its own current (common.municipality.set_current).
TIME_ZONE = (next((m.time_zone for m in MUNICIPALITIES if m.slug == MUNICIPALITY), _DEFAULT.time_zone) if _DEFAULT
             else env_time_zone("TIME_ZONE", "Asia/Tehran"))
USE_TZ = True

# --- Static files: front-end packages come from npm (package-lock.json) and are served by the app ----
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [
    ("vendor/leaflet", BASE_DIR / "node_modules" / "leaflet" / "dist"),
    ("vendor/vectorgrid", BASE_DIR / "node_modules" / "leaflet.vectorgrid" / "dist"),
    ("vendor/leaflet-heat", BASE_DIR / "node_modules" / "leaflet.heat" / "dist"),  # the reports map's heat layer
    ("vendor/jalalidatepicker", BASE_DIR / "node_modules" / "@majidh1" / "jalalidatepicker" / "dist"),
    ("vendor/chartjs", BASE_DIR / "node_modules" / "chart.js" / "dist"),  # the reports' statistics page
]
STORAGES = {
    "default": {"BACKEND": "common.storage.MunicipalFileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = env_bool("WHITENOISE_USE_FINDERS", DEBUG)

# Generated files (demo city GeoPackage and DEM, rasters).
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))
# Uploaded files (report photos, reports/photos.py), through Django's default storage: STORAGE_BACKEND=filesystem
# (the default: under MEDIA_ROOT, VAR_DIR/media, kept by `./run backup`) or s3 (django-storages' S3 backend with
# boto3, both in requirements.txt; bucket, keys, region and endpoint from the AWS_* variables below,
# files private). There is no public media URL: the app's own views serve each file after their checks.
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
STORAGE_BACKEND = (env_str("STORAGE_BACKEND", "filesystem") or "filesystem").strip().lower()
if STORAGE_BACKEND == "filesystem":
    STORAGES["default"] = {"BACKEND": "common.storage.MunicipalFileSystemStorage"}  # at MEDIA_ROOT (another
    # municipality's: its own folder, common/municipality.media_root)
elif STORAGE_BACKEND == "s3":
    if not env_str("AWS_STORAGE_BUCKET_NAME"):
        raise ImproperlyConfigured("STORAGE_BACKEND=s3 needs AWS_STORAGE_BUCKET_NAME")
    STORAGES["default"] = {"BACKEND": "common.storage_s3.MunicipalS3Storage", "OPTIONS": {
        "bucket_name": env_str("AWS_STORAGE_BUCKET_NAME"),
        "access_key": env_str("AWS_S3_ACCESS_KEY_ID"),  # or AWS_S3_ACCESS_KEY_ID_FILE; unset: boto3's own chain
        "secret_key": env_str("AWS_S3_SECRET_ACCESS_KEY"),  # or AWS_S3_SECRET_ACCESS_KEY_FILE
        "region_name": env_str("AWS_S3_REGION_NAME"),
        "endpoint_url": env_str("AWS_S3_ENDPOINT_URL"),  # MinIO, Ceph, ArvanCloud…
        "location": env_str("AWS_LOCATION", ""),  # a prefix inside the bucket
        "default_acl": "private", "querystring_auth": True, "file_overwrite": False}}
else:
    raise ImproperlyConfigured(f"STORAGE_BACKEND must be filesystem or s3, not {STORAGE_BACKEND!r}")
# `./run backup` (manage.py backup) writes each backup into a new folder here unless given one.
BACKUP_DIR = Path(env_str("BACKUP_DIR", str(BASE_DIR / "backups")))

# Vector tiles already made, keyed by the layer's data version (so a write invalidates them): per process, in memory,
# by default; TILE_CACHE_ENTRIES=0 turns it off. Any Django cache backend can be put here (e.g. memcached).
TILE_CACHE_ENTRIES = env_int("TILE_CACHE_ENTRIES", 1000)
OGC_CACHE_ENTRIES = env_int("OGC_CACHE_ENTRIES", 2000)
# Per-tile versions (layers/versions.py): a write changes the version of the tiles over the edit regions (tiles at
# TILE_EDIT_ZOOM) its old and new geometries touch; a statement touching more than TILE_EDIT_MAX_REGIONS regions, or
# a table with more than TILE_EDIT_REGIONS_KEPT regions listed, changes every tile of its layers instead.
TILE_EDIT_ZOOM = env_int("TILE_EDIT_ZOOM", 16)
TILE_EDIT_MAX_REGIONS = env_int("TILE_EDIT_MAX_REGIONS", 256)
TILE_EDIT_REGIONS_KEPT = env_int("TILE_EDIT_REGIONS_KEPT", 1000)
# Where the low-zoom tiles are asked for after a load, to warm the cache (layers/seeding.py): the tile cache in front
# (nginx, `./run tilecache`), e.g. http://127.0.0.1:8080; empty: the tiles are made into this app's own tile cache.
TILE_SEED_BASE_URL = env_str("TILE_SEED_BASE_URL", "")
TILE_SEED_ZOOMS = (env_int("TILE_SEED_MIN_ZOOM", 10), env_int("TILE_SEED_MAX_ZOOM", 14))
# Every cache's keys carry the municipality (common.tenancy.cache_key: the first one's stay as they were).
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
for _cache in CACHES.values():
    _cache["KEY_FUNCTION"] = "common.tenancy.cache_key"

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
    "loggers": {"django.db.backends": {"level": "INFO"},
                # the queue logs every periodic sweep (every 10 s) at INFO: its warnings and errors are what matter
                "procrastinate": {"level": env_str("QUEUE_LOG_LEVEL", "WARNING")}},
}

# --- HTTPS and security headers (README "Production"; `manage.py check --deploy` is clean with the documented set) --
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    # Cookies only over HTTPS: SECURE_COOKIES sets both, SESSION_/CSRF_COOKIE_SECURE each one.
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", env_bool("SECURE_COOKIES", False))
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", env_bool("SECURE_COOKIES", False))
# Redirect plain HTTP to HTTPS, and HSTS: browsers use only HTTPS for this many seconds (0: no header).
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# Behind a TLS-terminating proxy: the header it sets and the value meaning HTTPS, "HTTP_X_FORWARDED_PROTO,https".
# Only when the proxy always sets (or strips) that header; otherwise a client could claim HTTPS.
_proxy_ssl = env_list("SECURE_PROXY_SSL_HEADER", [])
if _proxy_ssl and len(_proxy_ssl) != 2:
    raise ImproperlyConfigured(f"SECURE_PROXY_SSL_HEADER must be HEADER,value, not {_proxy_ssl!r}")
SECURE_PROXY_SSL_HEADER = tuple(_proxy_ssl) if _proxy_ssl else None

# Content-Security-Policy on every response (common.csp): scripts only from this site, an inline one only with the
# request's nonce ({{ csp_nonce }}); no plugins; not framed. Tiles and images come from the site itself, plus the
# base map's origin when one is set, plus CSP_EXTRA_IMG_SRC (origins, comma-separated). CSP_REPORT_ONLY=true
# sends it as Content-Security-Policy-Report-Only (to try a change without breaking pages).
CSP_REPORT_ONLY = env_bool("CSP_REPORT_ONLY", False)
CONTENT_SECURITY_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'", "'nonce'"],          # 'nonce' becomes 'nonce-<the request's nonce>'
    "style-src": ["'self'", "'unsafe-inline'"],   # style attributes and <style> blocks (no script runs from CSS)
    "img-src": ["'self'", "data:", "blob:", *_csp_origin(BASEMAP_URL), *env_list("CSP_EXTRA_IMG_SRC", [])],
    "font-src": ["'self'", "data:"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "frame-ancestors": ["'none'"],
}
