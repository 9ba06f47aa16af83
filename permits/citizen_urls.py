"""Routes of the citizen's side of permits (see permits/urls.py): the pages (apply, the applicant's case, the public
status page, the engineer's page) and the JSON API under /api/permits/."""

from django.urls import path

from permits import citizen_views as views

urlpatterns = [
    path("permits/apply/<int:parcel_id>/", views.apply_page, name="apply"),
    path("permits/cases/<uuid:case_id>/", views.case_page, name="case"),
    path("permits/status/", views.status_page, name="status"),
    path("permits/engineer/", views.engineer_page, name="engineer"),
    path("api/permits/cases", views.api_start, name="api_start"),
    path("api/permits/cases/<uuid:case_id>", views.api_case, name="api_case"),
    path("api/permits/cases/<uuid:case_id>/proposal", views.api_proposal, name="api_proposal"),
    path("api/permits/cases/<uuid:case_id>/fees", views.api_fees, name="api_fees"),
    path("api/permits/cases/<uuid:case_id>/submit", views.api_submit, name="api_submit"),
    path("api/permits/cases/<uuid:case_id>/resubmit", views.api_resubmit, name="api_resubmit"),
    path("api/permits/cases/<uuid:case_id>/withdraw", views.api_withdraw, name="api_withdraw"),
    path("api/permits/status", views.api_status, name="api_status"),
    path("api/permits/consents", views.api_consent_ask, name="api_consent_ask"),
    path("api/permits/consents/confirm", views.api_consent_confirm, name="api_consent_confirm"),
    path("api/permits/parcels/<int:parcel_id>/section", views.api_section, name="parcel_section"),
]
