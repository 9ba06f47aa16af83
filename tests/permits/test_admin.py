"""Workflow versions in the admin: a definition added there is checked like a loaded file, saved as a new version,
and versions are never edited (running cases keep theirs)."""

import json
import tomllib

from permits import loader
from permits.models import Workflow


def _definition(code="no_violation"):
    return tomllib.loads((loader.DEFAULT_DIR / f"{code}.toml").read_text(encoding="utf-8"))


def test_a_new_version_from_the_admin_is_checked_and_added(client, permit_types, role_users):
    client.force_login(role_users["admin"])
    case_type = permit_types["no_violation"]
    data = _definition()
    data["steps"][1]["days"] = 9
    url = "/admin/permits/workflow/add/"
    response = client.post(url, {"case_type": case_type.pk, "definition": json.dumps(data, ensure_ascii=False),
                                 "note": "inspection in 9 days"})
    assert response.status_code == 302, response.content.decode()[:2000]
    latest = case_type.current()
    assert latest.version == 2 and latest.definition["steps"][1]["days"] == 9 and latest.loaded_by == role_users["admin"]

    data["steps"][1]["desk"] = "nowhere"
    client.cookies["django_language"] = "en"
    response = client.post(url, {"case_type": case_type.pk, "definition": json.dumps(data), "note": ""})
    assert response.status_code == 200 and "unknown desk nowhere" in response.content.decode()
    assert Workflow.objects.filter(case_type=case_type).count() == 2

    other = _definition("planning_inquiry")
    response = client.post(url, {"case_type": case_type.pk, "definition": json.dumps(other), "note": ""})
    assert response.status_code == 200 and "code must be the case type" in response.content.decode()


def test_versions_cannot_be_edited_or_deleted(client, permit_types, role_users):
    client.force_login(role_users["admin"])
    workflow = permit_types["no_violation"].current()
    client.post(f"/admin/permits/workflow/{workflow.pk}/change/", {"case_type": workflow.case_type_id,
                                                                     "definition": "{}", "note": "x"})
    workflow.refresh_from_db()
    assert workflow.definition == _definition() and workflow.note == ""
    assert client.post(f"/admin/permits/workflow/{workflow.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Workflow.objects.filter(pk=workflow.pk).exists()
