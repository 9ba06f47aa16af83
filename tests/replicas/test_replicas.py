"""Read replicas (common/db_router.py) against a real streaming replica on loopback (tests/replicas/conftest.py).

gunicorn serves the portal with DATABASE_URL on the primary and DATABASE_REPLICA_URLS on the replica. Which server
answered a read is read from the two servers' statement logs: each request carries values no other request sends
(a tile number, a longitude, a bbox corner), and they appear in the log of the server that ran the statement.
"""

import re
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from django.conf import settings

from tests.faults.conftest import wait_for
from tests.replicas.conftest import Logs, Portal, portal_env, reads

pytestmark = [pytest.mark.replicas, pytest.mark.django_db]


@pytest.fixture(scope="module")
def portal(cluster, tmp_path_factory):
    primary, replica = cluster
    server = Portal(portal_env(primary, DATABASE_REPLICA_URLS=replica.url(), DATABASE_REPLICA_CHECK_SECONDS="0.2",
                               DATABASE_REPLICA_MAX_LAG_SECONDS="1", DATABASE_REPLICA_RETRY_SECONDS="1",
                               DATABASE_STICKY_SECONDS="60"),
                    tmp_path_factory.mktemp("replicas") / "gunicorn.log")
    yield server, Logs(primary=primary.log, replica=replica.log)
    server.stop()


def served_by(server: Portal, logs: Logs, cookie: str | None = None) -> dict[str, tuple[int, set[str]]]:
    """{kind: (HTTP status, the servers whose log shows its statement)} for one round of the three reads."""
    answers = {}
    for kind, (path, marker) in reads().items():
        logs.mark()
        status = server.get(path, cookie=cookie)[0]
        answers[kind] = (status, logs.servers(marker))
    return answers


def everywhere(answers, server_name: str) -> bool:
    return all(status in (200, 404) and servers == {server_name} for status, servers in answers.values())


def log_text(server: Portal) -> str:
    return server.log.read_text(errors="replace")


def test_reads_go_to_the_replica_and_writes_to_the_primary(portal, cluster):
    server, logs = portal
    answers = served_by(server, logs)
    assert answers["tile"][0] == 200 and answers["ogc"][0] == 200, answers
    assert everywhere(answers, "replica"), answers
    # an idle primary (no write for longer than the lag limit) does not make the replica look behind
    time.sleep(settings.DATABASE_REPLICA_CHECK_SECONDS + 1.5)
    assert everywhere(served_by(server, logs), "replica")
    # a forged sticky cookie is ignored (the cookie is signed)
    assert everywhere(served_by(server, logs, cookie="db_primary=1"), "replica")


def login(server: Portal, primary) -> str:
    """A staff member signs in through the admin's form (a POST that writes the session): the cookies it gets."""
    from django.contrib.auth.hashers import make_password

    primary.sql("INSERT INTO auth_user (username, password, is_staff, is_superuser, is_active, first_name, "
                "last_name, email, date_joined) VALUES ('replica_staff', %s, true, true, true, '', '', '', now()) "
                "ON CONFLICT (username) DO NOTHING", [make_password("s3cret-pass")])
    status, headers, body = server.get("/admin/login/")
    jar = dict(re.match(r"([^=]+)=([^;]*)", c).groups() for c in headers.get_all("Set-Cookie"))
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1).decode()
    form = urllib.parse.urlencode({"username": "replica_staff", "password": "s3cret-pass",
                                   "csrfmiddlewaretoken": token, "next": "/admin/"}).encode()
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    request = urllib.request.Request(f"http://127.0.0.1:{server.port}/admin/login/", data=form, method="POST",
                                     headers={"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items()),
                                              "Referer": f"http://127.0.0.1:{server.port}/admin/login/"})
    try:
        response = urllib.request.build_opener(NoRedirect).open(request, timeout=30)
        status, headers = response.status, response.headers
    except urllib.error.HTTPError as error:
        status, headers = error.code, error.headers
    assert status == 302, status  # signed in: the session and last_login were written (on the primary)
    jar.update(dict(re.match(r"([^=]+)=([^;]*)", c).groups() for c in headers.get_all("Set-Cookie")))
    assert "db_primary" in jar and "sessionid" in jar, jar
    return jar


