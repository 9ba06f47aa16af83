"""OpenAPI description of the dues endpoints (merged into /api/openapi.json by portal.openapi.full_spec)."""

from common.openapi import DATE, _errors, _param

_MONEY = {"type": "integer", "description": "rials"}
_YEAR_LEDGER = {"type": "object", "properties": {k: _MONEY for k in (
    "assessed", "discount", "penalty", "rounding", "paid", "credit", "balance")} | {"year": {"type": "integer"}}}
# A fee bill's line (dues/fees.py): `value` lines are shown, not billed; a reduction's amount is negative.
_FEE_LINE = {"type": "object", "required": ["code", "label_fa", "kind", "amount"], "properties": {
    "code": {"type": "string"}, "label_fa": {"type": "string"}, "label_en": {"type": "string"},
    "kind": {"enum": ["charge", "reduction", "value"]}, "formula": {"type": "string"},
    "inputs": {"type": "object", "description": "every name the formula used, with its value"},
    "amount": {"type": "integer", "description": "rials"},
    "legal_basis": {"type": "string"}, "legal_basis_en": {"type": "string"}}}

PATHS = {
    "/api/dues/parcels/{parcel_id}": {"get": {
        "summary": "A parcel's renewal dues today: the ledger per year and what a bill would ask (arrears with "
                   "penalty, the current year with its discount); the parcel sheet's dues section",
        "parameters": [_param("parcel_id", "parcel id", {"type": "integer"}, "path")],
        "responses": {"200": {"description": "Public amounts only (never owners' data)", "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/ParcelDues"}}}}, **_errors(404)},
    }},
    "/api/dues/bills/{bill_ref}": {"get": {
        "summary": "A bill: a renewal bill's years (every line with formula, input values and amount) or a fee bill's "
                   "lines (`kind` fee: a permit's fees, with its title); bill ID, payment ID, barcode",
        "parameters": [_param("bill_ref", "the bill's public id (a random UUID, as in its page's URL; sequential "
                              "numbers are not accepted)", {"type": "string", "format": "uuid"}, "path")],
        "responses": {"200": {"description": "The bill", "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/DuesBill"}}}}, **_errors(404)},
    }},
    "/api/dues/finance": {"get": {
        "summary": "Finance staff only: collections by year and district, and the day's reconciliation",
        "parameters": [_param("date", "day of the reconciliation: Jalali 1403/05/12 or ISO 2024-08-02 (default today)",
                              DATE, required=False)],
        "responses": {"200": {"description": "collections and reconciliation", "content": {"application/json": {
                          "schema": {"type": "object", "required": ["collections", "reconciliation"], "properties": {
                              "collections": {"type": "array", "description": "renewal dues by year and district"},
                              "fee_collections": {"type": "array", "description": "fee bills by Jalali year of issue: "
                                                  "bills, billed, paid_bills, collected (not on the renewal ledger)",
                                                  "items": {"type": "object"}},
                              "reconciliation": {"type": "object", "description": "renewal payments of the day "
                                                 "against the ledger (`rows`), and fee payments apart (`fee_rows`, "
                                                 "`fee_payments`, `fee_amount`)"}}}}}},
                      "401": {"description": "Not signed in (`signin_needed`)",
                              "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                      "403": {"description": "Not finance staff, or the staff second factor is needed",
                              "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                      **_errors(400)},
    }},
}

SCHEMAS = {
    "ParcelDues": {"type": "object", "required": ["as_of", "year", "ledger", "bill_url"], "properties": {
        "as_of": {"type": "string", "description": "Jalali date YYYY/MM/DD"}, "year": {"type": "integer"},
        "currency": {"const": "IRR"}, "ledger": {"type": "array", "items": _YEAR_LEDGER},
        "owed": {"type": ["object", "null"], "properties": {
            "items": {"type": "array", "items": {"type": "object"}}, "arrears": _MONEY, "total": _MONEY,
            "payable": {"type": "integer", "description": "rials, whole thousands"}}},
        "error": {"type": ["string", "null"], "description": "why nothing can be billed (no tariff book, ...)"},
        "bill_url": {"type": "string", "description": "the bill page of the parcel: a POST (a form with the page's CSRF "
                     "token) issues the bill, or reuses the open one, and redirects to it; a GET writes nothing"}}},
    "DuesBill": {"type": "object", "required": ["id", "kind", "years", "amount", "bill_id", "payment_id", "barcode"],
                 "properties": {
        "id": {"type": "string", "format": "uuid", "description": "the bill's public id (random)"},
        "kind": {"enum": ["renewal", "fee"], "description": "renewal dues (its `years`) or fees (its `lines`, `years` "
                 "empty)"},
        "title_fa": {"type": "string", "description": "fee bills: what the fees are for"},
        "title_en": {"type": "string"},
        "lines": {"type": "array", "description": "fee bills: the fee lines", "items": _FEE_LINE},
        "parcel": {"type": "object"}, "as_of": {"type": "string"},
        "status": {"enum": ["issued", "partial", "paid", "superseded"]},
        "years": {"type": "array", "items": {"type": "object", "properties": {
            "year": {"type": "integer"}, "assessed": _MONEY, "penalty": _MONEY, "discount": _MONEY, "due": _MONEY,
            "months_late": {"type": "integer"}, "book": {"type": "object"},
            "lines": {"type": "array", "items": {"type": "object", "properties": {
                "code": {"type": "string"}, "label_fa": {"type": "string"}, "label_en": {"type": "string"},
                "kind": {"enum": ["value", "charge", "reduction"]}, "formula": {"type": "string"},
                "inputs": {"type": "object"}, "amount": _MONEY,
                "legal_basis": {"type": "string", "description": "Persian, the text of record"},
                "legal_basis_en": {"type": "string", "description": "English (empty: read the Persian)"}}}}}}},
        "total": _MONEY, "rounding": _MONEY, "amount": _MONEY, "paid": _MONEY,
        "bill_id": {"type": "string", "pattern": "^[0-9]{6,13}$"},
        "payment_id": {"type": "string", "pattern": "^[0-9]{6,13}$"},
        "barcode": {"type": "string", "pattern": "^[0-9]{26}$"},
        "superseded_code": {"enum": ["replaced", "reassessed", "fees_changed", None],
                            "description": "why the bill was superseded (null: it was not, or before the codes)"},
        "superseded_params": {"type": ["object", "null"], "description": "the values the reason names: the bill "
                              "that replaced it (a fee bill's: its bill ID), or the year and the assessment run that "
                              "reassessed it"},
        "superseded_reason": {"type": ["string", "null"], "description": "the reason in the request's language"}}},
}
