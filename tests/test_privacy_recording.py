"""Every path that shows owners' personal data records the access once, with whose data it showed.

The admin is walked as staff, page by page (every registered admin's list, search, change, history, historical
version, delete confirmation, and every autocomplete): each page showing an owner's name, national ID or phone must
have made exactly one PersonalDataAccess row naming that owner. A second test holds every admin that shows a personal
field (or lists a model with personal data inline) to the recording mixin, so a new admin cannot slip in unnoticed.
"""

import json
from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.db import models
from django.test import RequestFactory
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from accounts.models import AuditEvent, Citizen, PropertyLink
from notices.models import LocalSms, Message, Preference
from parcels import privacy
from parcels.models import Owner, Ownership, Parcel, PersonalDataAccess

pytestmark = pytest.mark.django_db

X0, Y0 = 732_000, 3_132_000
LAST_NAME, NATIONAL_ID, PHONE = "کیانپور", "0499370899", "09171239876"
SECRETS = (LAST_NAME, NATIONAL_ID, PHONE)
FIRST_NAME = "نرگس"  # what the walk searches for (a page echoes the search term: it is no secret)


@pytest.fixture
def owned(db):
    parcel = Parcel.objects.create(renewal_code="6-6-621-001-0-0-0",
                                   geom=MultiPolygon(Polygon.from_bbox((X0, Y0, X0 + 20, Y0 + 20)), srid=32640))
    owner = Owner.objects.create(kind="person", first_name=FIRST_NAME, last_name=LAST_NAME, national_id=NATIONAL_ID,
                                 phone=PHONE)
    Ownership.objects.create(parcel=parcel, owner=owner, share_dang=Decimal(6))
    user = User.objects.create_user(PHONE, password=None)  # a citizen's user name is their mobile number
    citizen = Citizen.objects.create(user=user, mobile=PHONE, national_id=NATIONAL_ID)
    PropertyLink.objects.create(citizen=citizen, national_id=NATIONAL_ID)
    # the notices kept for that number (numbers are personal data too)
    now = timezone.now()
    Message.objects.create(event="bill_issued", kind="transactional", channel="sms", phone=PHONE, body="-",
                           idempotency_key="privacy-walk", not_before=now, created_at=now, user=user)
    AuditEvent.objects.create(kind="code_verified", user=user, phone="0917***9876")  # names the citizen's user
    Preference.objects.create(phone=PHONE)
    LocalSms.objects.create(phone=PHONE, body="-", key="privacy-walk")
    return parcel, owner


def _newest(model):
    """The record the walk opens: the newest (the test's own, when the demo city is loaded too; the admin lists
    newest first, so they are on the first page of the lists as well)."""
    return model._default_manager.order_by("-pk").first()


def _admin_urls(model, model_admin):
    """Every page of one registered admin for its first record (list, search, change, history, a historical
    version, delete confirmation)."""
    opts = model._meta
    name = f"admin:{opts.app_label}_{opts.model_name}"
    urls = [reverse(f"{name}_changelist"), reverse(f"{name}_changelist") + "?all="]
    if model_admin.search_fields:
        urls.append(reverse(f"{name}_changelist") + f"?q={FIRST_NAME}")
    obj = _newest(model)
    if obj is not None:
        urls += [reverse(f"{name}_change", args=[obj.pk]), reverse(f"{name}_history", args=[obj.pk]),
                 reverse(f"{name}_delete", args=[obj.pk])]
        history = getattr(model, "history", None)
        record = history.filter(**{opts.pk.attname: obj.pk}).first() if history is not None else None
        if record is not None:
            try:
                urls.append(reverse(f"{name}_simple_history", args=[obj.pk, record.history_id]))
            except NoReverseMatch:
                pass
    return urls


def _autocomplete_urls():
    """The autocomplete answer of every autocomplete field of every admin and inline, searched for the owner."""
    urls = []
    for model, model_admin in admin.site._registry.items():
        for holder in [model_admin, *(inline(model, admin.site) for inline in model_admin.inlines)]:
            for field_name in holder.autocomplete_fields:
                source = holder.model._meta
                urls.append(f"{reverse('admin:autocomplete')}?app_label={source.app_label}"
                            f"&model_name={source.model_name}&field_name={field_name}&term={FIRST_NAME}")
    return urls


