"""The permits' published layers (the layer registry: vector tiles, OGC API Features, GeoJSON and exports), over the
views of permits migration 0002:

- "permit_cases": the open cases as points on their parcels (tracking code, case type, step, desk, due, overdue),
  protected: staff with permits.view_case. No applicant, no mobile.
- "issued_permits": the permits and certificates issued and not revoked, as their parcels (number, kind, issued
  date, valid until, renewal code), public. No personal data.

`reads` names each view's base tables (tests/test_layer_versions.py compares them with the query plan), so the
layers' versions follow the cases, desks, case types, issued documents and parcels. The overdue flag is worked out
when the layer is read (now()); a cached tile may show it as of its data version."""


from common import municipality
from layers.registry import LAYERS, Field, Layer, Style, register

CASES, ISSUED = "permit_cases", "issued_permits"
SLA_CLASSES = (("true", "#c62828", "دیرکرد", "Overdue"), ("false", "#2e7d32", "در مهلت", "On time"))


def _date(column: str, time: bool = False) -> str:
    zone = municipality.current().time_zone.replace("'", "")
    fmt = "YYYY-MM-DD HH24:MI" if time else "YYYY-MM-DD"
    return f"to_char(t.{column} AT TIME ZONE '{zone}', '{fmt}')"


def _s(name, title, title_en, sql=None, filterable=True):
    return Field(name, sql or f"t.{name}", "string", title, title_en, filterable=filterable)


def register_layers():
    if CASES not in LAYERS:
        register(Layer(
            CASES, "پرونده‌های باز پروانه و گواهی", "Open permit cases", "permits_open_case_layer",
            (_s("tracking_code", "کد پیگیری", "Tracking code"),
             _s("case_type", "نوع درخواست (کد)", "Case type (code)"),
             _s("case_type_fa", "نوع درخواست", "Case type", filterable=False),
             _s("case_type_en", "نوع درخواست (انگلیسی)", "Case type (English)", filterable=False),
             _s("step", "مرحله", "Step"),
             _s("status", "وضعیت", "Status"),
             _s("desk", "میز کار", "Desk"),
             _s("due", "مهلت مرحله", "Step due", _date("due_at", time=True), filterable=False),
             Field("overdue", "t.overdue", "boolean", "دیرکرد", "Overdue")),
            Style("point", "#37474f", 0.3, fill="#2e7d32", by="overdue", classes=SLA_CLASSES),
            5000, 12, 10_000,
            permission="permits.view_case", in_portal=False,
            reads=("permits_case", "parcels_parcel", "permits_casetype", "permits_desk"),
            versioned=False,   # `overdue` changes with the clock, not with the data: never served from a cache
            description_en="Open permit and certificate cases at their parcels, with their step, desk and due time "
                           "(permit-office staff only; no personal data).",
            draw_order=96,
        ))
    if ISSUED not in LAYERS:
        register(Layer(
            ISSUED, "پروانه‌ها و گواهی‌های صادرشده", "Issued permits and certificates", "permits_issued_layer",
            (_s("number", "شماره", "Number"),
             _s("kind", "نوع", "Kind"),
             _s("issued", "تاریخ صدور", "Issued on", _date("issued_at"), filterable=False),
             _s("valid_until", "اعتبار تا", "Valid until", "to_char(t.valid_until, 'YYYY-MM-DD')", filterable=False),
             _s("renewal_code", "کد نوسازی", "Renewal code")),
            Style("polygon", "#1b5e20", 0.4, fill="#66bb6a", fill_opacity=0.35, by="kind", classes=(
                ("permit", "#2e7d32", "پروانه ساختمانی", "Building permit"),
                ("completion_certificate", "#1565c0", "پایان‌کار", "Completion certificate"),
                ("certificate", "#6a1b9a", "گواهی", "Certificate"),
                ("inquiry", "#ef6c00", "دستور نقشه / استعلام", "Planning inquiry"),
                ("decision", "#5d4037", "تصمیم", "Decision"))),
            5000, 14,
            reads=("permits_issued", "parcels_parcel"),
            description_en="Permits and certificates the municipality issued (not revoked), at their parcels: "
                           "number, kind, dates, renewal code. No personal data.",
            draw_order=97,
        ))
