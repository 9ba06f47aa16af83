"""`manage.py procrastinate worker ARGS` with the test job kinds registered too (tests/jobs/kinds.py)."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gis_portal.settings_test")

import django  # noqa: E402

django.setup()

from django.core.management import execute_from_command_line  # noqa: E402

from tests.jobs import kinds  # noqa: E402

kinds.register_all()
execute_from_command_line(["manage.py", "procrastinate", "worker", *sys.argv[1:]])
