"""Fixtures of the jobs tests: committed users (workers and the served portal only see committed rows), the job
results in a directory of the session, the test job kinds, and the cleanup of what the tests queued."""

import pytest

from tests.jobs import kinds


@pytest.fixture(scope="session")
def jobs_var(tmp_path_factory):
    return tmp_path_factory.mktemp("jobs-var")


@pytest.fixture(autouse=True)
def _jobs_var_dir(settings, jobs_var):
    settings.VAR_DIR = jobs_var
    kinds.register_all()


@pytest.fixture(scope="session", autouse=True)
def _test_database(django_db_setup, django_db_blocker):
    """pytest-django sets the test database up only when a selected test is marked django_db; the worker tests
    are not (their rows are committed), so when only they are selected (-k killed) it is set up here."""
    from django.db import connection
    from django.test.utils import setup_databases

    with django_db_blocker.unblock():
        if connection.settings_dict["NAME"] != connection.settings_dict["TEST"]["NAME"]:
            setup_databases(verbosity=0, interactive=False, keepdb=True, aliases={"default"})


@pytest.fixture(scope="session")
def committed_users(django_db_setup, django_db_blocker):
    """One committed user per role (plus a second planner), kept across tests (like test_map_browser's admin)."""
    from django.contrib.auth.models import Group, User

    users = {}
    with django_db_blocker.unblock():
        for role, staff in (("planner", True), ("finance", True), ("admin", True), ("citizen", False),
                            ("engineer", True)):
            user, _ = User.objects.get_or_create(username=f"jobs-{role}", defaults={"is_staff": staff})
            user.groups.set([Group.objects.get(name=role)])
            users[role] = user
        users["planner2"], _ = User.objects.get_or_create(username="jobs-planner2", defaults={"is_staff": True})
        users["planner2"].groups.set([Group.objects.get(name="planner")])
    return users


@pytest.fixture
def committed(django_db_blocker, committed_users):
    """Database access outside the per-test transaction (autocommit: a worker sees the rows); the jobs the test
    made are deleted after it, with what the workers queued meanwhile."""
    from django.db import connection

    from django.utils import timezone

    from jobs.models import Job

    started = timezone.now()
    with django_db_blocker.unblock():
        with connection.cursor() as cursor:
            cursor.execute("SELECT coalesce(max(id), 0) FROM procrastinate_jobs")
            first_free = cursor.fetchone()[0]
        yield committed_users
        Job.objects.filter(created_at__gte=started).delete()
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM procrastinate_jobs WHERE id > %s AND task_name = 'jobs.run_job'"
                           " AND status <> 'doing'", [first_free])
