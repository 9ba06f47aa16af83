"""Production safety (issue 16): the sandbox gateway and the placeholder company code refused in production, bills and
payments named by random public ids, no browser per PDF request, the Content-Security-Policy header, and `check
--deploy` clean with the documented production environment (README "Production")."""

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.core.checks import run_checks
from django.db import connection
from django.test import override_settings

from dues import billid, billing, checks
from dues.gateways import Gateway
from dues.models import Payment, PaymentAttempt
from tests.conftest import ROOT
from tests.dues_support import dues_city  # noqa: F401  (fixture)
from tests.test_dues_payments import _owed_parcel

SANDBOX = "dues.gateways.SandboxGateway"


class BankGateway(Gateway):
    """A stand-in for a bank's backend (what production configures as DUES_GATEWAY)."""

    name = "testbank"

    def start(self, attempt, callback_url):
        return "https://bank.example/pay?token=" + attempt.token


BANK = f"{__name__}.BankGateway"


def _ids(**overrides):
    with override_settings(**overrides):
        return [e.id for e in checks.payment_settings(None)]


# --- 1 and 2: the sandbox gateway and the company code ----------------------------------------------------------------


def test_production_refuses_the_sandbox_gateway_unless_declared_staging():
    production = dict(DEBUG=False, DUES_ALLOW_SANDBOX_IN_PRODUCTION=False, DUES_BILL_COMPANY_CODE="123")
    assert _ids(**production, DUES_GATEWAY=SANDBOX) == ["dues.E001"]
    assert _ids(**production, DUES_GATEWAY=BANK) == []
    assert _ids(**{**production, "DUES_ALLOW_SANDBOX_IN_PRODUCTION": True}, DUES_GATEWAY=SANDBOX) == []  # staging
    assert _ids(**{**production, "DEBUG": True}, DUES_GATEWAY=SANDBOX) == []                           # development
    assert _ids(**production, DUES_GATEWAY="no.such.Gateway") == ["dues.E003"]
    with override_settings(**production, DUES_GATEWAY=SANDBOX):    # registered: `manage.py check` runs it
        assert "dues.E001" in [e.id for e in run_checks()]


def test_production_refuses_the_placeholder_company_code():
    production = dict(DEBUG=False, DUES_ALLOW_SANDBOX_IN_PRODUCTION=False, DUES_GATEWAY=BANK)
    assert _ids(**production, DUES_BILL_COMPANY_CODE="") == ["dues.E002"]
    assert _ids(**production, DUES_BILL_COMPANY_CODE="123") == []
    assert _ids(**production, DUES_BILL_COMPANY_CODE="12a") == ["dues.E004"]
    assert _ids(DEBUG=True, DUES_GATEWAY=SANDBOX, DUES_BILL_COMPANY_CODE="") == []
    with override_settings(DUES_BILL_COMPANY_CODE=""):
        assert billid.company_code() == billid.PLACEHOLDER_COMPANY_CODE
    with override_settings(DUES_BILL_COMPANY_CODE="123"):
        assert billid.company_code() == "123"


@pytest.mark.django_db
def test_a_production_site_never_takes_the_sandboxs_word(client, dues_city):
    """Even if the checks were skipped (gunicorn does not run them): with DEBUG off and no staging declared, the
    sandbox's page does not exist, paying is refused and a sandbox callback records nothing."""
    from dues.models import SandboxTransaction

    bill = billing.issue(_owed_parcel(dues_city, index=12))
    token = "prod-" + uuid.uuid4().hex
    attempt = PaymentAttempt.objects.create(bill=bill, token=token, gateway="sandbox", amount=bill.amount)
    SandboxTransaction.objects.create(token=token, reference="SBX-P-" + token[-8:], amount=bill.amount, succeeded=True)
    with override_settings(DEBUG=False, DUES_ALLOW_SANDBOX_IN_PRODUCTION=False, DUES_GATEWAY=SANDBOX):
        assert client.get(f"/dues/sandbox/{token}/").status_code == 404
        assert client.post(f"/dues/bills/{bill.public_id}/pay").status_code == 503
        response = client.get(f"/dues/callback/sandbox/?token={token}&ref=SBX-P-{token[-8:]}")
        assert "message=failed" in response["Location"] and not Payment.objects.filter(bill=bill).exists()
    attempt.status = PaymentAttempt.Status.STARTED
    attempt.save()
    with override_settings(DEBUG=False, DUES_ALLOW_SANDBOX_IN_PRODUCTION=True, DUES_GATEWAY=SANDBOX):
        page = client.get(f"/dues/sandbox/{token}/")
        assert page.status_code == 200 and 'data-testid="staging-note"' in page.content.decode()
        assert 'data-testid="staging-note"' in client.get(f"/dues/bills/{bill.public_id}/").content.decode()


