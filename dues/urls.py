from django.urls import path

from dues import public_views, views

app_name = "dues"
urlpatterns = [
    path("api/dues/parcels/<int:parcel_id>", views.parcel_dues, name="parcel_dues"),
    path("api/dues/bills/<uuid:bill_ref>", views.bill_json, name="bill_json"),
    path("api/dues/finance", views.finance_json, name="finance_json"),
    path("api/dues/assessments/jobs", views.assessment_job, name="assessment_job"),
    path("dues/parcels/<int:parcel_id>/bill/", views.parcel_bill, name="parcel_bill"),
    # bills are named by their random public id (Bill.public_id), never by the sequential primary key
    path("dues/bills/<uuid:bill_ref>/", views.bill_page, name="bill_page"),
    path("dues/bills/<uuid:bill_ref>/pdf", views.bill_pdf, name="bill_pdf"),
    path("dues/bills/<uuid:bill_ref>/pay", views.pay, name="pay"),
    path("dues/sandbox/<str:token>/", views.sandbox_page, name="sandbox_page"),
    path("dues/callback/<str:gateway_name>/", views.callback, name="callback"),
    path("dues/finance/", views.finance_page, name="finance"),
    path("dues/finance/reminders/", views.reminders_page, name="reminders"),
    path("dues/finance/reminders/start", views.reminders_start, name="reminders_start"),
    path("dues/finance/reminders/<int:batch_pk>/", views.reminders_report, name="reminders_report"),
    path("dues/finance/assess", views.finance_assess, name="finance_assess"),
    # the approved tariff books in the open (dues/public_pages.py): anonymous pages and files
    path("transparency/tariffs/", public_views.tariff_books, name="tariff_books"),
    path("transparency/tariffs/<int:year>/", public_views.tariff_book, name="tariff_book"),
    path("transparency/tariffs/<int:year>.toml", public_views.tariff_book_toml, name="tariff_book_toml"),
    path("transparency/tariffs/<int:year>.json", public_views.tariff_book_json, name="tariff_book_json"),
    path("transparency/tariffs/<int:year>-lines.csv", public_views.tariff_book_csv, name="tariff_book_csv"),
]