def _walk(client, user, owner, apps=None):
    """GET every admin page (of the given apps) as `user`; returns the pages that showed the owner's data."""
    client.force_login(user)
    shown = []
    pages = [url for model, model_admin in list(admin.site._registry.items())
             if apps is None or model._meta.app_label in apps for url in _admin_urls(model, model_admin)]
    for url in pages + _autocomplete_urls():
        before = set(PersonalDataAccess.objects.values_list("pk", flat=True))
        response = client.get(url)
        body = response.content.decode(errors="replace")
        if response.get("Content-Type", "").startswith("application/json"):
            body = json.dumps(response.json(), ensure_ascii=False)  # names are \u-escaped in the JSON
        rows = list(PersonalDataAccess.objects.exclude(pk__in=before))
        assert len(rows) <= 1, (url, [r.action for r in rows])  # one access, one row
        if response.status_code == 200 and any(secret in body for secret in SECRETS):
            shown.append(url)
            assert len(rows) == 1, f"{url} showed an owner's personal data without recording it"
            row = rows[0]
            assert row.user == user and row.path == response.wsgi_request.get_full_path()[:500], url
            assert owner.pk in row.subjects.get("parcels.owner", []), (url, row.action, row.subjects)
    return shown


def test_walking_the_admin_as_staff_records_every_page_that_shows_owners(client, role_users, owned):
    parcel, owner = owned
    superuser = User.objects.create_superuser("root-walker", password=None)
    root_pages = _walk(client, superuser, owner)  # every registered admin
    finance_pages = _walk(client, role_users["finance"], owner, apps={"parcels", "accounts"})  # a staff role
    for expected in ("/admin/parcels/owner/", f"/admin/parcels/owner/{owner.pk}/change/",
                     f"/admin/parcels/owner/{owner.pk}/history/", f"/admin/parcels/owner/{owner.pk}/delete/",
                     "/admin/parcels/ownership/", f"/admin/parcels/parcel/{parcel.pk}/change/",
                     f"/admin/parcels/owner/?q={FIRST_NAME}", "/admin/accounts/propertylink/",
                     "/admin/accounts/citizen/", "/admin/notices/message/", "/admin/notices/preference/",
                     "/admin/notices/localsms/", "/admin/auth/user/"):
        assert expected in root_pages, expected  # the walk did reach the pages the issue names
    assert any(url.startswith(f"/admin/parcels/owner/{owner.pk}/history/") and url.count("/") == 7
               for url in root_pages)  # a historical version
    assert any(url.startswith("/admin/parcels/ownership/") and "/history/" in url for url in root_pages)
    assert any(url.startswith("/admin/autocomplete/") for url in root_pages)
    assert "/admin/parcels/owner/" in finance_pages and any("/admin/autocomplete/" in u for u in finance_pages)
    # the access log itself names owners by id only
    client.force_login(role_users["admin"])
    row = PersonalDataAccess.objects.filter(owner=owner).order_by("-pk").first()
    for url in ("/admin/parcels/personaldataaccess/", f"/admin/parcels/personaldataaccess/{row.pk}/change/"):
        before = PersonalDataAccess.objects.count()
        page = client.get(url)
        assert page.status_code == 200 and f"#{owner.pk}" in page.content.decode()
        assert not any(secret in page.content.decode() for secret in SECRETS)
        assert PersonalDataAccess.objects.count() == before


def test_staff_without_the_permission_see_nothing_and_make_no_record(client, role_users, owned):
    parcel, owner = owned
    assert _walk(client, role_users["engineer"], owner, apps={"parcels", "accounts"}) == []
    assert not PersonalDataAccess.objects.filter(user=role_users["engineer"]).exists()