# --- 3: random public ids -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_bills_are_reached_by_their_random_public_id_only(client, dues_city):
    first = billing.issue(_owed_parcel(dues_city, index=13))
    second = billing.issue(_owed_parcel(dues_city, index=14))
    assert isinstance(first.public_id, uuid.UUID) and first.public_id.version == 4
    assert first.public_id != second.public_id
    assert client.get(f"/dues/bills/{first.public_id}/").status_code == 200
    data = client.get(f"/api/dues/bills/{first.public_id}").json()
    assert data["id"] == str(first.public_id) and data["bill_id"] == first.bill_id   # the bank's ids unchanged
    for path in (f"/dues/bills/{first.pk}/", f"/api/dues/bills/{first.pk}", f"/dues/bills/{first.pk}/pdf"):
        assert client.get(path).status_code == 404, path
    assert client.post(f"/dues/bills/{first.pk}/pay").status_code == 404
    assert client.get(f"/api/dues/bills/{uuid.uuid4()}").json()["error"] == "not_found"
    # the parcel's bill page sends to the public id; a payment gets one too
    assert client.post(f"/dues/parcels/{first.parcel_id}/bill/")["Location"] == f"/dues/bills/{first.public_id}/"
    payment, _ = billing.record_payment(first, "test", "PUB-" + uuid.uuid4().hex[:8], first.amount)
    assert isinstance(payment.public_id, uuid.UUID)


@pytest.mark.django_db
def test_the_migration_gives_every_existing_bill_and_payment_its_own_public_id(dues_city):
    """Migrating back before the public ids and forward again (inside the test's transaction, rolled back): every
    existing row gets a different one."""
    from django.db.migrations.executor import MigrationExecutor

    bills = [billing.issue(_owed_parcel(dues_city, index=i)) for i in (15, 16)]
    billing.record_payment(bills[0], "test", "MIG-" + uuid.uuid4().hex[:8], bills[0].amount)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")    # no pending foreign-key checks before ALTER TABLE
    executor = MigrationExecutor(connection)
    executor.migrate([("dues", "0003_reasons_as_codes")])
    executor.loader.build_graph()
    executor.migrate([("dues", "0004_public_ids")])
    with connection.cursor() as cursor:
        for table in ("dues_bill", "dues_payment"):
            cursor.execute(f"SELECT count(*), count(DISTINCT public_id), count(public_id) FROM {table}")
            total, distinct, filled = cursor.fetchone()
            assert total >= 1 and total == distinct == filled, table


# --- 4: no browser per PDF request ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_burst_of_pdf_requests_starts_no_browser(client, dues_city, monkeypatch,
                                                   django_capture_on_commit_callbacks):
    """A bill's PDF is printed once in the job queue (dues/documents.py) and served from storage: requests never
    print, however many come before it is ready (202 and a page that refreshes itself)."""
    def no_browser(*args, **kwargs):
        raise AssertionError("a request started a browser")

    monkeypatch.setattr("common.pdf.print_to_pdf", no_browser)
    with django_capture_on_commit_callbacks(execute=False):
        bill = billing.issue(_owed_parcel(dues_city, index=17))
    answers = {client.get(f"/dues/bills/{bill.public_id}/pdf").status_code for _ in range(20)}
    assert answers == {202}


def test_the_barcode_symbology_is_checked():
    assert _ids(DEBUG=True, DUES_GATEWAY=SANDBOX, DUES_BARCODE_SYMBOLOGY="itf") == []
    assert _ids(DEBUG=True, DUES_GATEWAY=SANDBOX, DUES_BARCODE_SYMBOLOGY="qr") == ["dues.E005"]