def test_a_client_that_wrote_reads_from_the_primary(portal, cluster):
    server, logs = portal
    primary, replica = cluster
    jar = login(server, primary)
    assert primary.one("SELECT count(*) FROM auth_user WHERE username = 'replica_staff' AND last_login IS NOT NULL")
    cookie = "; ".join(f"{k}={v}" for k, v in jar.items())
    assert everywhere(served_by(server, logs, cookie=cookie), "primary")
    # another client at the same moment reads from the replica; so does this one without the sticky cookie
    assert everywhere(served_by(server, logs), "replica")
    assert everywhere(served_by(server, logs, cookie=f"sessionid={jar['sessionid']}"), "replica")


def test_a_lagging_replica_is_skipped(portal, cluster):
    server, logs = portal
    primary, replica = cluster
    assert everywhere(served_by(server, logs), "replica")
    replica.sql("SELECT pg_wal_replay_pause()")
    try:
        primary.sql("CREATE TABLE IF NOT EXISTS replica_lag_probe (at timestamptz)")
        primary.sql("INSERT INTO replica_lag_probe VALUES (now())")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:  # the replica falls behind; within the lag limit it may still be used
            answers = served_by(server, logs)
            if everywhere(answers, "primary"):
                break
            time.sleep(0.2)
        else:
            raise AssertionError(f"the paused replica was still used: {answers}")
        assert replica.sql("SELECT to_regclass('replica_lag_probe') IS NULL")[0][0], "the replica was not behind"
        assert "behind the primary" in log_text(server)
    finally:
        replica.sql("SELECT pg_wal_replay_resume()")
    wait_for(lambda: everywhere(served_by(server, logs), "replica"), 15, "the replica to be used after catching up",
             interval=0.2)
    assert "caught up" in log_text(server)


def test_reads_fall_back_to_the_primary_while_the_replica_is_down(cluster, tmp_path):
    """A replica stopped between two health checks (here: none after the first) is met by the reads themselves:
    each kind of read (a prepared statement, a Django cursor) finds the connection dead, marks the replica down and
    is made on the primary; the replica is used again once it is back."""
    primary, replica = cluster
    server = Portal(portal_env(primary, DATABASE_REPLICA_URLS=replica.url(), DATABASE_REPLICA_CHECK_SECONDS="3600",
                               DATABASE_REPLICA_RETRY_SECONDS="1"), tmp_path / "gunicorn.log")
    logs = Logs(primary=primary.log, replica=replica.log)
    try:
        assert everywhere(served_by(server, logs), "replica")
        replica.pg_ctl("stop", "-m", "fast")
        try:
            for kind in ("ogc", "tile", "sheet"):  # each is the first read after the stop, with the retry waited out
                time.sleep(1.1)
                path, marker = reads()[kind]
                logs.mark()
                assert server.get(path)[0] in (200, 404) and logs.servers(marker) == {"primary"}, kind
            assert "Replica replica_1 cannot be read" in log_text(server)
        finally:
            replica.pg_ctl("start")
        wait_for(lambda: everywhere(served_by(server, logs), "replica"), 20,
                 "the replica to be used after it came back", interval=0.3)
    finally:
        server.stop()


def test_without_replicas_nothing_changes():
    """DATABASE_REPLICA_URLS unset (as in this test process): no router, no middleware, the reads on `connection`."""
    from django.db import connection

    from common.db import read_connection

    assert settings.DATABASE_REPLICAS == {} and settings.DATABASE_ROUTERS == []
    assert "common.db_router.ReadRoutingMiddleware" not in settings.MIDDLEWARE
    assert read_connection() is connection
