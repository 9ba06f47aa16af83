"""What the SMS gateway calls back (notices.providers.http.RestSmsGateway's gateway), under
/api/notices/sms/<NOTICES_CALLBACK_TOKEN>/ (mounted by notices/urls.py from `urlpatterns` below):

    delivery   messageid, status          a delivery report -> notices.service.record_delivery
    inbound    from, message (to, ...)    a citizen's reply -> an opt-out keyword stops reminders to the number

Both take POST (form fields) or GET (query string): gateways differ, and these are webhooks authenticated by the
token in the path, not pages, so the "no write on a GET" rule does not apply. The token is compared in constant
time; with NOTICES_CALLBACK_TOKEN empty both answer 404, as for a wrong token (nothing tells a scanner the path
exists). No CSRF token: the gateway has none to send. Answers are JSON; errors go through common.errors.
"""

import hmac
import logging

from django.conf import settings
from django.http import JsonResponse
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from common import params
from common.errors import BadParameter, MethodNotAllowed, NotFound
from notices import service
from notices.providers.http import RestSmsGateway, delivery_outcome
from parcels.identifiers import normalize_phone

logger = logging.getLogger(__name__)

MOBILE_LENGTH = 11
REPLY_MAX_LENGTH = 2000  # a long concatenated reply: 30 parts of 67 characters


def _check(request, token: str):
    """The request's fields, after the token and the method are checked."""
    expected = settings.NOTICES_CALLBACK_TOKEN
    if not expected or not hmac.compare_digest(token.encode("utf-8"), expected.encode("utf-8")):
        raise NotFound(_("Not found."))
    if request.method == "POST":
        return request.POST
    if request.method == "GET":
        return request.GET
    raise MethodNotAllowed(_("Use GET or POST."))


def _mobile(fields, name: str) -> str:
    raw = params.text(fields, name, max_length=32, required=True)
    phone = normalize_phone(raw)
    if not (len(phone) == MOBILE_LENGTH and phone.startswith("09") and phone.isdigit()):
        raise BadParameter(_("%(name)s must be a mobile number (09…), not '%(value)s'")
                           % {"name": name, "value": raw[:32]})
    return phone


def _masked(phone: str) -> str:
    return phone[:4] + "***" + phone[-4:]


@csrf_exempt
def delivery(request, token: str):
    """A delivery report: the gateway's message id and its status code (notices.providers.http's table)."""
    fields = _check(request, token)
    messageid = params.integer(fields, "messageid", required=True, min=1, max=params.ID_MAX)
    code = params.integer(fields, "status", required=True, min=0, max=10_000)
    state, reason = delivery_outcome(code)
    recorded = False
    if state != "pending":
        recorded = service.record_delivery(RestSmsGateway.name, str(messageid), state == "delivered", reason)
    logger.info("SMS delivery report: message %s status %s (%s)%s", messageid, code, state,
                "" if recorded or state == "pending" else ", no message waiting for it")
    return JsonResponse({"messageid": messageid, "status": code, "state": state, "recorded": recorded})


@csrf_exempt
def inbound(request, token: str):
    """A citizen's reply: an opt-out keyword (NOTICES_OPT_OUT_KEYWORDS, digits and letters normalised) stops
    reminders to the number; any other text is only logged (nobody reads replies yet)."""
    fields = _check(request, token)
    phone = _mobile(fields, "from")
    text = params.text(fields, "message", max_length=REPLY_MAX_LENGTH, required=True)
    opted_out = service.inbound_reply(phone, text)
    logger.info("SMS reply from %s (%d characters)%s: %r", _masked(phone), len(text),
                ", opted out of reminders" if opted_out else "", text[:200])
    return JsonResponse({"from": phone, "opted_out": opted_out})


urlpatterns = [
    path("delivery", delivery, name="sms_delivery"),
    path("inbound", inbound, name="sms_inbound"),
]
