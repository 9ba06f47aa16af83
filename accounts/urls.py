"""accounts's URLs (composed in gis_portal/urls.py)."""

from django.urls import path

from accounts import views

app_name = "accounts"
urlpatterns = [
    path("accounts/signin/", views.signin, name="signin"),
    path("accounts/signin/code/", views.signin_code, name="signin_code"),
    path("accounts/signout/", views.signout, name="signout"),
    path("accounts/national-id/", views.national_id, name="national_id"),
    path("accounts/properties/", views.my_properties, name="properties"),
    path("accounts/properties/<int:parcel_id>/", views.my_property, name="property"),
    path("accounts/settings/", views.citizen_settings, name="settings"),
    path("accounts/staff/2fa/", views.staff_2fa, name="staff_2fa"),
    path("accounts/staff/api-tokens/", views.api_tokens, name="api_tokens"),
    path("api/accounts/signin/code", views.api_signin_code, name="api_signin_code"),
    path("api/accounts/signin/verify", views.api_signin_verify, name="api_signin_verify"),
]
