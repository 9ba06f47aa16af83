"""OpenAPI of the citizen's side of permits (permits/citizen_views.py), merged by permits/openapi_spec.py.

POSTs are POSTs of the site: they need the CSRF token (the `csrftoken` cookie, set by any page such as
/permits/status/, sent back in `X-CSRFToken`). The case endpoints need a citizen signed in with their mobile number
(/api/accounts/signin/code and /verify); anyone else, staff included, gets 401 `signin_needed`. A case is its
applicant's: another's (or none) is 404. The status look-up needs no sign-in (tracking code + the applicant's mobile;
rate-limited). Documents are uploaded through the documents API (`POST /api/permits/cases/{case_id}/documents`)."""

from common.openapi import _param, error

_CSRF = {"name": "X-CSRFToken", "in": "header", "required": True,
         "schema": {"type": "string", "pattern": "^[A-Za-z0-9]{32}([A-Za-z0-9]{32})?$"},
         "description": "the value of the csrftoken cookie"}
CASE_ID = _param("case_id", "The case's public id (a UUID; the applicant's pages carry it)",
                 {"type": "string", "format": "uuid"}, "path")
PARCEL_ID = _param("parcel_id", "The parcel's id", {"type": "integer", "minimum": 1,
                                                     "maximum": 9223372036854775807}, "path")

_401 = error(401, "Not signed in as a citizen (`signin_needed`): sign in with a mobile number first (staff accounts "
                  "cannot apply)")
_403_CSRF = error(403, "A POST without its CSRF token (`csrf_failed`)")
_404_CASE = error(404, "You have no case with this id (`not_found`): none, or another person's")
_409 = error(409, "Out of order (`conflict`): the case changed since (another revision), or is not in a state that "
                  "allows it (e.g. resubmitting a case that is not returned, withdrawing a finished one)")
_429_STATUS = error(429, "Too many look-ups from this address or for this code (`rate_limited`; "
                         "PERMITS_STATUS_RATE_PER_ADDRESS, PERMITS_STATUS_RATE_PER_CODE); Retry-After says when")


def _json(ref: str, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": {
        "$ref": f"#/components/schemas/{ref}"}}}}


def _body(schema: dict, required: bool = True) -> dict:
    return {"required": required, "content": {"application/json": {"schema": schema},
                                              "application/x-www-form-urlencoded": {"schema": schema}}}


_REVISION = {"type": "object", "required": ["revision"], "properties": {
    "revision": {"type": "integer", "minimum": 0, "maximum": 2147483647,
                 "description": "the case's revision as last seen (another: 409, nothing done)"}}}
_STRING_OR_NULL = {"type": ["string", "null"]}
_INT_OR_NULL = {"type": ["integer", "null"]}

