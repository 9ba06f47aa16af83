"""The jobs API without a worker (rows in the test's transaction): who may start, see and cancel a job; the
direct export's limit; one transaction for the row and the queued job; results deleted after JOBS_RESULT_DAYS."""

import json
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from jobs import service, upkeep
from jobs.models import Job
from jobs.runner import execute, result_dir
from tests.dues_support import dues_city  # noqa: F401

pytestmark = pytest.mark.django_db


def post_json(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


def queued_count():
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'jobs.run_job' AND status = 'todo'")
        return cursor.fetchone()[0]


def test_a_planner_starts_an_export_job(client, role_users, demo_city):
    client.force_login(role_users["planner"])
    before = queued_count()
    response = post_json(client, "/api/layers/export/jobs", {"layers": ["parcels", "streets"], "format": "gpkg"})
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "queued" and body["status_url"] == f"/api/jobs/{body['id']}"
    assert response["Location"] == body["status_url"]
    job = Job.objects.get(pk=body["id"])
    assert job.user == role_users["planner"] and job.kind == "layers.export"
    assert job.params["layers"] == ["parcels", "streets"] and job.procrastinate_id
    assert queued_count() == before + 1
    status = client.get(body["status_url"]).json()
    assert {k: status[k] for k in ("status", "progress", "result_url", "error")} == {
        "status": "queued", "progress": 0, "result_url": None, "error": None}
    assert client.get(f"/api/jobs/{job.pk}/result").status_code == 404  # nothing to download yet


def test_bad_export_parameters_are_refused_before_anything_is_queued(client, role_users, demo_city, english):
    client.force_login(role_users["planner"])
    before = Job.objects.count()
    response = post_json(client, "/api/layers/export/jobs", {"layers": "parcels", "format": "docx"})
    assert response.status_code == 400 and "docx" in response.json()["message"]
    assert post_json(client, "/api/layers/export/jobs", {"layers": "nope"}).status_code == 404
    assert client.post("/api/layers/export/jobs", "{not json", content_type="application/json").status_code == 400
    assert client.get("/api/layers/export/jobs").status_code == 405
    assert Job.objects.count() == before


def test_protected_layers_and_other_peoples_jobs(role_users, demo_city):
    anonymous, citizen, planner, admin = Client(), Client(), Client(), Client()
    citizen.force_login(role_users["citizen"])
    planner.force_login(role_users["planner"])
    admin.force_login(role_users["admin"])
    assert post_json(anonymous, "/api/layers/export/jobs", {"layers": "parcel_owners"}).status_code == 401
    assert post_json(citizen, "/api/layers/export/jobs", {"layers": "parcel_owners"}).status_code == 403
    job_id = post_json(planner, "/api/layers/export/jobs", {"layers": "parcels"}).json()["id"]
    for other in (anonymous, citizen):
        for path in ("", "/result"):
            response = other.get(f"/api/jobs/{job_id}{path}")
            assert response.status_code == 404 and response.json()["error"] == "not_found"
        assert other.post(f"/api/jobs/{job_id}/cancel").status_code == 404
    assert admin.get(f"/api/jobs/{job_id}").status_code == 200  # staff with jobs.view_job
    assert planner.get("/api/jobs/00000000-0000-0000-0000-000000000000").status_code == 404


def test_downloading_an_export_with_personal_data_is_checked_and_recorded(role_users, demo_city):
    from django.contrib.auth.models import Permission, User

    from parcels.models import PersonalDataAccess

    finance, onlooker = Client(), Client()
    finance.force_login(role_users["finance"])
    response = post_json(finance, "/api/layers/export/jobs", {"layers": "parcel_owners", "format": "csv"})
    assert response.status_code == 202, response.content
    job_id = response.json()["id"]
    assert execute(job_id) == "done"
    started = PersonalDataAccess.objects.filter(user=role_users["finance"]).count()
    download = finance.get(f"/api/jobs/{job_id}/result")
    assert download.status_code == 200 and b"".join(download.streaming_content)
    rows = PersonalDataAccess.objects.filter(user=role_users["finance"]).order_by("-pk")
    assert rows.count() == started + 1 and rows[0].action == "download:parcel_owners"
    assert rows[0].path == f"/api/jobs/{job_id}/result"
    # staff who may follow others' jobs but not see personal data get no file
    watcher = User.objects.create_user("job-watcher", password=None, is_staff=True)
    watcher.user_permissions.set(Permission.objects.filter(content_type__app_label="jobs", codename="view_job"))
    onlooker.force_login(watcher)
    assert onlooker.get(f"/api/jobs/{job_id}").status_code == 200
    refused = onlooker.get(f"/api/jobs/{job_id}/result")
    assert refused.status_code == 403 and refused.json()["error"] == "forbidden"
    assert not PersonalDataAccess.objects.filter(user=watcher).exists()


def test_an_anonymous_visitor_follows_their_own_export_only(demo_city):
    mine, theirs = Client(), Client()
    job_id = post_json(mine, "/api/layers/export/jobs", {"layers": "districts", "format": "geojson"}).json()["id"]
    assert Job.objects.get(pk=job_id).user is None
    assert mine.get(f"/api/jobs/{job_id}").json()["status"] == "queued"
    assert theirs.get(f"/api/jobs/{job_id}").status_code == 404
    page = mine.get("/jobs/")
    assert page.status_code == 200 and f'data-job="{job_id}"' in page.content.decode()
    assert job_id not in theirs.get("/jobs/").content.decode()


def test_cancel_a_queued_job(role_users, demo_city):
    planner, other = Client(), Client()
    planner.force_login(role_users["planner"])
    other.force_login(role_users["engineer"])
    job_id = post_json(planner, "/api/layers/export/jobs", {"layers": "districts"}).json()["id"]
    assert other.post(f"/api/jobs/{job_id}/cancel").status_code == 404
    assert planner.get(f"/api/jobs/{job_id}/cancel").status_code == 405
    response = planner.post(f"/api/jobs/{job_id}/cancel")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    job = Job.objects.get(pk=job_id)
    with connection.cursor() as cursor:
        cursor.execute("SELECT status FROM procrastinate_jobs WHERE id = %s", [job.procrastinate_id])
        assert cursor.fetchone()[0] == "cancelled"
    assert execute(job_id) == "cancelled"  # a worker that got it anyway does nothing


def test_a_running_job_stops_at_its_next_progress_report(role_users, settings):
    job = service.start("test.sleepy", {"seconds": 2}, role_users["planner"])
    Job.objects.filter(pk=job.pk).update(cancel_requested=True, status=Job.Status.RUNNING)
    # the row is in this test's transaction, invisible to the progress writer's own connection: it is told instead
    from jobs import runner

    original = runner.ProgressWriter.__call__

    def told(self, done, total, message=""):
        raise runner.Cancelled()

    runner.ProgressWriter.__call__ = told
    try:
        Job.objects.filter(pk=job.pk).update(cancel_requested=False)
        assert execute(str(job.pk)) == "cancelled"
    finally:
        runner.ProgressWriter.__call__ = original
    job.refresh_from_db()
    assert job.status == "cancelled" and not result_dir(job).exists()


def test_expected_and_unexpected_failures(role_users, english, caplog):
    refused = service.start("test.refuses", {"why": "no such year"}, role_users["planner"])
    assert execute(str(refused.pk)) == "failed"
    refused.refresh_from_db()
    assert refused.error == "the input was refused: no such year" and refused.finished_at
    crashed = service.start("test.crashes", {}, role_users["planner"])
    with caplog.at_level("ERROR", logger="jobs.runner"):
        assert execute(str(crashed.pk)) == "failed"
    crashed.refresh_from_db()
    assert crashed.error == "The job failed on the server. It has been recorded; please try again later."
    assert "KeyError" in caplog.text  # the traceback is in the log, not in the row
    assert execute(str(crashed.pk)) == "failed"  # a finished job is not run again


def test_a_job_kind_with_a_permission(client, role_users):
    with pytest.raises(service.Forbidden):
        service.start("test.staff_only", {}, role_users["planner"])
    with pytest.raises(service.Forbidden):
        service.start("test.staff_only", {}, None)
    assert service.start("test.staff_only", {}, role_users["admin"]).status == "queued"


def test_too_many_unfinished_jobs(client, role_users, settings, demo_city):
    settings.JOBS_MAX_ACTIVE = 2
    client.force_login(role_users["planner"])
    for _ in range(2):
        assert post_json(client, "/api/layers/export/jobs", {"layers": "districts"}).status_code == 202
    response = post_json(client, "/api/layers/export/jobs", {"layers": "districts"})
    assert response.status_code == 429 and response.json()["error"] == "too_many_jobs"


def test_the_row_and_the_queued_job_are_one_transaction(role_users):
    jobs_before, queued_before = Job.objects.count(), queued_count()
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            service.start("test.sleepy", {}, role_users["planner"])
            raise RuntimeError("the request failed after starting the job")
    assert (Job.objects.count(), queued_count()) == (jobs_before, queued_before)


def test_the_direct_download_refuses_big_selections(client, demo_city, settings, english):
    from parcels.models import Parcel

    parcels = Parcel.objects.count()
    settings.EXPORT_SYNC_MAX_FEATURES = parcels - 1
    response = client.get("/api/layers/export?layers=parcels&format=geojson")
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "export_too_large" and "POST /api/layers/export/jobs" in body["message"]
    assert str(parcels) in body["message"]
    assert client.get("/api/layers/export?layers=districts&format=geojson").status_code == 200  # small: still served
    settings.EXPORT_SYNC_MAX_FEATURES = parcels
    assert client.get("/api/layers/export?layers=parcels&format=csv").status_code == 200


def test_old_results_are_deleted(role_users, settings):
    job = service.start("test.sleepy", {}, role_users["planner"])
    folder = result_dir(job)
    folder.mkdir(parents=True)
    (folder / "x.txt").write_text("x")
    Job.objects.filter(pk=job.pk).update(status="done", result_path=str(folder / "x.txt"),
                                         finished_at=timezone.now() - timedelta(days=settings.JOBS_RESULT_DAYS, hours=1))
    recent = service.start("test.sleepy", {}, role_users["planner"])
    Job.objects.filter(pk=recent.pk).update(status="done", result_path="/nowhere", finished_at=timezone.now())
    assert upkeep.delete_old_results() == 1
    assert not folder.exists() and Job.objects.get(pk=job.pk).result_path == ""
    assert Job.objects.get(pk=recent.pk).result_path == "/nowhere"


def test_finance_starts_a_reassessment(client, role_users, english, dues_city):
    year = dues_city
    client.force_login(role_users["engineer"])
    assert post_json(client, "/api/dues/assessments/jobs", {"year": year}).status_code == 403
    client.force_login(role_users["finance"])
    assert post_json(client, "/api/dues/assessments/jobs", {"year": 1300}).status_code == 400
    response = post_json(client, "/api/dues/assessments/jobs", {"year": year})
    assert response.status_code == 202
    assert Job.objects.get(pk=response.json()["id"]).params == {"year": year}
    page = client.get("/dues/finance/").content.decode()
    assert 'action="/dues/finance/assess"' in page and f'<option value="{year}"' in page
    response = client.post("/dues/finance/assess", {"year": year})
    assert response.status_code == 302 and response["Location"].startswith("/jobs/#job-")


def test_the_queue_forgets_finished_jobs_after_queue_history_hours(settings):
    """The periodic jobs.delete_old_queue_rows deletes the queue's rows of jobs finished more than
    QUEUE_HISTORY_HOURS ago, and only those (a sweep every 10 s would otherwise pile up 8,640 rows a day)."""
    from jobs.tasks import delete_old_queue_rows

    settings.QUEUE_HISTORY_HOURS = 72
    ids = {}
    with connection.cursor() as cursor:
        for name, status in (("old_done", "succeeded"), ("new_done", "succeeded"), ("old_waiting", "todo")):
            cursor.execute("INSERT INTO procrastinate_jobs (queue_name, task_name, args, status) "
                           "VALUES ('jobs', %s, '{}', 'todo') RETURNING id", [f"test.{name}"])
            ids[name] = cursor.fetchone()[0]
            if status != "todo":
                cursor.execute("UPDATE procrastinate_jobs SET status = 'doing' WHERE id = %s", [ids[name]])
                cursor.execute("UPDATE procrastinate_jobs SET status = %s WHERE id = %s", [status, ids[name]])
        cursor.execute("UPDATE procrastinate_events SET at = now() - interval '100 hours' WHERE job_id = ANY(%s)",
                       [[ids["old_done"], ids["old_waiting"]]])
        delete_old_queue_rows.func(timestamp=0)
        cursor.execute("SELECT task_name FROM procrastinate_jobs WHERE id = ANY(%s) ORDER BY id", [list(ids.values())])
        left = [row[0] for row in cursor.fetchall()]
    assert left == ["test.new_done", "test.old_waiting"]
