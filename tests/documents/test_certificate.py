"""The parcel certificate (documents/certificate.py and the sections zoning and dues register): its content holds the
facts the database holds (zone and rule values read here from the rule rows, dues from dues' own functions), no
personal data reaches the PDF or the pages, the same day's identical certificate is reused, a changed parcel gets a
new one that supersedes the old, a deleted parcel is a 404 page, a parcel in no zone still gets one, the signature
validates, and the second city (EPSG:32639) gets one with its widening strip."""

import io
import json
import re
import unicodedata

import jdatetime
import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone, translation
from pypdf import PdfReader
from pyhanko.pdf_utils.reader import PdfFileReader

from documents import api, certificate, sections
from documents.models import IssuedDocument
from parcels.models import Ownership, Parcel
from tests.documents.conftest import validate_pdf_signature, run_render_jobs
from tests.documents.test_core import validation_context
from tests.dues_support import dues_city  # noqa: F401  (a fixture: dues assessed this year)
from tests.test_second_city import second_city  # noqa: F401  (a fixture: the town in EPSG:32639)
from tests.zoning_fixtures import demo_rulebook  # noqa: F401  (a fixture: the rules in force)

pytestmark = pytest.mark.django_db
ASCII = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")


def rows(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


@pytest.fixture
def city(demo_city, demo_rulebook, dues_city, signing_key):
    return dues_city


def _pick(sql: str) -> Parcel:
    (parcel_id,), = rows(sql)
    return Parcel.objects.select_related("import_run").get(pk=parcel_id)


@pytest.fixture
def parcel(city):
    """A zoned parcel with a road-widening strip and people among its owners (people with national IDs)."""
    return _pick("""SELECT p.id FROM parcels_parcel p JOIN zoning_parceloverlay o ON o.parcel_id = p.id
                    WHERE o.zone_code <> '' AND o.widening_area > 5
                      AND EXISTS (SELECT 1 FROM parcels_ownership s JOIN parcels_owner w ON w.id = s.owner_id
                                  WHERE s.parcel_id = p.id AND w.kind = 'person' AND w.national_id IS NOT NULL
                                    AND w.phone <> '')
                    ORDER BY p.id LIMIT 1""")


def section(doc_or_content, key):
    content = getattr(doc_or_content, "content", doc_or_content)
    return next(s["data"] for s in content["sections"] if s["key"] == key)


def issue(parcel, capture):
    with capture(execute=True):
        doc, created = certificate.issue_for(parcel)
    return doc, created


def rendered(doc):
    assert run_render_jobs() >= 1
    doc.refresh_from_db()
    assert doc.rendered_at is not None, doc.render_error
    return doc.file.read()


def rule_in_force(rulebook: str, zone: str, key: str, day):
    """The rule row in force (a zone's own value over the all-zones one, the latest amendment): read here from the
    rows, not through zoning's code."""
    found = rows("""SELECT r.value, r.article FROM zoning_rule r JOIN zoning_rulebook b ON b.id = r.rulebook_id
                    WHERE b.code = %s AND r.zone_code IN (%s, '*') AND r.key = %s AND r.effective_from <= %s
                    ORDER BY r.zone_code = '*', r.effective_from DESC LIMIT 1""", [rulebook, zone, key, day])
    return found[0] if found else None


def _open_ended(value):
    """A table's open upper bound ("inf" in the rulebook) is null in JSON."""
    if isinstance(value, list):
        return [_open_ended(v) for v in value]
    return None if value in ("inf", float("inf")) else value


def test_the_sections_hold_the_facts_of_the_database(parcel, django_capture_on_commit_callbacks):
    from dues import billing

    doc, created = issue(parcel, django_capture_on_commit_callbacks)
    today = timezone.localdate()
    assert created and doc.kind == "parcel_certificate" and re.fullmatch(r"PC-\d{4}-\d{5}", doc.number)
    assert [s["key"] for s in doc.content["sections"]] == ["parcel", "zoning", "hazards", "dues"]
    assert doc.content["on_date"] == today.isoformat() and doc.renewal_code == parcel.renewal_code

    own = section(doc, "parcel")
    assert own["renewal_code"] == parcel.renewal_code and own["postal_code"] == parcel.postal_code
    assert own["plate"] == {"section": parcel.plate_section, "main": parcel.plate_main, "sub": parcel.plate_sub}
    assert own["measured_area"] == pytest.approx(float(parcel.measured_area), abs=0.01)
    (strip,), = rows("""SELECT sum(ST_Area(road_widening_strip(p.geom, s.geom, s.planned_width, s.existing_width)))
                        FROM parcels_parcel p JOIN parcels_frontage f ON f.parcel_id = p.id
                        JOIN parcels_street s ON s.id = f.street_id WHERE p.id = %s""", [parcel.pk])
    assert own["road_widening_area"] == pytest.approx(strip, abs=0.01) and strip > 5
    kinds = [kind for kind, _d in own["map"]["paths"]]
    (neighbours,), = rows("SELECT count(*) FROM parcels_parcel n, parcels_parcel p WHERE p.id = %s AND n.id <> p.id "
                          "AND ST_Touches(n.geom, p.geom)", [parcel.pk])
    assert kinds.count("parcel") == 1 and "road_widening" in kinds and kinds.count("neighbour") >= neighbours > 0

    # the zone with the largest share of the parcel, and each headline rule's value and article from its row
    (zone,), = rows("""SELECT z.code FROM zoning_zone z, parcels_parcel p WHERE p.id = %s AND ST_Intersects(z.geom, p.geom)
                       ORDER BY ST_Area(ST_Intersection(z.geom, p.geom)) DESC LIMIT 1""", [parcel.pk])
    zoning = section(doc, "zoning")
    assert zoning["status"] == "ok" and zoning["zone"]["code"] == zone
    assert zoning["rulebook"] == "demo-detailed-plan-1405" and zoning["rules"]
    for rule in zoning["rules"] + zoning["envelope_rules"]:
        value, article = rule_in_force(zoning["rulebook"], zone, rule["key"], today)
        assert rule["citation"]["article"] == article, rule["key"]
        assert rule["value"] == _open_ended(json.loads(value) if isinstance(value, str) else value), rule["key"]
        assert rule["value_text"] and rule["value_text_en"]
    assert zoning["envelope"]["max_floors"] >= 1 and zoning["envelope"]["max_footprint_area"] > 0

    hazards = section(doc, "hazards")
    (flood, fault), = rows("""SELECT EXISTS (SELECT 1 FROM zoning_overlay x WHERE x.kind = 'floodplain'
                                             AND ST_Intersects(x.geom, p.geom) AND NOT ST_Touches(x.geom, p.geom)),
                                     (SELECT min(ST_Distance(x.geom, p.geom)) FROM zoning_overlay x
                                      WHERE x.kind = 'fault_line')
                              FROM parcels_parcel p WHERE p.id = %s""", [parcel.pk])
    assert hazards["floodplain"] is flood and hazards["fault_distance"] == pytest.approx(fault, abs=0.06)

    dues = section(doc, "dues")
    total, _ids = billing.compute(parcel.pk, jdatetime.date.fromgregorian(date=today))
    assert dues["payable"] == total.payable and dues["status"] == ("owed" if total.payable else "settled")
    assert dues["years_owed"] == [i.year for i in total.items if i.due > 0]


def _text(pdf: bytes) -> str:
    text = "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)
    return unicodedata.normalize("NFKC", text).translate(ASCII)


def _holds(text: str, value: str) -> bool:
    """Whether the PDF's text holds `value`: the text layer gives a run of Persian digits in visual order (reversed)
    and a half-space (ZWNJ) as a space, so both orders are looked for, spaces and half-spaces left out."""
    def squeezed(s):
        return unicodedata.normalize("NFKC", s).translate(ASCII).replace(" ", "").replace("\u200c", "")

    flat, value = squeezed(text), squeezed(value)
    return value in flat or value[::-1] in flat


def test_no_personal_data_in_the_pdf_or_the_pages(parcel, settings, django_capture_on_commit_callbacks):
    owners = [o.owner for o in Ownership.objects.filter(parcel=parcel).select_related("owner")]
    secrets = {v for o in owners for v in (o.national_id, o.phone, o.first_name, o.last_name, o.legal_name)
               if v and len(v) > 2}
    assert any(o.national_id for o in owners) and secrets
    doc, _created = issue(parcel, django_capture_on_commit_callbacks)
    pdf = rendered(doc)
    text = _text(pdf)
    # the text layer is readable (so the check below can find what is there): the number, the renewal code, Persian
    assert _holds(text, doc.number) and _holds(text, parcel.renewal_code) and _holds(text, parcel.postal_code)
    assert unicodedata.normalize("NFKC", settings.MUNICIPALITY_NAME) in text      # Persian words are read back
    assert not [s for s in secrets if _holds(text, s) or s in str(doc.content) or s in str(doc.subject)]
    client = Client()
    client.cookies["django_language"] = "en"
    for url in (f"/documents/issued/{doc.verification_code}/", f"/verify/{doc.verification_code}/",
                f"/parcels/{parcel.pk}/", f"/api/documents/verify/{doc.verification_code}"):
        page = client.get(url).content.decode()
        assert not [s for s in secrets if s in page], url


def test_the_same_day_and_content_reuses_the_certificate(parcel, django_capture_on_commit_callbacks):
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(f"/documents/certificate/{parcel.pk}")
        second = client.post(f"/documents/certificate/{parcel.pk}")
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    docs = IssuedDocument.objects.filter(kind="parcel_certificate", parcel=parcel)
    assert docs.count() == 1 and first["Location"] == f"/documents/issued/{docs.get().verification_code}/"
    assert run_render_jobs([docs.get().pk]) == 1                   # one certificate, printed once
    page = client.get(first["Location"], HTTP_COOKIE="django_language=en")
    assert page.status_code == 200 and docs.get().number in page.content.decode()
    assert f'href="/documents/{docs.get().verification_code}.pdf"' in page.content.decode()


def test_a_change_gives_a_new_certificate_that_supersedes_the_old(parcel, django_capture_on_commit_callbacks):
    old, _ = issue(parcel, django_capture_on_commit_callbacks)
    Parcel.objects.filter(pk=parcel.pk).update(postal_code="7111111111")   # the cadastre corrects a fact
    parcel.refresh_from_db()
    new, created = issue(parcel, django_capture_on_commit_callbacks)
    assert created and new.pk != old.pk and section(new, "parcel")["postal_code"] == "7111111111"
    old.refresh_from_db()
    assert old.superseded_by_id == new.pk and api.status_of(old) == "superseded" and api.status_of(new) == "valid"
    client = Client()
    client.cookies["django_language"] = "en"
    page = client.get(f"/verify/{old.verification_code}/").content.decode()
    assert 'data-status="superseded"' in page and "Replaced by a later document" in page and new.number in page
    again, created = issue(parcel, django_capture_on_commit_callbacks)   # asked again: the new one, not a third
    assert not created and again.pk == new.pk


def test_a_parcel_deleted_since_is_a_404_page_and_its_certificate_stays_verifiable(
        city, django_capture_on_commit_callbacks):
    parcel = _pick("SELECT id FROM parcels_parcel ORDER BY id DESC LIMIT 1")
    from dues.models import Assessment

    doc, _ = issue(parcel, django_capture_on_commit_callbacks)
    Assessment.objects.filter(parcel=parcel).delete()        # (what keeps a parcel with a history from going)
    Parcel.objects.filter(pk=parcel.pk).delete()
    client = Client()
    client.cookies["django_language"] = "en"
    answer = client.post(f"/documents/certificate/{parcel.pk}")
    assert answer.status_code == 404 and answer["Content-Type"].startswith("text/html")
    assert f"No parcel with id {parcel.pk}" in answer.content.decode()
    assert client.post("/documents/certificate/99999999999").status_code == 404
    assert client.get(f"/api/documents/parcels/{parcel.pk}/certificate").json()["error"] == "not_found"
    page = client.get(f"/verify/{doc.verification_code}/").content.decode()
    assert doc.number in page and "removed from the cadastre" in page
    assert IssuedDocument.objects.filter(kind="parcel_certificate").count() == 1


def test_a_parcel_in_no_zone_still_gets_its_certificate(parcel, django_capture_on_commit_callbacks):
    from zoning import overlays
    from zoning.models import Zone

    covering = Zone.objects.filter(geom__intersects=parcel.geom)
    assert covering.exists()
    covering.delete()
    overlays.refresh([parcel.pk], parts=("zone",))
    doc, _ = issue(parcel, django_capture_on_commit_callbacks)
    zoning = section(doc, "zoning")
    assert zoning["status"] == "no_zone" and zoning["rules"] == [] and zoning["zone"] is None
    with translation.override("en"):
        page = certificate.html(doc).decode()
    assert "Not in a planning zone: no zoning rules apply" in page
    assert section(doc, "dues")["status"] in ("owed", "settled") and section(doc, "hazards")["status"] == "ok"
    assert rendered(doc).startswith(b"%PDF")


def test_a_zone_no_rulebook_covers_says_no_rules_apply(parcel, django_capture_on_commit_callbacks):
    from zoning.models import ParcelOverlay, Rulebook

    Rulebook.objects.all().delete()                 # (rolled back with the test)
    doc, _ = issue(parcel, django_capture_on_commit_callbacks)
    zoning, hazards = section(doc, "zoning"), section(doc, "hazards")
    code = ParcelOverlay.objects.get(parcel=parcel).zone_code
    assert zoning["status"] == "no_rulebook" and zoning["zone"]["code"] == code and zoning["rules"] == []
    assert hazards["rules"] == {} and hazards["in_fault_buffer"] is None
    with translation.override("en"):
        page = certificate.html(doc).decode()
    assert f"In zone {code}, but no rulebook in force on" in page and "no zoning rules apply" in page


def test_the_signature_validates(parcel, signing_key, django_capture_on_commit_callbacks):
    doc, _ = issue(parcel, django_capture_on_commit_callbacks)
    pdf = rendered(doc)
    status = validate_pdf_signature(PdfFileReader(io.BytesIO(pdf)).embedded_signatures[0],
                                    validation_context(signing_key))
    assert status.intact and status.valid and status.trusted, status.summary()
    assert len(PdfReader(io.BytesIO(pdf)).pages) <= 2       # one or two A4 pages


def test_asking_needs_the_csrf_token_a_post_and_is_rate_limited(parcel, settings):
    settings.DOCUMENTS_CERTIFICATE_RATE = ["2/600"]
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(f"/documents/certificate/{parcel.pk}").status_code == 403
    assert Client().get(f"/documents/certificate/{parcel.pk}").status_code == 405
    client = Client(REMOTE_ADDR="10.9.8.7")
    assert [client.post(f"/documents/certificate/{parcel.pk}").status_code for _ in range(3)] == [302, 302, 429]
    assert IssuedDocument.objects.filter(kind="parcel_certificate", parcel=parcel).count() == 1


def test_the_sheet_and_the_text_page_offer_it(parcel):
    client = Client()
    client.cookies["django_language"] = "en"
    sheet = client.get(f"/api/parcels/{parcel.pk}").json()
    link = next(s for s in sheet["sections"] if s["key"] == "certificate")
    data = client.get(link["url"]).json()
    assert data == {"parcel_id": parcel.pk, "request_url": f"/documents/certificate/{parcel.pk}"}
    page = client.get(f"/parcels/{parcel.pk}/").content.decode()
    assert f'action="/documents/certificate/{parcel.pk}"' in page and 'data-testid="certificate-request"' in page


def test_documents_knows_no_section_of_the_apps_above():
    """The sections are registered by zoning and dues (from their AppConfig.ready), not named by documents."""
    assert {s.key: s.template.split("/")[0] for s in sections.sections()} == {
        "parcel": "documents", "zoning": "zoning", "hazards": "zoning", "dues": "dues"}


@pytest.mark.other_city(srid=32639)
def test_a_certificate_in_the_second_city(second_city, signing_key, django_capture_on_commit_callbacks):
    from django.conf import settings

    from zoning.models import ParcelOverlay

    parcel = ParcelOverlay.objects.filter(widening_area__gt=5, zone_code__gt="").order_by("parcel_id").first().parcel
    doc, _ = issue(parcel, django_capture_on_commit_callbacks)
    assert settings.MUNICIPALITY_SRID == 32639
    own = section(doc, "parcel")
    assert own["road_widening_area"] > 5 and "road_widening" in [k for k, _d in own["map"]["paths"]]
    # the map is in metres: the parcel's drawn box matches its measured size at the printed scale
    parcel_path = next(d for k, d in own["map"]["paths"] if k == "parcel")
    xs = [float(x) for x in re.findall(r"([\d.]+),[\d.]+", parcel_path)]
    (width_m,), = rows("SELECT ST_XMax(geom) - ST_XMin(geom) FROM parcels_parcel WHERE id = %s", [parcel.pk])
    pixels, metres = own["map"]["scale"]
    assert (max(xs) - min(xs)) / (pixels / metres) == pytest.approx(width_m, rel=0.02)
    assert section(doc, "zoning")["status"] == "ok" and section(doc, "hazards")["status"] == "ok"
    assert rendered(doc).startswith(b"%PDF")