PATHS = {
    "/api/permits/cases": {"post": {
        "summary": "Start a draft case of a type for a parcel (a signed-in citizen)",
        "description": "The parcel's owner, an engineer with the owner's confirmed consent, or anyone signed in for "
                       "case types that need no ownership (an inquiry). A draft of the same type and work the "
                       "applicant already has on the parcel is answered instead (200).",
        "parameters": [_CSRF],
        "requestBody": _body({"type": "object", "required": ["case_type", "parcel_id"], "properties": {
            "case_type": {"type": "string", "minLength": 1, "maxLength": 40},
            "parcel_id": {"type": "integer", "minimum": 1, "maximum": 9223372036854775807},
            "work": {"type": "string", "maxLength": 40, "description": "the kind of work, for types that have them"}}}),
        "responses": {"201": _json("PermitCase", "The new draft"),
                      "200": _json("PermitCase", "The applicant's draft of this type and work, already there"),
                      **error(400, "A missing or bad field, an unknown case type, a missing or unknown kind of work "
                                   "(`bad_parameter`)"),
                      **_401, **error(403, "Neither the owner nor an engineer with the owner's consent "
                                           "(`forbidden`), or a POST without its CSRF token (`csrf_failed`)"),
                      **error(404, "No parcel with this id (`not_found`)")},
    }},
    "/api/permits/cases/{case_id}": {"get": {
        "summary": "The applicant's case: steps with dates, the desk holding it, the proposal and the frozen "
                   "decision, documents, fees and the bill, the reason of a return, the issued document",
        "parameters": [CASE_ID],
        "responses": {"200": _json("PermitCase", "The case"), **_401, **_404_CASE},
    }},
    "/api/permits/cases/{case_id}/proposal": {"post": {
        "summary": "Save a draft's (or returned case's) proposal and answer the engine's decision and the fee "
                   "estimate",
        "description": "Eligibility: the proposal's fields (land_use, floors, gross_floor_area, footprint_area, "
                       "units, parking_spaces, height, footprint as GeoJSON) → the decision rule by rule with the "
                       "rulebook version and citations. Subdivision: `lines` (GeoJSON in WGS84) → each part against "
                       "the zone's minimum lot area and frontage. The fields may be sent as they are or under "
                       "`proposal`. A bad field: 400 `bad_proposal` with `fields` naming each.",
        "parameters": [CASE_ID, _CSRF],
        "requestBody": _body({"type": "object", "properties": {"proposal": {"type": "object"}}}),
        "responses": {"200": _json("PermitProposalAnswer", "Saved; the engine's answer and the fee estimate"),
                      **error(400, "A bad field (`bad_proposal`, with `fields`), a body that is not an object "
                                   "(`bad_parameter`)"),
                      **_401, **error(403, "Not the applicant (`forbidden`), or a POST without its CSRF token "
                                           "(`csrf_failed`)"),
                      **_404_CASE, **_409,
                      **error(503, "The parcel's zoning facts are not computed yet (`overlays_not_computed`)")},
    }},
    "/api/permits/cases/{case_id}/fees": {"get": {
        "summary": "The fee estimate of the case as it stands (the bill is issued at the payment step)",
        "parameters": [CASE_ID],
        "responses": {"200": _json("PermitFees", "The fee lines and their total (or what stops the estimate)"),
                      **_401, **_404_CASE},
    }},
    "/api/permits/cases/{case_id}/submit": {"post": {
        "summary": "Submit the draft: the decision is frozen, a tracking code given and sent by SMS",
        "description": "Submitting twice (a double click, two tabs) answers the one case. The documents due at the "
                       "application must be attached, and the proposal filled for case types with a check.",
        "parameters": [CASE_ID, _CSRF],
        "responses": {"200": _json("PermitCase", "Submitted (or already submitted)"),
                      **error(400, "A document or the proposal missing, a proposal the engine refuses "
                                   "(`bad_parameter`, `bad_proposal`), fees that cannot be computed (`bad_fee`)"),
                      **_401, **error(403, "Not the applicant, or an engineer whose consent expired or was used "
                                           "(`forbidden`); a POST without its CSRF token (`csrf_failed`)"),
                      **_404_CASE,
                      **error(503, "The parcel's zoning facts are not computed yet (`overlays_not_computed`)")},
    }},
    "/api/permits/cases/{case_id}/resubmit": {"post": {
        "summary": "Send a returned case back, corrected: it goes to the step that returned it (history kept)",
        "parameters": [CASE_ID, _CSRF],
        "requestBody": _body({**_REVISION, "properties": {**_REVISION["properties"], "note": {
            "type": "string", "maxLength": 2000, "description": "what was corrected"}}}),
        "responses": {"200": _json("PermitCase", "Back at the desk that returned it"),
                      **error(400, "A missing or bad field, a required document missing (`bad_parameter`), a "
                                   "proposal the engine refuses (`bad_proposal`)"),
                      **_401, **error(403, "Not the applicant (`forbidden`), or a POST without its CSRF token "
                                           "(`csrf_failed`)"),
                      **_404_CASE, **_409,
                      **error(503, "The parcel's zoning facts are not computed yet (`overlays_not_computed`)")},
    }},
    "/api/permits/cases/{case_id}/withdraw": {"post": {
        "summary": "Withdraw a draft or an open case",
        "parameters": [CASE_ID, _CSRF],
        "requestBody": _body(_REVISION),
        "responses": {"200": _json("PermitCase", "Withdrawn"),
                      **error(400, "A missing or bad revision (`bad_parameter`)"), **_401,
                      **error(403, "Not the applicant (`forbidden`), or a POST without its CSRF token "
                                   "(`csrf_failed`)"),
                      **_404_CASE, **_409},
    }},
    "/api/permits/status": {"post": {
        "summary": "A case's public status by its tracking code and the applicant's mobile (no sign-in)",
        "description": "The steps with their dates, the desk holding the case (a desk, never a person) and its days "
                       "left; no names, mobiles or notes. A code with a wrong check digit says so; a code and mobile "
                       "that do not match a case say only that (not which was wrong). Rate-limited per address and "
                       "per code.",
        "parameters": [_CSRF],
        "requestBody": _body({"type": "object", "required": ["code", "mobile"], "properties": {
            "code": {"type": "string", "minLength": 1, "maxLength": 40,
                     "description": "the tracking code (ten digits, the last a Luhn check digit; Persian digits, "
                                    "spaces and dashes accepted)"},
            "mobile": {"type": "string", "minLength": 1, "maxLength": 40,
                       "description": "the applicant's mobile number, 09xxxxxxxxx"}}}),
        "responses": {"200": _json("PermitStatus", "The case's public status"),
                      **error(400, "A missing field or a number that is not a mobile (`bad_parameter`, "
                                   "`invalid_mobile`)"),
                      **_403_CSRF,
                      **error(404, "A mistyped code (check digit), or no case with this code and mobile "
                                   "(`not_found`)"),
                      **_429_STATUS},
    }},
    "/api/permits/consents": {"post": {
        "summary": "An engineer asks an owner's consent for a parcel: a code is sent by SMS to the owners' "
                   "mobiles on record",
        "parameters": [_CSRF],
        "requestBody": _body({"type": "object", "required": ["parcel_id"], "properties": {
            "parcel_id": {"type": "integer", "minimum": 1, "maximum": 9223372036854775807}}}),
        "responses": {"201": _json("PermitConsentAsked", "Codes sent (the numbers masked)"),
                      **error(400, "A missing or bad field, or no owner of the parcel has a mobile on record "
                                   "(`bad_parameter`)"),
                      **_401, **error(403, "Not an engineer whose licence the municipality verified (`forbidden`), "
                                           "or a POST without its CSRF token (`csrf_failed`)"),
                      **error(404, "No parcel with this id (`not_found`)"),
                      **error(429, "Too many codes asked by this engineer or for this parcel (`rate_limited`; "
                                   "PERMITS_CONSENT_RATE)")},
    }},
    "/api/permits/consents/confirm": {"post": {
        "summary": "The engineer types the code the owner received: the consent is confirmed",
        "parameters": [_CSRF],
        "requestBody": _body({"type": "object", "required": ["parcel_id", "code"], "properties": {
            "parcel_id": {"type": "integer", "minimum": 1, "maximum": 9223372036854775807},
            "code": {"type": "string", "minLength": 1, "maxLength": 20}}}),
        "responses": {"200": _json("PermitConsentConfirmed", "Confirmed: the engineer may apply for the parcel"),
                      **error(400, "A missing or bad field (`bad_parameter`); a wrong, expired or used code, or too "
                                   "many wrong tries (`consent_refused`)"),
                      **_401, **error(403, "Not an engineer whose licence the municipality verified (`forbidden`), "
                                           "or a POST without its CSRF token (`csrf_failed`)"),
                      **error(404, "No parcel with this id (`not_found`)")},
    }},
    "/api/permits/parcels/{parcel_id}/section": {"get": {
        "summary": "The parcel sheet's permits section, for the person asking",
        "description": "Everyone: the parcel's issued permits and certificates (number, kind, dates, what was "
                       "approved, the verification link; no personal data) and the case types with their Apply "
                       "links. A signed-in citizen: their own cases on the parcel. Staff with permits.view_case: the "
                       "parcel's open cases (tracking code, type, step, desk, days left).",
        "parameters": [PARCEL_ID],
        "responses": {"200": _json("PermitSection", "The section"),
                      **error(404, "No parcel with this id (`not_found`)")},
    }},
}

