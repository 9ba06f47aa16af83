"""Content-Security-Policy: the header on every response and the request's nonce for the inline scripts that remain.

The policy is settings.CONTENT_SECURITY_POLICY ({directive: [sources]}); the source `'nonce'` becomes
`'nonce-<value>'`, a fresh random value per request, kept in `request.csp_nonce` (the name django-leaflet's widgets
read) and given to templates as `{{ csp_nonce }}` (context processor `nonce`): `<script nonce="{{ csp_nonce }}">`.
A response that already carries a policy (a view that set its own) keeps it. CSP_REPORT_ONLY sends the policy as
Content-Security-Policy-Report-Only.

Django 5.2 has no CSP of its own (6.0 will) and django-csp would be a dependency for these forty lines.
"""

import secrets

from django.conf import settings

HEADER = "Content-Security-Policy"
REPORT_ONLY_HEADER = "Content-Security-Policy-Report-Only"


def policy(nonce: str) -> str:
    parts = []
    for directive, sources in settings.CONTENT_SECURITY_POLICY.items():
        values = [f"'nonce-{nonce}'" if source == "'nonce'" else source for source in sources]
        parts.append(" ".join([directive, *values]))
    return "; ".join(parts)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.csp_nonce = secrets.token_urlsafe(18)
        response = self.get_response(request)
        header = REPORT_ONLY_HEADER if getattr(settings, "CSP_REPORT_ONLY", False) else HEADER
        if HEADER not in response and REPORT_ONLY_HEADER not in response:
            response[header] = policy(request.csp_nonce)
        return response


def nonce(request):
    """Context processor: the request's nonce ("" outside a request that went through the middleware)."""
    return {"csp_nonce": getattr(request, "csp_nonce", "")}
