"""Routes of the permit office's side (permits/staff_views.py): the inbox, a case's page, the SLA report, and the JSON
API of the inbox and the actions (described in permits/openapi_staff.py)."""

from django.urls import path

from permits import staff_views

urlpatterns = [
    path("permits/staff/", staff_views.inbox_page, name="inbox"),
    path("permits/staff/cases/<uuid:case_id>/", staff_views.case_page, name="staff_case"),
    path("permits/staff/sla/", staff_views.sla_page, name="sla"),
    path("permits/staff/sla.csv", staff_views.sla_csv, name="sla_csv"),
    path("api/permits/staff/inbox", staff_views.inbox_json, name="staff_inbox_json"),
    path("api/permits/staff/inbox/map", staff_views.inbox_map, name="staff_inbox_map"),
    path("api/permits/staff/cases/<uuid:case_id>", staff_views.case_json, name="staff_case_json"),
    path("api/permits/staff/cases/<uuid:case_id>/act", staff_views.act, name="staff_act"),
    path("api/permits/staff/cases/<uuid:case_id>/assign", staff_views.assign, name="staff_assign"),
    path("api/permits/staff/cases/<uuid:case_id>/comments", staff_views.comment, name="staff_comment"),
    path("api/permits/staff/cases/<uuid:case_id>/visits", staff_views.visit, name="staff_visit"),
]