_STEP = {"type": "object", "required": ["code", "name", "kind", "state"], "properties": {
    "code": {"type": "string"}, "name": {"type": "string"}, "kind": {"type": "string"},
    "state": {"type": "string", "enum": ["done", "current", "stopped", "todo"]},
    "days": {"type": "integer"}, "desk": {"type": "string"},
    "entered_at": _STRING_OR_NULL, "left_at": _STRING_OR_NULL}}
_ISSUED = {"type": "object", "required": ["number", "kind", "issued_at", "verification_code"], "properties": {
    "number": {"type": "string"}, "kind": {"type": "string"}, "kind_label": {"type": "string"},
    "case_type": {"type": "string"}, "work": {"type": "string"}, "issued_at": {"type": "string"},
    "valid_until": _STRING_OR_NULL, "revoked": {"type": "boolean"}, "approved": {"type": "object"},
    "verification_code": {"type": "string"}, "verification_url": _STRING_OR_NULL}}
_STATUS_PROPERTIES = {
    "tracking_code": _STRING_OR_NULL, "case_type": {"type": "string"}, "work": {"type": "string"},
    "status": {"type": "string", "enum": ["draft", "open", "returned", "awaiting_payment", "issued", "refused",
                                          "withdrawn"]},
    "status_label": {"type": "string"}, "submitted_at": _STRING_OR_NULL, "finished_at": _STRING_OR_NULL,
    "step": {"type": "string"}, "holder": {"type": "string", "description": "a desk's name, or the applicant"},
    "due_at": _STRING_OR_NULL, "days_left": _INT_OR_NULL, "days_late": {"type": "integer"},
    "steps": {"type": "array", "items": _STEP},
    "history": {"type": "array", "items": {"type": "object", "required": ["kind", "at"], "properties": {
        "kind": {"type": "string"}, "kind_label": {"type": "string"}, "at": {"type": "string"},
        "step": {"type": "string"}}}},
    "issued": {"oneOf": [{"type": "null"}, _ISSUED]}, "demo": {"type": "boolean"}}
