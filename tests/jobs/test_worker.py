"""Jobs run by real procrastinate workers (subprocesses on the test database): an export read back with GDAL, the
reassessment from the finance endpoint, failures recorded, and a worker killed mid-job whose job is retried by
another worker after its heartbeats stop, and ends done exactly once.

The rows are committed (the `committed` fixture) rather than made in a transactional test: a transactional test's
teardown flushes every table, the session's demo city included."""

import json
import os
import signal
import time

import pyogrio
from django.db import connection
from django.test import Client

from jobs import service
from jobs.models import Job
from tests.dues_support import dues_city  # noqa: F401  (fixture)
from tests.jobs.workers import FAST, running_worker, wait_for


def count(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def follow(client, job_id, timeout=90.0):
    """Poll the job as jobs.js does (every 0.2 s here) until it ends; the statuses seen on the way."""
    seen = []

    def ended():
        status = client.get(f"/api/jobs/{job_id}").json()
        seen.append(status)
        return status["status"] not in ("queued", "running")

    wait_for(ended, timeout=timeout, what=f"job {job_id}")
    return seen


def login(user):
    client = Client()
    client.force_login(user)
    return client


def test_an_export_job_made_by_a_real_worker(demo_city, committed, django_db_blocker, tmp_path):
    planner = login(committed["planner"])
    layers = ["districts", "blocks", "streets", "parcels", "buildings"]
    response = planner.post("/api/layers/export/jobs", json.dumps({"layers": ",".join(layers), "format": "gpkg"}),
                            content_type="application/json")
    assert response.status_code == 202, response.content
    job_id = response.json()["id"]
    with running_worker(django_db_blocker, plain=True):  # exactly `manage.py procrastinate worker`
        seen = follow(planner, job_id)
    final = seen[-1]
    assert final["status"] == "done", final
    progress = [s["progress"] for s in seen]
    assert progress == sorted(progress) and progress[-1] == 1  # it only rises
    assert final["result_url"] == f"/api/jobs/{job_id}/result" and final["result_name"] == "layers.gpkg"
    assert "features exported" in final["message"] or "عارضه" in final["message"]
    download = planner.get(final["result_url"])
    assert download.status_code == 200
    assert download["Content-Disposition"] == 'attachment; filename="layers.gpkg"'
    out = tmp_path / "layers.gpkg"
    out.write_bytes(b"".join(download.streaming_content))
    tables = {"districts": "parcels_district", "blocks": "parcels_block", "streets": "parcels_street",
              "parcels": "parcels_parcel", "buildings": "parcels_building"}
    for layer, table in tables.items():
        assert len(pyogrio.read_dataframe(out, layer=layer)) == count(f"SELECT count(*) FROM {table}"), layer
    page = planner.get("/jobs/").content.decode()
    assert f'href="{final["result_url"]}"' in page and 'data-status="done"' in page
    # another planner does not see it
    assert login(committed["planner2"]).get(final["result_url"]).status_code == 404


def test_failures_are_recorded(committed, django_db_blocker, english):
    planner = committed["planner"]
    with running_worker(django_db_blocker):
        no_book = service.start("dues.assess_year", {"year": 1301}, committed["finance"])
        crash = service.start("test.crashes", {}, planner)
        bad_export = service.start("layers.export", {"layers": ["parcels"], "format": "docx"}, planner)
        for job in (no_book, crash, bad_export):
            wait_for(lambda: Job.objects.get(pk=job.pk).is_finished, what=f"{job.kind}")
    no_book.refresh_from_db(), crash.refresh_from_db(), bad_export.refresh_from_db()
    assert no_book.status == "failed" and "1301" in no_book.error and "load_tariff_book" in no_book.error
    assert crash.status == "failed" and crash.error == ("The job failed on the server. It has been recorded; please "
                                                        "try again later.")
    assert bad_export.status == "failed" and "docx" in bad_export.error
    status = login(planner).get(f"/api/jobs/{crash.pk}").json()
    assert status["status"] == "failed" and status["error"] == crash.error and status["result_url"] is None


def test_reassessment_from_the_finance_endpoint(dues_city, committed, django_db_blocker):  # noqa: F811
    from dues.models import Assessment, AssessmentRun

    finance = login(committed["finance"])
    year = dues_city
    runs = AssessmentRun.objects.filter(year=year).count()
    response = finance.post("/api/dues/assessments/jobs", json.dumps({"year": year}), content_type="application/json")
    assert response.status_code == 202, response.content
    job_id = response.json()["id"]
    with running_worker(django_db_blocker, plain=True):
        final = follow(finance, job_id)[-1]
    assert final["status"] == "done", final
    run = AssessmentRun.objects.filter(year=year).latest("pk")
    assert AssessmentRun.objects.filter(year=year).count() == runs + 1 and run.run_by.startswith(f"job {job_id}")
    assert run.created == 0 and run.reassessed == 0  # the same book again: nothing changes
    assert str(run.pk) in final["message"]
    csv = finance.get(final["result_url"])
    lines = b"".join(csv.streaming_content).decode("utf-8-sig").splitlines()
    total = sum(int(line.rsplit(",", 2)[-2]) for line in lines[1:])
    assert total == Assessment.objects.filter(year=year, is_current=True).count()


def test_a_killed_worker_s_job_is_retried_and_done_once(committed, django_db_blocker, jobs_var, tmp_path):
    log = jobs_var / "test-runs.log"
    log.unlink(missing_ok=True)
    job = service.start("test.sleepy", {"seconds": 6}, committed["planner"])
    with open(tmp_path / "worker-a.log", "w") as out_a:
        with running_worker(django_db_blocker, log=out_a, **FAST) as first:
            wait_for(lambda: Job.objects.get(pk=job.pk).progress > 0.1, timeout=60, what="the job to be under way")
            os.kill(first.pid, signal.SIGKILL)
            first.wait()
    killed_at = time.monotonic()
    row = Job.objects.get(pk=job.pk)
    assert row.status == "running" and row.attempts == 1
    with open(tmp_path / "worker-b.log", "w") as out_b:
        with running_worker(django_db_blocker, log=out_b, **FAST):
            wait_for(lambda: Job.objects.get(pk=job.pk).attempts == 2, timeout=60, what="the retry")
            wait_for(lambda: Job.objects.get(pk=job.pk).is_finished, timeout=60, what="the retried job to end")
            time.sleep(2)  # a second, wrong retry would show up now
    row = Job.objects.get(pk=job.pk)
    assert row.status == "done" and row.attempts == 2 and row.error == ""
    runs = log.read_text().split()
    lines = [runs[i:i + 4] for i in range(0, len(runs), 4)]
    assert [line[0] for line in lines] == ["start", "start", "end"], lines
    assert lines[0][2] == str(first.pid) and lines[1][2] != str(first.pid)  # the second run is the new worker's
    assert open(row.result_path).read().split()[1] == "2"
    with connection.cursor() as cursor:
        cursor.execute("SELECT status, attempts FROM procrastinate_jobs WHERE id = %s", [row.procrastinate_id])
        assert cursor.fetchone() == ("succeeded", 2)  # procrastinate counts the retry too
    assert time.monotonic() - killed_at < 60
    assert "stopped sending heartbeats" in (tmp_path / "worker-b.log").read_text()  # retried by jobs.retry_stalled