def test_staff_allowed_citizens_but_not_personal_data_see_them_masked(client, owned):
    from django.contrib.auth.models import Permission

    clerk = User.objects.create_user("citizen-desk", password=None, is_staff=True)
    clerk.user_permissions.set(Permission.objects.filter(
        content_type__app_label="accounts", codename__in=["view_citizen", "view_propertylink"]))
    client.force_login(clerk)
    citizen = Citizen.objects.get(mobile=PHONE)
    link = PropertyLink.objects.get(citizen=citizen)
    for url in ("/admin/accounts/citizen/", f"/admin/accounts/citizen/{citizen.pk}/change/",
                "/admin/accounts/propertylink/", f"/admin/accounts/propertylink/{link.pk}/change/"):
        page = client.get(url)
        body = page.content.decode()
        assert page.status_code == 200, url
        assert not any(secret in body for secret in SECRETS), url
        assert PHONE[:4] + "****" + PHONE[-3:] in body, url  # masked, still tells numbers apart
    assert not PersonalDataAccess.objects.filter(user=clerk).exists()
    assert client.get("/admin/notices/message/").status_code == 403  # a list of numbers: personal data only


def test_autocomplete_records_the_owners_it_answered(client, role_users, owned):
    parcel, owner = owned
    client.force_login(role_users["finance"])
    url = (f"/admin/autocomplete/?app_label=parcels&model_name=ownership&field_name=owner&term={LAST_NAME}")
    answer = client.get(url).json()
    assert [r["id"] for r in answer["results"]] == [str(owner.pk)]
    mine = PersonalDataAccess.objects.filter(user=role_users["finance"])  # (browser tests commit rows of their own)
    row = mine.get()
    assert (row.action, row.owner_id, row.subjects) == ("owner_autocomplete", owner.pk, {"parcels.owner": [owner.pk]})
    client.get(url.replace(LAST_NAME, "no-such-owner"))
    assert mine.count() == 2  # asked and answered (nobody): still one look, no owner shown
    assert mine.order_by("-pk").first().subjects == {}


def test_owner_search_records_whose_parcels_it_found(client, role_users, owned):
    parcel, owner = owned
    client.force_login(role_users["finance"])
    found = client.get("/api/search", {"q": LAST_NAME}).json()
    assert parcel.pk in [r.get("parcel_id") for r in found["results"]]
    row = PersonalDataAccess.objects.get(action="owner_search")
    assert row.owner_id == owner.pk and row.parcel_id == parcel.pk


PERSONAL_FIELD_NAMES = {"national_id", "first_name", "last_name", "legal_name"}


def _is_personal_field(model, name: str) -> bool:
    """A field that shows an owner's (or any person's national) identity: Owner's identity fields, any national
    ID, a foreign key to an owner or an ownership (shown by its name)."""
    try:
        field = model._meta.get_field(name)
    except Exception:  # a method or a display callable: the walk of the admin checks those
        return name == "__str__" and model in (Owner, Ownership)
    if isinstance(field, models.ForeignKey) and field.related_model in (Owner, Ownership):
        return True
    if model is Owner and name in PERSONAL_FIELD_NAMES:
        return True
    if model is AuditEvent:  # its numbers are masked when stored (accounts/audit.py)
        return False
    return name in {"national_id", "phone", "mobile"}


def test_every_admin_showing_personal_data_records_it(role_users):
    request = RequestFactory().get("/admin/")
    request.user = User.objects.create_superuser("root-inspector", password=None)
    unrecorded = []
    for model, model_admin in admin.site._registry.items():
        inlines = [inline.model for inline in model_admin.inlines]
        shown = {str(n) for n in [*model_admin.get_list_display(request), *model_admin.get_fields(request),
                                  *model_admin.get_search_fields(request)] if isinstance(n, str)}
        personal = (model in (Owner, Ownership) or any(m in (Owner, Ownership) for m in inlines)
                    or any(_is_personal_field(model, name.split("__")[0]) for name in shown))
        if personal and not isinstance(model_admin, privacy.RecordsPersonalData):
            unrecorded.append(model._meta.label)
    assert unrecorded == []