_FEES = {"type": "object", "required": ["lines", "total"], "properties": {
    "lines": {"type": "array", "items": {"type": "object", "required": ["code", "amount"], "properties": {
        "code": {"type": "string"}, "label_fa": {"type": "string"}, "label_en": {"type": "string"},
        "amount": {"type": "integer"}}}},
    "total": {"type": "integer"}, "error": _STRING_OR_NULL}}
_CASE_ROW = {"type": "object", "required": ["tracking_code", "case_type", "status", "step"], "properties": {
    "tracking_code": {"type": "string"}, "case_type": {"type": "string"}, "status": {"type": "string"},
    "status_label": {"type": "string"}, "step": {"type": "string"}, "holder": {"type": "string"},
    "days_left": _INT_OR_NULL, "submitted_at": _STRING_OR_NULL, "url": _STRING_OR_NULL}}

SCHEMAS = {
    "PermitStatus": {"type": "object", "required": ["tracking_code", "status", "steps", "history"],
                     "properties": _STATUS_PROPERTIES, "not": {"anyOf": [
                         {"required": ["applicant_phone"]}, {"required": ["proposal"]}]}},
    "PermitCase": {"type": "object", "required": ["id", "revision", "status", "steps", "document_types"],
                   "properties": {**_STATUS_PROPERTIES, "id": {"type": "string", "format": "uuid"},
                                  "revision": {"type": "integer"}, "parcel_id": {"type": "integer"},
                                  "check": {"type": "string", "enum": ["eligibility", "subdivision", "none"]},
                                  "proposal": {"type": "object"}, "decision": {"type": ["object", "null"]},
                                  "fees": {"type": "array"}, "fee_total": {"type": "integer"},
                                  "bill": {"type": ["object", "null"]}, "documents": {"type": "array"},
                                  "document_types": {"type": "array"}, "correction": {"type": ["object", "null"]},
                                  "url": {"type": "string"}, "apply_url": {"type": "string"}}},
    "PermitProposalAnswer": {"type": "object", "required": ["check", "answer", "proposal", "fees"], "properties": {
        "check": {"type": "string", "enum": ["eligibility", "subdivision", "none"]},
        "answer": {"type": ["object", "null"], "description": "zoning's decision (status, rulebook, checks with "
                                                              "citations) or subdivision check (ok, parts)"},
        "proposal": {"type": "object"}, "fees": _FEES}},
    "PermitFees": _FEES,
    "PermitSection": {"type": "object", "required": ["parcel_id", "issued", "apply"], "properties": {
        "parcel_id": {"type": "integer"}, "issued": {"type": "array", "items": _ISSUED},
        "apply": {"type": "array", "items": {"type": "object", "required": ["code", "name", "allowed", "url"],
                                             "properties": {"code": {"type": "string"}, "name": {"type": "string"},
                                                            "demo": {"type": "boolean"},
                                                            "allowed": {"type": "boolean"},
                                                            "reason": {"type": "string"},
                                                            "url": {"type": "string"}}}},
        "mine": {"type": ["array", "null"], "items": _CASE_ROW},
        "open_cases": {"type": ["array", "null"], "items": _CASE_ROW},
        "signed_in": {"type": "boolean"}, "is_engineer": {"type": "boolean"}, "demo": {"type": "boolean"},
        "status_url": {"type": "string"}, "engineer_url": {"type": "string"}}},
    "PermitConsentAsked": {"type": "object", "required": ["parcel_id", "sent_to", "expires_at"], "properties": {
        "parcel_id": {"type": "integer"}, "sent_to": {"type": "array", "items": {"type": "string"}},
        "expires_at": {"type": "string", "format": "date-time"}}},
    "PermitConsentConfirmed": {"type": "object", "required": ["parcel_id", "confirmed_at", "expires_at"],
                               "properties": {"parcel_id": {"type": "integer"},
                                              "confirmed_at": {"type": "string", "format": "date-time"},
                                              "expires_at": {"type": "string", "format": "date-time"},
                                              "apply_url": {"type": "string"}}},
}
