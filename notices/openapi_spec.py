"""OpenAPI description of what the SMS gateway calls back (merged into /api/openapi.json by portal.openapi)."""

from common.openapi import _errors, _param

_TOKEN = _param("token", "the shared secret NOTICES_CALLBACK_TOKEN (a wrong or unset token answers 404)",
                {"type": "string"}, where="path")


def _both(summary, description, fields, schema):
    """GET (query string) and POST (form fields): gateways differ."""
    operation = {"summary": summary, "description": description,
                 "responses": {"200": {"description": "Recorded", "content": {"application/json": {"schema": {
                     "$ref": f"#/components/schemas/{schema}"}}}}, **_errors(400, 404, 405)}}
    get = {**operation, "parameters": [_TOKEN, *fields]}
    post = {**operation, "parameters": [_TOKEN], "requestBody": {"required": True, "content": {
        "application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": {
            f["name"]: f["schema"] for f in fields}, "required": [f["name"] for f in fields]}}}}}
    return {"get": get, "post": post}


PATHS = {
    "/api/notices/sms/{token}/delivery": _both(
        "The SMS gateway's delivery report",
        "messageid is the gateway's id of a message we sent; status its code (10 delivered; 6, 11, 13, 14 failed; "
        "others pending). Marks the message delivered or failed.",
        [_param("messageid", "the gateway's message id", {"type": "integer", "minimum": 1,
                                                           "maximum": 9223372036854775807}),
         _param("status", "the gateway's status code", {"type": "integer", "minimum": 0, "maximum": 10000})],
        "SmsDeliveryRecorded"),
    "/api/notices/sms/{token}/inbound": _both(
        "A citizen's SMS reply",
        "A reply that is one of NOTICES_OPT_OUT_KEYWORDS (Persian or Latin digits and letters normalised) stops "
        "reminders to the number; security and transactional notices still go.",
        [_param("from", "the sender's mobile number (09…, Persian digits and +98 accepted)",
                {"type": "string", "minLength": 1, "maxLength": 32}),
         _param("message", "the reply's text (a GET's whole request line must stay within 4094 bytes: long "
                "replies come by POST)", {"type": "string", "minLength": 1, "maxLength": 2000})],
        "SmsReplyRecorded"),
}

SCHEMAS = {
    "SmsDeliveryRecorded": {"type": "object", "required": ["messageid", "status", "state", "recorded"], "properties": {
        "messageid": {"type": "integer"}, "status": {"type": "integer"},
        "state": {"type": "string", "enum": ["delivered", "failed", "pending"]},
        "recorded": {"type": "boolean", "description": "false when no sent message waits for this report"}}},
    "SmsReplyRecorded": {"type": "object", "required": ["from", "opted_out"], "properties": {
        "from": {"type": "string"}, "opted_out": {"type": "boolean"}}},
}
