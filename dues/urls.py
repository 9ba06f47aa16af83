from django.urls import path

from dues import views

app_name = "dues"
urlpatterns = [
    path("api/dues/parcels/<int:parcel_id>", views.parcel_dues, name="parcel_dues"),
    path("api/dues/bills/<int:bill_pk>", views.bill_json, name="bill_json"),
    path("api/dues/finance", views.finance_json, name="finance_json"),
    path("dues/parcels/<int:parcel_id>/bill/", views.parcel_bill, name="parcel_bill"),
    path("dues/bills/<int:bill_pk>/", views.bill_page, name="bill_page"),
    path("dues/bills/<int:bill_pk>/pdf", views.bill_pdf, name="bill_pdf"),
    path("dues/bills/<int:bill_pk>/pay", views.pay, name="pay"),
    path("dues/sandbox/<str:token>/", views.sandbox_page, name="sandbox_page"),
    path("dues/callback/<str:gateway_name>/", views.callback, name="callback"),
    path("dues/finance/", views.finance_page, name="finance"),
]