# --- 5: Content-Security-Policy and the deploy checks ----------------------------------------------------------------


@pytest.mark.django_db
def test_every_response_carries_a_nonce_based_policy(client, demo_city):
    pages = [client.get("/"), client.get("/accounts/signin/"), client.get("/api/city"),
             client.get("/api/no-such-endpoint"), client.get("/no-such-page/")]
    nonces = set()
    for response in pages:
        policy = response["Content-Security-Policy"]
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
        script = directives["script-src"].split()
        assert script[0] == "'self'" and "'unsafe-inline'" not in script and "'unsafe-eval'" not in script
        assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
        nonces.add(re.search(r"'nonce-([^']+)'", policy).group(1))
    assert len(nonces) == len(pages)                        # a fresh nonce per request
    page = pages[0]
    nonce = re.search(r"'nonce-([^']+)'", page["Content-Security-Policy"]).group(1)
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", page.content.decode())
    assert inline and all(f'nonce="{nonce}"' in attrs or "application/json" in attrs for attrs in inline)


def test_no_template_has_an_inline_script_without_the_nonce_or_an_inline_handler():
    """Inline event handlers and javascript: links never run under the policy: a template must not have them, and an
    inline <script> carries {{ csp_nonce }}."""
    problems = []
    for path in ROOT.glob("**/templates/**/*.html"):
        if any(part in (".venv", "node_modules", "staticfiles") for part in path.parts):
            continue
        text = path.read_text(encoding="utf-8")
        for attrs in re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", text):
            if "csp_nonce" not in attrs and "application/json" not in attrs:
                problems.append(f"{path.relative_to(ROOT)}: <script{attrs}>")
        problems += [f"{path.relative_to(ROOT)}: {m}" for m in re.findall(r"\son[a-z]+=\"[^\"]*\"|javascript:", text)]
    assert problems == []


PRODUCTION_ENV = {      # the documented production environment (README "Production"), with a stand-in bank backend
    "DEBUG": "false", "ALLOWED_HOSTS": "gis.example.org", "CSRF_TRUSTED_ORIGINS": "https://gis.example.org",
    "DUES_GATEWAY": BANK, "DUES_BILL_COMPANY_CODE": "123",
    "SECURE_SSL_REDIRECT": "true", "SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO,https",
    "SECURE_HSTS_SECONDS": "31536000", "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true", "SECURE_HSTS_PRELOAD": "true",
    "SECURE_COOKIES": "true",
}


def _check_deploy(env_changes, tmp_path: Path):
    key = tmp_path / "secret_key"
    key.write_text(uuid.uuid4().hex + uuid.uuid4().hex)      # 64 random characters
    # only what a server has (not the test process's variables, e.g. the browser fixture's DJANGO_ALLOW_ASYNC_UNSAFE)
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "DATABASE_URL", "MUNICIPALITY_SRID") if k in os.environ}
    env.update({"DJANGO_SETTINGS_MODULE": "gis_portal.settings", "SECRET_KEY_FILE": str(key), **env_changes})
    return subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)


def test_check_deploy_is_clean_with_the_documented_production_environment(tmp_path):
    result = _check_deploy(PRODUCTION_ENV, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    without = _check_deploy({k: v for k, v in PRODUCTION_ENV.items() if not k.startswith("SECURE_")}, tmp_path)
    assert without.returncode != 0
    for check in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert check in without.stderr
    sandbox = _check_deploy({**PRODUCTION_ENV, "DUES_GATEWAY": SANDBOX, "DUES_BILL_COMPANY_CODE": ""}, tmp_path)
    assert sandbox.returncode != 0 and "dues.E001" in sandbox.stderr and "dues.E002" in sandbox.stderr


def test_the_base_maps_origin_is_allowed_for_images():
    from gis_portal.env import csp_origin

    assert csp_origin("https://{s}.tile.example.org/{z}/{x}/{y}.png") == ["https://*.tile.example.org"]
    assert csp_origin("https://tiles.example.org:8443/{z}/{x}/{y}.png") == ["https://tiles.example.org:8443"]
    assert csp_origin("") == []
