"""System checks of the dues settings that must hold before a site takes real money (`manage.py check`, and before
migrate): with DEBUG off the sandbox gateway must not be the gateway and the company code must be the municipality's,
unless the site is declared staging (DUES_ALLOW_SANDBOX_IN_PRODUCTION, as `./run demo` does)."""

from django.conf import settings
from django.core.checks import Error, register

from dues import gateways
from dues.barcode import SYMBOLOGIES
from dues.billid import PLACEHOLDER_COMPANY_CODE


@register()
def payment_settings(app_configs, **kwargs):
    errors = []
    try:
        sandbox = gateways.sandbox_in_use()
    except ImportError as exc:
        return [Error(f"DUES_GATEWAY {settings.DUES_GATEWAY!r} cannot be imported: {exc}", id="dues.E003")]
    production = not settings.DEBUG and not gateways.staging()
    if production and sandbox:
        errors.append(Error(
            "The payment sandbox is the gateway with DEBUG off: anyone could mark any bill paid without money.",
            hint="Set DUES_GATEWAY to the bank's backend; a staging or demo site sets "
                 "DUES_ALLOW_SANDBOX_IN_PRODUCTION=true (its pages then say it is a staging site).",
            id="dues.E001"))
    code = settings.DUES_BILL_COMPANY_CODE
    if production and not code:
        errors.append(Error(
            "DUES_BILL_COMPANY_CODE is not set: bills would carry the placeholder company code "
            f"{PLACEHOLDER_COMPANY_CODE} and the bank network would not route their payments to the municipality.",
            hint="Set DUES_BILL_COMPANY_CODE to the 3-digit code the bank network gave the municipality.",
            id="dues.E002"))
    if code and not (len(code) == 3 and code.isdigit()):
        errors.append(Error(f"DUES_BILL_COMPANY_CODE must be 3 digits, not {code!r}.", id="dues.E004"))
    if settings.DUES_BARCODE_SYMBOLOGY not in SYMBOLOGIES:
        errors.append(Error(f"DUES_BARCODE_SYMBOLOGY must be one of {', '.join(SYMBOLOGIES)}, not "
                            f"{settings.DUES_BARCODE_SYMBOLOGY!r}.", id="dues.E005"))
    return errors
