"""Test settings: the production settings with a throwaway secret and static files served from finders."""

import os

os.environ.setdefault("SECRET_KEY", "insecure-test-key")
# The test site is a staging site: the sandbox gateway takes the payments (dues.checks refuses it in production).
os.environ.setdefault("DUES_ALLOW_SANDBOX_IN_PRODUCTION", "true")

from gis_portal.settings import *  # noqa: E402,F401,F403

WHITENOISE_USE_FINDERS = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast user creation in tests

# Uploaded files the tests make (report photos) go to a folder of their own, shared by the test process and the
# portal server it starts, emptied at the end of the session (tests/conftest.py), never into the demo's VAR_DIR.
MEDIA_ROOT = Path(os.environ.get("TEST_MEDIA_ROOT") or BASE_DIR / ".local" / "test-media")  # noqa: F405

# A pytest run beside another (./run test's isolated part: TEST_PART, tests/conftest.py) creates test databases of its
# own: test_<name>_<srid><TEST_DATABASE_SUFFIX>, for every municipality's (replicas mirror theirs).
if os.environ.get("TEST_DATABASE_SUFFIX"):
    for _db in DATABASES.values():  # noqa: F405
        if _db.get("TEST", {}).get("NAME"):
            _db["TEST"]["NAME"] += os.environ["TEST_DATABASE_SUFFIX"]
